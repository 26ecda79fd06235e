package lm

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTrain measures training throughput for a few model sizes. It
// reports tokens per wall second and per CPU second: on a shared machine the
// second is the steadier figure (tokens/s on a dedicated core).
// Run with -cpu 1,2 and once more with GOEXPERIMENT=simd.
func BenchmarkTrain(b *testing.B) {
	for _, c := range []Config{
		{Vocab: 2048, Ctx: 64, Dim: 32, Heads: 4, Layers: 2, Batch: 8}, // protocol refine-eval/1
		{Vocab: 4096, Ctx: 128, Dim: 128, Heads: 4, Layers: 2, Batch: 8},
		{Vocab: 4096, Ctx: 128, Dim: 96, Heads: 4, Layers: 2, Batch: 8},
		{Vocab: 4096, Ctx: 64, Dim: 64, Heads: 4, Layers: 2, Batch: 16},
	} {
		c.Steps, c.Warmup, c.LR, c.Beta1, c.Beta2, c.Eps, c.ClipNorm = 4, 1, 1e-3, 0.9, 0.95, 1e-8, 1
		name := fmt.Sprintf("V%d-d%d-L%d-T%d-B%d-simd=%v", c.Vocab, c.Dim, c.Layers, c.Ctx, c.Batch, simdKernels)
		b.Run(name, func(b *testing.B) {
			pool := make([]int32, 50000)
			for i := range pool {
				pool[i] = int32(i * 7919 % c.Vocab)
			}
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, _, err := Train(context.Background(), c, 1, pool); err != nil {
					b.Fatal(err)
				}
			}
			tok := float64(c.TrainTokens() * b.N)
			b.ReportMetric(tok/b.Elapsed().Seconds(), "tok/s")
			b.ReportMetric(tok/(cpuTime()-cpu0).Seconds(), "tok/cpu-s")
		})
	}
}
