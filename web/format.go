package web

import (
	"html"
	"html/template"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
)

// formatPost renders a post's text with a small, safe formatting: the text
// is HTML-escaped first, and only then are paragraphs (blank lines), line
// breaks, `code`, **bold**, *italic* and http(s) links turned into tags the
// formatter itself writes. Nothing the author typed can become markup: the
// markers match escaped text, and link targets are escaped and limited to
// http and https.
func formatPost(text string) template.HTML {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	var b strings.Builder
	for i, para := range paraRe.Split(strings.TrimSpace(text), -1) {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString("<p>")
		b.WriteString(inline(para))
		b.WriteString("</p>")
	}
	return template.HTML(b.String())
}

var (
	paraRe   = regexp.MustCompile(`\n[ \t]*\n+`)
	codeRe   = regexp.MustCompile("`([^`\n]+)`")
	boldRe   = regexp.MustCompile(`\*\*([^*\n]+)\*\*`)
	italicRe = regexp.MustCompile(`\*([^*\n]+)\*`)
	// Links are found in the escaped text: '<', '>' and quotes are already
	// entities, so they can end a URL but never appear in one.
	linkRe = regexp.MustCompile(`https?://[^\s&*]+(?:&amp;[^\s&*]+)*`)
)

func inline(s string) string {
	s = html.EscapeString(s)
	// Code spans first, with their contents kept apart so that markers
	// inside them stay literal.
	var codes []string
	s = codeRe.ReplaceAllStringFunc(s, func(m string) string {
		codes = append(codes, m[1:len(m)-1])
		return "\x00" + string(rune('0'+len(codes)-1)) + "\x00"
	})
	s = linkRe.ReplaceAllStringFunc(s, func(u string) string {
		// Trailing punctuation belongs to the sentence.
		trail := ""
		for len(u) > 0 && strings.ContainsRune(".,;:!?)", rune(u[len(u)-1])) {
			trail = u[len(u)-1:] + trail
			u = u[:len(u)-1]
		}
		return `<a href="` + u + `" rel="nofollow noopener noreferrer ugc">` + u + `</a>` + trail
	})
	s = boldRe.ReplaceAllString(s, "<strong>$1</strong>")
	s = italicRe.ReplaceAllString(s, "<em>$1</em>")
	s = strings.ReplaceAll(s, "\n", "<br>\n")
	for i, c := range codes {
		s = strings.Replace(s, "\x00"+string(rune('0'+i))+"\x00", "<code>"+c+"</code>", 1)
	}
	return s
}

// Formatting helpers for the templates. Numbers use go-humanize's
// separators, as the CLI does, so that the site and `refine devnet` print
// the same number the same way.

func shortKey(k string) string {
	if len(k) <= 12 {
		return k
	}
	return k[:6] + "…" + k[len(k)-4:]
}

func fmtInt(v int64) string { return humanize.Comma(v) }

func fmtFloat(f float64) string {
	if math.Abs(f) >= 1000 {
		return fmtInt(int64(math.Round(f)))
	}
	return strconv.FormatFloat(f, 'f', 2, 64)
}

// fmtTAO shows rao as α (or TAO) with 4 decimals.
func fmtTAO(rao uint64) string {
	return strconv.FormatFloat(float64(rao)/1e9, 'f', 4, 64)
}

func fmtBytes(n int64) string { return humanize.IBytes(uint64(max(n, 0))) }

func fmtDuration(sec float64) string {
	if sec <= 0 {
		return "–"
	}
	return (time.Duration(sec * float64(time.Second))).Round(time.Second).String()
}
