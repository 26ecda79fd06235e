package verify

import (
	"math"
	"testing"
)

// TestAllowedMisses: the coverage rule's allowance against the exact
// binomial tail, computed here independently in floating point.
func TestAllowedMisses(t *testing.T) {
	cdf := func(n, a int, p float64) float64 {
		var s float64
		for k := 0; k <= a; k++ {
			s += math.Exp(lchoose(n, k) + float64(k)*math.Log(p) + float64(n-k)*math.Log(1-p))
		}
		return s
	}
	for _, n := range []int{1, 5, 20, 21, 30, 40, 64, 100, 128, 250} {
		a := AllowedMisses(n, 0.2, 0.01)
		if c := cdf(n, a, 0.2); n >= 21 && c > 0.01 {
			t.Errorf("n=%d: allows %d misses, a 20%% dropper passes with %.4f", n, a, c)
		}
		if c := cdf(n, a+1, 0.2); c <= 0.01 {
			t.Errorf("n=%d: allows %d misses, %d would do (%.4f)", n, a, a+1, c)
		}
		if n >= 21 && CatchProbability(n, 0.2, 0.01) < 0.99 {
			t.Errorf("n=%d: catch probability %.4f", n, CatchProbability(n, 0.2, 0.01))
		}
		t.Logf("n=%3d: %2d misses allowed, a 20%% dropper caught with %.4f", n, a, CatchProbability(n, 0.2, 0.01))
	}
	if got := AllowedMisses(100, 0.2, 0.01); got != 10 {
		t.Errorf("n=100: %d allowed, want 10", got)
	}
	if AllowedMisses(7, 1, 0.01) != 6 || AllowedMisses(7, 0, 0.01) != 0 || AllowedMisses(0, 0.2, 0.01) != 0 {
		t.Error("edge cases")
	}
}

func lchoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

// TestWeightedDraws: rows are drawn in proportion to their lengths, the
// same for the same seed, sorted.
func TestWeightedDraws(t *testing.T) {
	lengths := []int32{1000, 0, 10, 1000, 7990} // 10,000 bytes
	seed := Seed("0xab", "r1:x")
	a, b := WeightedDraws(seed, lengths, 20000), WeightedDraws(seed, lengths, 20000)
	counts := make([]int, len(lengths))
	for i := range a {
		if a[i] != b[i] || i > 0 && a[i] < a[i-1] {
			t.Fatal("draws not deterministic or not sorted")
		}
		counts[a[i]]++
	}
	for i, n := range lengths {
		want := float64(n) / 10000 * 20000
		if math.Abs(float64(counts[i])-want) > 4*math.Sqrt(want+1) {
			t.Errorf("row %d (%d bytes): %d draws, want about %.0f", i, n, counts[i], want)
		}
	}
	if counts[1] != 0 {
		t.Error("an empty row was drawn")
	}
	if WeightedDraws(seed, []int32{0, 0}, 5) != nil || WeightedDraws(seed, lengths, 0) != nil {
		t.Error("draws from nothing")
	}
}
