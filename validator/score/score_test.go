package score

import (
	"math"
	"testing"
)

func TestSubmission(t *testing.T) {
	p := Defaults()
	base := Input{Accepted: true, VerifiedTokens: 2e6, Quality: 1, ElapsedBlocks: 100}
	tests := []struct {
		name string
		in   func(Input) Input
		want float64
	}{
		{"full", func(i Input) Input { return i }, 2},
		{"rejected", func(i Input) Input { i.Accepted = false; return i }, 0},
		{"worst quality halves", func(i Input) Input { i.Quality = 0; return i }, 1},
		{"quality clamped", func(i Input) Input { i.Quality = 7; return i }, 2},
		{"slow", func(i Input) Input { i.ElapsedBlocks = 600; return i }, 1},
		{"at target", func(i Input) Input { i.ElapsedBlocks = 300; return i }, 2},
		{"no tokens", func(i Input) Input { i.VerifiedTokens = 0; return i }, 0},
		{"NaN tokens", func(i Input) Input { i.VerifiedTokens = math.NaN(); return i }, 0},
		{"NaN quality", func(i Input) Input { i.Quality = math.NaN(); return i }, 1},
	}
	for _, tc := range tests {
		if got := p.Submission(tc.in(base)); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestEMA(t *testing.T) {
	v := 0.0
	for range 100 {
		v = EMA(v, 1, 0.1)
	}
	if v < 0.9999 || v > 1 {
		t.Fatalf("EMA after 100 steps toward 1: %v", v)
	}
	if got := EMA(1, 0, 0.25); got != 0.75 {
		t.Fatalf("EMA(1,0,.25) = %v", got)
	}
}

func TestNormalize(t *testing.T) {
	got := Normalize([]float64{1, 3, -2, math.NaN(), 0})
	want := []float64{0.25, 0.75, 0, 0, 0}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Normalize = %v, want %v", got, want)
		}
	}
	for _, v := range Normalize([]float64{0, 0}) {
		if v != 0 {
			t.Fatal("all-zero scores must normalise to zeros")
		}
	}
}

func TestU16(t *testing.T) {
	uids, w := U16(map[uint16]float64{7: 1, 2: 2, 5: 0, 9: 0.5})
	wantU := []uint16{2, 7, 9}
	wantW := []uint16{65535, 32768, 16384} // 32767.5 and 16383.75 round half to even / nearest
	if len(uids) != len(wantU) {
		t.Fatalf("uids %v, want %v", uids, wantU)
	}
	for i := range wantU {
		if uids[i] != wantU[i] || w[i] != wantW[i] {
			t.Fatalf("U16 = %v %v, want %v %v", uids, w, wantU, wantW)
		}
	}
	if u, w := U16(map[uint16]float64{1: 0, 2: 0}); u != nil || w != nil {
		t.Fatalf("all zero: %v %v", u, w)
	}
}
