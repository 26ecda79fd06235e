package extract

import (
	"math"
	"regexp"
	"strings"

	"github.com/datarefine/refine/pipeline/extract/dom"
)

// The readability fallback: trafilatura 1.8.1's fork of readability-lxml
// (readability_lxml.py), run on an untouched copy of the page with
// min_text_length 25 and retry_length 250. Its result is serialized as XML
// and parsed again as HTML, as trafilatura does (fromstring_bytes of
// Document.summary()), because that round trip is what shapes the tree
// trafilatura then measures and may output.

const (
	readabilityMinText = 25
	readabilityRetry   = 250
)

var (
	unlikelyCandidates = []string{"combx", "comment", "community", "disqus", "extra", "foot", "header", "menu",
		"remark", "rss", "shoutbox", "sidebar", "sponsor", "ad-break", "agegate", "pagination", "pager",
		"popup", "tweet", "twitter"}
	okMaybeCandidate = []string{"and", "article", "body", "column", "main", "shadow"}
	positiveWords    = []string{"article", "body", "content", "entry", "hentry", "main", "page", "pagination",
		"post", "text", "blog", "story"}
	negativeWords = []string{"combx", "comment", "com-", "contact", "foot", "footer", "footnote", "masthead",
		"media", "meta", "outbrain", "promo", "related", "scroll", "shoutbox", "sidebar", "sponsor",
		"shopping", "tags", "tool", "widget"}
	videoURLs = []string{"http://youtube.com", "http://www.youtube.com", "https://youtube.com",
		"https://www.youtube.com", "http://vimeo.com", "http://www.vimeo.com", "https://vimeo.com",
		"https://www.vimeo.com"}
	// divToP are the tag prefixes of divToPElementsRe.
	divToP = []string{"a", "blockquote", "dl", "div", "img", "ol", "p", "pre", "table", "ul"}
)

type candidate struct {
	score float64
	elem  *dom.Node
}

type readability struct {
	x          *extractor
	doc        *dom.Node
	candidates map[*dom.Node]*candidate
	ordered    []*dom.Node
}

// tryReadability is try_readability: the summary re-parsed, or an empty
// <div> when readability fails.
func (x *extractor) tryReadability(tree *dom.Node) (result *dom.Node) {
	html, ok := x.readabilitySummary(tree)
	if !ok {
		return x.a.New("div")
	}
	root, _ := x.a.FromString(html)
	if root == nil {
		x.fail() // fromstring_bytes gave None: tostring(None) is a TypeError
	}
	return root
}

// readabilitySummary runs Document.summary(); ok is false when it raised.
func (x *extractor) readabilitySummary(tree *dom.Node) (html string, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			if r != errPython {
				panic(r)
			}
			html, ok = "", false
		}
	}()
	r := &readability{x: x, doc: tree}
	return r.summary(), true
}

func (r *readability) tags(node *dom.Node, names ...string) []*dom.Node {
	var out []*dom.Node
	for _, name := range names {
		out = append(out, node.FindAll(tagIs(name))...)
	}
	return out
}

func (r *readability) summary() string {
	ruthless := true
	for {
		r.x.step(r.doc)
		for _, name := range []string{"script", "style"} {
			for _, e := range r.doc.FindAll(tagIs(name)) {
				r.dropTree(e)
			}
		}
		for _, e := range r.doc.FindAll(tagIs("body")) {
			e.Set("id", "readabilityBody")
		}
		if ruthless {
			r.removeUnlikelyCandidates()
		}
		r.transformMisusedDivs()
		r.scoreParagraphs()
		best := r.selectBest()
		var article *dom.Node
		if best != nil {
			article = r.getArticle(best)
		} else {
			if ruthless {
				ruthless = false
				continue
			}
			article = r.doc.Find(tagIs("body"))
			if article == nil {
				article = r.doc
			}
		}
		cleaned := r.sanitize(article)
		if ruthless && pyLen(cleaned) < readabilityRetry {
			ruthless = false
			continue
		}
		return cleaned
	}
}

// dropTree is lxml.html's drop_tree, which asserts a parent.
func (r *readability) dropTree(e *dom.Node) {
	if e.Parent == nil {
		r.x.fail()
	}
	e.DropTree()
}

func textLength(e *dom.Node) int { return trimmedLen(e) }

func (r *readability) removeUnlikelyCandidates() {
	for _, e := range r.doc.Descendants() {
		c, id := e.AttrVal("class"), e.AttrVal("id")
		var attrs string
		switch {
		case c != "" && id != "":
			attrs = c + " " + id
		case c != "":
			attrs = c
		default:
			attrs = id
		}
		if pyLen(attrs) < 2 {
			continue
		}
		f := foldPy(attrs)
		if e.Tag != "html" && e.Tag != "body" && containsAny(f, unlikelyCandidates) && !containsAny(f, okMaybeCandidate) {
			r.dropTree(e)
		}
	}
}

