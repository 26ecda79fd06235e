package extract

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"strings"
	"sync"
	"unicode"

	"github.com/datarefine/refine/pipeline/extract/dom"
)

// The jusText fallback as trafilatura 1.8.1 runs it (external.py
// custom_justext on jusText 3.0.0): the cleaned tree is cut into paragraphs
// at block-level tags, each classified by length, link density and the
// share of stop words (the union of jusText's stop lists for all its
// languages, since no target language is given), then reclassified by its
// neighbours; the good paragraphs become <p> elements.

//go:embed justext_stoplist.txt.gz
var stoplistGz []byte

var (
	stoplistOnce sync.Once
	stoplist     map[string]struct{}
)

// stopwords returns the union of jusText's stop lists (lower case). It is
// loaded on first use: most pages never reach jusText.
func stopwords() map[string]struct{} {
	stoplistOnce.Do(func() {
		zr, err := gzip.NewReader(bytes.NewReader(stoplistGz))
		if err != nil {
			panic("extract: embedded stop list: " + err.Error())
		}
		m := make(map[string]struct{}, 160000)
		sc := bufio.NewScanner(zr)
		for sc.Scan() {
			if w := sc.Text(); w != "" {
				m[w] = struct{}{}
			}
		}
		if err := sc.Err(); err != nil {
			panic("extract: embedded stop list: " + err.Error())
		}
		stoplist = m
	})
	return stoplist
}

// paragraphTags start and end a jusText paragraph.
var paragraphTags = map[string]bool{
	"body": true, "blockquote": true, "caption": true, "center": true, "col": true, "colgroup": true,
	"dd": true, "div": true, "dl": true, "dt": true, "fieldset": true, "form": true, "legend": true,
	"optgroup": true, "option": true, "p": true, "pre": true, "table": true, "td": true,
	"textarea": true, "tfoot": true, "th": true, "thead": true, "tr": true, "ul": true, "li": true,
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
}

type jtParagraph struct {
	domPath      string
	textNodes    []string
	linkChars    int
	cfClass      string
	class        string
	textCache    string
	textComputed bool
}

func (p *jtParagraph) text() string {
	if !p.textComputed {
		p.textCache = normalizeWhitespace(pyStrip(strings.Join(p.textNodes, "")))
		p.textComputed = true
	}
	return p.textCache
}

// normalizeWhitespace is jusText's: each white-space run becomes "\n" when
// it holds a newline or carriage return, else " ".
func normalizeWhitespace(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	run := false
	nl := false
	flush := func() {
		if run {
			if nl {
				b.WriteByte('\n')
			} else {
				b.WriteByte(' ')
			}
			run, nl = false, false
		}
	}
	for _, r := range s {
		if isSpace(r) {
			run = true
			if r == '\n' || r == '\r' {
				nl = true
			}
			continue
		}
		flush()
		b.WriteRune(r)
	}
	flush()
	return b.String()
}

type paragraphMaker struct {
	path       []string
	paragraphs []*jtParagraph
	cur        *jtParagraph
	link, br   bool
}

func (m *paragraphMaker) startNew() {
	if m.cur != nil && len(m.cur.textNodes) > 0 && m.cur.text() != "" {
		m.paragraphs = append(m.paragraphs, m.cur)
	}
	m.cur = &jtParagraph{domPath: strings.Join(m.path, ".")}
}

func (m *paragraphMaker) start(name string) {
	m.path = append(m.path, name)
	if paragraphTags[name] || name == "br" && m.br {
		m.startNew()
	} else {
		m.br = name == "br"
		if m.br {
			m.appendText(" ")
		} else if name == "a" {
			m.link = true
		}
	}
}

func (m *paragraphMaker) end(name string) {
	m.path = m.path[:len(m.path)-1]
	if paragraphTags[name] {
		m.startNew()
	}
	if name == "a" {
		m.link = false
	}
}

func (m *paragraphMaker) appendText(t string) string {
	t = normalizeWhitespace(t)
	m.cur.textNodes = append(m.cur.textNodes, t)
	m.cur.textComputed = false
	return t
}

func (m *paragraphMaker) characters(s string) {
	if !textCharsTest(s) {
		return
	}
	t := m.appendText(s)
	if m.link {
		m.cur.linkChars += pyLen(t)
	}
	m.br = false
}

// saxify walks the tree as lxml.sax.saxify does: start, text, children,
// end, then the tail.
func (m *paragraphMaker) saxify(n *dom.Node) {
	m.start(n.Tag)
	if n.Text != "" {
		m.characters(n.Text)
	}
	for c := n.FirstChild; c != nil; c = c.Next {
		m.saxify(c)
	}
	m.end(n.Tag)
	if n.Tail != "" {
		m.characters(n.Tail)
	}
}

