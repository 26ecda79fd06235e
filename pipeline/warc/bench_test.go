//go:build unix

package warc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/datarefine/refine/internal/shareddata"
)

// BenchmarkReadTrafilaturaEval reads and decodes the 990 pages of
// trafilatura_eval.warc.gz from memory (gunzip, WARC/HTTP parsing, charset
// decoding). Reports records/s and compressed MB/s.
func BenchmarkReadTrafilaturaEval(b *testing.B) {
	data, err := os.ReadFile(shareddata.Path(b, "golden", "trafilatura_eval.warc.gz"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	records := 0
	cpu0 := cpuTime()
	for b.Loop() {
		r := NewReader(bytes.NewReader(data), Options{})
		for {
			rec, err := r.Next(context.Background())
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if rec.Skip == "" {
				records++
			}
		}
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(records)/cpu.Seconds(), "records/cpu-s")
	}
}

// cpuTime is the process's user+system CPU time: on a shared, loaded
// machine it is the figure that carries over.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
