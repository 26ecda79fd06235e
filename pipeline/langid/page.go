package langid

import (
	"fmt"
	"strings"

	"golang.org/x/net/html"

	"github.com/datarefine/refine/pipeline"
)

// PageFilter is the language gate that runs before extraction: it drops a
// page when no stretch of its text reads as a wanted language, so that the
// extractor (the pipeline's costliest step) is never run on pages the
// language filter is bound to drop anyway.
//
// Why it cannot drop a page that FineWeb keeps (in practice, not by proof):
// a kept document has P(en) > 0.65 on its extracted text and at least 50
// words (Gopher's minimum), and the extracted text is made of the page's own
// text nodes. The gate reads the page's visible text as blocks (split at
// block-level tags), slides a window of about WindowWords words over them
// with half-window steps, and keeps the page as soon as one window scores a
// wanted language at or above Threshold (0.1, far below the filter's 0.65).
// A run of 50 English words therefore contains at least one whole window,
// which scores far above the threshold. On the 990 golden pages and the 58
// real-crawl pages, the lowest best-window score of a page FineWeb keeps is
// 0.92 (see docs/pipeline.md); the gate changes no kept document there.
//
// It is cheap: the HTML is only tokenized (no tree), each block's fastText
// input rows are summed once, and a window's mean is a difference of prefix
// sums, so overlapping windows cost a dot product each. It stops at the
// first window that passes, so pages in a wanted language cost little.
type PageFilter struct {
	f         *Filter
	window    int
	threshold float32
}

// PageOptions configures the gate; the zero value is the pipeline's setting.
type PageOptions struct {
	// WindowWords is the window length in words (default 40).
	WindowWords int
	// Threshold a window's score must reach to keep the page (default 0.1).
	Threshold float64
}

// Reason is the drop reason of a page without text in a wanted language.
const ReasonNoWantedText = "no_window_in_language"

// NewPageFilter builds the gate for the languages f keeps. It refuses a
// filter that keeps every language (there is nothing to gate).
func NewPageFilter(f *Filter, o PageOptions) (*PageFilter, error) {
	if f.any {
		return nil, fmt.Errorf("langid: a page gate needs wanted languages (the filter keeps any language)")
	}
	if o.WindowWords <= 0 {
		o.WindowWords = 40
	}
	if o.Threshold == 0 {
		o.Threshold = 0.1
	}
	return &PageFilter{f: f, window: o.WindowWords, threshold: float32(o.Threshold)}, nil
}

// Name implements pipeline.Filter.
func (g *PageFilter) Name() string { return "page_language" }

// Filter implements pipeline.Filter on doc.HTML; a document without HTML
// (read as text) passes.
func (g *PageFilter) Filter(doc *pipeline.Document) (bool, string) {
	if doc.HTML == "" {
		return true, ""
	}
	if g.Keep(doc.HTML) {
		return true, ""
	}
	return false, ReasonNoWantedText
}

// Keep reports whether page (decoded HTML) has a window of text that scores
// a wanted language at or above the threshold. A page with no text at all
// is kept: the extractor decides it (as "empty"), as in datatrove.
func (g *PageFilter) Keep(page string) bool {
	best, words := g.best(page, g.threshold)
	return words == 0 || best >= g.threshold
}

// best returns the best score of a wanted language over the page's windows
// and the page's word count; it stops early once a window reaches stop.
func (g *PageFilter) best(page string, stop float32) (best float32, words int) {
	m := g.f.model
	st := m.states.Get().(*state)
	defer m.states.Put(st)
	w := windower{g: g, st: st, dim: len(st.hidden), stop: stop}
	w.reset()
	if !pageBlocks(page, w.add) {
		w.finish()
	}
	return w.best, w.total
}

// windower holds the blocks seen so far as prefix sums: words[i], rows[i]
// and sums[i*dim:] cover blocks [0, i).
type windower struct {
	g     *PageFilter
	st    *state
	dim   int
	words []int
	rows  []int
	sums  []float64
	start int // first block of the current window
	done  int // blocks covered by evaluated windows
	block []float32
	total int     // words in the page
	best  float32 // best window score so far
	stop  float32 // stop once best reaches it
}

