package extract

import (
	"strings"

	"github.com/datarefine/refine/pipeline/extract/dom"
)

// baseline is trafilatura 1.8.1's baseline(): the last resort when the main
// extraction and its fallbacks give less than 250 characters, on an
// untouched tree: a JSON-LD articleBody, else an <article>'s text, else the
// page's paragraphs, else the body's text lines, else all of the body's
// text.
func (x *extractor) baseline(tree *dom.Node) (*dom.Node, int) {
	body := x.a.New("body")
	for _, e := range tree.FindAll(tagIs("script")) {
		if v, ok := e.Get("type"); !ok || v != "application/ld+json" {
			continue
		}
		if e.Text != "" && strings.Contains(e.Text, `"article`) {
			if m, ok := jsonArticleBody(e.Text); ok {
				p := x.a.New("p")
				p.SetText(trim(strings.ReplaceAll(m, `\"`, `"`)))
				body.Append(p)
				return body, pyLen(p.Text)
			}
		}
	}
	basicCleaning(tree)
	if art := tree.Find(tagIs("article")); art != nil {
		t := trim(art.TextContent())
		if pyLen(t) > 100 {
			p := x.a.New("p")
			p.SetText(t)
			body.Append(p)
			return body, pyLen(t)
		}
	}
	seen := map[string]bool{}
	iterLive(tree, tagIs("blockquote", "code", "p", "pre", "q", "quote"), func(e *dom.Node) {
		entry := e.TextContent()
		if !seen[entry] {
			p := x.a.New("p")
			p.SetText(entry)
			body.Append(p)
			seen[entry] = true
		}
	})
	if t := trim(joinText(body, "\n")); pyLen(t) > 100 {
		return body, pyLen(t)
	}
	body = x.a.New("body")
	if b := tree.Find(tagIs("body")); b != nil {
		var lines []string
		b.IterTextAll(func(s string) { lines = append(lines, trim(s)) })
		t := strings.Join(lines, "\n")
		if pyLen(t) > 100 {
			p := x.a.New("p")
			p.SetText(t)
			body.Append(p)
			return body, pyLen(t)
		}
	}
	t := html2txt(tree)
	p := x.a.New("p")
	p.SetText(t)
	body.Append(p)
	return body, pyLen(t)
}

// html2txt is trafilatura's html2txt on a tree: the body's text, white
// space collapsed ("" without a <body> below the root).
func html2txt(tree *dom.Node) string {
	b := tree.Find(tagIs("body"))
	if b == nil {
		return ""
	}
	basicCleaning(tree)
	return pyStrip(strings.Join(pySplit(b.TextContent()), " "))
}

// basicCleaning is basic_cleaning: aside, footer, script and style go,
// tails included.
func basicCleaning(tree *dom.Node) {
	for _, e := range tree.FindAll(tagIs("aside", "footer", "script", "style")) {
		if e.Parent != nil {
			e.Remove()
		}
	}
}

// jsonArticleBody is JSON_SEARCH, `"articlebody": *"(.+?)(?<!\\)"` with
// re.I: the first such value (no newline inside).
func jsonArticleBody(s string) (string, bool) {
	f := foldPy(s) // one byte per character of s, for the key's position
	const key = `"articlebody":`
	for off := 0; ; {
		k := strings.Index(f[off:], key)
		if k < 0 {
			return "", false
		}
		k += off
		off = k + 1
		j := k + len(key)
		for j < len(f) && f[j] == ' ' {
			j++
		}
		if j >= len(f) || f[j] != '"' {
			continue
		}
		// map folded positions back to s: walk both
		start := runeOffset(s, j+1)
		rs := s[start:]
		prev := rune(-1)
		n := 0
		for i, r := range rs {
			if r == '\n' {
				break
			}
			if r == '"' && n >= 1 && prev != '\\' {
				return rs[:i], true
			}
			prev = r
			n++
		}
	}
}

// runeOffset is the byte offset in s of its k-th character.
func runeOffset(s string, k int) int {
	i := 0
	for off := range s {
		if i == k {
			return off
		}
		i++
	}
	return len(s)
}
