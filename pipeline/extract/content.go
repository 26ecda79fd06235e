package extract

import (
	"strings"
	"unicode/utf8"

	"github.com/datarefine/refine/pipeline/extract/dom"
)

// Main-content extraction: trafilatura 1.8.1's extract_content and its
// handlers (core.py), with favor_precision, no comments, no images, no
// links, no formatting, tables kept, deduplication within the page.

const (
	minExtractedSize = 250 // MIN_EXTRACTED_SIZE
	minDuplcheckSize = 100 // MIN_DUPLCHECK_SIZE
	maxRepetitions   = 2   // MAX_REPETITIONS
)

// tagCatalog is TAG_CATALOG; extraction adds the table tags (tables on)
// and, when the content has too little paragraph text, div.
var tagCatalog = []string{"blockquote", "code", "del", "head", "hi", "lb", "list", "p", "pre", "quote"}

var formattingProtected = map[string]bool{
	"cell": true, "head": true, "hi": true, "item": true, "p": true, "quote": true, "ref": true, "td": true,
}

// textFilter is trafilatura's textfilter: true (drop) when the element's
// text (or, without text, its tail) is empty or one of its lines is just a
// sharing-button label.
func textFilter(e *dom.Node) bool {
	t := e.Text
	if !e.HasText {
		t = e.Tail
	}
	if !textCharsTest(t) {
		return true
	}
	for line := range pySplitLines(t) {
		if isShareLabel(line) {
			return true
		}
	}
	return false
}

// shareLabels are RE_FILTER's alternatives (lower case).
var shareLabels = map[string]bool{
	"drucken": true, "email": true, "e-mail": true, "facebook": true, "flipboard": true,
	"google": true, "instagram": true, "linkedin": true, "mail": true, "pdf": true,
	"pinterest": true, "pocket": true, "print": true, "qq": true, "reddit": true,
	"twitter": true, "wechat": true, "weibo": true, "whatsapp": true, "xing": true,
	"mehr zum thema": true, "mehr zum thema:": true,
}

// isShareLabel matches RE_FILTER, `\W*(Drucken|E-?Mail|...|Mehr zum
// Thema:?|More on this.{,8}$)$` case-insensitively, at the start of line.
func isShareLabel(line string) bool {
	i := 0
	for i < len(line) {
		r, size := utf8.DecodeRuneInString(line[i:])
		if isWordChar(r) {
			break
		}
		i += size
	}
	rest := foldPy(line[i:])
	if shareLabels[rest] {
		return true
	}
	if strings.HasPrefix(rest, "more on this") {
		// .{,8}$ : at most 8 more characters (rest is folded to one byte
		// per character)
		return len(rest)-len("more on this") <= 8
	}
	return false
}

// duplicateTest is duplicate_test: the element's text (with its
// children's) seen more than twice before in this page.
func (x *extractor) duplicateTest(e *dom.Node) bool {
	x.buf = appendTrimJoin(x.buf[:0], e)
	test := x.buf
	if utf8.RuneCount(test) > minDuplcheckSize {
		if v := x.lru.get(test); v > maxRepetitions {
			x.lru.put(test, v+1)
			return true
		}
	}
	if v := x.lru.get(test); v != -1 {
		x.lru.put(test, v+1)
	} else {
		x.lru.put(test, 1)
	}
	return false
}

// joinText is sep.join(e.itertext()); lxml's itertext also yields empty
// strings for texts that are present but empty.
func joinText(e *dom.Node, sep string) string {
	var b []byte
	first := true
	add := func(s string) {
		if !first {
			b = append(b, sep...)
		}
		first = false
		b = append(b, s...)
	}
	var walk func(n *dom.Node)
	walk = func(n *dom.Node) {
		if n.HasText {
			add(n.Text)
		}
		for c := n.FirstChild; c != nil; c = c.Next {
			walk(c)
			if c.HasTail {
				add(c.Tail)
			}
		}
	}
	walk(e)
	return string(b)
}

// trimOpt is trim on an optional string (trim(None) is None).
func trimOpt(s string, ok bool) (string, bool) {
	if !ok {
		return "", false
	}
	return trim(s), true
}