func (w *windower) reset() {
	w.words = append(w.words[:0], 0)
	w.rows = append(w.rows[:0], 0)
	w.sums = append(w.sums[:0], make([]float64, w.dim)...)
	w.start, w.done = 0, 0
	w.block = make([]float32, w.dim)
}

// add appends one block and evaluates every window it completes; it
// reports whether to go on (no window has reached w.stop).
func (w *windower) add(text string) bool {
	m := w.g.f.model
	rows := m.rows(w.st, text, false)
	n := countWords(text)
	if n == 0 {
		return true
	}
	clear(w.block)
	for _, r := range rows {
		m.rowsIn.addRow(w.block, r)
	}
	w.total += n
	last := len(w.words) - 1
	w.words = append(w.words, w.words[last]+n)
	w.rows = append(w.rows, w.rows[last]+len(rows))
	base := last * w.dim
	for j, v := range w.block {
		w.sums = append(w.sums, w.sums[base+j]+float64(v))
	}
	end := len(w.words) - 1
	for w.words[end]-w.words[w.start] >= w.g.window {
		if w.score(w.start, end) >= w.stop {
			return false
		}
		w.done = end
		// Step forward by about half a window, at least one block.
		half := w.words[w.start] + w.g.window/2
		w.start++
		for w.start < end && w.words[w.start] < half {
			w.start++
		}
		if w.start == end {
			break
		}
	}
	w.compact()
	return true
}

// compact drops the blocks before the current window, so that memory stays
// bounded by the window, not the page (a 32 MB page of "<p>a" is 8 million
// blocks).
func (w *windower) compact() {
	s := w.start
	if s < 1024 || s < len(w.words)/2 {
		return
	}
	n := copy(w.words, w.words[s:])
	w.words = w.words[:n]
	copy(w.rows, w.rows[s:])
	w.rows = w.rows[:n]
	n = copy(w.sums, w.sums[s*w.dim:])
	w.sums = w.sums[:n]
	w.start, w.done = 0, max(w.done-s, 0)
}

// finish evaluates the last, shorter window when blocks remain that no
// window covered.
func (w *windower) finish() {
	if end := len(w.words) - 1; end > 0 && w.done < end {
		w.score(w.start, end)
	}
}

// score scores the window of blocks [s, e): the best probability of a
// wanted language, also kept in w.best.
func (w *windower) score(s, e int) float32 {
	n := w.rows[e] - w.rows[s]
	if n == 0 {
		return 0
	}
	h := w.st.hidden
	for j := range h {
		h[j] = float32((w.sums[e*w.dim+j] - w.sums[s*w.dim+j]) / float64(n))
	}
	m := w.g.f.model
	var best float32
	for _, l := range w.g.f.langs {
		best = max(best, m.labelProb(w.st, l))
	}
	w.best = max(w.best, best)
	return best
}

func countWords(s string) int {
	n, in := 0, false
	for i := 0; i < len(s); i++ {
		if isSpace(s[i]) {
			in = false
		} else if !in {
			in = true
			n++
		}
	}
	return n
}

// labelProb is the probability of one label given st.hidden, computed as
// predict computes it (for hierarchical softmax, along the label's path
// from the root).
func (m *Model) labelProb(st *state, label int32) float32 {
	switch m.args.loss {
	case lossHS:
		t := m.tree
		var score float32
		path := st.path[:0]
		for n := label; n != 2*t.osz-2; n = t.parent[n] {
			path = append(path, n)
		}
		st.path = path
		node := 2*t.osz - 2
		for i := len(path) - 1; i >= 0; i-- {
			f := m.output.dotRow(st.hidden, node-t.osz)
			f = float32(1.0 / float64(1+expf(-f)))
			if child := path[i]; t.right[node] == child {
				score += stdLog(f)
			} else {
				score += stdLog(float32(1.0 - float64(f)))
			}
			node = path[i]
		}
		return expf(score)
	case lossSoftmax:
		softmaxOutput(m.output, st.hidden, st.output)
		return st.output[label]
	default:
		return sigmoid(m.output.dotRow(st.hidden, label))
	}
}

