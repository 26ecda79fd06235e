package yuma

import (
	"math"
	"testing"
)

// sim holds a subnet's epoch state between epochs, the way subtensor's
// storage does, so that subtensor's multi-epoch tests can be replayed.
type sim struct {
	in Input
}

func newSim(stake []uint64, tempo uint64, maxValidators int) *sim {
	n := len(stake)
	return &sim{in: Input{
		N:                    n,
		Tempo:                tempo,
		ActivityCutoff:       5000,
		LastUpdate:           make([]uint64, n),
		BlockAtRegistration:  make([]uint64, n),
		Stake:                stake,
		ValidatorPermit:      make([]bool, n),
		MaxAllowedValidators: maxValidators,
		OwnerUID:             -1,
		Weights:              make([][]Weight, n),
		Bonds:                make([][]Weight, n),
		Kappa:                32767,
		BondsPenalty:         65535,
		BondsMovingAverage:   900000,
		Emission:             1_000_000_000,
	}}
}

// setWeights stores max-upscaled weights and the update block, as set_weights does.
func (s *sim) setWeights(uid int, block uint64, uids []uint16, values []uint16) {
	up := MaxUpscaleU16(values)
	row := make([]Weight, len(uids))
	for k := range uids {
		row[k] = Weight{UID: uids[k], Value: up[k]}
	}
	s.in.Weights[uid] = row
	s.in.LastUpdate[uid] = block
}

func (s *sim) epoch(block uint64) *Output {
	s.in.CurrentBlock = block
	out := Epoch(&s.in)
	s.in.ValidatorPermit = out.ValidatorPermit
	for i, set := range out.BondsSet {
		if set {
			s.in.Bonds[i] = out.Bonds[i]
		}
	}
	return out
}

func (s *sim) bond(i, j int) uint16 {
	for _, e := range s.in.Bonds[i] {
		if int(e.UID) == j {
			return e.Value
		}
	}
	return 0
}

// TestBondsParity replays subtensor's tests/epoch.rs::test_bonds: 4
// validators with stake 1..4, 4 servers, self-weights and a weight switch,
// checking the stored bonds after every epoch (exact u16 equality).
func TestBondsParity(t *testing.T) {
	s := newSim([]uint64{1, 2, 3, 4, 0, 0, 0, 0}, 1, 8)
	s.epoch(0) // issue validator permits
	servers := []uint16{4, 5, 6, 7}
	for uid := 0; uid < 4; uid++ {
		s.setWeights(uid, 1, servers, []uint16{math.MaxUint16 / 4, math.MaxUint16 / 2, (math.MaxUint16 / 4) * 3, math.MaxUint16})
	}
	steps := []struct {
		name   string
		before func(block uint64)
		col    int
		want   [4]uint16
	}{
		{"all validators weigh servers", nil, 4, [4]uint16{16383, 32767, 49151, 65535}},
		{"val1 self-weight", func(b uint64) { s.setWeights(0, b, []uint16{0}, []uint16{math.MaxUint16}) }, 4, [4]uint16{14582, 32767, 49151, 65535}},
		{"val2 self-weight", func(b uint64) { s.setWeights(1, b, []uint16{1}, []uint16{math.MaxUint16}) }, 4, [4]uint16{12603, 28321, 49151, 65535}},
		{"val3 self-weight", func(b uint64) { s.setWeights(2, b, []uint16{2}, []uint16{math.MaxUint16}) }, 7, [4]uint16{12602, 28320, 49150, 65535}},
		{"val3 -> srv4", func(b uint64) { s.setWeights(2, b, []uint16{7}, []uint16{math.MaxUint16}) }, 7, [4]uint16{10951, 24609, 49150, 65535}},
		{"repeat 1", nil, 7, [4]uint16{9559, 21482, 49150, 65535}},
		{"repeat 2", nil, 7, [4]uint16{8376, 18824, 49150, 65535}},
	}
	for k, st := range steps {
		block := uint64(k + 1)
		if st.before != nil {
			st.before(block)
		}
		s.epoch(block)
		for v := 0; v < 4; v++ {
			if got := s.bond(v, st.col); got != st.want[v] {
				t.Errorf("%s (block %d): bonds[%d][%d] = %d, want %d", st.name, block, v, st.col, got, st.want[v])
			}
		}
	}
}

// TestBondsLoggedValues checks the first epoch of test_bonds against the
// values subtensor logs in the test's comments (incentive, dividends and
// emission in rao).
func TestBondsLoggedValues(t *testing.T) {
	s := newSim([]uint64{1, 2, 3, 4, 0, 0, 0, 0}, 1, 8)
	s.epoch(0)
	for uid := 0; uid < 4; uid++ {
		s.setWeights(uid, 1, []uint16{4, 5, 6, 7}, []uint16{math.MaxUint16 / 4, math.MaxUint16 / 2, (math.MaxUint16 / 4) * 3, math.MaxUint16})
	}
	out := s.epoch(1)
	wantE := []uint64{49999998, 99999999, 150000000, 200000001, 49998779, 100000610, 149996337, 200004272}
	for i, w := range wantE {
		if d := int64(out.Emission[i]) - int64(w); d < -1 || d > 1 {
			t.Errorf("E[%d] = %d, want %d (±1 rao)", i, out.Emission[i], w)
		}
	}
	wantI := []float64{0, 0, 0, 0, 0.0999975582, 0.2000012207, 0.2999926752, 0.4000085455}
	wantD := []float64{0.0999999978, 0.1999999983, 0.3000000012, 0.4000000022, 0, 0, 0, 0}
	for i := range wantI {
		if d := math.Abs(out.Fixed.Incentive[i].Float() - wantI[i]); d > 1e-9 {
			t.Errorf("I[%d] = %.10f, want %.10f", i, out.Fixed.Incentive[i].Float(), wantI[i])
		}
		if d := math.Abs(out.Fixed.Dividends[i].Float() - wantD[i]); d > 1e-9 {
			t.Errorf("D[%d] = %.10f, want %.10f", i, out.Fixed.Dividends[i].Float(), wantD[i])
		}
	}
}

