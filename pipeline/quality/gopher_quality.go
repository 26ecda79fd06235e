package quality

import (
	"strings"
	"unicode/utf8"

	"github.com/datarefine/refine/pipeline"
)

// GopherQualityOptions configures GopherQuality. Zero values mean
// datatrove's defaults; negative values disable a rule.
type GopherQualityOptions struct {
	MinDocWords           int     // 50
	MaxDocWords           int     // 100000
	MinAvgWordLength      float64 // 3
	MaxAvgWordLength      float64 // 10
	MaxSymbolWordRatio    float64 // 0.1 (both "#" and ellipses)
	MaxBulletLinesRatio   float64 // 0.9
	MaxEllipsisLinesRatio float64 // 0.3
	// MinAlphaWordsRatio is datatrove's max_non_alpha_words_ratio (misnamed
	// there): the share of words with an alphabetic character must reach it.
	MinAlphaWordsRatio float64 // 0.8
	MinStopWords       int     // 2
	// StopWords defaults to the, be, to, of, and, that, have, with
	// (case-sensitive).
	StopWords []string
	// Words tokenizes the text; nil means words.Words.
	Words pipeline.WordsFunc
}

// GopherQuality is datatrove's GopherQualityFilter (Gopher paper's quality
// rules).
type GopherQuality struct {
	minWords, maxWords         int
	minWordsOK, maxWordsOK     bool
	minAvg, maxAvg             float64
	minAvgOK, maxAvgOK         bool
	symbolRatio                float64
	symbolOK                   bool
	bulletRatio, ellipsisRatio float64
	bulletOK, ellipsisOK       bool
	alphaRatio                 float64
	alphaOK                    bool
	minStopWords               int
	minStopOK                  bool
	stopWords                  []string
	words                      pipeline.WordsFunc
}

// NewGopherQuality returns the filter with opts resolved against datatrove's
// defaults.
func NewGopherQuality(opts GopherQualityOptions) *GopherQuality {
	f := &GopherQuality{words: wordsOrDefault(opts.Words)}
	f.minWords, f.minWordsOK = orDefaultInt(opts.MinDocWords, 50)
	f.maxWords, f.maxWordsOK = orDefaultInt(opts.MaxDocWords, 100000)
	f.minAvg, f.minAvgOK = orDefault(opts.MinAvgWordLength, 3)
	f.maxAvg, f.maxAvgOK = orDefault(opts.MaxAvgWordLength, 10)
	f.symbolRatio, f.symbolOK = orDefault(opts.MaxSymbolWordRatio, 0.1)
	f.bulletRatio, f.bulletOK = orDefault(opts.MaxBulletLinesRatio, 0.9)
	f.ellipsisRatio, f.ellipsisOK = orDefault(opts.MaxEllipsisLinesRatio, 0.3)
	f.alphaRatio, f.alphaOK = orDefault(opts.MinAlphaWordsRatio, 0.8)
	f.minStopWords, f.minStopOK = orDefaultInt(opts.MinStopWords, 2)
	f.stopWords = opts.StopWords
	if f.stopWords == nil {
		f.stopWords = []string{"the", "be", "to", "of", "and", "that", "have", "with"}
	}
	// Duplicates in the list count once, as in datatrove's set.
	uniq := f.stopWords[:0:0]
	for _, w := range f.stopWords {
		dup := false
		for _, u := range uniq {
			dup = dup || u == w
		}
		if !dup {
			uniq = append(uniq, w)
		}
	}
	f.stopWords = uniq
	return f
}

// Name implements pipeline.Filter.
func (f *GopherQuality) Name() string { return "gopher_qual" }

// Filter implements pipeline.Filter.
func (f *GopherQuality) Filter(doc *pipeline.Document) (bool, string) {
	text := doc.Text
	words := doc.Words(f.words)
	nWords := len(words)

	nonSymbol, nonSymbolChars := 0, 0
	for _, w := range words {
		if hasNonPunct(w) {
			nonSymbol++
			nonSymbolChars += pyLen(w)
		}
	}
	if f.minWordsOK && nonSymbol < f.minWords {
		return false, "gopher_short_doc"
	}
	if f.maxWordsOK && nonSymbol > f.maxWords {
		return false, "gopher_long_doc"
	}

	// np.mean over integer lengths: the sum is exact, one division.
	avg := ratio(nonSymbolChars, nonSymbol)
	if f.minAvgOK && avg < f.minAvg {
		return false, "gopher_below_avg_threshold"
	}
	if f.maxAvgOK && avg > f.maxAvg {
		return false, "gopher_above_avg_threshold"
	}

	if f.symbolOK && ratio(strings.Count(text, "#"), nWords) > f.symbolRatio {
		return false, "gopher_too_many_hashes"
	}
	if f.symbolOK && ratio(strings.Count(text, "...")+strings.Count(text, "…"), nWords) > f.symbolRatio {
		return false, "gopher_too_many_ellipsis"
	}

	nLines, bullets, ellipses := 0, 0, 0
	pySplitLines(text, func(line string) {
		nLines++
		if l := pyLStrip(line); strings.HasPrefix(l, "•") || strings.HasPrefix(l, "-") {
			bullets++
		}
		if r := pyRStrip(line); strings.HasSuffix(r, "...") || strings.HasSuffix(r, "…") {
			ellipses++
		}
	})
	if f.bulletOK && ratio(bullets, nLines) > f.bulletRatio {
		return false, "gopher_too_many_bullets"
	}
	if f.ellipsisOK && ratio(ellipses, nLines) > f.ellipsisRatio {
		return false, "gopher_too_many_end_ellipsis"
	}

	if f.alphaOK {
		alpha := 0
		for _, w := range words {
			if hasAlpha(w) {
				alpha++
			}
		}
		if ratio(alpha, nWords) < f.alphaRatio {
			return false, "gopher_below_alpha_threshold"
		}
	}

	if f.minStopOK && countStopWords(words, f.stopWords, f.minStopWords) < f.minStopWords {
		return false, "gopher_enough_stop_words"
	}
	return true, ""
}

// hasNonPunct reports whether w has a character outside datatrove's
// PUNCTUATION_SET.
func hasNonPunct(w string) bool {
	for i := 0; i < len(w); {
		r, n := rune(w[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(w[i:])
		}
		if !isPunct(r) {
			return true
		}
		i += n
	}
	return false
}

// hasAlpha is any(c.isalpha() for c in w).
func hasAlpha(w string) bool {
	for i := 0; i < len(w); {
		r, n := rune(w[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(w[i:])
		}
		if pyIsAlpha(r) {
			return true
		}
		i += n
	}
	return false
}

// countStopWords counts the distinct stop words among words, stopping once
// enough are found.
func countStopWords(words, stop []string, enough int) int {
	maxLen := 0
	for _, s := range stop {
		maxLen = max(maxLen, len(s))
	}
	var found uint64 // bit i: stop[i] seen (lists longer than 64 use the slow path)
	if len(stop) > 64 {
		n := 0
		for _, s := range stop {
			for _, w := range words {
				if w == s {
					n++
					break
				}
			}
		}
		return n
	}
	n := 0
	for _, w := range words {
		if len(w) > maxLen {
			continue
		}
		for i, s := range stop {
			if found&(1<<i) == 0 && w == s {
				found |= 1 << i
				n++
				if n >= enough {
					return n
				}
				break
			}
		}
	}
	return n
}