// handleTextNode is handle_textnode.
func (x *extractor) handleTextNode(e *dom.Node, commentsFix, preserveSpaces bool) *dom.Node {
	x.step(e)
	if !e.HasText && !e.HasTail && e.FirstChild == nil {
		return nil
	}
	if !commentsFix && e.Tag == "lb" {
		if !preserveSpaces {
			e.Tail, e.HasTail = trimOpt(e.Tail, e.HasTail)
		}
		return e
	}
	if !e.HasText && e.FirstChild == nil {
		e.Text, e.HasText = e.Tail, e.HasTail
		e.SetTail("")
		if commentsFix && e.Tag == "lb" {
			e.Tag = "p"
		}
	}
	if !preserveSpaces {
		e.Text, e.HasText = trimOpt(e.Text, e.HasText)
		if e.Tail != "" {
			e.SetTail(trim(e.Tail))
		}
	}
	if e.Text == "" && textFilter(e) {
		return nil
	}
	if x.duplicateTest(e) {
		return nil
	}
	return e
}

// processNode is process_node.
func (x *extractor) processNode(e *dom.Node) *dom.Node {
	x.step(e)
	if e.Tag == "done" {
		return nil
	}
	if e.FirstChild == nil && e.Text == "" && e.Tail == "" {
		return nil
	}
	e.Text, e.HasText = trimOpt(e.Text, e.HasText)
	e.Tail, e.HasTail = trimOpt(e.Tail, e.HasTail)
	if e.Tag != "lb" && e.Text == "" && e.Tail != "" {
		e.SetText(e.Tail)
		e.ClearTail()
	}
	if e.Text != "" || e.Tail != "" {
		if textFilter(e) {
			return nil
		}
		if x.duplicateTest(e) {
			return nil
		}
	}
	return e
}

// handleTitles is handle_titles.
func (x *extractor) handleTitles(e *dom.Node) *dom.Node {
	var title *dom.Node
	if e.FirstChild == nil {
		title = x.processNode(e)
	} else {
		title = x.copyTree(e)
		for _, c := range e.Children() {
			if pc := x.handleTextNode(c, false, false); pc != nil {
				title.Append(pc)
			}
			c.Tag = "done"
		}
	}
	if title != nil && textCharsTest(joinText(title, "")) {
		return title
	}
	return nil
}

// handleFormatting is handle_formatting.
func (x *extractor) handleFormatting(e *dom.Node) *dom.Node {
	formatting := x.processNode(e)
	if e.FirstChild == nil && formatting == nil {
		return nil
	}
	parent := e.Parent
	if parent == nil {
		parent = e.Prev
	}
	if parent == nil || !formattingProtected[parent.Tag] {
		if formatting == nil {
			// Element('p').insert(0, None): a TypeError in Python
			x.fail()
		}
		p := x.a.New("p")
		p.Insert(0, formatting)
		return p
	}
	return formatting
}

// handleLists is handle_lists.
func (x *extractor) handleLists(e *dom.Node) *dom.Node {
	x.step(e)
	processed := x.a.New(e.Tag)
	if e.HasText && pyStrip(e.Text) != "" {
		item := x.a.New("item")
		item.SetText(e.Text)
		processed.Append(item)
	}
	iterLive(e, tagIs("item"), func(child *dom.Node) {
		item := x.a.New("item")
		if child.FirstChild == nil {
			if pc := x.processNode(child); pc != nil {
				item.Text, item.HasText = pc.Text, pc.HasText
				if pc.HasTail && pyStrip(pc.Tail) != "" {
					item.SetText(item.Text + " " + pc.Tail)
				}
				processed.Append(item)
			}
		} else {
			item.Text, item.HasText = child.Text, child.HasText
			iterDescendantsLive(child, nil, func(sub *dom.Node) {
				if sub.Tag == "list" {
					if ps := x.handleLists(sub); ps != nil {
						item.Append(ps)
					}
				} else if ps := x.handleTextNode(sub, false, false); ps != nil {
					se := x.a.New(ps.Tag)
					se.Text, se.HasText, se.Tail, se.HasTail = ps.Text, ps.HasText, ps.Tail, ps.HasTail
					for _, at := range sub.Attr {
						se.Set(at.Key, at.Val)
					}
					item.Append(se)
				}
				sub.Tag = "done"
			})
			if child.HasTail && pyStrip(child.Tail) != "" {
				var last *dom.Node
				for c := item.FirstChild; c != nil; c = c.Next {
					if c.Tag != "done" {
						last = c
					}
				}
				if last != nil {
					if !last.HasTail || pyStrip(last.Tail) == "" {
						last.SetTail(child.Tail)
					} else {
						last.SetTail(last.Tail + " " + child.Tail)
					}
				}
			}
		}
		if item.Text != "" || item.FirstChild != nil {
			if v, ok := child.Get("rend"); ok {
				item.Set("rend", v)
			}
			processed.Append(item)
		}
		child.Tag = "done"
	})
	e.Tag = "done"
	if processed.FirstChild != nil && textCharsTest(joinText(processed, "")) {
		if v, ok := e.Get("rend"); ok {
			processed.Set("rend", v)
		}
		return processed
	}
	return nil
}

