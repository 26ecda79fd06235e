package yuma

import (
	"math/rand/v2"
	"testing"
)

// benchInput is a full subnet: 256 uids, the first 64 validators with random
// stake weighting all 192 miners with random weights, and prior bonds.
func benchInput() *Input {
	const n, validators = 256, 64
	r := rand.New(rand.NewPCG(1, 2))
	in := newSim(make([]uint64, n), 360, validators).in
	in.CurrentBlock = 10_000
	for i := 0; i < n; i++ {
		in.LastUpdate[i] = 9_990
		in.BlockAtRegistration[i] = uint64(r.IntN(5_000))
		if i < validators {
			in.Stake[i] = 1_000_000_000 + r.Uint64N(1_000_000_000_000)
			in.ValidatorPermit[i] = true
			var uids, vals []uint16
			for j := validators; j < n; j++ {
				uids = append(uids, uint16(j))
				vals = append(vals, uint16(r.IntN(65536)))
			}
			up := MaxUpscaleU16(vals)
			for k := range uids {
				in.Weights[i] = append(in.Weights[i], Weight{UID: uids[k], Value: up[k]})
				in.Bonds[i] = append(in.Bonds[i], Weight{UID: uids[k], Value: uint16(r.IntN(65536))})
			}
		}
	}
	return &in
}

func BenchmarkEpoch256x64(b *testing.B) {
	in := benchInput()
	b.ReportAllocs()
	for b.Loop() {
		Epoch(in)
	}
}

func TestEpochConservesEmission(t *testing.T) {
	in := benchInput()
	out := Epoch(in)
	var total, miners, validators uint64
	for i := range out.Emission {
		miners += out.ServerEmission[i]
		validators += out.ValidatorEmission[i]
		total += out.ServerEmission[i] + out.ValidatorEmission[i]
	}
	// Each share is floored per uid, so at most n rao go missing.
	if total > in.Emission || in.Emission-total > uint64(in.N) {
		t.Errorf("distributed %d rao of %d", total, in.Emission)
	}
	// 50/50 split between miners and validators when weights are set.
	if d := int64(miners) - int64(validators); d > int64(in.N) || d < -int64(in.N) {
		t.Errorf("miners %d vs validators %d: not a 50/50 split", miners, validators)
	}
	for i := 0; i < 64; i++ {
		if out.Incentive[i] != 0 {
			t.Errorf("validator uid %d got incentive %d", i, out.Incentive[i])
		}
	}
}