// blockTags end a block of text: block-level and line-breaking elements.
// Inline elements (a, span, b, ...) continue the block.
var blockTags = map[string]bool{
	"address": true, "article": true, "aside": true, "blockquote": true, "body": true,
	"br": true, "button": true, "caption": true, "dd": true, "details": true, "dialog": true,
	"div": true, "dl": true, "dt": true, "fieldset": true, "figcaption": true, "figure": true,
	"footer": true, "form": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true,
	"h6": true, "head": true, "header": true, "hr": true, "html": true, "label": true,
	"legend": true, "li": true, "main": true, "menu": true, "nav": true, "ol": true,
	"option": true, "p": true, "pre": true, "section": true, "select": true, "summary": true,
	"table": true, "tbody": true, "td": true, "textarea": true, "tfoot": true, "th": true,
	"thead": true, "title": true, "tr": true, "ul": true,
}

// pageBlocks calls fn with each block of the page's text, in order, until
// fn returns false; it reports whether fn stopped it. The text of script
// and style elements and of comments is not text; everything else (titles,
// menus, noscript messages) is, so that the gate sees at least what any
// extractor could output.
//
// It is a scanner, not an HTML parser (x/net/html's tokenizer cost more
// than the language scoring): it needs only where text runs and block tags
// are, and a page it misreads is at worst extracted for nothing.
func pageBlocks(page string, fn func(block string) bool) (stopped bool) {
	var b []byte
	flush := func() bool {
		if len(b) == 0 {
			return true
		}
		s := string(b)
		b = b[:0]
		return fn(s)
	}
	text := func(t string) {
		if strings.IndexByte(t, '&') >= 0 {
			t = html.UnescapeString(t)
		}
		if len(b) > 0 {
			b = append(b, ' ')
		}
		b = append(b, t...)
	}
	var name [16]byte
	for i := 0; i < len(page); {
		lt := strings.IndexByte(page[i:], '<')
		if lt < 0 {
			text(page[i:])
			break
		}
		if lt > 0 {
			text(page[i : i+lt])
		}
		i += lt
		if i+1 >= len(page) {
			text(page[i:])
			break
		}
		c := page[i+1]
		switch {
		case c == '!':
			if strings.HasPrefix(page[i:], "<!--") {
				end := strings.Index(page[i+4:], "-->")
				if end < 0 {
					i = len(page)
				} else {
					i += 4 + end + 3
				}
				continue
			}
			i = skipTag(page, i+2) // doctype, CDATA, bogus comments
			continue
		case c == '?':
			i = skipTag(page, i+2)
			continue
		case c == '/' || isLetter(c):
		default:
			text("<") // a lone '<' is text
			i++
			continue
		}
		end := c == '/'
		j := i + 1
		if end {
			j++
		}
		n := 0
		for j < len(page) && isLetter(page[j]) || (n > 0 && j < len(page) && page[j] >= '0' && page[j] <= '9') {
			if n < len(name) {
				name[n] = page[j] | 0x20
			}
			n++
			j++
		}
		i = skipTag(page, j)
		if n == 0 || n > len(name) {
			continue
		}
		tag := name[:n]
		if !end && (string(tag) == "script" || string(tag) == "style") {
			// Raw text up to the matching end tag.
			close := indexFold(page[i:], "</"+string(tag))
			if close < 0 {
				i = len(page)
			} else {
				i = skipTag(page, i+close+2)
			}
			continue
		}
		if blockTags[string(tag)] && !flush() {
			return true
		}
	}
	return !flush()
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// skipTag returns the index after the '>' that closes the tag whose
// attributes start at i, skipping quoted attribute values.
func skipTag(page string, i int) int {
	var quote byte
	for ; i < len(page); i++ {
		c := page[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			// A quote only opens a value after '='; elsewhere it is junk
			// that browsers ignore, and treating it as a quote could swallow
			// the page.
			if k := i - 1; k >= 0 && (page[k] == '=' || (page[k] == ' ' && k > 0 && page[k-1] == '=')) {
				quote = c
			}
		case c == '>':
			return i + 1
		}
	}
	return len(page)
}

// indexFold is strings.Index for an ASCII-lowercase needle, ignoring the
// case of s.
func indexFold(s, needle string) int {
	for i := 0; i+len(needle) <= len(s); i++ {
		j := strings.IndexByte(s[i:], '<')
		if j < 0 {
			return -1
		}
		i += j
		if i+len(needle) <= len(s) && strings.EqualFold(s[i:i+len(needle)], needle) {
			return i
		}
	}
	return -1
}
