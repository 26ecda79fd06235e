package lm

import (
	"context"
	"testing"
)

func BenchmarkTrainTmp(b *testing.B) {
	c := Config{Vocab: 4096, Ctx: 128, Dim: 128, Heads: 4, Layers: 2, Batch: 8, Steps: 4}
	c.Warmup = 1
	c.LR = 1e-3
	c.Beta1 = 0.9
	c.Beta2 = 0.95
	c.Eps = 1e-8
	c.ClipNorm = 1
	pool := make([]int32, 100000)
	for i := range pool {
		pool[i] = int32(i * 7919 % c.Vocab)
	}
	for i := 0; i < b.N; i++ {
		Train(context.Background(), c, 1, pool)
	}
	b.ReportMetric(float64(c.TrainTokens()*b.N)/b.Elapsed().Seconds(), "tok/s")
}
