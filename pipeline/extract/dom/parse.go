package dom

import "unicode/utf8"

// The parser below reproduces what lxml's HTMLParser (libxml2 2.9.14's
// htmlParseDocument with recover, no network, no default doctype, comments
// and processing instructions removed) builds from a Unicode string, because
// the extractor's output depends on the tree's shape: libxml2 knows only
// HTML 4's elements and closing rules (a <section> does not close a <p>, an
// <embed> is a container, nothing is foster-parented out of a <table>),
// keeps text a browser would move, and stops at 256 levels of nesting or at
// a text node over 10,000,000 bytes. It follows libxml2's functions step by
// step (their names are given in the comments) rather than any HTML
// standard; it is written from reading libxml2's source, not translated.

const (
	maxDepth   = 256      // xmlParserMaxDepth (no XML_PARSE_HUGE)
	maxTextLen = 10000000 // XML_MAX_TEXT_LENGTH
	nameMax    = 100      // HTML_PARSER_BUFFER_SIZE: longest tag name kept
	chunkSize  = 1000     // HTML_PARSER_BIG_BUFFER_SIZE: character data chunk
)

// empty elements have no content and no end tag (the element table's
// "empty" column).
var emptyElem = map[string]bool{
	"area": true, "base": true, "basefont": true, "br": true, "col": true, "frame": true, "hr": true,
	"img": true, "input": true, "isindex": true, "link": true, "meta": true, "param": true,
}

// endPriority decides which open elements a misplaced end tag may close
// (htmlEndPriority); everything else has 100.
func endPriority(name string) int {
	switch name {
	case "div":
		return 150
	case "td", "th":
		return 160
	case "tr":
		return 170
	case "thead", "tbody", "tfoot":
		return 180
	case "table":
		return 190
	case "head", "body":
		return 200
	case "html":
		return 220
	}
	return 100
}

// booleanAttr are the attributes whose bare form gets their name as value.
var booleanAttr = map[string]bool{
	"checked": true, "compact": true, "declare": true, "defer": true, "disabled": true, "ismap": true,
	"multiple": true, "nohref": true, "noresize": true, "noshade": true, "nowrap": true, "readonly": true,
	"selected": true,
}

// Document is a parsed page.
type Document struct {
	// Root is the document's root element (lxml's getroot()), nil when the
	// input held no element.
	Root *Node
	// Arena allocated the tree; use it for new nodes.
	Arena *Arena
	// Halted is set when the parser stopped early (nesting over 256 levels or
	// a text node over 10,000,000 bytes), as libxml2 does without its HUGE
	// option; the tree then holds what came before.
	Halted bool
}

type parser struct {
	s string
	i int
	a *Arena

	names []string // libxml2's name stack (ctxt->nameTab)
	nodes []*Node  // node stack (ctxt->nodeTab)

	root      *Node
	rootFirst bool // the document's first child is the root element (no DTD before it)
	docEmpty  bool // the document has no child yet
	sawDTD    bool // a doctype was parsed

	attrBuf []Attr // attributes of the tag being read

	html   int // ctxt->html: 3 once a head was seen, 10 once a body was
	depth  int // misplaced html/head/body start tags to ignore the end tags of
	halted bool

	// pending text of the current text node (the current element's text or
	// its last child's tail).
	pend      []byte
	pendStr   string // the text when it is one piece (no copy)
	pendMulti bool   // several pieces, joined in pend
	pendN     int    // bytes pending
	pendFor   *Node  // element whose text node is pending
	pendTl    bool   // the pending text is pendFor's tail
}

// Parse parses an HTML page given as a (UTF-8) string.
func Parse(s string) *Document { return (&Arena{}).Parse(s) }

// Parse parses a page into nodes of a, charging its work account.
func (a *Arena) Parse(s string) *Document {
	p := &parser{s: s, a: a, docEmpty: true}
	// libxml2 skips a byte order mark at the start of the input.
	if len(s) >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF {
		p.i = 3
	}
	p.parseDocument()
	p.flush()
	return &Document{Root: p.root, Arena: p.a, Halted: p.halted}
}

