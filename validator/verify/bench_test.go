package verify

import (
	"context"
	"testing"

	"github.com/datarefine/refine/internal/shareddata"
	"github.com/datarefine/refine/process"
)

// BenchmarkRederive measures the provenance cost of one document: read its
// record at the cited offset from a local WARC, run the reference pipeline,
// compare the text. Reports documents/s.
func BenchmarkRederive(b *testing.B) {
	warc := shareddata.Path(b, "warc", "real_crawls", "dolma_browsertrix_sample-0000.warc.gz")
	ref, assetsDir := testReferenceTB(b)
	out := b.TempDir()
	m, err := process.Run(context.Background(), process.Options{Inputs: []string{warc}, Output: out, Workers: 1,
		Steps: process.StepOptions{AssetsDir: assetsDir}})
	if err != nil {
		b.Fatal(err)
	}
	sub, err := OpenSubmission(context.Background(), out, m, taskFor(warc), ReadOptions{Reference: ref, Spans: localSpans(b, taskFor(warc)), Draws: 64})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	n := 0
	for b.Loop() {
		sub.reruns = newReruns(ref, sub.task.WARCs, sub.Index) // re-run every time
		p, err := CheckProvenance(context.Background(), ref, sub)
		if err != nil || p.Matched != p.Checked {
			b.Fatalf("%+v %v", p, err)
		}
		n += len(p.MinerTexts)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "docs/s")
}
