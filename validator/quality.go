package validator

import (
	"context"
	"strings"
	"unicode"

	"github.com/datarefine/refine/dataset"
)

// QualityScorer rates the quality of a submission's sampled documents in
// [0, 1]. Scorers must be deterministic: every validator rates the same
// documents alike.
//
// Issue 9 (`refine evaluate`, the small model of lm/eval) replaces the
// stand-in below with a relative score from training a small model on the
// submission; until then StandInQuality is the default.
type QualityScorer interface {
	Quality(ctx context.Context, docs []dataset.Doc) (float64, error)
}

// StandInQuality is a cheap, documented placeholder for the model-based
// quality score: the mean over the sampled documents of
//
//	(share of whitespace tokens containing a letter) × min(1, 0.5 + words/1000)
//
// i.e. prose-like text scores near 1, symbol soup and very short documents
// less. Every document in an accepted submission has already passed the
// FineWeb filters, so the stand-in mostly separates long prose from short
// pages; it cannot be gamed beyond what provenance allows, because the
// documents it sees are re-derived from their WARC records.
type StandInQuality struct{}

// Quality implements QualityScorer.
func (StandInQuality) Quality(_ context.Context, docs []dataset.Doc) (float64, error) {
	if len(docs) == 0 {
		return 0, nil
	}
	var sum float64
	for _, d := range docs {
		words := strings.Fields(d.Text)
		if len(words) == 0 {
			continue
		}
		alpha := 0
		for _, w := range words {
			if strings.IndexFunc(w, unicode.IsLetter) >= 0 {
				alpha++
			}
		}
		length := min(1, 0.5+float64(len(words))/1000)
		sum += float64(alpha) / float64(len(words)) * length
	}
	return sum / float64(len(docs)), nil
}
