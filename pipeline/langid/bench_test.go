package langid

import (
	"testing"

	"github.com/datarefine/refine/pipeline"
)

// benchTexts returns the golden documents' extracted texts and their total
// size.
func benchTexts(b *testing.B) ([]string, int64) {
	b.Helper()
	var texts []string
	var size int64
	for _, c := range goldenDocCases(b) {
		texts = append(texts, c.text)
		size += int64(len(c.text))
	}
	return texts, size
}

// BenchmarkFilter measures the language filter on the golden FineWeb
// documents; one op is one pass over all of them (~1,040 documents).
// Reported: docs/s and MB/s.
func BenchmarkFilter(b *testing.B) {
	texts, size := benchTexts(b)
	f, err := NewFilter(Options{})
	if err != nil {
		b.Fatal(err)
	}
	docs := make([]pipeline.Document, len(texts))
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		for i, t := range texts {
			docs[i].Text = t
			f.Filter(&docs[i])
		}
	}
	b.ReportMetric(float64(len(texts))*float64(b.N)/b.Elapsed().Seconds(), "docs/s")
}

// BenchmarkFilterParallel is BenchmarkFilter from GOMAXPROCS goroutines
// sharing one model.
func BenchmarkFilterParallel(b *testing.B) {
	texts, size := benchTexts(b)
	f, err := NewFilter(Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size / int64(len(texts)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var doc pipeline.Document
		i := 0
		for pb.Next() {
			doc.Text = texts[i%len(texts)]
			f.Filter(&doc)
			i++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
}

// BenchmarkPredictSentences measures top-1 prediction on the 5,000 short
// papluca sentences; one op is one sentence.
func BenchmarkPredictSentences(b *testing.B) {
	cases := lid176Cases(b)
	m, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	var size int64
	for _, c := range cases {
		size += int64(len(c.text))
	}
	b.SetBytes(size / int64(len(cases)))
	buf := make([]Prediction, 0, 1)
	b.ResetTimer()
	i := 0
	for b.Loop() {
		buf = m.PredictAppend(buf[:0], cases[i%len(cases)].text, 1, 0)
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "preds/s")
}

// BenchmarkLoad measures parsing the embedded lid.176.ftz.
func BenchmarkLoad(b *testing.B) {
	b.SetBytes(int64(len(lid176)))
	for b.Loop() {
		if _, err := parse(lid176); err != nil {
			b.Fatal(err)
		}
	}
}
