//go:build unix

package extract

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/datarefine/refine/internal/testpages"
	"github.com/datarefine/refine/pipeline/extract/dom"
)

// BenchmarkExtract extracts the 985 usable pages of the golden trafilatura
// benchmark WARC in one goroutine and reports pages per CPU-second
// (docs/cpu-s: the process's user+system time, GC included, so the figure
// carries over to a loaded machine) and pages per second.
//
//	go test ./pipeline/extract -run '^$' -bench Extract -benchtime 3x
func BenchmarkExtract(b *testing.B) {
	pages := testpages.Load(b, "golden", "trafilatura_eval.warc.gz")
	e := New(Options{})
	ctx := context.Background()
	var bytes int64
	for _, p := range pages {
		bytes += int64(len(p.HTML))
	}
	b.SetBytes(bytes)
	b.ReportAllocs()
	n := 0
	cpu0 := cpuTime()
	for b.Loop() {
		for _, p := range pages {
			if _, _, err := e.Extract(ctx, p.HTML, p.URL); err != nil {
				b.Fatal(err)
			}
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "docs/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(n)/cpu.Seconds(), "docs/cpu-s")
	}
}

// BenchmarkParse parses the same pages (package dom alone).
func BenchmarkParse(b *testing.B) {
	pages := testpages.Load(b, "golden", "trafilatura_eval.warc.gz")
	var bytes int64
	for _, p := range pages {
		bytes += int64(len(p.HTML))
	}
	b.SetBytes(bytes)
	b.ReportAllocs()
	for b.Loop() {
		for _, p := range pages {
			loadHTML(&dom.Arena{}, p.HTML)
		}
	}
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