// classifyParagraphs is classify_paragraphs with trafilatura's settings:
// length_low 50, length_high 200, stopwords_low 0.1, stopwords_high 0.2,
// max_link_density 0.2, no headings.
func classifyParagraphs(ps []*jtParagraph, stop map[string]struct{}) {
	for _, p := range ps {
		text := p.text()
		length := pyLen(text)
		words := pySplit(text)
		stopCount := 0
		for _, w := range words {
			if _, ok := stop[pyLower(w)]; ok {
				stopCount++
			}
		}
		var stopDensity, linkDensity float64
		if len(words) > 0 {
			stopDensity = float64(stopCount) / float64(len(words))
		}
		if length > 0 {
			linkDensity = float64(p.linkChars) / float64(length)
		}
		switch {
		case linkDensity > 0.2:
			p.cfClass = "bad"
		case strings.Contains(text, "\u00a9") || strings.Contains(text, "&copy"):
			p.cfClass = "bad"
		case strings.Contains(p.domPath, "select"):
			p.cfClass = "bad"
		case length < 50:
			if p.linkChars > 0 {
				p.cfClass = "bad"
			} else {
				p.cfClass = "short"
			}
		case stopDensity >= 0.2:
			if length > 200 {
				p.cfClass = "good"
			} else {
				p.cfClass = "neargood"
			}
		case stopDensity >= 0.1:
			p.cfClass = "neargood"
		default:
			p.cfClass = "bad"
		}
	}
}

// nearest returns, for every paragraph, the class of the nearest one
// before it (inc -1) or after it (inc 1) that is "good" or "bad" (or also
// "neargood" when stopAtNeargood), "bad" when there is none: justext's
// _get_neighbour for all paragraphs in one pass, where calling it for each
// would be quadratic in a run of short paragraphs (a page of a hundred
// thousand "<p>a" would take minutes, outside the work budget).
func nearest(ps []*jtParagraph, inc int, stopAtNeargood bool) []string {
	out := make([]string, len(ps))
	c := "bad"
	for k := range ps {
		i := k
		if inc > 0 {
			i = len(ps) - 1 - k
		}
		out[i] = c
		if cl := ps[i].class; cl == "good" || cl == "bad" || stopAtNeargood && cl == "neargood" {
			c = cl
		}
	}
	return out
}

// reviseParagraphs is revise_paragraph_classification (headings off).
func reviseParagraphs(ps []*jtParagraph) {
	for _, p := range ps {
		p.class = p.cfClass
	}
	prev, next := nearest(ps, -1, false), nearest(ps, 1, false)
	prevNear, nextNear := nearest(ps, -1, true), nearest(ps, 1, true)
	newClasses := map[int]string{}
	for i, p := range ps {
		if p.class != "short" {
			continue
		}
		switch {
		case prev[i] == "good" && next[i] == "good":
			newClasses[i] = "good"
		case prev[i] == "bad" && next[i] == "bad":
			newClasses[i] = "bad"
		case prev[i] == "bad" && prevNear[i] == "neargood" ||
			next[i] == "bad" && nextNear[i] == "neargood":
			newClasses[i] = "good"
		default:
			newClasses[i] = "bad"
		}
	}
	for i, c := range newClasses {
		ps[i].class = c
	}
	// No paragraph is short now. The loop below turns each neargood one
	// good or bad in order, so the nearest good or bad one before it is
	// the one just before it, and after it the classes are still those
	// next was computed from.
	next = nearest(ps, 1, false)
	for i, p := range ps {
		if p.class != "neargood" {
			continue
		}
		prev := "bad"
		if i > 0 {
			prev = ps[i-1].class
		}
		if prev == "bad" && next[i] == "bad" {
			p.class = "bad"
		} else {
			p.class = "good"
		}
	}
}

// tryJustext is try_justext: a <body> of the good paragraphs.
func (x *extractor) tryJustext(tree *dom.Node) *dom.Node {
	m := &paragraphMaker{}
	m.startNew()
	m.saxify(tree)
	m.startNew()
	classifyParagraphs(m.paragraphs, stopwords())
	reviseParagraphs(m.paragraphs)
	body := x.a.New("body")
	for _, p := range m.paragraphs {
		if p.class == "good" {
			e := x.a.New("p")
			e.SetText(p.text())
			body.Append(e)
		}
	}
	return body
}

// justextRescue is justext_rescue.
func (x *extractor) justextRescue(tree *dom.Node) (*dom.Node, int, bool) {
	tree = x.pruneUnwantedNodes(tree, false, paywallDiscard, removeCommentsXPath)
	body := x.tryJustext(tree)
	if n := trimmedJoinLen(body); n > 0 {
		return body, n, true
	}
	return nil, 0, false
}

// pyLower is Python's str.lower: full case mapping (İ becomes "i̇") and a
// capital sigma at the end of a word becomes the final form ς.
func pyLower(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		switch {
		case r == 0x130:
			b.WriteString("i\u0307")
		case r == 0x3a3:
			prevCased := i > 0 && unicode.IsLetter(rs[i-1])
			nextCased := i+1 < len(rs) && unicode.IsLetter(rs[i+1])
			if prevCased && !nextCased {
				b.WriteRune(0x3c2)
			} else {
				b.WriteRune(0x3c3)
			}
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}
