package quality

import (
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/datarefine/refine/pipeline"
)

// FineWebQualityOptions configures FineWebQuality. Zero values mean
// datatrove's defaults; a negative threshold disables its rule (for
// LinePunctThr that is what datatrove's 0.0 does).
type FineWebQualityOptions struct {
	LinePunctThr float64 // 0.12
	// LinePunctExcludeZero keeps documents where no line ends in terminal
	// punctuation (datatrove's line_punct_exclude_zero; off in FineWeb).
	LinePunctExcludeZero bool
	// StopChars replaces the terminal punctuation set (159 characters; no
	// quotes, no "…"). Each entry is a suffix, as in str.endswith(tuple).
	StopChars           []string
	ShortLineThr        float64 // 0.67
	ShortLineLength     int     // 30
	CharDuplicatesRatio float64 // 0.01
	NewLineRatio        float64 // 0.3
	// Words tokenizes the text; nil means words.Words.
	Words pipeline.WordsFunc
}

// FineWebQuality is datatrove's FineWebQualityFilter.
type FineWebQuality struct {
	opts                          FineWebQualityOptions
	linePunct, shortLine, charDup float64
	newLine                       float64
	linePunctOK, shortOK          bool
	dupOK, newLineOK              bool
	shortLen                      int
	words                         pipeline.WordsFunc
	seen                          sync.Pool // *map[string]struct{}
}

// NewFineWebQuality returns the filter with opts resolved against
// datatrove's defaults.
func NewFineWebQuality(opts FineWebQualityOptions) *FineWebQuality {
	f := &FineWebQuality{opts: opts, words: wordsOrDefault(opts.Words)}
	f.linePunct, f.linePunctOK = orDefault(opts.LinePunctThr, 0.12)
	f.shortLine, f.shortOK = orDefault(opts.ShortLineThr, 0.67)
	f.charDup, f.dupOK = orDefault(opts.CharDuplicatesRatio, 0.01)
	f.newLine, f.newLineOK = orDefault(opts.NewLineRatio, 0.3)
	f.shortLen = opts.ShortLineLength
	if f.shortLen == 0 {
		f.shortLen = 30
	}
	f.seen.New = func() any { m := make(map[string]struct{}); return &m }
	return f
}

// Name implements pipeline.Filter.
func (f *FineWebQuality) Name() string { return "fineweb_qual" }

// Filter implements pipeline.Filter.
func (f *FineWebQuality) Filter(doc *pipeline.Document) (bool, string) {
	text := doc.Text
	// lines = [l for l in text.split("\n") if l.strip() != ""]
	nLines, punct, short := 0, 0, 0
	forNonBlankLines(text, func(l string) {
		nLines++
		if f.endsWithStop(l) {
			punct++
		}
		if len(l) <= f.shortLen || pyLen(l) <= f.shortLen {
			short++
		}
	})
	if nLines == 0 {
		return false, "empty"
	}
	r := ratio(punct, nLines)
	if f.linePunctOK && r < f.linePunct && !(r == 0 && f.opts.LinePunctExcludeZero) {
		return false, "line_punct_ratio"
	}
	if f.shortOK && ratio(short, nLines) > f.shortLine {
		return false, "short_line_ratio"
	}

	if f.dupOK && f.charDupRatio(text) > f.charDup {
		return false, "char_dup_ratio"
	}
	if f.newLineOK && ratio(strings.Count(text, "\n"), len(doc.Words(f.words))) > f.newLine {
		return false, "list_ratio"
	}
	return true, ""
}

// charDupRatio is find_duplicates(lines)[1] / len(text.replace("\n", "")).
func (f *FineWebQuality) charDupRatio(text string) float64 {
	mp := f.seen.Get().(*map[string]struct{})
	seen := *mp
	dupChars := 0
	forNonBlankLines(text, func(l string) {
		if _, ok := seen[l]; ok {
			dupChars += pyLen(l)
		} else {
			seen[l] = struct{}{}
		}
	})
	clear(seen)
	f.seen.Put(mp)
	return ratio(dupChars, pyLen(text)-strings.Count(text, "\n"))
}

func forNonBlankLines(text string, fn func(string)) {
	for {
		i := strings.IndexByte(text, '\n')
		line := text
		if i >= 0 {
			line = text[:i]
		}
		if !pyIsBlank(line) {
			fn(line)
		}
		if i < 0 {
			return
		}
		text = text[i+1:]
	}
}

func (f *FineWebQuality) endsWithStop(l string) bool {
	if f.opts.StopChars != nil {
		for _, s := range f.opts.StopChars {
			if strings.HasSuffix(l, s) {
				return true
			}
		}
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(l)
	return isTerminalPunct(r)
}
