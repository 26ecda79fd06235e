package words

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// benchTexts loads the golden extracted texts once for the benchmarks.
func benchTexts(b *testing.B) ([]string, int64) {
	b.Helper()
	rows := loadGolden(b)
	texts := make([]string, len(rows))
	var n int64
	for i, r := range rows {
		texts[i] = *r.Text
		n += int64(len(texts[i]))
	}
	return texts, n
}

// BenchmarkWordsGolden tokenizes every golden document once per iteration;
// it reports MB/s and documents per second.
func BenchmarkWordsGolden(b *testing.B) {
	texts, n := benchTexts(b)
	b.SetBytes(n)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for _, t := range texts {
			_ = Words(t)
		}
	}
	b.ReportMetric(float64(b.N*len(texts))/b.Elapsed().Seconds(), "docs/s")
}

// BenchmarkSentencesGolden runs the sentencizer on every golden document.
func BenchmarkSentencesGolden(b *testing.B) {
	texts, n := benchTexts(b)
	b.SetBytes(n)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for _, t := range texts {
			_ = CountSentences(t)
		}
	}
	b.ReportMetric(float64(b.N*len(texts))/b.Elapsed().Seconds(), "docs/s")
}

// BenchmarkWords10KB tokenizes one 10 KiB document made of golden texts.
func BenchmarkWords10KB(b *testing.B) {
	texts, _ := benchTexts(b)
	var sb strings.Builder
	for _, t := range texts {
		if sb.Len() >= 10<<10 {
			break
		}
		sb.WriteString(t)
		sb.WriteByte('\n')
	}
	doc := sb.String()[:10<<10]
	for !utf8.ValidString(doc) {
		doc = doc[:len(doc)-1]
	}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		_ = Words(doc)
	}
}