// cur is libxml2's CUR: the byte at the position, 0 at the end (a NUL byte
// in the input reads the same, and ends parsing where libxml2 checks CUR).
func (p *parser) cur() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *parser) nxt(k int) byte {
	if p.i+k < len(p.s) {
		return p.s[p.i+k]
	}
	return 0
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (p *parser) skipBlanks() {
	for p.i < len(p.s) && isBlank(p.s[p.i]) {
		p.i++
	}
}

// name returns ctxt->name: the innermost open element's name, "" if none.
func (p *parser) name() string {
	if len(p.names) == 0 {
		return ""
	}
	return p.names[len(p.names)-1]
}

func (p *parser) node() *Node {
	if len(p.nodes) == 0 {
		return nil
	}
	return p.nodes[len(p.nodes)-1]
}

func (p *parser) halt() {
	p.halted = true
	p.i = len(p.s)
}

// --- tree building (libxml2's SAX2 handlers) -------------------------------

// flush stores the pending text in the tree.
func (p *parser) flush() {
	if p.pendFor == nil {
		return
	}
	t := p.pendStr
	if p.pendMulti {
		t = string(p.pend)
		p.pend = p.pend[:0]
		p.pendMulti = false
	}
	if p.pendTl {
		p.pendFor.SetTail(t)
	} else {
		p.pendFor.SetText(t)
	}
	p.pendFor, p.pendStr, p.pendN = nil, "", 0
}

// characters is xmlSAX2Characters: text goes to the current element's text,
// or to its last child's tail; it is dropped when no element is open.
func (p *parser) characters(t string) {
	if p.halted || len(t) == 0 {
		return
	}
	n := p.node()
	if n == nil {
		return
	}
	target, tail := n, false
	if n.LastChild != nil {
		target, tail = n.LastChild, true
	}
	if p.pendFor != target || p.pendTl != tail {
		p.flush()
		p.pendFor, p.pendTl, p.pendStr = target, tail, t
		p.pendN = len(t)
		return
	}
	// Coalescing into an existing text node: libxml2 refuses to grow one
	// past XML_MAX_TEXT_LENGTH and stops parsing.
	if p.pendN+len(t) > maxTextLen {
		p.halt()
		return
	}
	if !p.pendMulti {
		p.pend = append(p.pend[:0], p.pendStr...)
		p.pendMulti = true
	}
	p.pend = append(p.pend, t...)
	p.pendN += len(t)
}

// startElement is xmlSAX2StartElement plus nodePush.
func (p *parser) startElement(name string, attrs []Attr) {
	if p.halted {
		return
	}
	p.flush()
	n := p.a.New(localName(name))
	n.Attr = p.a.CopyAttrs(attrs)
	parent := p.node()
	visible := true
	if p.docEmpty {
		p.docEmpty = false
		p.root, p.rootFirst = n, true
		parent = nil
	} else if parent == nil {
		// Parented to the document's first child: the root element, or a
		// doctype, in which case the element becomes a second top-level
		// element that lxml never shows.
		if p.rootFirst {
			parent = p.root
		} else if p.root == nil {
			// first element after a doctype: the root.
			p.root = n
		} else {
			visible = false
		}
	}
	if len(p.nodes) > maxDepth {
		p.halt()
		return
	}
	p.nodes = append(p.nodes, n)
	if parent != nil && visible {
		parent.Append(n)
	}
}

// endElement is xmlSAX2EndElement (nodePop).
func (p *parser) endElement() {
	p.flush()
	if len(p.nodes) > 0 {
		p.nodes = p.nodes[:len(p.nodes)-1]
	}
}

// localName drops a namespace prefix as xmlSplitQName does: "fb:like"
// becomes "like"; a name starting or ending with ':' is kept whole.
func localName(name string) string {
	if len(name) == 0 || name[0] == ':' {
		return name
	}
	for i := 0; i < len(name); i++ {
		if name[i] == ':' {
			if i == len(name)-1 {
				return name
			}
			return name[i+1:]
		}
	}
	return name
}

// --- the element stack -----------------------------------------------------

func (p *parser) namePush(name string) {
	if p.html < 3 && name == "head" {
		p.html = 3
	}
	if p.html < 10 && name == "body" {
		p.html = 10
	}
	p.names = append(p.names, name)
}

func (p *parser) namePop() {
	if len(p.names) > 0 {
		p.names = p.names[:len(p.names)-1]
	}
}

// popElement closes the innermost element.
func (p *parser) popElement() {
	p.endElement()
	p.namePop()
}

// checkAutoClose: does a start tag newtag close an open oldtag?
func checkAutoClose(newtag, oldtag string) bool {
	return startClose[oldtag][newtag]
}

// autoClose is htmlAutoClose: close the open elements newtag implies the
// end of.
func (p *parser) autoClose(newtag string) {
	for len(p.names) > 0 && checkAutoClose(newtag, p.name()) {
		p.popElement()
	}
}

// autoCloseOnEnd closes everything at the end of the input.
func (p *parser) autoCloseOnEnd() {
	for len(p.names) > 0 {
		p.popElement()
	}
}

// autoCloseOnClose is htmlAutoCloseOnClose: an end tag closes the elements
// opened inside its element, unless one of them ranks higher.
func (p *parser) autoCloseOnClose(newtag string) {
	pri := endPriority(newtag)
	i := len(p.names) - 1
	for ; i >= 0; i-- {
		if p.names[i] == newtag {
			break
		}
		if endPriority(p.names[i]) > pri {
			return
		}
	}
	p.a.Charge(len(p.names) - i)
	if i < 0 {
		return
	}
	for p.name() != newtag {
		p.popElement()
	}
}

// checkImplied is htmlCheckImplied: open the html, head or body element a
// new tag implies.
func (p *parser) checkImplied(newtag string) {
	if newtag == "html" {
		return
	}
	if len(p.names) <= 0 {
		p.namePush("html")
		p.startElement("html", nil)
	}
	if newtag == "body" || newtag == "head" {
		return
	}
	if len(p.names) <= 1 && (newtag == "script" || newtag == "style" || newtag == "meta" ||
		newtag == "link" || newtag == "title" || newtag == "base") {
		if p.html >= 3 {
			return
		}
		p.namePush("head")
		p.startElement("head", nil)
	} else if newtag != "noframes" && newtag != "frame" && newtag != "frameset" {
		if p.html >= 10 {
			return
		}
		p.a.Charge(len(p.names))
		for _, n := range p.names {
			if n == "body" || n == "head" {
				return
			}
		}
		p.namePush("body")
		p.startElement("body", nil)
	}
}

// checkParagraph is htmlCheckParagraph: text directly in the document, html
// or head implies a <p>.
func (p *parser) checkParagraph() {
	tag := p.name()
	if tag == "" || tag == "html" || tag == "head" {
		p.autoClose("p")
		p.checkImplied("p")
		p.namePush("p")
		p.startElement("p", nil)
	}
}

// --- document and content ----------------------------------------------------

// parseDocument is htmlParseDocument.
func (p *parser) parseDocument() {
	p.skipBlanks()
	p.skipCommentsAndPIs()
	if p.isDoctype() {
		p.parseDoctype()
	}
	p.skipBlanks()
	p.skipCommentsAndPIs()
	p.parseContent()
	if p.cur() == 0 {
		p.autoCloseOnEnd()
	}
}

func (p *parser) skipCommentsAndPIs() {
	for p.cur() == '<' && (p.nxt(1) == '!' && p.nxt(2) == '-' && p.nxt(3) == '-' || p.nxt(1) == '?') {
		p.parseComment()
		p.parsePI()
		p.skipBlanks()
	}
}

func (p *parser) isDoctype() bool {
	if p.cur() != '<' || p.nxt(1) != '!' {
		return false
	}
	const d = "DOCTYPE"
	for k := 0; k < len(d); k++ {
		c := p.nxt(2 + k)
		if c >= 'a' && c <= 'z' {
			c -= 0x20
		}
		if c != d[k] {
			return false
		}
	}
	return true
}

// parseContent is htmlParseContentInternal.
func (p *parser) parseContent() {
	currentNode, hasCurrent := p.name(), len(p.names) > 0
	depth := len(p.names)
	for !p.halted {
		c := p.cur()
		if c == '<' && p.nxt(1) == '/' {
			if p.parseEndTag() && (hasCurrent || len(p.names) == 0) {
				currentNode, hasCurrent = p.name(), len(p.names) > 0
				depth = len(p.names)
			}
			continue
		} else if c == '<' && (isLetter(p.nxt(1)) || p.nxt(1) == '_' || p.nxt(1) == ':') {
			name := p.peekName()
			if len(p.names) > 0 && checkAutoClose(name, p.name()) {
				p.autoClose(name)
				continue
			}
		}
		// Has the current element been closed while parsing the next one?
		if len(p.names) > 0 && depth >= len(p.names) && (!hasCurrent || currentNode != p.name()) {
			if p.cur() == 0 {
				p.autoCloseOnEnd()
			}
			currentNode, hasCurrent = p.name(), len(p.names) > 0
			depth = len(p.names)
			continue
		}
		if p.cur() != 0 && hasCurrent && (currentNode == "script" || currentNode == "style") {
			p.parseScript()
		} else {
			if p.isDoctype() {
				// a doctype in the middle of the document
				p.parseDoctype()
			}
			c = p.cur()
			switch {
			case c == '<' && p.nxt(1) == '!' && p.nxt(2) == '-' && p.nxt(3) == '-':
				p.parseComment()
			case c == '<' && p.nxt(1) == '?':
				p.parsePI()
			case c == '<' && isLetter(p.nxt(1)):
				p.parseElement()
				currentNode, hasCurrent = p.name(), len(p.names) > 0
				depth = len(p.names)
			case c == '<':
				p.characters("<")
				p.i++
			case c == '&':
				p.parseReference()
			case c == 0:
				p.autoCloseOnEnd()
				return
			default:
				p.parseCharData()
			}
		}
	}
}

// peekName is htmlParseHTMLName_nonInvasive: the lower-cased name after
// '<', without consuming it (no '.' allowed, unlike parseHTMLName).
func (p *parser) peekName() string {
	var buf [nameMax]byte
	k := 0
	for k < nameMax {
		c := p.nxt(1 + k)
		if !(isLetter(c) || isDigit(c) || c == ':' || c == '-' || c == '_') {
			break
		}
		if c >= 'A' && c <= 'Z' {
			c += 0x20
		}
		buf[k] = c
		k++
	}
	return internName(buf[:k])
}

// parseHTMLName is htmlParseHTMLName: a lower-cased tag or attribute name,
// at most 100 characters (the rest of a longer name is left in the input).
func (p *parser) parseHTMLName() (string, bool) {
	c := p.cur()
	if !isLetter(c) && c != '_' && c != ':' && c != '.' {
		return "", false
	}
	var buf [nameMax]byte
	k := 0
	for k < nameMax {
		c = p.cur()
		if !(isLetter(c) || isDigit(c) || c == ':' || c == '-' || c == '_' || c == '.') {
			break
		}
		if c >= 'A' && c <= 'Z' {
			c += 0x20
		}
		buf[k] = c
		k++
		p.i++
	}
	return internName(buf[:k]), true
}

// internName returns the name as a string, without allocating for the tags
// and attributes pages use most.
func internName(b []byte) string {
	if s, ok := atoms[string(b)]; ok {
		return s
	}
	return string(b)
}

// parseElement is htmlParseElementInternal.
func (p *parser) parseElement() {
	failed := p.parseStartTag()
	name := p.name()
	if failed < 0 || len(p.names) == 0 {
		if p.cur() == '>' {
			p.i++
		}
		return
	}
	if p.cur() == '/' && p.nxt(1) == '>' {
		// <tag/>: an empty element the XML way
		p.i += 2
		p.popElement()
		return
	}
	if p.cur() == '>' {
		p.i++
	} else {
		// end of input inside the start tag
		if name == p.name() {
			p.popElement()
		}
		if p.cur() == 0 {
			p.autoCloseOnEnd()
		}
		return
	}
	if emptyElem[name] {
		p.popElement()
	}
}

// parseStartTag is htmlParseStartTag; it returns -1 on error, 1 when the
// tag was discarded (a misplaced html, head or body) and 0 otherwise.
func (p *parser) parseStartTag() int {
	if p.cur() != '<' {
		return -1
	}
	p.i++
	name, ok := p.parseHTMLName()
	if !ok {
		for c := p.cur(); c != 0 && c != '>'; c = p.cur() {
			p.i++
		}
		return -1
	}
	p.autoClose(name)
	p.checkImplied(name)
	discard := false
	if len(p.names) > 0 && name == "html" {
		discard = true
		p.depth++
	}
	if len(p.names) != 1 && name == "head" {
		discard = true
		p.depth++
	}
	if name == "body" {
		p.a.Charge(len(p.names))
		for _, n := range p.names {
			if n == "body" {
				discard = true
				p.depth++
			}
		}
	}
	attrs := p.attrBuf[:0]
	p.skipBlanks()
	for c := p.cur(); c != 0 && c != '>' && (c != '/' || p.nxt(1) != '>'); c = p.cur() {
		key, val, hasVal, ok := p.parseAttribute()
		if ok {
			dup := false
			for _, a := range attrs {
				if a.Key == key {
					dup = true
					break
				}
			}
			if !dup {
				if !hasVal && booleanAttr[key] {
					val = key
				}
				attrs = append(attrs, Attr{Key: key, Val: val})
			}
		} else {
			for c := p.cur(); c != 0 && !isBlank(c) && c != '>' && (c != '/' || p.nxt(1) != '>'); c = p.cur() {
				p.i++
			}
		}
		p.skipBlanks()
	}
	p.attrBuf = attrs
	if !discard {
		p.namePush(name)
		p.startElement(name, attrs)
	}
	if discard {
		return 1
	}
	return 0
}

// parseAttribute is htmlParseAttribute.
func (p *parser) parseAttribute() (key, val string, hasVal, ok bool) {
	key, ok = p.parseHTMLName()
	if !ok {
		return "", "", false, false
	}
	p.skipBlanks()
	if p.cur() == '=' {
		p.i++
		p.skipBlanks()
		val, hasVal = p.parseAttValue()
	}
	return key, val, hasVal, true
}

// parseAttValue is htmlParseAttValue: quoted or bare.
func (p *parser) parseAttValue() (string, bool) {
	switch q := p.cur(); q {
	case '"', '\'':
		p.i++
		v := p.parseAttrText(q)
		if p.cur() == q {
			p.i++
		}
		return v, true
	}
	return p.parseAttrText(0), true
}

// parseAttrText is htmlParseHTMLAttribute: the value up to the quote (or,
// unquoted, up to a blank or '>'), with character and entity references
// resolved. A reference to character 0 ends the stored value there (libxml2
// writes a NUL into its C string) though parsing goes on.
func (p *parser) parseAttrText(stop byte) string {
	start := p.i
	// fast path: no references
	for {
		c := p.cur()
		if c == 0 || c == stop || stop == 0 && (c == '>' || isBlank(c)) {
			return p.s[start:p.i]
		}
		if c == '&' {
			break
		}
		p.i++
	}
	out := []byte(p.s[start:p.i])
	cut := -1
	for {
		c := p.cur()
		if c == 0 || c == stop || stop == 0 && (c == '>' || isBlank(c)) {
			break
		}
		if c != '&' {
			out = append(out, c)
			p.i++
			continue
		}
		if p.nxt(1) == '#' {
			r := p.parseCharRef()
			if r == 0 && cut < 0 {
				cut = len(out)
			}
			out = utf8.AppendRune(out, r)
			continue
		}
		name, r, ok := p.parseEntityRef()
		switch {
		case name == "":
			out = append(out, '&')
		case !ok:
			out = append(out, '&')
			out = append(out, name...)
		default:
			out = utf8.AppendRune(out, r)
		}
	}
	if cut >= 0 {
		out = out[:cut]
	}
	return string(out)
}

// parseCharRef is htmlParseCharRef: "&#123;" or "&#x7b;"; 0 when the value
// is not an XML character.
func (p *parser) parseCharRef() rune {
	val := 0
	if p.cur() == '&' && p.nxt(1) == '#' && (p.nxt(2) == 'x' || p.nxt(2) == 'X') {
		p.i += 3
		for p.cur() != ';' {
			c := p.cur()
			var d int
			switch {
			case c >= '0' && c <= '9':
				d = int(c - '0')
			case c >= 'a' && c <= 'f':
				d = int(c-'a') + 10
			case c >= 'A' && c <= 'F':
				d = int(c-'A') + 10
			default:
				d = -1
			}
			if d < 0 {
				break
			}
			if val < 0x110000 {
				val = val*16 + d
			}
			p.i++
		}
		if p.cur() == ';' {
			p.i++
		}
	} else if p.cur() == '&' && p.nxt(1) == '#' {
		p.i += 2
		for p.cur() != ';' {
			c := p.cur()
			if c < '0' || c > '9' {
				break
			}
			if val < 0x110000 {
				val = val*10 + int(c-'0')
			}
			p.i++
		}
		if p.cur() == ';' {
			p.i++
		}
	}
	if isXMLChar(rune(val)) && val < 0x110000 {
		return rune(val)
	}
	return 0
}

// isXMLChar is libxml2's IS_CHAR.
func isXMLChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// parseEntityRef is htmlParseEntityRef: name is "" when no name follows
// '&'; ok when the name is known and ends with ';' (then consumed).
func (p *parser) parseEntityRef() (name string, r rune, ok bool) {
	p.i++ // '&'
	name = p.parseName()
	if name == "" {
		return "", 0, false
	}
	if p.cur() == ';' {
		if v, known := entities[name]; known {
			p.i++
			return name, v, true
		}
	}
	return name, 0, false
}

// parseName is htmlParseName (case-sensitive, as entity names are): ASCII
// letters, digits and "_-:." after a letter, '_' or ':'; names with other
// characters take libxml2's complex path, which accepts Unicode letters.
func (p *parser) parseName() string {
	start := p.i
	c := p.cur()
	if isLetter(c) || c == '_' || c == ':' {
		j := p.i + 1
		for j < len(p.s) {
			c := p.s[j]
			if isLetter(c) || isDigit(c) || c == '_' || c == '-' || c == ':' || c == '.' {
				j++
				continue
			}
			break
		}
		if j == len(p.s) {
			return ""
		}
		if c := p.s[j]; c > 0 && c < 0x80 {
			p.i = j
			return p.s[start:j]
		}
	}
	return p.parseNameComplex()
}

// parseNameComplex is htmlParseNameComplex.
func (p *parser) parseNameComplex() string {
	start := p.i
	r, size := p.curChar()
	if r == ' ' || r == '>' || r == '/' || !(isNameLetter(r) || r == '_' || r == ':') {
		return ""
	}
	for r != ' ' && r != '>' && r != '/' &&
		(isNameLetter(r) || isNameDigit(r) || r == '.' || r == '-' || r == '_' || r == ':' || isCombining(r) || isExtender(r)) {
		p.i += size
		r, size = p.curChar()
		if size == 0 {
			break
		}
	}
	return p.s[start:p.i]
}

// curChar is htmlCurrentChar on valid UTF-8: the character at the position
// and its size; a NUL byte inside the input reads as a space; 0, 0 at the
// end. Invalid UTF-8 (which a Python string cannot hold) reads as U+FFFD.
func (p *parser) curChar() (rune, int) {
	if p.i >= len(p.s) {
		return 0, 0
	}
	c := p.s[p.i]
	if c < 0x80 {
		if c == 0 {
			return ' ', 1
		}
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(p.s[p.i:])
}

// parseReference is htmlParseReference: a character or entity reference in
// text.
func (p *parser) parseReference() {
	if p.nxt(1) == '#' {
		r := p.parseCharRef()
		if r == 0 {
			return
		}
		p.checkParagraph()
		var b [4]byte
		n := utf8.EncodeRune(b[:], r)
		p.characters(string(b[:n]))
		return
	}
	start := p.i
	name, r, ok := p.parseEntityRef()
	p.checkParagraph()
	switch {
	case name == "":
		p.characters("&")
	case !ok:
		// "&name" stays literal (the ';', if any, follows as text)
		p.characters(p.s[start : start+1+len(name)])
	default:
		var b [4]byte
		n := utf8.EncodeRune(b[:], r)
		p.characters(string(b[:n]))
	}
}

// parseCharData is htmlParseCharDataInternal: text up to the next '<' or
// '&', delivered in chunks of about 1000 bytes; characters that are not XML
// characters are dropped and a NUL byte becomes a space.
func (p *parser) parseCharData() {
	start := p.i
	special := p.paragraphContext()
	// Fast path: a clean run (only ASCII printable, tab, LF, CR and valid
	// multi-byte characters other than U+FFFE/U+FFFF) outside the contexts
	// where chunk boundaries matter.
	if !special {
		j := p.i
		clean := true
	scan:
		for j < len(p.s) {
			c := p.s[j]
			switch {
			case c == '<' || c == '&':
				break scan
			case c >= 0x20 && c < 0x80 || c == '\t' || c == '\n' || c == '\r':
				j++
			case c >= 0x80:
				r, size := utf8.DecodeRuneInString(p.s[j:])
				if r == utf8.RuneError && size == 1 || r == 0xFFFE || r == 0xFFFF {
					clean = false
					break scan
				}
				j += size
			default:
				clean = false
				break scan
			}
		}
		if clean && j > start && p.pendN+(j-start) <= maxTextLen {
			p.i = j
			p.characters(p.s[start:j])
			return
		}
	}
	p.parseCharDataSlow()
}

// paragraphContext: text here may imply a <p> (htmlCheckParagraph acts
// only with no open element or in html or head).
func (p *parser) paragraphContext() bool {
	n := p.name()
	return n == "" || n == "html" || n == "head"
}

// parseCharDataSlow follows libxml2's loop character by character.
func (p *parser) parseCharDataSlow() {
	var buf []byte
	for {
		r, size := p.curChar()
		if size == 0 || r == '<' || r == '&' {
			break
		}
		buf = p.appendChar(buf, r, size)
		p.i += size
		if len(buf) >= chunkSize {
			p.deliverChunk(buf)
			buf = buf[:0]
			if p.halted {
				return
			}
		}
	}
	if len(buf) > 0 {
		p.deliverChunk(buf)
	} else if p.cur() == 0 {
		// libxml2's loop detection: nothing read at the end stops parsing
		p.i = len(p.s)
	}
}

// appendChar appends the character read at the position (r, size from
// curChar) as libxml2's text loops copy it: characters that are not XML
// characters are dropped; invalid UTF-8 reads as U+FFFD.
func (p *parser) appendChar(buf []byte, r rune, size int) []byte {
	switch {
	case r == utf8.RuneError && size == 1:
		return append(buf, "\uFFFD"...)
	case !isXMLChar(r):
		return buf
	case size == 1:
		return append(buf, byte(r))
	}
	return append(buf, p.s[p.i:p.i+size]...)
}

// deliverChunk hands a chunk of text over as libxml2 does: a chunk of blanks
// that areBlanks calls ignorable does not imply a paragraph.
func (p *parser) deliverChunk(buf []byte) {
	if !p.areBlanks(buf) {
		p.checkParagraph()
	}
	p.characters(string(buf))
}

// areBlanks is libxml2's areBlanks; only its effect on checkParagraph
// matters here (blank text is kept either way), so the cases it cannot
// change are not reproduced in detail.
func (p *parser) areBlanks(buf []byte) bool {
	for _, c := range buf {
		if !isBlank(c) {
			return false
		}
	}
	c := p.cur()
	if c == 0 {
		return true
	}
	if c != '<' {
		return false
	}
	n := p.name()
	if n == "" || n == "html" || n == "head" {
		return true
	}
	// elsewhere checkParagraph does nothing, whatever the answer
	return false
}

// parseScript is htmlParseScript: the raw content of script and style up to
// "</" followed by the element's name.
func (p *parser) parseScript() {
	name := p.name()
	start := p.i
	clean := true
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '<' && p.nxt(1) == '/' && hasPrefixFold(p.s[p.i+2:], name) {
			break
		}
		if c >= 0x20 && c < 0x80 || c == '\t' || c == '\n' || c == '\r' {
			p.i++
			continue
		}
		if c >= 0x80 {
			r, size := utf8.DecodeRuneInString(p.s[p.i:])
			if !(r == utf8.RuneError && size == 1) && r != 0xFFFE && r != 0xFFFF {
				p.i += size
				continue
			}
		}
		clean = false
		break
	}
	if clean {
		if p.i > start {
			p.characters(p.s[start:p.i])
		}
		return
	}
	// Rare: characters to drop or replace; keep the chunk boundaries.
	p.i = start
	var buf []byte
	for {
		r, size := p.curChar()
		if size == 0 {
			break
		}
		if r == '<' && p.nxt(1) == '/' && hasPrefixFold(p.s[p.i+2:], name) {
			break
		}
		buf = p.appendChar(buf, r, size)
		p.i += size
		if len(buf) >= chunkSize {
			p.characters(string(buf))
			buf = buf[:0]
			if p.halted {
				return
			}
		}
	}
	if len(buf) > 0 {
		p.characters(string(buf))
	}
}

func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		// libxml2 compares against the NUL-terminated rest of the input
		return false
	}
	for k := 0; k < len(prefix); k++ {
		a, b := s[k], prefix[k]
		if a >= 'A' && a <= 'Z' {
			a += 0x20
		}
		if b >= 'A' && b <= 'Z' {
			b += 0x20
		}
		if a != b {
			return false
		}
	}
	return true
}