// isCodeBlockElement is is_code_block_element.
func isCodeBlockElement(e *dom.Node) bool {
	if _, ok := e.Get("lang"); ok || e.Tag == "code" {
		return true
	}
	if p := e.Parent; p != nil && strings.Contains(p.AttrVal("class"), "highlight") {
		return true
	}
	var code *dom.Node
	for c := e.FirstChild; c != nil; c = c.Next {
		if c.Tag == "code" {
			code = c
			break
		}
	}
	return code != nil && e.FirstChild == e.LastChild
}

// handleCodeBlocks is handle_code_blocks: a copy (tail included) as <code>,
// the original marked done.
func (x *extractor) handleCodeBlocks(e *dom.Node) *dom.Node {
	processed := x.copyTree(e)
	iterLive(e, nil, func(c *dom.Node) { c.Tag = "done" })
	processed.Tag = "code"
	return processed
}

// handleQuotes is handle_quotes.
func (x *extractor) handleQuotes(e *dom.Node) *dom.Node {
	if isCodeBlockElement(e) {
		return x.handleCodeBlocks(e)
	}
	processed := x.a.New(e.Tag)
	iterLive(e, nil, func(child *dom.Node) {
		if pc := x.processNode(child); pc != nil {
			ns := x.a.New(child.Tag)
			ns.Text, ns.HasText, ns.Tail, ns.HasTail = pc.Text, pc.HasText, pc.Tail, pc.HasTail
			processed.Append(ns)
		}
		child.Tag = "done"
	})
	if processed.FirstChild != nil && textCharsTest(joinText(processed, "")) {
		dom.StripTags(processed, tagIs("quote"))
		return processed
	}
	return nil
}

// handleOtherElements is handle_other_elements.
func (x *extractor) handleOtherElements(e *dom.Node, potential map[string]bool) *dom.Node {
	if e.Tag == "div" && strings.Contains(e.AttrVal("class"), "w3-code") {
		return x.handleCodeBlocks(e)
	}
	if !potential[e.Tag] {
		return nil
	}
	if e.Tag == "div" {
		pe := x.handleTextNode(e, false, true)
		if pe != nil && textCharsTest(pe.Text) {
			pe.ClearAttrs()
			if pe.Tag == "div" {
				pe.Tag = "p"
			}
			return pe
		}
	}
	return nil
}

// handleParagraphs is handle_paragraphs.
func (x *extractor) handleParagraphs(e *dom.Node, potential map[string]bool) *dom.Node {
	e.ClearAttrs()
	if e.FirstChild == nil {
		return x.processNode(e)
	}
	processed := x.a.New(e.Tag)
	iterLive(e, nil, func(child *dom.Node) {
		if !potential[child.Tag] && child.Tag != "done" {
			return
		}
		pc := x.handleTextNode(child, false, true)
		if pc != nil {
			if pc.Tag == "p" {
				if processed.Text != "" {
					if !pc.HasText {
						x.fail() // str + None
					}
					processed.SetText(processed.Text + " " + pc.Text)
				} else {
					processed.Text, processed.HasText = pc.Text, pc.HasText
				}
				return // continue: the child is not marked done
			}
			ns := x.a.New(child.Tag)
			if pc.Tag == "hi" || pc.Tag == "ref" {
				if pc.FirstChild != nil {
					iterChildrenLive(pc, func(item *dom.Node) {
						if textCharsTest(item.Text) {
							item.SetText(" " + item.Text)
						}
						t := item.Tag
						dom.StripTags(pc, tagIs(t))
					})
				}
				if child.Tag == "hi" {
					ns.Set("rend", child.AttrVal("rend"))
				} else if child.Tag == "ref" {
					if v, ok := child.Get("target"); ok {
						ns.Set("target", v)
					}
				}
			}
			ns.Text, ns.HasText, ns.Tail, ns.HasTail = pc.Text, pc.HasText, pc.Tail, pc.HasTail
			processed.Append(ns)
		}
		child.Tag = "done"
	})
	if processed.FirstChild != nil {
		if last := processed.LastChild; last.Tag == "lb" && !last.HasTail {
			last.Remove()
		}
		return processed
	}
	if processed.Text != "" {
		return processed
	}
	return nil
}