// hasBlockDescendant is divToPElementsRe searched in the XML of a div's
// children: some element there has a tag beginning with one of divToP.
func hasBlockDescendant(div *dom.Node) bool {
	found := false
	for c := div.FirstChild; c != nil && !found; c = c.Next {
		c.Iter(func(n *dom.Node) bool {
			for _, p := range divToP {
				if strings.HasPrefix(n.Tag, p) {
					found = true
					return false
				}
			}
			return true
		})
	}
	return found
}

func (r *readability) newP() *dom.Node {
	// fragment_fromstring("<p/>") leaves the p in a body of its own
	// document; it is moved right away, so only the element matters.
	return r.x.a.New("p")
}

func (r *readability) transformMisusedDivs() {
	for _, e := range r.doc.FindAll(tagIs("div")) {
		if !hasBlockDescendant(e) {
			e.Tag = "p"
		}
	}
	for _, e := range r.doc.FindAll(tagIs("div")) {
		if e.HasText && pyStrip(e.Text) != "" {
			p := r.newP()
			p.SetText(e.Text)
			e.ClearText()
			e.Insert(0, p)
		}
		children := e.Children()
		for pos := len(children) - 1; pos >= 0; pos-- {
			child := children[pos]
			if child.Tail != "" && pyStrip(child.Tail) != "" {
				p := r.newP()
				p.SetText(child.Tail)
				child.ClearTail()
				// e.insert(pos+1, p): only later children have changed,
				// so position pos+1 is right after child (Insert would
				// walk pos children, quadratic in a div's children)
				e.InsertBefore(p, child.Next)
			}
			if child.Tag == "br" {
				r.dropTree(child)
			}
		}
	}
}

func (r *readability) classWeight(e *dom.Node) int {
	w := 0
	for _, v := range []string{e.AttrVal("class"), e.AttrVal("id")} {
		if v == "" {
			continue
		}
		f := foldPy(v)
		if containsAny(f, negativeWords) {
			w -= 25
		}
		if containsAny(f, positiveWords) {
			w += 25
		}
	}
	return w
}

func (r *readability) scoreNode(e *dom.Node) *candidate {
	score := r.classWeight(e)
	switch strings.ToLower(e.Tag) {
	case "div", "article":
		score += 5
	case "pre", "td", "blockquote":
		score += 3
	case "address", "ol", "ul", "dl", "dd", "dt", "li", "form", "aside":
		score -= 3
	case "h1", "h2", "h3", "h4", "h5", "h6", "th", "header", "footer", "nav":
		score -= 5
	}
	return &candidate{score: float64(score), elem: e}
}

func (r *readability) linkDensity(e *dom.Node) float64 {
	total := textLength(e)
	if total == 0 {
		total = 1
	}
	links := 0
	for _, a := range e.FindAll(tagIs("a")) {
		links += textLength(a)
	}
	return float64(links) / float64(total)
}

func (r *readability) scoreParagraphs() {
	r.candidates = map[*dom.Node]*candidate{}
	r.ordered = r.ordered[:0]
	for _, e := range r.tags(r.doc, "p", "pre", "td") {
		r.x.step(e)
		parent := e.Parent
		if parent == nil {
			continue
		}
		grand := parent.Parent
		n := trimmedLen(e)
		if n < readabilityMinText {
			continue
		}
		if _, ok := r.candidates[parent]; !ok {
			r.candidates[parent] = r.scoreNode(parent)
			r.ordered = append(r.ordered, parent)
		}
		if grand != nil {
			if _, ok := r.candidates[grand]; !ok {
				r.candidates[grand] = r.scoreNode(grand)
				r.ordered = append(r.ordered, grand)
			}
		}
		score := float64(1+countByte(e, ',')+1) + math.Min(float64(n)/100, 3)
		r.candidates[parent].score += score
		if grand != nil {
			r.candidates[grand].score += score / 2
		}
	}
	for _, e := range r.ordered {
		c := r.candidates[e]
		c.score *= 1 - r.linkDensity(e)
	}
}

func (r *readability) selectBest() *candidate {
	var best *candidate
	for _, e := range r.ordered {
		c := r.candidates[e]
		if best == nil || c.score > best.score {
			best = c
		}
	}
	return best
}

// dotSpace is DOT_SPACE, `\.( |$)`.
func dotSpace(s string) bool {
	return strings.Contains(s, ". ") || strings.HasSuffix(s, ".") || strings.HasSuffix(s, ".\n")
}

