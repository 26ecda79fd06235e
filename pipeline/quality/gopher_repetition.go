package quality

import (
	"fmt"
	"strings"
	"sync"

	"github.com/datarefine/refine/pipeline"
)

// NGramThreshold pairs an n-gram size with the largest allowed character
// fraction.
type NGramThreshold struct {
	N    int
	Frac float64
}

// GopherRepetitionOptions configures GopherRepetition. Zero values mean
// datatrove's defaults (Gopher paper, Table A1); negative fractions disable a
// rule.
type GopherRepetitionOptions struct {
	DupLineFrac     float64 // 0.3
	DupParaFrac     float64 // 0.3
	DupLineCharFrac float64 // 0.2
	DupParaCharFrac float64 // 0.2
	// TopNGrams defaults to (2, 0.20) (3, 0.18) (4, 0.16); an empty non-nil
	// slice disables the rule.
	TopNGrams []NGramThreshold
	// DupNGrams defaults to (5, 0.15) (6, 0.14) ... (10, 0.10); an empty
	// non-nil slice disables the rule.
	DupNGrams []NGramThreshold
	// Words tokenizes the text; nil means words.Words.
	Words pipeline.WordsFunc
}

// GopherRepetition is datatrove's GopherRepetitionFilter: it drops documents
// made of repeated paragraphs, lines or n-grams.
type GopherRepetition struct {
	dupLine, dupPara, dupLineChar, dupParaChar         float64
	dupLineOK, dupParaOK, dupLineCharOK, dupParaCharOK bool
	topNGrams, dupNGrams                               []NGramThreshold
	topReasons, dupReasons                             []string
	words                                              pipeline.WordsFunc
	scratch                                            sync.Pool // *repScratch
}

type repScratch struct {
	seen map[string]struct{}
	idx  ngramIndex
}

// NewGopherRepetition returns the filter with opts resolved against
// datatrove's defaults.
func NewGopherRepetition(opts GopherRepetitionOptions) *GopherRepetition {
	f := &GopherRepetition{words: wordsOrDefault(opts.Words)}
	f.dupLine, f.dupLineOK = orDefault(opts.DupLineFrac, 0.3)
	f.dupPara, f.dupParaOK = orDefault(opts.DupParaFrac, 0.3)
	f.dupLineChar, f.dupLineCharOK = orDefault(opts.DupLineCharFrac, 0.2)
	f.dupParaChar, f.dupParaCharOK = orDefault(opts.DupParaCharFrac, 0.2)
	f.topNGrams = opts.TopNGrams
	if f.topNGrams == nil {
		f.topNGrams = []NGramThreshold{{2, 0.2}, {3, 0.18}, {4, 0.16}}
	}
	f.dupNGrams = opts.DupNGrams
	if f.dupNGrams == nil {
		f.dupNGrams = []NGramThreshold{{5, 0.15}, {6, 0.14}, {7, 0.13}, {8, 0.12}, {9, 0.11}, {10, 0.10}}
	}
	for _, t := range f.topNGrams {
		f.topReasons = append(f.topReasons, fmt.Sprintf("top_%d_gram", t.N))
	}
	for _, t := range f.dupNGrams {
		f.dupReasons = append(f.dupReasons, fmt.Sprintf("duplicated_%d_n_grams", t.N))
	}
	f.scratch.New = func() any { return &repScratch{seen: make(map[string]struct{})} }
	return f
}

// Name implements pipeline.Filter.
func (f *GopherRepetition) Name() string { return "gopher_rep" }

// Filter implements pipeline.Filter.
//
// datatrove divides by len(text) and raises on an empty text; here an empty
// text is kept (it has nothing repeated), and the pipeline drops empty
// extractions before this step anyway.
func (f *GopherRepetition) Filter(doc *pipeline.Document) (bool, string) {
	text := doc.Text
	textLen := pyLen(text)
	if textLen == 0 {
		return true, ""
	}
	sc := f.scratch.Get().(*repScratch)
	defer f.scratch.Put(sc)

	// Paragraphs: re.split(r"\n{2,}", text.strip()).
	n, dup, dupChars := 0, 0, 0
	clear(sc.seen)
	splitNewlineRuns(pyStrip(text), 2, func(p string) {
		n++
		if _, ok := sc.seen[p]; ok {
			dup++
			dupChars += pyLen(p)
		} else {
			sc.seen[p] = struct{}{}
		}
	})
	if f.dupParaOK && ratio(dup, n) > f.dupPara {
		return false, "dup_para_frac"
	}
	if f.dupParaCharOK && ratio(dupChars, textLen) > f.dupParaChar {
		return false, "dup_para_char_frac"
	}

	// Lines: re.split("\n+", text).
	n, dup, dupChars = 0, 0, 0
	clear(sc.seen)
	splitNewlineRuns(text, 1, func(l string) {
		n++
		if _, ok := sc.seen[l]; ok {
			dup++
			dupChars += pyLen(l)
		} else {
			sc.seen[l] = struct{}{}
		}
	})
	clear(sc.seen) // do not keep the document alive through the pool
	if f.dupLineOK && ratio(dup, n) > f.dupLine {
		return false, "dup_line_frac"
	}
	if f.dupLineCharOK && ratio(dupChars, textLen) > f.dupLineChar {
		return false, "dup_line_char_frac"
	}

	idx := &sc.idx
	idx.reset(doc.Words(f.words))
	defer func() { idx.words = nil }()
	for i, t := range f.topNGrams {
		chars, ok := idx.topDuplicate(t.N)
		if !ok {
			continue
		}
		if ratio(chars, textLen) > t.Frac {
			return false, f.topReasons[i]
		}
	}
	for i, t := range f.dupNGrams {
		if ratio(idx.allDuplicate(t.N), textLen) > t.Frac {
			return false, f.dupReasons[i]
		}
	}
	return true, ""
}

// splitNewlineRuns calls fn for each piece of re.split("\n{min,}", s): s is
// cut at every run of at least min newlines; shorter runs stay in the piece.
// Like re.split, it yields empty pieces at the ends and always at least one.
func splitNewlineRuns(s string, min int, fn func(string)) {
	start, i := 0, 0
	for {
		j := strings.IndexByte(s[i:], '\n')
		if j < 0 {
			break
		}
		j += i
		k := j
		for k < len(s) && s[k] == '\n' {
			k++
		}
		if k-j >= min {
			fn(s[start:j])
			start = k
		}
		i = k
	}
	fn(s[start:])
}
