package words

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// The C4 quality filter (datatrove C4QualityFilter, FineWeb settings:
// filter_no_terminal_punct=False) counts len(split_into_sentences(line))
// over the lines it keeps and drops documents with fewer than 5. This test
// re-runs that line logic with CountSentences and checks the golden
// too_few_sentences decisions: an indirect check of the sentencizer.

var (
	c4Citation = regexp.MustCompile(`\[\p{Nd}*]|\[edit]|\[citation needed]`)
	c4Policy   = []string{"terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies"}
)

// pySplitLines is Python's str.splitlines (without keepends).
func pySplitLines(s string) []string {
	var lines []string
	start := 0
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch r {
		case '\n', '\r', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
			lines = append(lines, s[start:i])
			if r == '\r' && i+1 < len(s) && s[i+1] == '\n' {
				n++
			}
			start = i + n
		}
		i += n
	}
	if start < len(s) {
		lines = append(lines, s[start:])
	}
	return lines
}

func pyStrip(s string) string { return strings.TrimFunc(s, isSpace) }

// c4Decision returns the C4 filter's reason ("" when kept) and kept text.
func c4Decision(text string) (string, string) {
	sentences := 0
	var kept []string
	for _, line := range pySplitLines(text) {
		line = pyStrip(line)
		words := strings.FieldsFunc(line, isSpace)
		tooLong := false
		for _, w := range words {
			if utf8.RuneCountInString(w) > 1000 {
				tooLong = true
			}
		}
		if tooLong {
			continue
		}
		line = c4Citation.ReplaceAllString(line, "")
		if len(words) < 3 {
			continue
		}
		low := strings.ToLower(line)
		if strings.Contains(low, "lorem ipsum") {
			return "lorem_ipsum", ""
		}
		if strings.Contains(low, "javascript") {
			continue
		}
		if strings.Contains(line, "{") {
			return "curly_bracket", ""
		}
		policy := false
		for _, p := range c4Policy {
			if strings.Contains(low, p) {
				policy = true
			}
		}
		if policy {
			continue
		}
		sentences += CountSentences(line)
		kept = append(kept, line)
	}
	if sentences < 5 {
		return "too_few_sentences", ""
	}
	return "", pyStrip(strings.Join(kept, "\n"))
}

func TestGoldenC4SentenceDecisions(t *testing.T) {
	rows := loadGolden(t)
	checked, agree := 0, 0
	for _, r := range rows {
		if r.C4 == nil {
			continue
		}
		checked++
		got, _ := c4Decision(*r.Text)
		if got == r.C4.Reason {
			agree++
			continue
		}
		t.Errorf("%s: C4 decision %q, golden %q", r.ID, got, r.C4.Reason)
	}
	if checked == 0 {
		t.Fatal("no golden rows with indep_c4")
	}
	t.Logf("C4 sentence-count decisions: %d/%d agree", agree, checked)
}
