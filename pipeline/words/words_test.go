package words

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// The expected tokens below follow spaCy 3.5's rules for blank("en"):
// tokenizer exceptions, prefixes/suffixes/infixes, URL_MATCH and the
// re-merging of split special cases (e.g. "):" after a year in brackets).

func TestTokensTricky(t *testing.T) {
	cases := []struct {
		text string
		want []string
	}{
		{"I don't know.", []string{"I", "do", "n't", "know", "."}},
		{"We can't, won't, shouldn't.", []string{"We", "ca", "n't", ",", "wo", "n't", ",", "should", "n't", "."}},
		{"Don’t panic", []string{"Do", "n’t", "panic"}},
		{"I'm here and you're there", []string{"I", "'m", "here", "and", "you", "'re", "there"}},
		{"cannot Cannot", []string{"can", "not", "Can", "not"}},
		{"gonna gotta", []string{"gon", "na", "got", "ta"}},
		{"y'all ain't", []string{"y'", "all", "ai", "n't"}},
		{"it's Let's", []string{"it", "'s", "Let", "'s"}},
		{"o'clock ma'am", []string{"o'clock", "ma'am"}},
		{"'cause 'em", []string{"'cause", "'em"}},
		{"Mr. Smith vs. Dr. Jones, e.g. this; i.e. that.", []string{"Mr.", "Smith", "vs.", "Dr.", "Jones", ",", "e.g.", "this", ";", "i.e.", "that", "."}},
		{"The U.S. Army", []string{"The", "U.S.", "Army"}},
		{"Ph.D. in Calif.", []string{"Ph.D.", "in", "Calif."}},
		{"at 5 p.m. or 10am", []string{"at", "5", "p.m.", "or", "10", "am"}},
		{"St. Louis, Mo.", []string{"St.", "Louis", ",", "Mo."}},
		{"etc. and so on", []string{"etc", ".", "and", "so", "on"}},
		{"N.Y. N.Y.C.", []string{"N.Y.", "N.Y.C."}},
		{"See https://example.com/path?q=1.", []string{"See", "https://example.com/path?q=1", "."}},
		{"Visit www.example.co.uk, or http://localhost:8080/x", []string{"Visit", "www.example.co.uk", ",", "or", "http://localhost:8080", "/", "x"}},
		{"Mail john.doe@example.com now", []string{"Mail", "john.doe@example.com", "now"}},
		{"ftp://10.0.0.1/file and 8.8.8.8", []string{"ftp://10.0.0.1", "/", "file", "and", "8.8.8.8"}},
		{"(http://x.org)", []string{"(", "http://x.org", ")"}},
		{"example.Com", []string{"example", ".", "Com"}},
		{"well-known state-of-the-art", []string{"well", "-", "known", "state", "-", "of", "-", "the", "-", "art"}},
		{"1-2 3-a a-3 x--y", []string{"1", "-", "2", "3", "-", "a", "a-3", "x", "--", "y"}},
		{"pre—post", []string{"pre", "—", "post"}},
		{"A–B", []string{"A", "–", "B"}},
		{"5km 10kg 3.5GB 20% 100$ $100 US$5 5US$ €20 20€", []string{"5", "km", "10", "kg", "3.5", "GB", "20", "%", "100", "$", "$", "100", "US$", "5", "5", "US$", "€", "20", "20", "€"}},
		{"3.14 1,000,000 2+2=4 3*4 2^3", []string{"3.14", "1,000,000", "2", "+", "2=4", "3", "*", "4", "2", "^", "3"}},
		{"10.5°C. 5°F.", []string{"10.5", "°", "C", ".", "5", "°", "F", "."}},
		{"1st 2nd", []string{"1st", "2nd"}},
		{":) :-( ;) <3 XD :P o.O ^_^ ¯\\(ツ)/¯ (╯°□°）╯︵┻━┻", []string{":)", ":-(", ";)", "<3", "XD", ":P", "o.O", "^_^", "¯\\(ツ)/¯", "(╯°□°）╯︵┻━┻"}},
		{"Hello:) yes", []string{"Hello", ":)", "yes"}},
		{"(2014): text", []string{"(", "2014", "):", "text"}},
		{"a : ) b", []string{"a", ":", ")", "b"}},
		{"\"Quoted\" 'single' “curly” ‘curly’ «guillemets» „low“", []string{"\"", "Quoted", "\"", "'", "single", "'", "“", "curly", "”", "‘", "curly", "’", "«", "guillemets", "»", "„", "low", "“"}},
		{"He said, \"Go!\"", []string{"He", "said", ",", "\"", "Go", "!", "\""}},
		{"the dog's bone and the dogs’ bones", []string{"the", "dog", "'s", "bone", "and", "the", "dogs", "’", "bones"}},
		{"James' car", []string{"James", "'", "car"}},
		{"Wait... what?! Really?? Yes!!! Hmm…", []string{"Wait", "...", "what", "?", "!", "Really", "?", "?", "Yes", "!", "!", "!", "Hmm", "…"}},
		{"end.Start", []string{"end", ".", "Start"}},
		{"one,two", []string{"one", ",", "two"}},
		{"a/b and/or w/o", []string{"a", "/", "b", "and/or", "w/o"}},
		{"x:y", []string{"x", ":", "y"}},
		{"a=b", []string{"a", "=", "b"}},
		{"日本語のテキスト。次の文。", []string{"日本語のテキスト。次の文", "。"}},
		{"Café naïve — déjà vu", []string{"Café", "naïve", "—", "déjà", "vu"}},
		{"Привет, мир!", []string{"Привет", ",", "мир", "!"}},
		{"١٢٣ ٪", []string{"١٢٣", "٪"}},
		{"tabs\tand\nnewlines\n\nhere", []string{"tabs", "\t", "and", "\n", "newlines", "\n\n", "here"}},
		{"  leading and trailing  ", []string{"  ", "leading", "and", "trailing", " "}},
		{"non\u00a0breaking", []string{"non", "\u00a0", "breaking"}},
		{"#hashtag @mention", []string{"#", "hashtag", "@mention"}},
		{"C++ and C#", []string{"C++", "and", "C", "#"}},
		{"a.m. p.m. A.M.", []string{"a.m.", "p.m.", "A.M."}},
		{"(parenthetical) [bracketed] {braced}", []string{"(", "parenthetical", ")", "[", "bracketed", "]", "{", "braced", "}"}},
		{"“Nested ‘quotes’ here.”", []string{"“", "Nested", "‘", "quotes", "’", "here", ".", "”"}},
		{"...leading dots", []string{"...", "leading", "dots"}},
		{"trailing dots...", []string{"trailing", "dots", "..."}},
		{"A.B.C. D.E.", []string{"A.B.C.", "D.E."}},
	}
	for _, c := range cases {
		got := Tokens(c.text)
		if !equalTokens(got, c.want) {
			t.Errorf("Tokens(%q):\n got %q\nwant %q", c.text, got, c.want)
		}
		var words []string
		for _, w := range c.want {
			if strings.TrimFunc(w, isSpace) != "" {
				words = append(words, w)
			}
		}
		if got := Words(c.text); !equalTokens(got, words) {
			t.Errorf("Words(%q) = %q, want %q", c.text, got, words)
		}
	}
}