var tableElems = map[string]bool{"td": true, "th": true}

// handleTable is handle_table.
func (x *extractor) handleTable(table *dom.Node, potential map[string]bool) *dom.Node {
	newTable := x.a.New("table")
	newRow := x.a.New("row")
	dom.StripTags(table, tagIs("thead", "tbody", "tfoot"))
	withDiv := make(map[string]bool, len(potential)+1)
	for k := range potential {
		withDiv[k] = true
	}
	withDiv["div"] = true
	stop := false
	iterDescendantsLive(table, nil, func(sub *dom.Node) {
		if stop {
			return
		}
		x.step(sub)
		switch {
		case sub.Tag == "tr":
			if newRow.FirstChild != nil {
				newTable.Append(newRow)
				newRow = x.a.New("row")
			}
		case tableElems[sub.Tag]:
			cell := x.a.New("cell")
			if sub.Tag == "th" {
				cell.Set("role", "head")
			}
			if sub.FirstChild == nil {
				if pc := x.processNode(sub); pc != nil {
					cell.Text, cell.HasText, cell.Tail, cell.HasTail = pc.Text, pc.HasText, pc.Tail, pc.HasTail
				}
			} else {
				cell.Text, cell.HasText, cell.Tail, cell.HasTail = sub.Text, sub.HasText, sub.Tail, sub.HasTail
				sub.Tag = "done"
				iterDescendantsLive(sub, nil, func(child *dom.Node) {
					var ps *dom.Node
					if child.Tag == "td" || child.Tag == "th" || child.Tag == "hi" {
						if tableElems[child.Tag] {
							child.Tag = "cell"
						}
						ps = x.handleTextNode(child, true, true)
					} else {
						ps = x.handleTextElem(child, withDiv)
					}
					if ps != nil {
						se := x.a.New(ps.Tag)
						se.Text, se.HasText, se.Tail, se.HasTail = ps.Text, ps.HasText, ps.Tail, ps.HasTail
						cell.Append(se)
					}
					child.Tag = "done"
				})
			}
			if cell.Text != "" || cell.FirstChild != nil {
				newRow.Append(cell)
			}
		case sub.Tag == "table":
			stop = true
			return
		}
		sub.Tag = "done"
	})
	if newRow.FirstChild != nil {
		newTable.Append(newRow)
	}
	if newTable.FirstChild != nil {
		return newTable
	}
	return nil
}

// handleTextElem is handle_textelem.
func (x *extractor) handleTextElem(e *dom.Node, potential map[string]bool) *dom.Node {
	x.step(e)
	switch e.Tag {
	case "list":
		return x.handleLists(e)
	case "code", "quote":
		return x.handleQuotes(e)
	case "head":
		return x.handleTitles(e)
	case "p":
		return x.handleParagraphs(e, potential)
	case "lb":
		if textCharsTest(e.Tail) {
			if pe := x.processNode(e); pe != nil {
				p := x.a.New("p")
				p.Text, p.HasText = pe.Tail, pe.HasTail
				return p
			}
		}
		return nil
	case "hi", "ref", "span":
		return x.handleFormatting(e)
	case "table":
		if potential["table"] {
			return x.handleTable(e, potential)
		}
	case "graphic":
		if potential["graphic"] {
			return nil // images are off in datatrove's setup
		}
	}
	return x.handleOtherElements(e, potential)
}

// recoverWildText is recover_wild_text.
func (x *extractor) recoverWildText(tree, body *dom.Node, potential map[string]bool) *dom.Node {
	search := x.pruneUnwantedSections(tree, potential)
	if !potential["ref"] {
		dom.StripTags(search, tagIs("a", "ref", "span"))
	} else {
		dom.StripTags(search, tagIs("span"))
	}
	subelems := descendants(search, func(n *dom.Node) bool {
		switch n.Tag {
		case "blockquote", "code", "p", "pre", "q", "quote", "table":
			return true
		case "div":
			return strings.Contains(n.AttrVal("class"), "w3-code")
		}
		return false
	})
	for _, e := range subelems {
		if r := x.handleTextElem(e, potential); r != nil {
			body.Append(r)
		}
	}
	return body
}