func (r *readability) getArticle(best *candidate) *dom.Node {
	threshold := math.Max(10, best.score*0.2)
	// fragment_fromstring("<div/>"): a div in the body of a document of
	// its own, which later passes can see as its parent and grandparent.
	html := r.x.a.New("html")
	body := r.x.a.New("body")
	output := r.x.a.New("div")
	html.Append(body)
	body.Append(output)
	parent := best.elem.Parent
	var siblings []*dom.Node
	if parent != nil {
		siblings = parent.Children()
	} else {
		siblings = []*dom.Node{best.elem}
	}
	for _, s := range siblings {
		appendIt := false
		if s == best.elem {
			appendIt = true
		} else if c, ok := r.candidates[s]; ok && c.score >= threshold {
			appendIt = true
		} else if s.Tag == "p" {
			ld := r.linkDensity(s)
			content := s.Text
			n := pyLen(content)
			if n > 80 && ld < 0.25 {
				appendIt = true
			} else if n <= 80 && ld == 0 && dotSpace(content) {
				appendIt = true
			}
		}
		if appendIt {
			output.Append(s)
		}
	}
	return output
}

func (r *readability) sanitize(node *dom.Node) string {
	for _, name := range []string{"h1", "h2", "h3", "h4", "h5", "h6"} {
		for _, h := range node.FindAll(tagIs(name)) {
			if r.classWeight(h) < 0 || r.linkDensity(h) > 0.33 {
				r.dropTree(h)
			}
		}
	}
	for _, name := range []string{"form", "textarea"} {
		for _, e := range node.FindAll(tagIs(name)) {
			r.dropTree(e)
		}
	}
	for _, e := range node.FindAll(tagIs("iframe")) {
		if src, ok := e.Get("src"); ok && containsAny(foldPy(src), videoURLs) {
			e.SetText("VIDEO")
		} else {
			r.dropTree(e)
		}
	}
	allowed := map[*dom.Node]bool{}
	for _, name := range []string{"table", "ul", "div", "aside", "header", "footer", "section"} {
		list := node.FindAll(tagIs(name))
		for i := len(list) - 1; i >= 0; i-- {
			e := list[i]
			r.x.step(e)
			if allowed[e] {
				continue
			}
			weight := r.classWeight(e)
			score := 0.0
			if c, ok := r.candidates[e]; ok {
				score = c.score
			}
			if float64(weight)+score < 0 {
				r.dropTree(e)
				continue
			}
			if countByte(e, ',') >= 10 {
				continue
			}
			count := func(tag string) int { return len(e.FindAll(tagIs(tag))) }
			nP, nImg, nLi, nEmbed := count("p"), count("img"), count("li")-100, count("embed")
			nInput := count("input")
			for _, in := range e.FindAll(tagIs("input")) {
				if v, ok := in.Get("type"); ok && v == "hidden" {
					nInput--
				}
			}
			contentLen := textLength(e)
			ld := r.linkDensity(e)
			remove := false
			switch {
			case nP > 0 && float64(nImg) > 1+float64(nP)*1.3:
				remove = true
			case nLi > nP && e.Tag != "ol" && e.Tag != "ul":
				remove = true
			case float64(nInput) > float64(nP)/3:
				remove = true
			case contentLen < readabilityMinText && nImg == 0:
				remove = true
			case contentLen < readabilityMinText && nImg > 2:
				remove = true
			case weight < 25 && ld > 0.2:
				remove = true
			case weight >= 25 && ld > 0.5:
				remove = true
			case nEmbed == 1 && contentLen < 75 || nEmbed > 1:
				remove = true
			case contentLen == 0:
				remove = true
				var sibs []int
				for s := e.Next; s != nil; s = s.Next {
					if l := textLength(s); l > 0 {
						sibs = append(sibs, l)
						break
					}
				}
				limit := len(sibs) + 1
				for s := e.Prev; s != nil; s = s.Prev {
					if l := textLength(s); l > 0 {
						sibs = append(sibs, l)
						if len(sibs) >= limit {
							break
						}
					}
				}
				sum := 0
				for _, l := range sibs {
					sum += l
				}
				if len(sibs) > 0 && sum > 1000 {
					remove = false
					for _, d := range r.tags(e, "table", "ul", "div", "section") {
						allowed[d] = true
					}
				}
			}
			if remove {
				r.dropTree(e)
			}
		}
	}
	r.doc = node
	b := dom.AppendXML(nil, node, true)
	return cleanAttributes(string(b))
}

// htmlStrip is readability's HTMLSTRIP. Upstream builds it from string
// pieces meant as a format string but never formatted, so it asks for the
// literal text "{BAD_ATTRS}" and practically never matches; it is applied
// only when that text is present.
var htmlStrip = regexp.MustCompile(`(?i)<([^>]+)  (?:\{BAD_ATTRS\}) *= *(?:\{NON_SPACE\}|\{QUOTES\})([^>]*)>`)

func cleanAttributes(html string) string {
	if !strings.Contains(html, "{BAD_ATTRS}") {
		return html
	}
	for htmlStrip.MatchString(html) {
		html = htmlStrip.ReplaceAllString(html, "<$1$2>")
	}
	return html
}