// TestActiveStakeParity replays tests/epoch.rs::test_active_stake: a
// validator whose weights go stale (activity cutoff) loses dividends.
func TestActiveStakeParity(t *testing.T) {
	s := newSim([]uint64{1, 1, 1, 1}, 1, 4)
	s.epoch(0)
	half := []uint16{math.MaxUint16 / 2, math.MaxUint16 / 2}
	for uid := 0; uid < 2; uid++ {
		s.setWeights(uid, 1, []uint16{2, 3}, half)
	}
	out := s.epoch(1)
	for uid := 0; uid < 4; uid++ {
		if uid < 2 && out.Dividends[uid] != 32767 {
			t.Errorf("epoch 1: D[%d] = %d, want 32767", uid, out.Dividends[uid])
		}
		if out.Emission[uid] != 250000000 {
			t.Errorf("epoch 1: E[%d] = %d, want 250000000", uid, out.Emission[uid])
		}
	}
	for v := 0; v < 2; v++ {
		for j := 0; j < 4; j++ {
			want := uint16(0)
			if j >= 2 {
				want = 65535
			}
			if got := s.bond(v, j); got != want {
				t.Errorf("epoch 1: bonds[%d][%d] = %d, want %d", v, j, got, want)
			}
		}
	}

	const cutoff = 5000
	s.setWeights(0, cutoff+2, []uint16{2, 3}, half)
	out = s.epoch(cutoff + 2)
	checks := []struct {
		uid   int
		d     uint16
		e     uint64
		bonds uint16
	}{{0, 36044, 274999999, 65535}, {1, 29490, 224999999, 53619}}
	for _, c := range checks {
		if out.Dividends[c.uid] != c.d || out.Emission[c.uid] != c.e {
			t.Errorf("stale epoch: uid %d D=%d E=%d, want D=%d E=%d", c.uid, out.Dividends[c.uid], out.Emission[c.uid], c.d, c.e)
		}
		for j := 2; j < 4; j++ {
			if got := s.bond(c.uid, j); got != c.bonds {
				t.Errorf("stale epoch: bonds[%d][%d] = %d, want %d", c.uid, j, got, c.bonds)
			}
		}
	}

	s.setWeights(1, cutoff+2, []uint16{2, 3}, half)
	out = s.epoch(cutoff + 3)
	checks = []struct {
		uid   int
		d     uint16
		e     uint64
		bonds uint16
	}{{0, 35716, 272501132, 65535}, {1, 29818, 227498866, 54712}}
	for _, c := range checks {
		if out.Dividends[c.uid] != c.d || out.Emission[c.uid] != c.e {
			t.Errorf("recovered epoch: uid %d D=%d E=%d, want D=%d E=%d", c.uid, out.Dividends[c.uid], out.Emission[c.uid], c.d, c.e)
		}
		for j := 2; j < 4; j++ {
			if got := s.bond(c.uid, j); got != c.bonds {
				t.Errorf("recovered epoch: bonds[%d][%d] = %d, want %d", c.uid, j, got, c.bonds)
			}
		}
	}
}

// TestSelfWeightsOnlyParity replays test_10_graph (and test_1_graph for
// n=1): only self-weights, no permits yet, so emission follows stake and
// incentive, dividends and consensus are all zero.
func TestSelfWeightsOnlyParity(t *testing.T) {
	for _, tc := range []struct {
		n     int
		stake uint64
		wantE uint64
	}{{10, 1, 99999999}, {1, 1_000_000_000, 999999999}} {
		stake := make([]uint64, tc.n)
		for i := range stake {
			stake[i] = tc.stake
		}
		s := newSim(stake, math.MaxUint16-1, 128)
		for i := 0; i < tc.n; i++ {
			s.setWeights(i, 1, []uint16{uint16(i)}, []uint16{math.MaxUint16})
		}
		out := s.epoch(1)
		for i := 0; i < tc.n; i++ {
			if out.Incentive[i] != 0 || out.Dividends[i] != 0 || out.Consensus[i] != 0 {
				t.Errorf("n=%d uid %d: I=%d D=%d C=%d, want zeros", tc.n, i, out.Incentive[i], out.Dividends[i], out.Consensus[i])
			}
			if tc.n == 10 && out.Emission[i] != tc.wantE {
				t.Errorf("n=%d uid %d: E=%d, want %d", tc.n, i, out.Emission[i], tc.wantE)
			}
		}
	}
}

func TestFixedArithmetic(t *testing.T) {
	tests := []struct {
		name string
		got  Fixed
		want Fixed
	}{
		{"mul floors", Fixed(3).Mul(One / 2), 1},
		{"negative mul floors", Fixed(-3).Mul(One / 2), -2},
		{"div truncates", One.Div(FromInt(3)), 1431655765},
		{"div by zero is zero", One.Div(0), 0},
		{"mul saturates", FromInt(1 << 30).Mul(FromInt(1 << 30)), maxFixed},
		{"kappa", FromInt(32767).Div(u16MaxFix), 2147450879},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.name, tc.got, tc.want)
		}
	}
	if got := MaxUpscaleU16([]uint16{32767, 32767}); got[0] != 65535 || got[1] != 65535 {
		t.Errorf("MaxUpscaleU16 = %v", got)
	}
}