func TestSentences(t *testing.T) {
	cases := []struct {
		text string
		want []string
	}{
		{"Hello world. This is a test.", []string{"Hello world.", " This is a test."}},
		{"Is it? Yes! No.", []string{"Is it?", " Yes!", " No."}},
		{"Wait... what?", []string{"Wait... what?"}},
		{"He said \"Hi.\" Then left.", []string{"He said \"Hi.\"", " Then left."}},
		{"Mr. Smith went home. He slept.", []string{"Mr. Smith went home.", " He slept."}},
		{"No punctuation here", []string{"No punctuation here"}},
		{"One.\nTwo.\n\nThree", []string{"One.", "\nTwo.", "\n\nThree"}},
		{"Trailing space. ", []string{"Trailing space. "}},
		{"  Leading space. Next", []string{"  Leading space.", " Next"}},
		{"e.g. this. Then", []string{"e.g. this.", " Then"}},
		{"Really?! Yes.", []string{"Really?!", " Yes."}},
		{"A.\" B", []string{"A.\" B"}},
		{"end.Start here. Next", []string{"end.", "Start here.", " Next"}},
		{"日本語。次。", []string{"日本語。次。"}},
		{"Dots... and more... end.", []string{"Dots... and more... end."}},
		{"", []string{""}},
		{"   ", []string{"   "}},
		{"Hi (there). Bye", []string{"Hi (there).", " Bye"}},
	}
	for _, c := range cases {
		got := Sentences(c.text)
		if !equalTokens(got, c.want) {
			t.Errorf("Sentences(%q) = %q, want %q", c.text, got, c.want)
		}
		if n := CountSentences(c.text); n != len(c.want) {
			t.Errorf("CountSentences(%q) = %d, want %d", c.text, n, len(c.want))
		}
		if strings.Join(got, "") != c.text {
			t.Errorf("Sentences(%q) do not concatenate to the text", c.text)
		}
	}
}

