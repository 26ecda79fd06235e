package eval

import (
	"regexp"
	"strings"
)

// Reference text formats.
const (
	FormatAuto     = ""         // WikiText when the text has its markers (" @-@ ", " @,@ "), else plain
	FormatWikiText = "wikitext" // WikiText raw: detokenised, one document per article
	FormatPlain    = "text"     // plain text: documents separated by blank lines
)

var (
	wikiHeading = regexp.MustCompile(`^\s*(=\s+)+(.*?)(\s+=)+\s*$`)
	wikiQuote   = regexp.MustCompile(`" ([^"\n]*?) "`)
	wikiClitic  = regexp.MustCompile(` '(s|re|ve|ll|d|m|S|RE|VE|LL|D|M)\b`)
	wikiPunct   = regexp.MustCompile(` ([,.;:!?%)\]}])`)
	wikiOpen    = regexp.MustCompile(`([(\[{$]) `)
)

// DetokenizeWikiText undoes WikiText's tokenisation of one line (spaced
// punctuation, @-@ joiners, split clitics) so that it reads like web text.
// Without this, raw WikiText scores models trained on junk better than
// models trained on clean prose, because its spacing is unlike any web text.
func DetokenizeWikiText(line string) string {
	s := strings.TrimSpace(line)
	if m := wikiHeading.FindStringSubmatch(s); m != nil {
		s = m[2]
	}
	r := strings.NewReplacer(" @-@ ", "-", " @,@ ", ",", " @.@ ", ".", " n't", "n't")
	s = r.Replace(s)
	s = wikiQuote.ReplaceAllString(s, `"$1"`)
	s = wikiClitic.ReplaceAllString(s, `'$1`)
	s = wikiPunct.ReplaceAllString(s, "$1")
	s = wikiOpen.ReplaceAllString(s, "$1")
	return s
}

// splitWikiText cuts raw WikiText into detokenised articles (a top-level
// heading " = Title = " starts one); paragraphs are joined by newlines.
func splitWikiText(raw string) []string {
	var docs []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			docs = append(docs, strings.Join(cur, "\n"))
			cur = nil
		}
	}
	for _, line := range strings.Split(raw, "\n") {
		t := strings.TrimSpace(line)
		if t == "" {
			continue
		}
		if strings.HasPrefix(t, "= ") && !strings.HasPrefix(t, "= =") && strings.HasSuffix(t, " =") {
			flush()
		}
		cur = append(cur, DetokenizeWikiText(t))
	}
	flush()
	return docs
}

// splitPlain cuts plain text into documents at blank lines.
func splitPlain(raw string) []string {
	var docs []string
	for _, p := range regexp.MustCompile(`\n\s*\n`).Split(raw, -1) {
		if p = strings.TrimSpace(p); p != "" {
			docs = append(docs, p)
		}
	}
	return docs
}

// ReferenceDocs splits a reference text into documents in the given format.
func ReferenceDocs(raw, format string) []string {
	if format == FormatAuto {
		format = FormatPlain
		if strings.Contains(raw, " @-@ ") || strings.Contains(raw, " @,@ ") {
			format = FormatWikiText
		}
	}
	if format == FormatWikiText {
		return splitWikiText(raw)
	}
	return splitPlain(raw)
}
