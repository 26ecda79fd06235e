package yuma

import (
	"fmt"
	"math"
	"math/rand/v2"
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
// emission in rao, exact; the fixed-point values are logged to 10 decimals).
func TestBondsLoggedValues(t *testing.T) {
	s := newSim([]uint64{1, 2, 3, 4, 0, 0, 0, 0}, 1, 8)
	s.epoch(0)
	for uid := 0; uid < 4; uid++ {
		s.setWeights(uid, 1, []uint16{4, 5, 6, 7}, []uint16{math.MaxUint16 / 4, math.MaxUint16 / 2, (math.MaxUint16 / 4) * 3, math.MaxUint16})
	}
	out := s.epoch(1)
	wantE := []uint64{49999998, 99999999, 150000000, 200000001, 49998779, 100000610, 149996337, 200004272}
	for i, w := range wantE {
		if d := int64(out.Emission[i]) - int64(w); d != 0 {
			t.Errorf("E[%d] = %d, want %d", i, out.Emission[i], w)
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

// replace mimics subtensor's replace_neuron + clear_neuron for uid: new
// registration block, fresh state, its weights and bonds removed and other
// neurons' weights on it zeroed.
func (s *sim) replace(uid int, block, stake uint64) {
	s.in.BlockAtRegistration[uid] = block
	s.in.LastUpdate[uid] = block
	s.in.Stake[uid] = stake
	s.in.ValidatorPermit[uid] = false
	s.in.Weights[uid] = nil
	s.in.Bonds[uid] = nil
	for i, row := range s.in.Weights {
		for k := range row {
			if int(row[k].UID) == uid {
				s.in.Weights[i][k].Value = 0
			}
		}
	}
}

// TestOutdatedWeightsParity replays tests/epoch.rs::test_outdated_weights:
// weights and bonds on a deregistered server are masked until a validator
// updates its weights after the new registration.
func TestOutdatedWeightsParity(t *testing.T) {
	s := newSim([]uint64{1, 1, 1, 1}, 0, 4)
	s.epoch(0)
	for uid := 0; uid < 2; uid++ {
		s.setWeights(uid, 1, []uint16{2, 3}, []uint16{2 * (math.MaxUint16 / 3), math.MaxUint16 / 3})
	}
	for uid := 2; uid < 4; uid++ {
		s.setWeights(uid, 1, []uint16{uint16(uid)}, []uint16{math.MaxUint16})
	}
	out := s.epoch(1)
	// Logged in the test: I (=R): [0, 0, 0.6666632756, 0.3333367242].
	for i, want := range []float64{0, 0, 0.6666632756, 0.3333367242} {
		if d := math.Abs(out.Fixed.Incentive[i].Float() - want); d > 1e-9 {
			t.Errorf("epoch 1: I[%d] = %.10f, want %.10f", i, out.Fixed.Incentive[i].Float(), want)
		}
	}
	s.replace(3, 1, 0) // uid 3 had the least incentive
	s.setWeights(0, 2, []uint16{2, 3}, []uint16{2 * (math.MaxUint16 / 3), math.MaxUint16 / 3})
	out = s.epoch(2)
	if out.Dividends[0] != 32767 || out.Emission[0] != 250000000 {
		t.Errorf("uid 0: D=%d E=%d, want D=32767 E=250000000", out.Dividends[0], out.Emission[0])
	}
	if b := s.bond(0, 2); b != 65535 {
		t.Errorf("bonds[0][2] = %d, want 65535", b)
	}
	if b := s.bond(0, 3); b != 65535 {
		t.Errorf("bonds[0][3] = %d, want 65535 (only uid 0 updated after the new registration)", b)
	}
}

// TestZeroWeightsParity replays tests/epoch.rs::test_zero_weights: with no
// usable weights all emission follows stake, weights on a uid re-registered
// in the same block are outdated, and fresh weights split emission 50/50.
func TestZeroWeightsParity(t *testing.T) {
	s := newSim([]uint64{1, 0}, math.MaxUint16-1, 128)
	check := func(step string, out *Output, want []uint64) {
		t.Helper()
		for i, w := range want {
			if out.Emission[i] != w {
				t.Errorf("%s: E[%d] = %d, want %d", step, i, out.Emission[i], w)
			}
		}
	}
	check("no weights", s.epoch(0), []uint64{1_000_000_000, 0})
	s.setWeights(1, 1, []uint16{1}, []uint16{math.MaxUint16}) // server self-weight
	check("self-weight only", s.epoch(1), []uint64{1_000_000_000, 0})
	s.setWeights(0, 2, []uint16{1}, []uint16{math.MaxUint16})
	s.replace(1, 2, 0) // a new key takes the server's uid in the same block
	check("weights on a uid registered in the same block", s.epoch(2), []uint64{1_000_000_000, 0})
	s.setWeights(0, 3, []uint16{1}, []uint16{math.MaxUint16})
	check("fresh weights", s.epoch(3), []uint64{500_000_000, 500_000_000})
}

// TestValidatorPermitsParity replays tests/epoch.rs::test_validator_permits
// (blockwise and regular interleaving; the random one is covered by the
// regular one's generality): permits go to the top-k stake above the stake
// threshold, and move when servers out-stake the validators.
func TestValidatorPermitsParity(t *testing.T) {
	for interleave := 0; interleave < 2; interleave++ {
		for _, nv := range [][2]int{{2, 1}, {4, 2}, {8, 4}} {
			n, v := nv[0], nv[1]
			minStake := uint64(v)
			for assignment := 0; assignment <= 1; assignment++ {
				isVal := make([]bool, n)
				for i := 0; i < n; i++ {
					if interleave == 0 {
						isVal[i] = i < v
					} else {
						isVal[i] = i%(n/v) == 0
					}
				}
				stake := make([]uint64, n)
				for i := range stake {
					switch {
					case assignment == 1 && isVal[i]:
						stake[i] = uint64(i + n)
					case assignment == 1:
						stake[i] = uint64(i)
					case isVal[i]:
						stake[i] = 1
					}
				}
				s := newSim(append([]uint64(nil), stake...), math.MaxUint16-1, v)
				s.in.StakeThreshold = minStake
				s.epoch(0)
				name := fmt.Sprintf("interleave %d n=%d v=%d assignment %d", interleave, n, v, assignment)
				for i := 0; i < n; i++ {
					want := isVal[i] && stake[i] >= minStake
					if s.in.ValidatorPermit[i] != want {
						t.Errorf("%s, first epoch: permit[%d] = %v, want %v", name, i, s.in.ValidatorPermit[i], want)
					}
				}
				for i := 0; i < n; i++ {
					if !isVal[i] {
						s.in.Stake[i] += uint64(2 * n)
					}
				}
				s.epoch(1)
				for i := 0; i < n; i++ {
					want := !isVal[i] && stake[i]+uint64(2*n) >= minStake
					if s.in.ValidatorPermit[i] != want {
						t.Errorf("%s, after servers stake: permit[%d] = %v, want %v", name, i, s.in.ValidatorPermit[i], want)
					}
				}
			}
		}
	}
}

// Test512GraphParity replays tests/epoch.rs::test_512_graph: 512 uids, 64
// validators with equal stake weighing the 448 servers equally, three epochs,
// for blockwise, regular and shuffled placement, with and without server
// self-weights.
func Test512GraphParity(t *testing.T) {
	const n, v = 512, 64
	const stakePerValidator = 328_125_000_000_000
	for interleave := 0; interleave < 3; interleave++ {
		for _, serverSelf := range []bool{false, true} {
			perm := make([]int, n)
			for i := range perm {
				perm[i] = i
			}
			if interleave == 2 {
				r := rand.New(rand.NewPCG(uint64(interleave), 7))
				r.Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
			}
			isVal := make([]bool, n)
			for k, uid := range perm {
				switch interleave {
				case 1:
					isVal[uid] = uid%(n/v) == 0
				default:
					isVal[uid] = k < v
				}
			}
			var validators, servers []uint16
			stake := make([]uint64, n)
			for uid := 0; uid < n; uid++ {
				if isVal[uid] {
					validators = append(validators, uint16(uid))
					stake[uid] = stakePerValidator
				} else {
					servers = append(servers, uint16(uid))
				}
			}
			s := newSim(stake, math.MaxUint16-1, v)
			s.epoch(1)
			equal := make([]uint16, len(servers))
			for i := range equal {
				equal[i] = math.MaxUint16 / n
			}
			for _, uid := range validators {
				s.setWeights(int(uid), 1, servers, equal)
			}
			if serverSelf {
				for _, uid := range servers {
					s.setWeights(int(uid), 1, []uint16{uid}, []uint16{math.MaxUint16})
				}
			}
			var out *Output
			for e := 0; e < 3; e++ {
				out = s.epoch(1)
			}
			name := fmt.Sprintf("interleave %d server_self %v", interleave, serverSelf)
			val0, srv0 := int(validators[0]), int(servers[0])
			for _, uid := range validators {
				if out.Consensus[uid] != 0 || out.Incentive[uid] != 0 || out.Dividends[uid] != 1023 ||
					out.Emission[uid] != 7812500 || s.bond(int(uid), val0) != 0 || s.bond(int(uid), srv0) != 65535 {
					t.Fatalf("%s: validator %d: C=%d I=%d D=%d E=%d B=%d,%d; want 0 0 1023 7812500 0,65535", name, uid,
						out.Consensus[uid], out.Incentive[uid], out.Dividends[uid], out.Emission[uid], s.bond(int(uid), val0), s.bond(int(uid), srv0))
				}
			}
			for _, uid := range servers {
				if out.Consensus[uid] != 146 || out.Incentive[uid] != 146 || out.Dividends[uid] != 0 ||
					out.Emission[uid] != 1116071 || s.bond(int(uid), val0) != 0 || s.bond(int(uid), srv0) != 0 {
					t.Fatalf("%s: server %d: C=%d I=%d D=%d E=%d; want 146 146 0 1116071", name, uid,
						out.Consensus[uid], out.Incentive[uid], out.Dividends[uid], out.Emission[uid])
				}
			}
		}
	}
}
