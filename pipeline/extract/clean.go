package extract

import (
	"strings"

	"github.com/datarefine/refine/pipeline/extract/dom"
)

// Tree cleaning and tag conversion: trafilatura 1.8.1's htmlprocessing.py
// with datatrove's options (tables kept; no images, links or formatting).

// manuallyCleaned are deleted with their content (MANUALLY_CLEANED), in
// this order.
var manuallyCleaned = []string{
	"aside", "embed", "footer", "form", "head", "iframe", "menu", "object", "script",
	"applet", "audio", "canvas", "figure", "map", "picture", "svg", "video",
	"area", "blink", "button", "datalist", "dialog",
	"frame", "frameset", "fieldset", "link", "input", "ins", "label", "legend",
	"marquee", "math", "menuitem", "nav", "noscript", "optgroup", "option",
	"output", "param", "progress", "rp", "rt", "rtc", "select", "source",
	"style", "track", "textarea", "time", "use",
}

// manuallyStripped lose their tags but keep their content
// (MANUALLY_STRIPPED).
var manuallyStripped = map[string]bool{
	"abbr": true, "acronym": true, "address": true, "bdi": true, "bdo": true, "big": true,
	"cite": true, "data": true, "dfn": true, "font": true, "hgroup": true, "img": true,
	"ins": true, "mark": true, "meta": true, "ruby": true, "small": true, "tbody": true,
	"template": true, "tfoot": true, "thead": true,
}

// cutEmptyElems are deleted when empty (CUT_EMPTY_ELEMS).
var cutEmptyElems = map[string]bool{
	"article": true, "b": true, "blockquote": true, "dd": true, "div": true, "dt": true,
	"em": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"i": true, "li": true, "main": true, "p": true, "pre": true, "q": true,
	"section": true, "span": true, "strong": true,
}

// deleteElement is trafilatura's delete_element (lxml.html's drop_tree,
// which keeps the tail). lxml asserts the element has a parent; a
// document's root element reaching this fails the whole extraction.
func (x *extractor) deleteElement(e *dom.Node) {
	if e.Parent == nil {
		x.fail()
	}
	e.DropTree()
}

// treeCleaning is tree_cleaning.
func (x *extractor) treeCleaning(tree *dom.Node) *dom.Node {
	x.step(tree)
	// keep tables that sit in figures (issue #301 upstream)
	for _, e := range descendants(tree, func(n *dom.Node) bool {
		return n.Tag == "figure" && n.Find(tagIs("table")) != nil
	}) {
		e.Tag = "div"
	}
	dom.StripTags(tree, tagIn(manuallyStripped))
	x.deleteCleaned(tree)
	return x.pruneHTML(tree)
}

// cleanedRank is each MANUALLY_CLEANED tag's position in the list.
var cleanedRank = func() map[string]int {
	m := make(map[string]int, len(manuallyCleaned))
	for i, t := range manuallyCleaned {
		m[t] = i
	}
	return m
}()

// deleteCleaned deletes the MANUALLY_CLEANED elements as trafilatura's
// loops `for element in tree.iter(tag): delete_element(element)` do, tag
// by tag, in one walk of the tree: lxml finds the next element before the
// loop body runs, so when an element holds another of the same tag, the
// loop goes on inside the deleted element and ends there, leaving the later
// ones of that tag in place; and a tag's loop does not see the elements
// deleted with an earlier tag's.
func (x *extractor) deleteCleaned(tree *dom.Node) {
	var byTag [][]*dom.Node
	tree.Iter(func(n *dom.Node) bool {
		if r, ok := cleanedRank[n.Tag]; ok {
			if byTag == nil {
				byTag = make([][]*dom.Node, len(manuallyCleaned))
			}
			byTag[r] = append(byTag[r], n)
		}
		return true
	})
	for _, list := range byTag {
		for i, e := range list {
			if !within(e, tree) {
				continue // deleted with an earlier tag's element
			}
			var next *dom.Node // the loop's next element, found before the body runs
			for _, n := range list[i+1:] {
				if within(n, tree) {
					next = n
					break
				}
			}
			x.deleteElement(e)
			if next != nil && within(next, e) {
				// lxml's loop continues in the deleted element's subtree,
				// where deletions change nothing that is kept, and ends.
				break
			}
		}
	}
}

// within reports whether n is top or below it.
func within(n, top *dom.Node) bool {
	for ; n != nil; n = n.Parent {
		if n == top {
			return true
		}
	}
	return false
}