// TestExceptionTable checks the generated exception table against the rules
// of spacy/lang/en/tokenizer_exceptions.py it was built from.
func TestExceptionTable(t *testing.T) {
	for k, pieces := range tokenizerExceptions {
		if strings.Join(pieces, "") != k {
			t.Errorf("exception %q: pieces %q do not spell it", k, pieces)
		}
		if strings.Contains(k, "'") {
			alt := strings.ReplaceAll(k, "'", "’")
			if _, ok := tokenizerExceptions[alt]; !ok {
				t.Errorf("exception %q has no ’ variant %q", k, alt)
			}
		}
	}
	want := map[string][]string{
		"don't":    {"do", "n't"},
		"Don’t":    {"Do", "n’t"},
		"cannot":   {"can", "not"},
		"Cannot":   {"Can", "not"},
		"I'm":      {"I", "'m"},
		"y'all":    {"y'", "all"},
		"gonna":    {"gon", "na"},
		"10a.m.":   {"10", "a.m."},
		"12pm":     {"12", "pm"},
		"°C.":      {"°", "C", "."},
		":)":       {":)"},
		"¯\\(ツ)/¯": {"¯\\(ツ)/¯"},
		"e.g.":     {"e.g."},
		"Mt.":      {"Mt."},
		"\n":       {"\n"},
		"whatcha":  nil, // not an exception
	}
	for k, w := range want {
		got, ok := tokenizerExceptions[k]
		if w == nil {
			if ok {
				t.Errorf("%q should not be an exception", k)
			}
			continue
		}
		if !ok || !equalTokens(got, w) {
			t.Errorf("exception %q = %q, want %q", k, got, w)
		}
	}
	// The English rules drop these from the generated contractions.
	for _, k := range []string{"Ill", "ill", "Its", "its", "Hell", "hell", "Shell", "shell", "Shed", "shed", "were", "Were", "Well", "well", "Whore", "whore"} {
		if _, ok := tokenizerExceptions[k]; ok {
			t.Errorf("excluded %q is an exception", k)
		}
	}
	if n := len(tokenizerExceptions); n != 1347 {
		t.Errorf("%d exceptions, spaCy 3.5 English has 1347", n)
	}
}

func TestCharClasses(t *testing.T) {
	cases := []struct {
		r    rune
		want charFlag
		not  charFlag
	}{
		{'a', fAlpha | fLower | fWord | fURLHost | fSufDotPrev, fUpper | fSpace},
		{'Z', fAlpha | fUpper | fWord | fURLHost, fLower | fSufDotPrev},
		{'é', fAlpha | fLower, fUpper},
		{'Ж', fAlpha | fUpper, fLower},
		{'日', fAlpha | fLower | fUpper, 0}, // uncased scripts are in both
		{'\U00020001', fAlpha | fLower | fUpper, fURLHost},
		{'7', fWord | fDigit | fURLHost | fSufDotPrev, fAlpha},
		{'٣', fDigit | fWord, fAlpha},
		{'"', fQuote | fPrefix1 | fSuffix1, fAlpha},
		{'’', fQuote | fPrefix1 | fSuffix1, 0},
		{'(', fPrefix1 | fSuffix1 | fSufDotPrev, fQuote},
		{'|', fSufDotPrev, fPrefix1 | fSuffix1},
		{'$', fPrefix1, fSuffix1},
		{'-', 0, fPrefix1 | fSuffix1},
		{'©', fIcon, fAlpha},
		{'☃', fIcon, 0},
		{' ', fSpace, fURLHost},
		{'\u00a0', fSpace, 0},
		{'\x1c', fSpace, 0},
		{'\u3000', fSpace | fAlpha, 0},
		{'\u200b', 0, fSpace},
	}
	for _, c := range cases {
		f := flagsOf(c.r)
		if f&c.want != c.want || f&c.not != 0 {
			t.Errorf("flags(%q) = %016b, want %016b set and %016b clear", c.r, f, c.want, c.not)
		}
	}
}