// parseEndTag is htmlParseEndTag; true when it closed the current element.
func (p *parser) parseEndTag() bool {
	p.i += 2
	name, ok := p.parseHTMLName()
	if !ok {
		return false
	}
	p.skipBlanks()
	if p.cur() != '>' {
		for c := p.cur(); c != 0 && c != '>'; c = p.cur() {
			p.i++
		}
	}
	if p.cur() == '>' {
		p.i++
	}
	if p.depth > 0 && (name == "html" || name == "body" || name == "head") {
		p.depth--
		return false
	}
	i := len(p.names) - 1
	for ; i >= 0; i-- {
		if p.names[i] == name {
			break
		}
	}
	p.a.Charge(len(p.names) - i)
	if i < 0 {
		return false
	}
	p.autoCloseOnClose(name)
	if len(p.names) > 0 && p.name() == name {
		p.popElement()
		return true
	}
	return false
}

// parseComment skips a comment (lxml's parser drops them). An unterminated
// comment is dropped to the end of the input.
func (p *parser) parseComment() {
	if p.cur() != '<' || p.nxt(1) != '!' || p.nxt(2) != '-' || p.nxt(3) != '-' {
		return
	}
	p.i += 4
	// libxml2 reads two characters q, r, then stops at "-->" (q r cur) or
	// "--!>"; "<!-->" and "<!--->" do not close.
	var q, r rune
	var n int
	q, n = p.curChar()
	if n == 0 {
		return
	}
	p.i += n
	r, n = p.curChar()
	if n == 0 {
		return
	}
	p.i += n
	for {
		c, n := p.curChar()
		if n == 0 {
			return // unterminated: everything after "<!--" is gone
		}
		if c == '>' && r == '-' && q == '-' {
			p.i += n
			return
		}
		p.i += n
		next, nn := p.curChar()
		if q == '-' && r == '-' && c == '!' && next == '>' {
			p.i += nn
			return
		}
		q, r = r, c
	}
}

