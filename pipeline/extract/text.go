package extract

import (
	"strings"

	"golang.org/x/net/html"
)

// blockTags end a line in the text output, like the elements that Python
// trafilatura's txt output (xmltotxt) follows with a newline: paragraphs,
// headings, list items, quotes, code, table rows and cells, line breaks.
var blockTags = map[string]bool{
	"p": true, "div": true, "section": true, "article": true, "main": true, "body": true,
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "summary": true,
	"ul": true, "ol": true, "dl": true, "li": true, "dd": true, "dt": true,
	"blockquote": true, "pre": true, "code": true, "q": true,
	"table": true, "tr": true, "th": true, "td": true,
	"br": true, "hr": true,
}

// renderText turns go-trafilatura's extracted tree into lines of text.
// go-trafilatura's own ContentText joins everything with spaces on one
// line; FineWeb's line-based filters (C4, Gopher) need the line structure
// of trafilatura's txt output, so block elements end lines here.
func renderText(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.TextNode:
			b.WriteString(n.Data)
			return
		case html.ElementNode:
			if n.Data == "script" || n.Data == "style" {
				return
			}
		}
		block := n.Type == html.ElementNode && blockTags[n.Data]
		if block {
			b.WriteByte('\n')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
		if block {
			b.WriteByte('\n')
		}
	}
	walk(n)
	return sanitize(b.String())
}

// sanitize collapses white space inside lines, trims them and drops empty
// lines, like trafilatura's sanitize().
func sanitize(s string) string {
	var out strings.Builder
	for line := range strings.SplitSeq(s, "\n") {
		f := strings.Fields(line)
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
