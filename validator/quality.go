package validator

import (
	"context"
	"github.com/datarefine/refine/validator/verify"
	"strings"
	"unicode"
)

// QualityScorer rates the quality of a submission in [0, 1] relative to the
// reference pipeline (verify.QualityScorer documents the contract).
type QualityScorer = verify.QualityScorer

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
