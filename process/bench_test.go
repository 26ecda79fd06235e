package process

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/datarefine/refine/internal/shareddata"
	"github.com/datarefine/refine/internal/testpages"
	"github.com/datarefine/refine/pipeline"
	"github.com/datarefine/refine/pipeline/extract"
)

// BenchmarkPipeline measures the whole pipeline on the golden WARC (990
// real pages) and, in the same run, extraction alone on the same pages, so that their ratio is measured under the same conditions.
//
//	go test ./process -run '^$' -bench Pipeline -benchtime 1x
//
// Metrics: docs/s (whole pipeline, all workers), docs/s/core
// (docs/s ÷ workers), docs/cpu-s (documents per CPU-second of the process,
// GC included), extract-docs/s (extraction alone, one goroutine, per
// CPU-second), pipeline/extract (CPU time of the whole pipeline ÷ CPU time
// of extraction alone), extracted-% (pages that reached the extractor) and
// peak-RSS-MB of the process. The gate=off runs turn the language gate off
// (every page extracted, as datatrove does).
func BenchmarkPipeline(b *testing.B) {
	for _, gate := range []bool{true, false} {
		for _, workers := range []int{1, 2} {
			name := fmt.Sprintf("gate=on/workers=%d", workers)
			if !gate {
				name = fmt.Sprintf("gate=off/workers=%d", workers)
			}
			b.Run(name, func(b *testing.B) {
				benchPipeline(b, workers, !gate)
			})
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func peakRSSMB() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Maxrss) / 1024 // Linux reports KiB
}

func benchPipeline(b *testing.B, workers int, noGate bool) {
	dir := testAssets(b)
	path := shareddata.Path(b, "golden", "trafilatura_eval.warc.gz")
	ctx := context.Background()

	// Extraction alone: read and decode every page once (outside the
	// timing), then extract each page on one goroutine.
	pages := testpages.Load(b, "golden", "trafilatura_eval.warc.gz")
	ex := extract.New(extract.Options{})

	b.ResetTimer()
	var pipeWall, pipeCPU, exCPU time.Duration
	var docs, extracted int64
	for i := 0; i < b.N; i++ {
		c0 := cpuTime()
		for _, p := range pages {
			ex.Extract(ctx, p.HTML, p.URL)
		}
		exCPU += cpuTime() - c0

		out := b.TempDir()
		c0, t0 := cpuTime(), time.Now()
		m, err := Run(ctx, Options{
			Inputs: []string{path}, Output: out, Workers: workers,
			Steps: StepOptions{AssetsDir: dir, NoLanguageGate: noGate},
		})
		if err != nil {
			b.Fatal(err)
		}
		pipeWall += time.Since(t0)
		pipeCPU += cpuTime() - c0
		docs += m.Stats.Records
		extracted += reachedStep(m.Stats, "extract")
	}
	b.StopTimer()
	dps := float64(docs) / pipeWall.Seconds()
	b.ReportMetric(dps, "docs/s")
	b.ReportMetric(dps/float64(workers), "docs/s/core")
	b.ReportMetric(float64(len(pages)*b.N)/exCPU.Seconds(), "extract-docs/s")
	b.ReportMetric(float64(docs)/pipeCPU.Seconds(), "docs/cpu-s")
	b.ReportMetric(pipeCPU.Seconds()/exCPU.Seconds(), "pipeline/extract")
	b.ReportMetric(100*float64(extracted)/float64(docs), "extracted-%")
	b.ReportMetric(peakRSSMB(), "peak-RSS-MB")
}

// reachedStep counts the records that reached the named step: those not
// dropped by a step before it.
func reachedStep(st *pipeline.Stats, name string) int64 {
	n := st.Records
	for _, s := range st.Steps {
		if s.Name == name {
			break
		}
		n -= s.Dropped
	}
	return n
}