// pruneHTML is prune_html: empty elements of CUT_EMPTY_ELEMS are deleted,
// anywhere in the document (the XPath is absolute).
func (x *extractor) pruneHTML(tree *dom.Node) *dom.Node {
	var empty []*dom.Node
	tree.DocRoot().Iter(func(n *dom.Node) bool {
		if n.FirstChild == nil && !n.HasText && cutEmptyElems[n.Tag] {
			empty = append(empty, n)
		}
		return true
	})
	// Deleting them one by one joins each tail to the text before it,
	// which copies that growing text each time: quadratic in a run of
	// empty siblings (a page of "<i></i>t" took seconds). A run of
	// adjacent siblings, which are adjacent in the list too, gets its
	// tails joined once, with the same result.
	var b strings.Builder
	for i := 0; i < len(empty); {
		e := empty[i]
		if e.Parent == nil {
			x.fail()
		}
		j := i + 1
		for j < len(empty) && empty[j] == empty[j-1].Next {
			j++
		}
		if j == i+1 {
			e.DropTree()
			i = j
			continue
		}
		b.Reset()
		for _, d := range empty[i:j] {
			b.WriteString(d.Tail)
		}
		if tails := b.String(); tails != "" {
			if e.Prev == nil {
				e.Parent.SetText(e.Parent.Text + tails)
			} else {
				e.Prev.SetTail(e.Prev.Tail + tails)
			}
		}
		for _, d := range empty[i:j] {
			d.Remove()
		}
		i = j
	}
	return tree
}

// pruneUnwantedNodes is prune_unwanted_nodes over the given expression
// lists in order (trafilatura calls it once per list; calls that follow
// each other directly are one call over the joined lists). Every match is
// removed, its tail joined (with a space) to the previous sibling's tail,
// or to the parent's tail when it is the first child. With backup, the
// untouched subtree is returned instead (as a copy: a new document) when
// less than a seventh of the text would be left.
func (x *extractor) pruneUnwantedNodes(tree *dom.Node, withBackup bool, lists ...[]*pred) *dom.Node {
	var exprs []*pred
	for _, l := range lists {
		exprs = append(exprs, l...)
	}
	// One walk finds, for every descendant, the first expression it
	// matches: an element an earlier expression removes is not found by a
	// later one's XPath, and the expressions read only tags and attributes,
	// which removals do not change.
	type hit struct {
		n *dom.Node
		k int
	}
	var hits []hit
	for c := tree.FirstChild; c != nil; c = c.Next {
		c.Iter(func(n *dom.Node) bool {
			if k := x.firstMatch(exprs, n); k >= 0 {
				hits = append(hits, hit{n, k})
			}
			return true
		})
	}
	if len(hits) == 0 && !withBackup {
		return tree
	}
	var oldLen int
	if withBackup {
		oldLen = tree.TextLen()
	}
	var undo []pruneOp
	for k := range exprs {
		for _, h := range hits {
			// a match inside one removed before changes nothing that stays
			if h.k != k || !within(h.n, tree) {
				continue
			}
			sub := h.n
			op := pruneOp{n: sub, parent: sub.Parent, next: sub.Next}
			if sub.HasTail {
				prev := sub.Prev
				if prev == nil {
					prev = sub.Parent
				}
				op.prev, op.tail, op.hasTail = prev, prev.Tail, prev.HasTail
				if prev.HasTail {
					prev.SetTail(prev.Tail + " " + sub.Tail)
				} else {
					prev.SetTail(sub.Tail)
				}
			}
			sub.Remove()
			if withBackup {
				undo = append(undo, op)
			}
		}
	}
	if !withBackup || 7*tree.TextLen() > oldLen {
		return tree
	}
	// Rare: trafilatura goes on with a copy of the subtree as it was, and
	// the tree itself keeps the removals. Undo them, copy, redo them.
	for i := len(undo) - 1; i >= 0; i-- {
		op := undo[i]
		if op.prev != nil {
			op.prev.Tail, op.prev.HasTail = op.tail, op.hasTail
		}
		op.parent.InsertBefore(op.n, op.next)
	}
	backup := x.copyTree(tree)
	x.pruneUnwantedNodes(tree, false, lists...)
	return backup
}

// pruneOp records one removal of pruneUnwantedNodes, to undo it.
type pruneOp struct {
	n, parent, next *dom.Node
	prev            *dom.Node // whose tail took n's tail
	tail            string
	hasTail         bool
}

// collectLinkInfo is collect_link_info: the total length of the links'
// texts, how many have text, and how many of those are short.
func collectLinkInfo(links []*dom.Node, precision bool) (lengths, count, short int) {
	threshold := 10
	if precision {
		threshold = 50
	}
	for _, l := range links {
		n := trimmedLen(l)
		if n == 0 {
			continue
		}
		count++
		lengths += n
		if n < threshold {
			short++
		}
	}
	return lengths, count, short
}

// linkDensityTest is link_density_test for an element whose trimmed text
// has elemLen characters; texts reports whether its list of link texts is
// not empty.
func linkDensityTest(e *dom.Node, elemLen int, precision bool) (del, texts bool) {
	links := e.FindAll(tagIs("ref"))
	if len(links) == 0 {
		return false, false
	}
	var limit int
	if e.Tag == "p" {
		switch {
		case precision:
			limit = 200
		case e.Next == nil:
			limit = 60
		default:
			limit = 30
		}
	} else if e.Next == nil {
		limit = 300
	} else {
		limit = 100
	}
	if elemLen < limit {
		linkLen, n, short := collectLinkInfo(links, precision)
		if n == 0 {
			return true, false
		}
		if float64(linkLen) > 0.8*float64(elemLen) || n > 1 && float64(short)/float64(n) > 0.8 {
			return true, true
		}
		return false, true
	}
	return false, false
}

