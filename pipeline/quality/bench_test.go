package quality

import (
	"testing"
	"time"

	"github.com/datarefine/refine/pipeline"
	"github.com/datarefine/refine/pipeline/words"
)

// benchDocs returns the golden extracted texts as documents whose words are
// already cached, as they are in the pipeline after the first filter that
// needs them.
func benchDocs(b *testing.B) []pipeline.Document {
	rows := loadGolden(b)
	docs := make([]pipeline.Document, len(rows))
	for i, r := range rows {
		docs[i] = pipeline.Document{Text: *r.ExtractedText}
		docs[i].Words(words.Words)
	}
	return docs
}

func benchFilter(b *testing.B, f pipeline.Filter) {
	docs := benchDocs(b)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for i := 0; i < b.N; i++ {
		d := docs[i%len(docs)] // a copy: C4 rewrites the text
		f.Filter(&d)
	}
	reportRates(b, cpu0)
}

// Words cached: the filter's own cost.
func BenchmarkGopherRepetition(b *testing.B) {
	benchFilter(b, NewGopherRepetition(GopherRepetitionOptions{}))
}

func BenchmarkGopherQuality(b *testing.B) { benchFilter(b, NewGopherQuality(GopherQualityOptions{})) }

// C4 includes the per-line sentence counting (spaCy port).
func BenchmarkC4Quality(b *testing.B) { benchFilter(b, NewC4Quality(C4QualityOptions{})) }

func BenchmarkFineWebQuality(b *testing.B) {
	benchFilter(b, NewFineWebQuality(FineWebQualityOptions{}))
}

// BenchmarkChain runs the four filters in FineWeb order on fresh documents,
// tokenizer included (words once for the extracted text, once more for C4's
// rewritten text, as in the pipeline).
func BenchmarkChain(b *testing.B) {
	rows := loadGolden(b)
	chain := []pipeline.Filter{
		NewGopherRepetition(GopherRepetitionOptions{}), NewGopherQuality(GopherQualityOptions{}),
		NewC4Quality(C4QualityOptions{}), NewFineWebQuality(FineWebQualityOptions{}),
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for i := 0; i < b.N; i++ {
		d := pipeline.Document{Text: *rows[i%len(rows)].ExtractedText}
		for _, f := range chain {
			if keep, _ := f.Filter(&d); !keep {
				break
			}
		}
	}
	reportRates(b, cpu0)
}

// BenchmarkChainAllFilters is BenchmarkChain without early exit: every
// document goes through all four filters (the worst case per document).
func BenchmarkChainAllFilters(b *testing.B) {
	rows := loadGolden(b)
	chain := []pipeline.Filter{
		NewGopherRepetition(GopherRepetitionOptions{}), NewGopherQuality(GopherQualityOptions{}),
		NewC4Quality(C4QualityOptions{}), NewFineWebQuality(FineWebQualityOptions{}),
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for i := 0; i < b.N; i++ {
		d := pipeline.Document{Text: *rows[i%len(rows)].ExtractedText}
		for _, f := range chain {
			f.Filter(&d)
		}
	}
	reportRates(b, cpu0)
}

// reportRates reports documents per second of wall time and per second of
// process CPU time (GC included), the latter being meaningful on a loaded
// machine.
func reportRates(b *testing.B, cpu0 time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "docs/cpu-s")
	}
}
