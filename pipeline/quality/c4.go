package quality

import (
	"bytes"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/datarefine/refine/pipeline"
)

// C4QualityOptions configures C4Quality. The zero value is FineWeb's
// configuration: filter_no_terminal_punct=False, split_paragraph=True (the
// only mode implemented), remove_citations=True, min_num_sentences=5,
// min_words_per_line=3, max_word_length=1000, and the lorem ipsum,
// javascript, curly bracket and policy rules on. Negative numbers disable a
// rule (datatrove's -1).
type C4QualityOptions struct {
	MinNumSentences int // 5
	MinWordsPerLine int // 3
	MaxWordLength   int // 1000
	// FilterNoTerminalPunct drops lines not ending in . ? ! " ' (or ending
	// in "..."). FineWeb turns it off.
	FilterNoTerminalPunct bool
	KeepCitations         bool // do not remove [1], [edit], [citation needed]
	AllowLoremIpsum       bool
	AllowJavascript       bool
	AllowCurlyBracket     bool
	AllowPolicy           bool
	// CountSentences counts a line's sentences; nil means
	// words.CountSentences.
	CountSentences CountSentencesFunc
}

// C4Quality is datatrove's C4QualityFilter. It rewrites Document.Text to the
// kept lines when it keeps the document; a dropped document's text is left
// unchanged.
type C4Quality struct {
	opts                 C4QualityOptions
	minSentences         int
	minSentencesOK       bool
	minWords, maxWordLen int
	minWordsOK, maxLenOK bool
	countSentences       CountSentencesFunc
	bufs                 sync.Pool // *[]byte
}

var (
	c4Policy = [][]byte{
		[]byte("terms of use"), []byte("privacy policy"), []byte("cookie policy"),
		[]byte("uses cookies"), []byte("use of cookies"), []byte("use cookies"),
	}
	loremIpsum = []byte("lorem ipsum")
	javascript = []byte("javascript")
)

// NewC4Quality returns the filter with opts resolved against FineWeb's
// settings.
func NewC4Quality(opts C4QualityOptions) *C4Quality {
	f := &C4Quality{opts: opts, countSentences: countSentencesOrDefault(opts.CountSentences)}
	f.minSentences, f.minSentencesOK = orDefaultInt(opts.MinNumSentences, 5)
	f.minWords, f.minWordsOK = orDefaultInt(opts.MinWordsPerLine, 3)
	f.maxWordLen, f.maxLenOK = orDefaultInt(opts.MaxWordLength, 1000)
	f.bufs.New = func() any { b := make([]byte, 0, 256); return &b }
	return f
}

// Name implements pipeline.Filter.
func (f *C4Quality) Name() string { return "c4" }

// Filter implements pipeline.Filter.
func (f *C4Quality) Filter(doc *pipeline.Document) (bool, string) {
	bp := f.bufs.Get().(*[]byte)
	defer f.bufs.Put(bp)
	lower := *bp

	var out strings.Builder
	out.Grow(len(doc.Text))
	nKept, nSentences := 0, 0
	reason := ""
	pySplitLines(doc.Text, func(line string) {
		if reason != "" {
			return
		}
		line = pyStrip(line)
		nWords, tooLong := 0, false
		pyFields(line, func(w string) bool {
			nWords++
			// len(word) > max in code points; bytes bound it from above.
			if f.maxLenOK && len(w) > f.maxWordLen && pyLen(w) > f.maxWordLen {
				tooLong = true
				return false
			}
			return true
		})
		if tooLong {
			return
		}
		if !f.opts.KeepCitations {
			line = removeCitations(line)
		}
		if f.opts.FilterNoTerminalPunct && (!endsWithC4Punct(line) || strings.HasSuffix(line, "...")) {
			return
		}
		if f.minWordsOK && nWords < f.minWords {
			return
		}
		lower = lowerForASCIINeedles(lower[:0], line)
		if !f.opts.AllowLoremIpsum && bytes.Contains(lower, loremIpsum) {
			reason = "lorem_ipsum"
			return
		}
		if !f.opts.AllowJavascript && bytes.Contains(lower, javascript) {
			return
		}
		if !f.opts.AllowCurlyBracket && strings.IndexByte(line, '{') >= 0 {
			reason = "curly_bracket"
			return
		}
		if !f.opts.AllowPolicy && containsAny(lower, c4Policy) {
			return
		}
		if f.minSentencesOK {
			// datatrove counts the parts of split_into_sentences, which is
			// never fewer than one.
			nSentences += max(1, f.countSentences(line))
		}
		if nKept > 0 {
			out.WriteByte('\n')
		}
		out.WriteString(line)
		nKept++
	})
	*bp = lower[:0]
	if reason != "" {
		return false, reason
	}
	if f.minSentencesOK && nSentences < f.minSentences {
		return false, "too_few_sentences"
	}
	doc.Text = pyStrip(out.String())
	return true, ""
}

func endsWithC4Punct(line string) bool {
	if line == "" {
		return false
	}
	switch line[len(line)-1] {
	case '.', '?', '!', '"', '\'':
		return true
	}
	return false
}

// removeCitations is re.sub(r"\[\d*]|\[edit]|\[citation needed]", "", s),
// with Python's Unicode \d (category Nd). It returns s itself when nothing
// matches.
func removeCitations(s string) string {
	i := strings.IndexByte(s, '[')
	if i < 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for i >= 0 {
		if n := citationAt(s[i:]); n > 0 {
			if b.Len() == 0 && last == 0 {
				b.Grow(len(s))
			}
			b.WriteString(s[last:i])
			last = i + n
			i = last
		} else {
			i++
		}
		j := strings.IndexByte(s[i:], '[')
		if j < 0 {
			break
		}
		i += j
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// citationAt returns the length of the citation starting at s[0] == '[', or 0.
func citationAt(s string) int {
	j := 1
	for j < len(s) {
		r, n := utf8.DecodeRuneInString(s[j:])
		if !unicode.IsDigit(r) {
			break
		}
		j += n
	}
	if j < len(s) && s[j] == ']' {
		return j + 1
	}
	if strings.HasPrefix(s, "[edit]") {
		return len("[edit]")
	}
	if strings.HasPrefix(s, "[citation needed]") {
		return len("[citation needed]")
	}
	return 0
}
