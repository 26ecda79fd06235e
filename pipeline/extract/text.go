package extract

import (
	"strings"
	"unicode"

	"golang.org/x/net/html"
)

// Text output. go-trafilatura's ContentText joins the extracted tree's text
// with spaces on a single line, whereas FineWeb's line-based filters (C4,
// Gopher) see Python trafilatura's txt output, where blocks end lines. So
// the text is rendered here from go-trafilatura's ContentNode the way
// trafilatura 1.8.1 (the version behind the golden data) renders its XML
// tree in xmltotxt:
//   - text, then the children, then an end marker, then the tail;
//   - the end marker is "\n" for p, head, list, quote, code, lb, row,
//     table; "\n- " then "\n" for list items; "|" then "\n" for cells; none
//     for hi, ref, del; a space for any other element;
//   - an element with neither text nor tail gets no marker (rows and
//     tables still get "\n");
//   - formatting elements (b, i, em, strong, ...) are stripped first,
//     keeping their text, as trafilatura does when formatting is off;
//   - then sanitize (per line: drop control characters, collapse white
//     space, drop empty lines) and unescape HTML entities.
//
// go-trafilatura keeps HTML tag names in its tree; xmlTag maps them back to
// trafilatura's XML names.

// xmlTag maps the HTML tags of go-trafilatura's tree to trafilatura's XML
// element names.
var xmlTag = map[string]string{
	"p":  "p",
	"h1": "head", "h2": "head", "h3": "head", "h4": "head", "h5": "head", "h6": "head", "summary": "head",
	"ul": "list", "ol": "list", "dl": "list",
	"li": "item", "dd": "item", "dt": "item",
	"blockquote": "quote", "pre": "quote", "q": "quote",
	"code": "code",
	"br":   "lb", "hr": "lb",
	"table": "table", "tr": "row", "td": "cell", "th": "cell",
	"a":  "ref",
	"em": "hi", "i": "hi", "b": "hi", "strong": "hi", "u": "hi", "kbd": "hi", "samp": "hi",
	"tt": "hi", "var": "hi", "sub": "hi", "sup": "hi", "mark": "hi",
	"del": "del", "s": "del", "strike": "del",
	"img": "graphic",
}

// endMarker is what xmltotxt writes after an element's content (before its
// tail): NEWLINE_ELEMS[tag] + "\n", nothing for inline markup, else a space.
func endMarker(tag string) string {
	switch tag {
	case "p", "head", "list", "quote", "code", "lb", "row", "table", "graphic":
		return "\n\n"
	case "item":
		return "\n- \n"
	case "cell":
		return "|\n"
	case "hi", "ref", "del":
		return ""
	}
	return " "
}

func renderText(root *html.Node) string {
	if root == nil {
		return ""
	}
	unwrapFormatting(root)
	var b strings.Builder
	renderNode(&b, root)
	return html.UnescapeString(sanitize(b.String()))
}

func renderNode(b *strings.Builder, n *html.Node) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		switch c.Type {
		case html.TextNode:
			b.WriteString(c.Data)
		case html.ElementNode:
			renderNode(b, c)
			tag := xmlTag[c.Data]
			if tag == "" {
				tag = c.Data
			}
			if !hasText(c) && !hasTail(c) {
				if tag == "row" || tag == "table" {
					b.WriteByte('\n')
				}
				continue
			}
			b.WriteString(endMarker(tag))
		}
	}
}

// formattingTags are the inline formatting elements trafilatura strips
// (keeping their text) when formatting is not wanted, as for txt output.
var formattingTags = map[string]bool{
	"em": true, "i": true, "b": true, "strong": true, "u": true, "kbd": true, "samp": true,
	"tt": true, "var": true, "sub": true, "sup": true, "mark": true,
}

// unwrapFormatting replaces formatting elements by their children, like
// lxml's strip_tags, so that text and tails come out as in trafilatura's
// tree. It modifies the tree (the extraction result, owned by us).
func unwrapFormatting(n *html.Node) {
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		if c.Type == html.ElementNode {
			unwrapFormatting(c)
			if formattingTags[c.Data] {
				for gc := c.FirstChild; gc != nil; {
					gnext := gc.NextSibling
					c.RemoveChild(gc)
					n.InsertBefore(gc, c)
					gc = gnext
				}
				n.RemoveChild(c)
			}
		}
		c = next
	}
	mergeText(n)
}

// mergeText joins adjacent text children and drops empty ones, so that
// "text" and "tail" are single strings as in lxml.
func mergeText(n *html.Node) {
	for c := n.FirstChild; c != nil; {
		next := c.NextSibling
		if c.Type == html.TextNode {
			for next != nil && next.Type == html.TextNode {
				c.Data += next.Data
				after := next.NextSibling
				n.RemoveChild(next)
				next = after
			}
			if c.Data == "" {
				n.RemoveChild(c)
			}
		}
		c = next
	}
}

// hasText: lxml's element.text is not None (text before the first child).
func hasText(n *html.Node) bool {
	return n.FirstChild != nil && n.FirstChild.Type == html.TextNode && n.FirstChild.Data != ""
}

// hasTail: lxml's element.tail is not None (text right after the element).
func hasTail(n *html.Node) bool {
	return n.NextSibling != nil && n.NextSibling.Type == html.TextNode && n.NextSibling.Data != ""
}

// sanitize is trafilatura's sanitize(): split into lines like Python's
// str.splitlines, drop non-printable characters, collapse white space, drop
// empty lines.
func sanitize(s string) string {
	var out strings.Builder
	lines := strings.FieldsFunc(s, isLineBreak)
	for _, line := range lines {
		line = strings.Map(dropControl, line)
		f := strings.FieldsFunc(line, isPySpace)
		if len(f) == 0 {
			continue
		}
		if out.Len() > 0 {
			out.WriteByte('\n')
		}
		for i, w := range f {
			if i > 0 {
				out.WriteByte(' ')
			}
			out.WriteString(w)
		}
	}
	return out.String()
}

// isLineBreak: the separators of Python's str.splitlines.
func isLineBreak(r rune) bool {
	switch r {
	case '\n', '\r', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
		return true
	}
	return false
}

// isPySpace: Python's str.isspace.
func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// dropControl removes what trafilatura's remove_control_characters drops:
// characters that are neither printable nor white space (control, format,
// private-use, surrogate and unassigned code points).
func dropControl(r rune) rune {
	if isPySpace(r) {
		return r
	}
	if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs) || !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z) {
		return -1
	}
	return r
}
