package verify

import (
	"math"
	"testing"
)

// TestCoverageTarget: the number of draws on kept records sought is the
// smallest n with (1 − d)^n ≤ miss, checked here in floating point.
func TestCoverageTarget(t *testing.T) {
	for _, tc := range []struct {
		drop, miss float64
		want       int
	}{{0.2, 0.01, 21}, {0.1, 0.01, 44}, {0.2, 0.001, 31}, {0.5, 0.01, 7}} {
		n := CoverageTarget(tc.drop, tc.miss)
		if n != tc.want || math.Pow(1-tc.drop, float64(n)) > tc.miss || math.Pow(1-tc.drop, float64(n-1)) <= tc.miss {
			t.Errorf("drop %.2f miss %.3f: %d, want %d", tc.drop, tc.miss, n, tc.want)
		}
	}
	if p := CatchProbability(21, 0.2); p < 0.99 || p > 0.991 {
		t.Errorf("catch probability at 21 draws, 20 %%: %.4f", p)
	}
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
