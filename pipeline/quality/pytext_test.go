package quality

import (
	"reflect"
	"strings"
	"testing"

	"github.com/datarefine/refine/pipeline"
)

// Expected values below are Python 3.11's answers.

func TestPySplitLines(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"a\nb", []string{"a", "b"}},
		{"a\r\nb\rc", []string{"a", "b", "c"}},
		{"a\vb\fc", []string{"a", "b", "c"}},
		{"a\x1cb\x1dc\x1ed\x1fe", []string{"a", "b", "c", "d\x1fe"}},
		{"a\u0085b\u2028c\u2029d", []string{"a", "b", "c", "d"}},
		{"trailing\n", []string{"trailing"}},
		{"", nil},
		{"\n", []string{""}},
		{"\n\nx", []string{"", "", "x"}},
		{"a\r\n\r\nb", []string{"a", "", "b"}},
	}
	for _, tt := range tests {
		var got []string
		pySplitLines(tt.in, func(l string) { got = append(got, l) })
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitlines(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPyStripAndSplit(t *testing.T) {
	for in, want := range map[string]string{
		"  x  ":                "x",
		"\x1f x \x1c":          "x",
		"\u00a0x\u3000":        "x",
		"\u200bx\u200b":        "\u200bx\u200b", // ZERO WIDTH SPACE is no whitespace
		"\ufeffx":              "\ufeffx",
		"\u2028\u0085x\t\r\n ": "x",
		"":                     "",
	} {
		if got := pyStrip(in); got != want {
			t.Errorf("strip(%q) = %q, want %q", in, got, want)
		}
	}
	var got []string
	pyFields("a b\x1fc\u00a0d\u200be", func(w string) bool { got = append(got, w); return true })
	if want := []string{"a", "b", "c", "d\u200be"}; !reflect.DeepEqual(got, want) {
		t.Errorf("split() = %q, want %q", got, want)
	}
}

func TestSplitNewlineRuns(t *testing.T) {
	tests := []struct {
		in         string
		min        int
		want       []string
		stripFirst bool
	}{
		{"a\n\nb\n\n\nc", 2, []string{"a", "b", "c"}, true},
		{"\n\na\n\n", 2, []string{"a"}, true},
		{"a\nb", 2, []string{"a\nb"}, true},
		{"\n\na\n\n", 1, []string{"", "a", ""}, false},
		{"a\n\nb\n\n\nc", 1, []string{"a", "b", "c"}, false},
		{"", 1, []string{""}, false},
	}
	for _, tt := range tests {
		in := tt.in
		if tt.stripFirst {
			in = pyStrip(in)
		}
		var got []string
		splitNewlineRuns(in, tt.min, func(p string) { got = append(got, p) })
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("split(%q, %d) = %q, want %q", tt.in, tt.min, got, tt.want)
		}
	}
}

func TestRemoveCitations(t *testing.T) {
	for in, want := range map[string]string{
		"a[1]b":                             "ab",
		"[]x":                               "x",
		"[12][edit][citation needed]":       "",
		"[ed]":                              "[ed]",
		"[١٢]":                              "", // Python's \d is Unicode
		"[1a]":                              "[1a]",
		"[[1]]":                             "[]",
		"[edit":                             "[edit",
		"x[2":                               "x[2",
		"no brackets":                       "no brackets",
		"Paris[3] is big.[citation needed]": "Paris is big.",
	} {
		if got := removeCitations(in); got != want {
			t.Errorf("removeCitations(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLowerForASCIINeedles(t *testing.T) {
	tests := []struct {
		in     string
		needle string
		want   bool
	}{
		{"JavaScript", "javascript", true},
		{"JAVASCR\u0130PT", "javascript", false}, // İ lowers to "i̇" in Python
		{"COO\u212AIE POLICY", "cookie policy", true},
		{"lorem \u0131psum", "lorem ipsum", false}, // dotless ı stays
		{"LOREM IPSUM", "lorem ipsum", true},
	}
	for _, tt := range tests {
		got := strings.Contains(string(lowerForASCIINeedles(nil, tt.in)), tt.needle)
		if got != tt.want {
			t.Errorf("%q contains %q after lower(): %v, want %v", tt.in, tt.needle, got, tt.want)
		}
	}
}

func TestNGramIndex(t *testing.T) {
	var x ngramIndex
	// Counter.most_common(1): ties go to the n-gram seen first.
	x.reset(strings.Fields("b c a d a d b c"))
	if chars, ok := x.topDuplicate(2); !ok || chars != len("b c")*2 {
		t.Errorf("top 2-gram chars = %d, want %d (first of the tied)", chars, len("b c")*2)
	}
	x.reset([]string{"x"})
	if _, ok := x.topDuplicate(2); ok {
		t.Error("top n-gram of a text shorter than n")
	}
	// find_all_duplicate joins with "": "ab"+"c" equals "a"+"bc".
	x.reset([]string{"ab", "c", "a", "bc"})
	if got := x.allDuplicate(2); got != 3 {
		t.Errorf("allDuplicate over concatenation-equal grams = %d, want 3", got)
	}
	// A repeat skips n words: "a a a a" with n=2 → grams at 0 (new),
	// 1 (repeat, +2, skip to 3): total 2.
	x.reset(strings.Fields("a a a a"))
	if got := x.allDuplicate(2); got != 2 {
		t.Errorf("allDuplicate(a a a a, 2) = %d, want 2", got)
	}
	// Lengths are code points.
	x.reset([]string{"éé", "x", "éé", "x"})
	if got := x.allDuplicate(2); got != 3 {
		t.Errorf("allDuplicate code points = %d, want 3", got)
	}
}

func TestFineWebTerminalPunct(t *testing.T) {
	f := NewFineWebQuality(FineWebQualityOptions{ShortLineThr: 1, CharDuplicatesRatio: 1, NewLineRatio: 10})
	ws := func(s string) []string { return strings.Fields(s) }
	f.words = ws
	for text, keep := range map[string]bool{
		"One line ends here.\nanother line without":    true,  // 1/2 ≥ 0.12
		"no end\nno end either\nnor here\nstill no\nx": false, // 0 < 0.12
		"quote ends \"\nellipsis …\ntrailing space. ":  false, // none count
		"Devanagari danda।\na\nb\nc\nd\ne\nf":          true,  // 1/7 ≥ 0.12
	} {
		got, reason := f.Filter(&pipeline.Document{Text: text})
		if got != keep {
			t.Errorf("%q: keep=%v (%s), want %v", text, got, reason, keep)
		}
	}
}

func TestGopherQualityLines(t *testing.T) {
	ws := func(s string) []string { return strings.Fields(s) }
	words := strings.Repeat("the kitten rested with a ribbon and ", 10)
	f := NewGopherQuality(GopherQualityOptions{Words: ws})
	tests := []struct {
		text, reason string
	}{
		{words, ""},
		// Bullets after lstrip (Unicode whitespace), on more than 90% of
		// splitlines() lines; "\r" and "\u2028" break lines too.
		{strings.Repeat("\u3000• "+words+"\r", 10), "gopher_too_many_bullets"},
		{strings.Repeat("- "+words+"\u2028", 9) + words, ""},
		// Ellipsis endings after rstrip on more than 30% of lines.
		{words + "...\n" + words + "… \n" + words, "gopher_too_many_end_ellipsis"},
		// Too few distinct case-sensitive stop words.
		{strings.Repeat("The kitten rested near a ribbon ", 10) + "the", "gopher_enough_stop_words"},
	}
	for _, tt := range tests {
		keep, reason := f.Filter(&pipeline.Document{Text: tt.text})
		if keep != (tt.reason == "") || reason != tt.reason {
			t.Errorf("%.40q: got %v %q, want %q", tt.text, keep, reason, tt.reason)
		}
	}
}

func TestC4RewriteAndRules(t *testing.T) {
	one := func(string) int { return 1 }
	f := NewC4Quality(C4QualityOptions{CountSentences: one, MinNumSentences: 2})
	tests := []struct {
		text, reason, out string
	}{
		// Lines are stripped, short and javascript/policy lines dropped,
		// citations removed after the word count.
		{"  First line has words.  \nshort line\nEnable JavaScript to see this\nSecond good line[1] here.\nWe use cookies a lot today\n[1] [2] x",
			"", "First line has words.\nSecond good line here.\n  x"},
		{"A line with enough words.\nLorem Ipsum dolor sit.", "lorem_ipsum", ""},
		{"A line with enough words.\nx = {y} is code here", "curly_bracket", ""},
		// "{" in a dropped (too short) line does not count.
		{"A line with enough words.\n{x}\nAnother fine line here.", "", "A line with enough words.\nAnother fine line here."},
		{"Only one good line here.", "too_few_sentences", ""},
		// A line with a word over 1000 code points is dropped first.
		{"A line with enough words.\nok " + strings.Repeat("é", 1001) + " x\nAnother fine line here.", "", "A line with enough words.\nAnother fine line here."},
		{"A line with enough words.\nok " + strings.Repeat("é", 1000) + " x\nAnother fine line here.", "", "A line with enough words.\nok " + strings.Repeat("é", 1000) + " x\nAnother fine line here."},
	}
	for _, tt := range tests {
		doc := &pipeline.Document{Text: tt.text}
		keep, reason := f.Filter(doc)
		if keep != (tt.reason == "") || reason != tt.reason {
			t.Errorf("%.50q: got %v %q, want %q", tt.text, keep, reason, tt.reason)
			continue
		}
		if keep && doc.Text != tt.out {
			t.Errorf("%.50q rewritten to %q, want %q", tt.text, doc.Text, tt.out)
		}
		if !keep && doc.Text != tt.text {
			t.Errorf("dropped document's text changed")
		}
	}
}

func TestOptionsConvention(t *testing.T) {
	ws := func(s string) []string { return strings.Fields(s) }
	// Negative disables: a 3-word document passes when the word-count rule
	// is off.
	f := NewGopherQuality(GopherQualityOptions{Words: ws, MinDocWords: -1, MinStopWords: -1})
	if keep, reason := f.Filter(&pipeline.Document{Text: "three little words"}); !keep {
		t.Errorf("disabled rules still drop: %s", reason)
	}
	if keep, reason := NewGopherQuality(GopherQualityOptions{Words: ws}).Filter(&pipeline.Document{Text: "three little words"}); keep || reason != "gopher_short_doc" {
		t.Errorf("default MinDocWords: %v %q", keep, reason)
	}
	fw := NewFineWebQuality(FineWebQualityOptions{Words: ws, ShortLineThr: -1, NewLineRatio: -1})
	if keep, reason := fw.Filter(&pipeline.Document{Text: "hi.\nbye."}); !keep {
		t.Errorf("FineWeb with short-line and list rules disabled: %s", reason)
	}
	if keep, reason := NewFineWebQuality(FineWebQualityOptions{Words: ws}).Filter(&pipeline.Document{Text: "hi.\nbye."}); keep || reason != "short_line_ratio" {
		t.Errorf("FineWeb defaults: %v %q", keep, reason)
	}
	names := []string{NewGopherRepetition(GopherRepetitionOptions{}).Name(), NewGopherQuality(GopherQualityOptions{}).Name(),
		NewC4Quality(C4QualityOptions{}).Name(), NewFineWebQuality(FineWebQualityOptions{}).Name()}
	if want := []string{"gopher_rep", "gopher_qual", "c4", "fineweb_qual"}; !reflect.DeepEqual(names, want) {
		t.Errorf("names %v", names)
	}
}

// The filters share the document's cached words: the tokenizer runs once
// per text, and again only after C4 rewrote it.
func TestTokenizeOncePerText(t *testing.T) {
	calls := 0
	ws := func(s string) []string { calls++; return strings.Fields(s) }
	doc := &pipeline.Document{Text: "short\nshort\n" +
		"The kitten rested with a ribbon near the old barn today.\n" +
		"Yesterday a storm passed over the hills and flooded that river.\n" +
		"Our neighbours have planted apples, pears and plums this spring.\n" +
		"Trains to the coast leave every hour with many tourists aboard.\n" +
		"Local schools reopened after the holidays to be with friends.\n" +
		"Bakers in town sell fresh bread of rye and wheat each morning.\n"}
	chain := []pipeline.Filter{
		NewGopherRepetition(GopherRepetitionOptions{Words: ws}),
		NewGopherQuality(GopherQualityOptions{Words: ws, MinDocWords: 10}),
		NewC4Quality(C4QualityOptions{CountSentences: func(string) int { return 1 }}),
		NewFineWebQuality(FineWebQualityOptions{Words: ws}),
	}
	for _, f := range chain {
		if keep, reason := f.Filter(doc); !keep {
			t.Fatalf("%s dropped the document: %s", f.Name(), reason)
		}
	}
	if calls != 2 {
		t.Errorf("tokenizer ran %d times, want 2 (original text, C4's rewrite)", calls)
	}
}