// TestRegexFixture compares the hand-written scanners with spaCy's compiled
// prefix_search, suffix_search, infix_finditer and URL_MATCH, evaluated by
// Python's re on synthetic strings (testdata/regex_cases.jsonl: text,
// prefix bytes, suffix bytes, infix [start,end) byte spans, URL match).
func TestRegexFixture(t *testing.T) {
	f, err := os.Open("testdata/regex_cases.jsonl")
	if err != nil {
		t.Fatalf("open fixture: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		var c struct {
			text     string
			pre, suf int
			infixes  [][2]int
			url      bool
		}
		row := []any{&c.text, &c.pre, &c.suf, &c.infixes, &c.url}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatalf("fixture line %d: %v", n+1, err)
		}
		n++
		if got := findPrefix(c.text); got != c.pre {
			t.Errorf("prefix(%q) = %d, want %d", c.text, got, c.pre)
		}
		if got := findSuffix(c.text); got != c.suf {
			t.Errorf("suffix(%q) = %d, want %d", c.text, got, c.suf)
		}
		var inf [][2]int
		for from := 0; ; {
			a, b, ok := nextInfix(c.text, from)
			if !ok {
				break
			}
			inf = append(inf, [2]int{a, b})
			from = b
		}
		if len(inf) != len(c.infixes) {
			t.Errorf("infixes(%q) = %v, want %v", c.text, inf, c.infixes)
		} else {
			for i := range inf {
				if inf[i] != c.infixes[i] {
					t.Errorf("infixes(%q) = %v, want %v", c.text, inf, c.infixes)
					break
				}
			}
		}
		if got := urlMatch(c.text); got != c.url {
			t.Errorf("urlMatch(%q) = %v, want %v", c.text, got, c.url)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 1000 {
		t.Fatalf("only %d fixture cases", n)
	}
}

// TestISAlpha covers datatrove's retry without "IS_ALPHA" when spaCy fails
// on that token.
func TestISAlpha(t *testing.T) {
	cases := []struct {
		text string
		want []string
	}{
		{"use IS_ALPHA here", []string{"use", "here"}},
		{"x.IS_ALPHA", []string{"x."}},                      // "x", ".", "IS_ALPHA" fails; "x." is a special case
		{"IS_ALPHAS stays", []string{"IS_ALPHAS", "stays"}}, // no token is "IS_ALPHA"
	}
	for _, c := range cases {
		if got := Words(c.text); !equalTokens(got, c.want) {
			t.Errorf("Words(%q) = %q, want %q", c.text, got, c.want)
		}
	}
	// Sentence ends found in the shortened text ("A  bb." ends after 6
	// characters) cut the original one.
	got := Sentences("A IS_ALPHA bb. Cd")
	want := []string{"A IS_A", "LPHA bb. Cd"}
	if !equalTokens(got, want) {
		t.Errorf("Sentences = %q, want %q", got, want)
	}
}

func TestEmpty(t *testing.T) {
	if w := Words(""); len(w) != 0 {
		t.Errorf("Words(\"\") = %q", w)
	}
	if w := Words(" \n\t "); len(w) != 0 {
		t.Errorf("Words(spaces) = %q", w)
	}
}

// TestConcurrentUse runs the tokenizer from several goroutines (pooled
// scratch state) and compares with a serial run.
func TestConcurrentUse(t *testing.T) {
	texts := []string{"I don't know, e.g. see https://example.com :)", "(2014): Mr. Smith's 5km run... Done!", "日本語。次。", "x.IS_ALPHA y"}
	want := make([][]string, len(texts))
	for i, s := range texts {
		want[i] = Words(s)
	}
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for n := 0; n < 200; n++ {
				i := (g + n) % len(texts)
				if got := Words(texts[i]); !equalTokens(got, want[i]) {
					errs <- fmt.Sprintf("Words(%q) = %q, want %q", texts[i], got, want[i])
					return
				}
			}
			errs <- ""
		}()
	}
	for g := 0; g < 8; g++ {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
}
