package devchain

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkEpochBlock256 measures producing blocks on a full subnet (256
// uids, 64 validators weighting all 192 miners) with tempo 1, so every other
// block runs an epoch: Yuma plus writing 256 neurons, stakes and ledger rows
// to SQLite. One op is two blocks (one epoch).
func BenchmarkEpochBlock256(b *testing.B) {
	ctx := context.Background()
	hp := testHP()
	hp.Tempo = 1
	hp.MaxRegistrationsPerBlock = 256
	c := newChain(b, hp, b.TempDir()+"/chain.db")
	const n, v = 256, 64
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("N%d", i)
		stake := uint64(0)
		if i < v {
			stake = uint64(i+1) * tao
		}
		register(b, c, c, fund(c), name, stake)
	}
	advance(b, c, 2) // permits
	uids := make([]uint16, 0, n-v)
	weights := make([]uint16, 0, n-v)
	for j := v; j < n; j++ {
		uids = append(uids, uint16(j))
		weights = append(weights, uint16(j*37%1000+1))
	}
	for i := 0; i < v; i++ {
		if err := c.SetWeights(ctx, key(b, fmt.Sprintf("N%d", i)), 1, uids, weights, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if err := c.AdvanceBlocks(ctx, 2); err != nil {
			b.Fatal(err)
		}
	}
}