// parsePI skips a processing instruction "<?target ...>" (dropped by
// lxml's parser).
func (p *parser) parsePI() {
	if p.cur() != '<' || p.nxt(1) != '?' {
		return
	}
	p.i += 2
	if p.parseName() == "" {
		return // not a PI: the rest is read as content
	}
	if p.cur() == '>' {
		p.i++
		return
	}
	p.skipBlanks()
	for {
		r, n := p.curChar()
		if n == 0 {
			return
		}
		p.i += n
		if r == '>' {
			return
		}
	}
}

// parseDoctype is htmlParseDocTypeDecl: it is dropped from the tree, but
// the first one makes later top-level elements invisible (below).
func (p *parser) parseDoctype() {
	p.i += 9
	p.skipBlanks()
	p.parseName()
	p.skipBlanks()
	// htmlParseExternalID
	switch {
	case p.upperIs("SYSTEM"):
		p.i += 6
		p.skipBlanks()
		p.skipLiteral()
	case p.upperIs("PUBLIC"):
		p.i += 6
		p.skipBlanks()
		p.skipLiteral()
		p.skipBlanks()
		if c := p.cur(); c == '"' || c == '\'' {
			p.skipLiteral()
		}
	}
	p.skipBlanks()
	for c := p.cur(); c != 0 && c != '>'; c = p.cur() {
		p.i++
	}
	if p.cur() == '>' {
		p.i++
	}
	// xmlSAX2InternalSubset: only the first doctype counts; it becomes the
	// document's first child, so top-level elements created later are
	// siblings that lxml never shows.
	if !p.sawDTD {
		p.sawDTD = true
		p.rootFirst = false
		p.docEmpty = false
	}
}

// upperIs compares the input with an upper-case ASCII word, ignoring case.
func (p *parser) upperIs(w string) bool {
	for k := 0; k < len(w); k++ {
		c := p.nxt(k)
		if c >= 'a' && c <= 'z' {
			c -= 0x20
		}
		if c != w[k] {
			return false
		}
	}
	return true
}

// skipLiteral is htmlParseSystemLiteral / htmlParsePubidLiteral: a quoted
// string, up to the closing quote or the end.
func (p *parser) skipLiteral() {
	q := p.cur()
	if q != '"' && q != '\'' {
		return
	}
	p.i++
	for c := p.cur(); c != 0 && c != q; c = p.cur() {
		p.i++
	}
	if p.cur() == q {
		p.i++
	}
}
