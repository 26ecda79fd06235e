package extract

import (
	"strings"

	"golang.org/x/text/unicode/norm"

	"github.com/datarefine/refine/pipeline/extract/dom"
)

// Plain-text output, as trafilatura 1.8.1's xmltotxt writes its result tree
// (no formatting): an element's text, its children, then after the element
// a marker — "\n" for code, head, lb, list, p, quote, row and table, "|" for
// a cell, "\n- " for an item (each followed by "\n"), nothing for del, head,
// hi and ref, a space for anything else — then its tail. An element with
// neither text nor tail gets no marker (a row or table still gets "\n").
// The result is sanitized line by line (control characters dropped, white
// space collapsed, empty lines dropped), HTML entities left in the text are
// unescaped, and the whole is NFC-normalized.

func xmlToTxt(root *dom.Node) string {
	var b []byte
	b = processElement(root, b)
	return norm.NFC.String(pyUnescape(sanitize(string(b))))
}

func processElement(n *dom.Node, b []byte) []byte {
	if n.HasText {
		b = append(b, replaceElementText(n)...)
	}
	for c := n.FirstChild; c != nil; c = c.Next {
		b = processElement(c, b)
	}
	if !n.HasText && !n.HasTail {
		if n.Tag == "row" || n.Tag == "table" || n.Tag == "graphic" {
			b = append(b, '\n')
		}
		return b
	}
	switch n.Tag {
	case "cell":
		b = append(b, "|\n"...)
	case "item":
		b = append(b, "\n- \n"...)
	case "code", "graphic", "head", "lb", "list", "p", "quote", "row", "table":
		b = append(b, "\n\n"...)
	case "comments":
		b = append(b, "\n\n"...)
	case "del", "hi", "ref":
	default:
		b = append(b, ' ')
	}
	if n.HasTail {
		b = append(b, n.Tail...)
	}
	return b
}

// replaceElementText: an element's text; links (never kept here) would
// read "[text]".
func replaceElementText(n *dom.Node) string {
	if n.Tag == "ref" {
		return "[" + n.Text + "]"
	}
	return n.Text
}

// sanitize is trafilatura's sanitize(): per line (Python's splitlines),
// "&#13;", "&#10;" and "&nbsp;" turned into their characters, characters
// that are neither printable nor white space dropped, white space
// collapsed; empty lines dropped.
func sanitize(s string) string {
	var out strings.Builder
	out.Grow(len(s))
	for line := range pySplitLines(s) {
		if strings.Contains(line, "&#13;") || strings.Contains(line, "&#10;") || strings.Contains(line, "&nbsp;") {
			line = strings.NewReplacer("&#13;", "\r", "&#10;", "\n", "&nbsp;", "\u00a0").Replace(line)
		}
		line = trim(strings.Map(func(r rune) rune {
			if keepChar(r) {
				return r
			}
			return -1
		}, line))
		if line == "" {
			continue
		}
		if out.Len() > 0 {
			out.WriteByte('\n')
		}
		out.WriteString(line)
	}
	return out.String()
}
