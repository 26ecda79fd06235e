package dom

import "unicode/utf8"

// FromString parses a page as lxml.html.fromstring does with a Unicode
// string: a page that starts (after white space) with "<html" or
// "<!doctype" gives its root element; anything else is treated as a
// fragment, which returns the document when it has a <head>, the single
// element of a body that holds just one (and no text), or else the body
// renamed to <div> (or <span> when it holds no block-level element).
// root is nil when there is no element at all (lxml: "Document is empty").
func FromString(s string) (root *Node, doc *Document) { return (&Arena{}).FromString(s) }

// FromString is FromString with the nodes of a.
func (a *Arena) FromString(s string) (root *Node, doc *Document) {
	doc = a.Parse(s)
	if doc.Root == nil {
		return nil, doc
	}
	if looksLikeFullHTML(s) {
		return doc.Root, doc
	}
	r := doc.Root
	var bodies, heads []*Node
	for c := r.FirstChild; c != nil; c = c.Next {
		switch c.Tag {
		case "body":
			bodies = append(bodies, c)
		case "head":
			heads = append(heads, c)
		}
	}
	var body *Node
	if len(bodies) > 0 {
		body = bodies[0]
		for _, other := range bodies[1:] {
			if other.Text != "" {
				if body.LastChild != nil {
					body.LastChild.SetTail(body.LastChild.Tail + other.Text)
				} else {
					body.SetText(body.Text + other.Text)
				}
			}
			for c := other.FirstChild; c != nil; {
				next := c.Next
				body.Append(c)
				c = next
			}
			other.DropTree()
		}
	}
	if len(heads) > 0 {
		head := heads[0]
		for _, other := range heads[1:] {
			for c := other.FirstChild; c != nil; {
				next := c.Next
				head.Append(c)
				c = next
			}
			other.DropTree()
		}
		return r, doc
	}
	if body == nil {
		return r, doc
	}
	if body.FirstChild != nil && body.FirstChild == body.LastChild &&
		isPyBlank(body.Text) && isPyBlank(body.LastChild.Tail) {
		return body.FirstChild, doc
	}
	body.Tag = "span"
	body.Iter(func(e *Node) bool {
		if blockTags[e.Tag] {
			body.Tag = "div"
			return false
		}
		return true
	})
	return body, doc
}

// blockTags are lxml.html.defs.block_tags.
var blockTags = map[string]bool{
	"address": true, "blockquote": true, "center": true, "del": true, "div": true, "h1": true,
	"h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "hr": true, "ins": true,
	"isindex": true, "noscript": true, "p": true, "pre": true,
	"dir": true, "dl": true, "dt": true, "dd": true, "li": true, "menu": true, "ol": true, "ul": true,
	"table": true, "caption": true, "colgroup": true, "col": true, "thead": true, "tfoot": true,
	"tbody": true, "tr": true, "td": true, "th": true,
	"fieldset": true, "form": true, "legend": true, "optgroup": true, "option": true,
}

// looksLikeFullHTML is lxml's `^\s*<(?:html|!doctype)` (case-insensitive,
// Unicode white space).
func looksLikeFullHTML(s string) bool {
	i := 0
	for i < len(s) {
		r, size := rune(s[i]), 1
		if r >= 0x80 {
			r, size = utf8.DecodeRuneInString(s[i:])
		}
		if !IsPySpace(r) {
			break
		}
		i += size
	}
	s = s[i:]
	return hasPrefixFold(s, "<html") || hasPrefixFold(s, "<!doctype")
}

// IsPySpace is Python's str.isspace for one character.
func IsPySpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\v', '\f', '\r', 0x1c, 0x1d, 0x1e, 0x1f, 0x85, 0xa0, 0x1680,
		0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

// isPyBlank: Python's `not s or not s.strip()`.
func isPyBlank(s string) bool {
	for _, r := range s {
		if !IsPySpace(r) {
			return false
		}
	}
	return true
}