// linkDensityTestTables is link_density_test_tables.
func linkDensityTestTables(e *dom.Node) bool {
	links := e.FindAll(tagIs("ref"))
	if len(links) == 0 {
		return false
	}
	elemLen := trimmedLen(e)
	if elemLen <= 250 {
		return false
	}
	linkLen, n, _ := collectLinkInfo(links, false)
	if n == 0 {
		return true
	}
	return elemLen < 1000 && float64(linkLen) > 0.8*float64(elemLen) ||
		elemLen > 1000 && float64(linkLen) > 0.5*float64(elemLen)
}

// deleteByLinkDensity is delete_by_link_density: elements of a tag that are
// mostly links go; with backtracking, short texts repeated three times or
// more among link-holding elements go too.
func (x *extractor) deleteByLinkDensity(subtree *dom.Node, tag string, backtracking, precision bool) *dom.Node {
	var deletions []*dom.Node
	var order []string
	groups := map[string][]*dom.Node{}
	subtree.Iter(func(e *dom.Node) bool {
		if e.Tag != tag {
			return true
		}
		del, texts := linkDensityTest(e, trimmedLen(e), precision)
		if del {
			deletions = append(deletions, e)
		} else if backtracking && texts {
			text := trim(e.TextContent())
			if _, ok := groups[text]; !ok {
				order = append(order, text)
			}
			groups[text] = append(groups[text], e)
		}
		return true
	})
	if backtracking {
		threshold := 100
		if precision {
			threshold = 200
		}
		for _, text := range order {
			if n := pyLen(text); n > 0 && n < threshold && len(groups[text]) >= 3 {
				deletions = append(deletions, groups[text]...)
			}
		}
	}
	seen := make(map[*dom.Node]bool, len(deletions))
	for _, e := range deletions {
		if seen[e] {
			continue
		}
		seen[e] = true
		if e.Parent != nil {
			e.Remove()
		}
	}
	return subtree
}

// rendTags are the formatting elements stripped when formatting is off.
var rendTags = map[string]bool{
	"em": true, "i": true, "b": true, "strong": true, "u": true, "kbd": true,
	"samp": true, "tt": true, "var": true, "sub": true, "sup": true,
}

var convertedTags = map[string]bool{
	"blockquote": true, "br": true, "del": true, "details": true, "dl": true,
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"hr": true, "ol": true, "pre": true, "q": true, "s": true, "strike": true, "ul": true,
}

// convertTags is convert_tags: links inside div, ul and table become <ref>
// (for link density), other links and formatting are stripped, and HTML
// structure maps to trafilatura's XML names (list, item, head, lb, quote,
// code, del).
func (x *extractor) convertTags(tree *dom.Node) *dom.Node {
	for _, e := range descendants(tree, func(n *dom.Node) bool {
		if n.Tag != "a" {
			return false
		}
		for p := n.Parent; p != nil && p != tree; p = p.Parent {
			if p.Tag == "div" || p.Tag == "ul" || p.Tag == "table" {
				return true
			}
		}
		return false
	}) {
		e.Tag = "ref"
	}
	dom.StripTags(tree, tagIs("a"))
	dom.StripTags(tree, tagIn(rendTags))
	iterLive(tree, tagIn(convertedTags), func(e *dom.Node) {
		switch e.Tag {
		case "dl", "ol", "ul":
			e.Set("rend", e.Tag)
			e.Tag = "list"
			i := 1
			iterLive(e, tagIs("dd", "dt", "li"), func(sub *dom.Node) {
				if sub.Tag == "dd" || sub.Tag == "dt" {
					sub.Set("rend", sub.Tag+"-"+itoa(i))
					if sub.Tag == "dd" {
						i++
					}
				}
				sub.Tag = "item"
			})
		case "h1", "h2", "h3", "h4", "h5", "h6":
			e.ClearAttrs()
			e.Set("rend", e.Tag)
			e.Tag = "head"
		case "br", "hr":
			e.Tag = "lb"
		case "blockquote", "pre", "q":
			code := false
			if e.Tag == "pre" && e.FirstChild != nil && e.FirstChild == e.LastChild && e.FirstChild.Tag == "span" {
				code = true
			}
			hljs := descendants(e, func(n *dom.Node) bool {
				return n.Tag == "span" && pre(n.AttrVal("class"), "hljs")
			})
			if len(hljs) > 0 {
				code = true
				for _, s := range hljs {
					s.ClearAttrs()
				}
			}
			if code {
				e.Tag = "code"
			} else {
				e.Tag = "quote"
			}
		case "del", "s", "strike":
			e.Tag = "del"
			e.Set("rend", "overstrike")
		case "details":
			e.Tag = "div"
			iterLive(e, tagIs("summary"), func(s *dom.Node) { s.Tag = "head" })
		}
	})
	return tree
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	var b [20]byte
	k := len(b)
	for i > 0 {
		k--
		b[k] = byte('0' + i%10)
		i /= 10
	}
	return string(b[k:])
}
