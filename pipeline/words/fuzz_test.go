package words

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzTokenize checks invariants that hold for any input: the words,
// joined, are the text without its whitespace (tokens partition every
// whitespace-free run), no word holds whitespace, and the sentences
// concatenate to the text.
func FuzzTokenize(f *testing.F) {
	for _, s := range []string{
		"", " ", "Hello, world!", "I don't know... e.g. this:) (2014): x", "http://a.b/c?d=e.", "a@b.co",
		"5km-long 3.5GB US$5 °C.", "“quoted” ‘x’ «y»", "日本語。次。", "a\u00a0b\u3000c\x1cd", "...---...",
		"(╯°□°）╯︵┻━┻", "y'all can't won't", "1.2.3.4:80/x", "x--y a–b", "\xff\xfe bad utf8",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if !utf8.ValidString(text) || strings.Contains(text, isAlpha) {
			return
		}
		words := Words(text)
		for _, w := range words {
			if w == "" || strings.IndexFunc(w, isSpace) >= 0 {
				t.Fatalf("bad word %q in %q", w, text)
			}
		}
		noSpace := strings.Map(func(r rune) rune {
			if isSpace(r) {
				return -1
			}
			return r
		}, text)
		if got := strings.Join(words, ""); got != noSpace {
			t.Fatalf("words of %q join to %q", text, got)
		}
		sents := Sentences(text)
		if strings.Join(sents, "") != text {
			t.Fatalf("sentences of %q: %q", text, sents)
		}
		if n := CountSentences(text); n != len(sents) {
			t.Fatalf("CountSentences(%q) = %d, want %d", text, n, len(sents))
		}
	})
}
