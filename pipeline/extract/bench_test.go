//go:build unix

package extract

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/markusmobius/go-trafilatura"

	"github.com/datarefine/refine/internal/testpages"
)

// BenchmarkExtractTrafilaturaEval extracts the ~990 benchmark pages in one
// goroutine, without time limit; reports docs/s.
func BenchmarkExtractTrafilaturaEval(b *testing.B) {
	pages := testpages.Load(b, "golden", "trafilatura_eval.warc.gz")
	e := New(Options{Timeout: -1})
	ctx := context.Background()
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
	reportDocRates(b, n, cpu0)
}

// cpuTime is the process's user+system CPU time. On a shared, loaded
// machine wall time mostly measures waiting; CPU time per document is the
// figure that carries over ("docs/s/core").
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportDocRates(b *testing.B, n int, cpu0 time.Duration) {
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "docs/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(n)/cpu.Seconds(), "docs/cpu-s")
	}
}

// BenchmarkExtractNaive is the baseline: go-trafilatura's own entry point
// on the page text (it re-detects the charset and parses), with the default
// date extraction. Same pages and extraction settings otherwise.
func BenchmarkExtractNaive(b *testing.B) {
	pages := testpages.Load(b, "golden", "trafilatura_eval.warc.gz")
	b.ReportAllocs()
	n := 0
	cpu0 := cpuTime()
	for b.Loop() {
		for _, p := range pages {
			opts := trafilaturaOptions(p.URL, true)
			opts.HtmlDateOverride = nil
			_, _ = trafilatura.Extract(strings.NewReader(p.HTML), opts)
			n++
		}
	}
	reportDocRates(b, n, cpu0)
}
