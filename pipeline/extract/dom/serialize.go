package dom

import (
	"strconv"
	"unicode/utf8"
)

// AppendXML appends n serialized as lxml's tostring(n, method="xml",
// encoding=str) writes an element of a copied HTML tree: empty elements as
// <tag/>, text with <, >, & and CR escaped, attribute values with <, >, &,
// ", TAB, LF and CR escaped and non-ASCII characters as hexadecimal
// character references; the tail follows when withTail.
func AppendXML(b []byte, n *Node, withTail bool) []byte {
	units := 1 + len(n.Text)
	if withTail {
		units += len(n.Tail)
	}
	for _, a := range n.Attr {
		units += len(a.Key) + len(a.Val)
	}
	n.a.Charge(units)
	b = append(b, '<')
	b = append(b, n.Tag...)
	for _, a := range n.Attr {
		b = append(b, ' ')
		b = append(b, a.Key...)
		b = append(b, '=', '"')
		b = appendAttrEscaped(b, a.Val)
		b = append(b, '"')
	}
	if n.FirstChild == nil && !n.HasText {
		b = append(b, '/', '>')
	} else {
		b = append(b, '>')
		if n.HasText {
			b = appendTextEscaped(b, n.Text)
		}
		for c := n.FirstChild; c != nil; c = c.Next {
			b = AppendXML(b, c, true)
		}
		b = append(b, '<', '/')
		b = append(b, n.Tag...)
		b = append(b, '>')
	}
	if withTail && n.HasTail {
		b = appendTextEscaped(b, n.Tail)
	}
	return b
}

func appendTextEscaped(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		var rep string
		switch s[i] {
		case '<':
			rep = "&lt;"
		case '>':
			rep = "&gt;"
		case '&':
			rep = "&amp;"
		case '\r':
			rep = "&#13;"
		default:
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, rep...)
		start = i + 1
	}
	return append(b, s[start:]...)
}

func appendAttrEscaped(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x80 {
			r, size := utf8.DecodeRuneInString(s[i:])
			b = append(b, s[start:i]...)
			b = append(b, "&#x"...)
			b = append(b, upperHex(int64(r))...)
			b = append(b, ';')
			i += size
			start = i
			continue
		}
		var rep string
		switch c {
		case '\n':
			rep = "&#10;"
		case '\r':
			rep = "&#13;"
		case '\t':
			rep = "&#9;"
		case '"':
			rep = "&quot;"
		case '<':
			rep = "&lt;"
		case '>':
			rep = "&gt;"
		case '&':
			rep = "&amp;"
		default:
			i++
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, rep...)
		i++
		start = i
	}
	return append(b, s[start:]...)
}

func upperHex(v int64) string {
	s := strconv.FormatInt(v, 16)
	out := []byte(s)
	for i, c := range out {
		if c >= 'a' && c <= 'f' {
			out[i] = c - 0x20
		}
	}
	return string(out)
}
