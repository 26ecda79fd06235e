// Package quality implements FineWeb's four heuristic quality filters with
// datatrove's exact semantics (datatrove a649de79, as examples/fineweb.py uses
// them): GopherRepetition, GopherQuality, C4Quality and FineWebQuality.
//
// Each filter is a pipeline.Filter. Drop reasons are datatrove's strings
// ("dup_line_frac", "gopher_short_doc", "too_few_sentences",
// "line_punct_ratio", ...). Lengths are Python lengths (code points) and line
// and whitespace handling follows Python's str methods, because those
// details move real documents across thresholds.
//
// Option fields follow one convention: the zero value means datatrove's
// default as FineWeb uses it, and a negative value disables the rule (what
// None or 0 does in datatrove). The filters hold no mutable state and are safe
// for concurrent use.
//
// Words come from Document.Words, so the tokenizer runs once per text even
// when several filters need it; the tokenizer itself is injectable through
// the options (tests feed golden spaCy tokens this way).
package quality

import (
	"github.com/datarefine/refine/pipeline"
	"github.com/datarefine/refine/pipeline/words"
)

// CountSentencesFunc returns len(split_into_sentences(text)), never less
// than 1; the pipeline uses words.CountSentences (spaCy's sentencizer).
type CountSentencesFunc func(text string) int

func wordsOrDefault(f pipeline.WordsFunc) pipeline.WordsFunc {
	if f == nil {
		return words.Words
	}
	return f
}

func countSentencesOrDefault(f CountSentencesFunc) CountSentencesFunc {
	if f == nil {
		return words.CountSentences
	}
	return f
}

// orDefault resolves the options convention: 0 → def, negative → disabled
// (returned as 0 with ok=false).
func orDefault(v, def float64) (float64, bool) {
	switch {
	case v == 0:
		return def, true
	case v < 0:
		return 0, false
	}
	return v, true
}

func orDefaultInt(v, def int) (int, bool) {
	switch {
	case v == 0:
		return def, true
	case v < 0:
		return 0, false
	}
	return v, true
}

// ratio is Python's int / int true division for counts.
func ratio(a, b int) float64 { return float64(a) / float64(b) }
