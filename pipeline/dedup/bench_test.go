package dedup

import (
	"context"
	"testing"
)

// goldenTexts returns the extracted texts of the golden pages.
func goldenTexts(b *testing.B) []string {
	var texts []string
	for _, r := range loadGolden(b) {
		if r.ExtractedText != nil {
			texts = append(texts, *r.ExtractedText)
		}
	}
	return texts
}

// BenchmarkSign is the whole per-document cost on real pages: simplify,
// tokenize, shingle (sha1) and the 112 permutations. docs/s is per core.
func BenchmarkSign(b *testing.B) {
	texts := goldenTexts(b)
	s := newTestMinHasher(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Sign(texts[i%len(texts)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
}

// BenchmarkSignShingles isolates the permutations (min over 112 hash
// functions) from text processing.
func BenchmarkSignShingles(b *testing.B) {
	texts := goldenTexts(b)
	s := newTestMinHasher(b)
	var sets [][]uint64
	total := 0
	for _, t := range texts {
		sh := Shingles(s.words(Simplify(t)), 5)
		sets = append(sets, sh)
		total += len(sh)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.SignShingles(sets[i%len(sets)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
	b.ReportMetric(float64(total)/float64(len(sets)), "shingles/doc")
}

// BenchmarkSimplify is datatrove's simplify_text on real pages.
func BenchmarkSimplify(b *testing.B) {
	texts := goldenTexts(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Simplify(texts[i%len(texts)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
}

// BenchmarkTaskFinish clusters 10,000 lorem-ipsum slices held in memory.
func BenchmarkTaskFinish(b *testing.B) {
	s := newTestMinHasher(b)
	var sigs []Signature
	for x := 0; len(sigs) < 10000; x = (x + 7) % (len(loremIpsum) - 300) {
		sigs = append(sigs, s.Sign(loremIpsum[x:x+300]))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d, _ := NewTaskDeduper(TaskOptions{MinHasher: s})
		for k, sig := range sigs {
			_ = d.AddSignature(k, "", sig)
		}
		if _, _, err := d.Finish(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
