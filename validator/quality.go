package validator

import (
	"context"
	"strings"
	"unicode"
)

// QualityScorer rates the quality of a submission in [0, 1], relative to
// the reference pipeline: miner holds the sampled documents as the miner
// submitted them, reference the reference pipeline's output for the same
// sampled records (the records it keeps), both with PII replacements folded
// (see verify.CheckProvenance). An honest miner's two sides are equal and
// score 1; a miner whose documents are worse than what the reference makes of
// the same records scores less. Comparing against the same records, rather
// than scoring the documents alone, means a lucky WARC does not make a better
// miner.
//
// Scorers must be deterministic: every validator rates the same documents
// alike, whatever its thread count or timing.
type QualityScorer interface {
	Quality(ctx context.Context, miner, reference []string) (float64, error)
}

// StandInQuality is a cheap, documented placeholder for the model-based
// quality score, used when no reference text is configured (devnets). Its
// absolute rating of a document set is the mean over the documents of
//
//	(share of whitespace tokens containing a letter) × min(1, 0.5 + words/1000)
//
// i.e. prose-like text scores near 1, symbol soup and very short documents
// less; the quality is 1 − max(0, rating(reference) − rating(miner)), so an
// honest miner scores 1 whatever its WARC.
type StandInQuality struct{}

// Quality implements QualityScorer.
func (StandInQuality) Quality(_ context.Context, miner, reference []string) (float64, error) {
	if len(miner) == 0 || len(reference) == 0 {
		return 0, nil
	}
	return min(1, max(0, 1-max(0, standInRating(reference)-standInRating(miner)))), nil
}

func standInRating(docs []string) float64 {
	var sum float64
	for _, d := range docs {
		words := strings.Fields(d)
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
	return sum / float64(len(docs))
}
