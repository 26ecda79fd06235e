package warc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/datarefine/refine/internal/testdata"
)

// BenchmarkReadTrafilaturaEval reads and decodes the 990 pages of
// trafilatura_eval.warc.gz from memory (gunzip, WARC/HTTP parsing, charset
// decoding). Reports records/s and compressed MB/s.
func BenchmarkReadTrafilaturaEval(b *testing.B) {
	data, err := os.ReadFile(testdata.Path(b, "golden", "trafilatura_eval.warc.gz"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	records := 0
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
}