// pruneUnwantedSections is prune_unwanted_sections.
func (x *extractor) pruneUnwantedSections(tree *dom.Node, potential map[string]bool) *dom.Node {
	tree = x.pruneUnwantedNodes(tree, true, overallDiscard)
	if !potential["graphic"] {
		tree = x.pruneUnwantedNodes(tree, false, paywallDiscard, discardImageElements, teaserDiscard, precisionDiscard)
	} else {
		tree = x.pruneUnwantedNodes(tree, false, paywallDiscard, teaserDiscard, precisionDiscard)
	}
	tree = x.deleteByLinkDensity(tree, "div", true, true)
	tree = x.deleteByLinkDensity(tree, "list", false, true)
	tree = x.deleteByLinkDensity(tree, "p", false, true)
	for tree.LastChild != nil && tree.LastChild.Tag == "head" {
		tree.LastChild.Remove()
	}
	tree = x.deleteByLinkDensity(tree, "head", false, false)
	tree = x.deleteByLinkDensity(tree, "quote", false, false)
	return tree
}

// paragraphTextLen is len(”.join(tree.xpath('//p//text()'))): the text
// nodes below a <p> anywhere in tree's document.
func paragraphTextLen(tree *dom.Node) (n int, any bool) {
	var walk func(e *dom.Node, inP bool)
	walk = func(e *dom.Node, inP bool) {
		in := inP || e.Tag == "p"
		if in && e.HasText {
			n += pyLen(e.Text)
			any = true
		}
		for c := e.FirstChild; c != nil; c = c.Next {
			walk(c, in)
			if in && c.HasTail {
				n += pyLen(c.Tail)
				any = true
			}
		}
	}
	walk(tree.DocRoot(), false)
	return n, any
}

// extractContent is extract_content: find the main content with BODY_XPATH,
// prune it, convert its elements; fall back to wild paragraphs when too
// little comes out.
func (x *extractor) extractContent(tree *dom.Node) (*dom.Node, int) {
	backup := x.copyTree(tree)
	body := x.a.New("body")
	potential := make(map[string]bool, 16)
	for _, t := range tagCatalog {
		potential[t] = true
	}
	for _, t := range []string{"table", "td", "th", "tr"} {
		potential[t] = true
	}
	for _, expr := range bodyXPath {
		subtree := firstDescendant(tree, func(n *dom.Node) bool { return x.matches(expr, n) })
		if subtree == nil {
			continue
		}
		subtree = x.pruneUnwantedSections(subtree, potential)
		iterLive(subtree, tagIs("table"), func(t *dom.Node) {
			if linkDensityTestTables(t) {
				if t.Parent == nil {
					x.fail() // None.remove: AttributeError
				}
				t.Remove()
			}
		})
		if subtree.FirstChild == nil {
			continue
		}
		if n, any := paragraphTextLen(subtree); !any || n < minExtractedSize {
			potential["div"] = true
		}
		if !potential["ref"] {
			dom.StripTags(subtree, tagIs("ref"))
		}
		if !potential["span"] {
			dom.StripTags(subtree, tagIs("span"))
		}
		subelems := subtree.Descendants()
		onlyLB := len(subelems) > 0
		for _, e := range subelems {
			if e.Tag != "lb" {
				onlyLB = false
				break
			}
		}
		if onlyLB {
			subelems = []*dom.Node{subtree}
		}
		for _, e := range subelems {
			if r := x.handleTextElem(e, potential); r != nil {
				body.Append(r)
			}
		}
		for body.LastChild != nil && (body.LastChild.Tag == "head" || body.LastChild.Tag == "ref") {
			body.LastChild.Remove()
		}
		if body.FirstChild != nil && body.FirstChild != body.LastChild {
			break
		}
	}
	n := stripJoinLen(body)
	if body.FirstChild == nil || n < minExtractedSize {
		body = x.recoverWildText(backup, body, potential)
		n = stripJoinLen(body)
	}
	dom.StripElements(body, tagIs("done"))
	dom.StripTags(body, tagIs("div"))
	return body, n
}
