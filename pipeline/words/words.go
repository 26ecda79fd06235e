// Package words is a Go port of the part of spaCy (v3.5) that datatrove uses
// for English: the tokenizer of spacy.blank("en") and the rule-based
// "sentencizer" pipe.
//
// Words gives datatrove's split_into_words / SpaCyTokenizer.word_tokenize
// (the tokens minus whitespace tokens); MinHash dedup, the Gopher, C4 and
// FineWeb filters all use it. Sentences gives split_into_sentences, and
// CountSentences its length (what the C4 filter counts).
//
// The tokenizer is rule-for-rule spaCy's: split on whitespace, then per
// chunk special cases (tokenizer exceptions), prefixes, suffixes, URL
// matching and infixes in the order of spacy/tokenizer.pyx, then the
// re-merging of special cases that the affix rules split. The regexes are
// replaced by hand-written scanners over character tables generated from
// spaCy's own class definitions (tables_gen.go, internal/gentables); the
// scanners are checked against spaCy's compiled regexes
// (testdata/regex_cases.jsonl) and the whole against datatrove's golden
// outputs. Tokens are substrings of the input (no copies), and all
// functions are safe for concurrent use.
package words

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

var tokenizers = sync.Pool{New: func() any { return new(tokenizer) }}

// withTokens runs the tokenizer on text and calls f with the text that was
// tokenized and its tokens; the tokens are only valid during f.
//
// spaCy fails on a token "IS_ALPHA" (its string id is 1, a key its hash
// maps reserve), and datatrove then tokenizes the text with every
// "IS_ALPHA" removed; so do we.
func withTokens(text string, f func(tokenized string, toks []span)) {
	t := tokenizers.Get().(*tokenizer)
	t.run(text, true)
	if strings.Contains(text, isAlpha) && hasToken(t, isAlpha) {
		text = strings.ReplaceAll(text, isAlpha, "")
		t.run(text, true)
	}
	f(text, t.toks)
	t.text = ""
	tokenizers.Put(t)
}

const isAlpha = "IS_ALPHA"

func hasToken(t *tokenizer, w string) bool {
	for _, tk := range t.toks {
		if t.text[tk.start:tk.end] == w {
			return true
		}
	}
	return false
}

// isSpaceToken reports whether a token is a whitespace token. Tokens come
// either from a whitespace run or from a run without any whitespace, so the
// first rune decides.
func isSpaceToken(s string) bool {
	r, _ := runeAt(s, 0)
	return isSpace(r)
}

// Words returns the word tokens of text as datatrove's split_into_words
// (and word_tokenize) does: spaCy's tokens, without those that are empty
// after strip(). The strings share text's memory.
func Words(text string) []string {
	return AppendWords(nil, text)
}

// AppendWords appends the words of text (see Words) to dst and returns it.
func AppendWords(dst []string, text string) []string {
	withTokens(text, func(text string, toks []span) {
		if dst == nil {
			dst = make([]string, 0, len(toks))
		}
		for _, tk := range toks {
			w := text[tk.start:tk.end]
			if !isSpaceToken(w) {
				dst = append(dst, w)
			}
		}
	})
	return dst
}

// Tokens returns all of spaCy's token texts for text, whitespace tokens
// included (what a spaCy Doc holds).
func Tokens(text string) []string {
	var out []string
	withTokens(text, func(text string, toks []span) {
		out = make([]string, len(toks))
		for i, tk := range toks {
			out[i] = text[tk.start:tk.end]
		}
	})
	return out
}

// sentencePunct is the sentencizer's default punct_chars
// (spacy/pipeline/sentencizer.pyx).
var sentencePunct = func() map[rune]bool {
	m := map[rune]bool{}
	for _, r := range "!.?։؟۔܀܁܂߹।॥၊။።፧፨᙮᜵᜶᠃᠉᥄᥅᪨᪩᪪᪫᭚᭛᭞᭟᰻᰼᱾᱿‼‽⁇⁈⁉⸮⸼꓿꘎꘏꛳꛷꡶꡷꣎꣏꤯꧈꧉꩝꩞꩟꫰꫱꯫﹒﹖﹗！．？𐩖𐩗𑁇𑁈𑂾𑂿𑃀𑃁𑅁𑅂𑅃𑇅𑇆𑇍𑇞𑇟𑈸𑈹𑈻𑈼𑊩𑑋𑑌𑗂𑗃𑗉𑗊𑗋𑗌𑗍𑗎𑗏𑗐𑗑𑗒𑗓𑗔𑗕𑗖𑗗𑙁𑙂𑜼𑜽𑜾𑩂𑩃𑪛𑪜𑱁𑱂𖩮𖩯𖫵𖬷𖬸𖭄𛲟𝪈｡。" {
		m[r] = true
	}
	return m
}()

// isSentencePunct reports whether the token text is one of punct_chars.
func isSentencePunct(s string) bool {
	switch len(s) {
	case 1:
		return s[0] == '.' || s[0] == '!' || s[0] == '?'
	case 2, 3, 4:
		r, n := runeAt(s, 0)
		return n == len(s) && sentencePunct[r]
	}
	return false
}

// isPunct is spaCy's IS_PUNCT lexical attribute: every character is in a
// Unicode punctuation category (P*).
func isPunct(s string) bool {
	for _, r := range s {
		if !unicode.IsPunct(r) {
			return false
		}
	}
	return true
}

// appendSentenceEnds appends the end offset of each sentence the
// sentencizer finds among toks: a sentence ends after a run of punct_chars
// tokens, at the first following token that is neither punctuation nor a
// punct_char (whitespace tokens count as such a token).
func appendSentenceEnds(ends []int, text string, toks []span) []int {
	seenPeriod := false
	for i, tk := range toks {
		w := text[tk.start:tk.end]
		inPunct := isSentencePunct(w)
		if seenPeriod && !inPunct && !isPunct(w) {
			ends = append(ends, int(toks[i-1].end))
			seenPeriod = false
		} else if inPunct {
			seenPeriod = true
		}
	}
	if len(toks) > 0 {
		ends = append(ends, int(toks[len(toks)-1].end))
	}
	return ends
}

// Sentences returns text cut into sentences as datatrove's
// split_into_sentences does: each piece runs from the end of the previous
// sentence to the end of its own (so the whitespace between sentences
// starts the next piece), and the last piece runs to the end of text.
// The pieces concatenate to text; an empty text gives [""].
func Sentences(text string) []string {
	var ends []int
	// After an "IS_ALPHA" removal datatrove still cuts the original text at
	// the offsets found in the shortened one; so do we.
	withTokens(text, func(tokenized string, toks []span) {
		ends = appendSentenceEnds(nil, tokenized, toks)
		if len(tokenized) != len(text) {
			ends = sameCharOffsets(ends, tokenized, text)
		}
	})
	if len(ends) == 0 {
		return []string{text}
	}
	out := make([]string, len(ends))
	prev := 0
	for i, e := range ends[:len(ends)-1] {
		out[i] = text[prev:e]
		prev = e
	}
	out[len(ends)-1] = text[prev:]
	return out
}

// sameCharOffsets maps byte offsets in a to the byte offsets in b that are
// as many characters from the start (Python slices by characters), capped
// at len(b).
func sameCharOffsets(offs []int, a, b string) []int {
	out := make([]int, len(offs))
	for i, o := range offs {
		n := utf8.RuneCountInString(a[:o])
		j := 0
		for ; j < len(b) && n > 0; n-- {
			_, size := utf8.DecodeRuneInString(b[j:])
			j += size
		}
		out[i] = j
	}
	return out
}

// CountSentences returns len(Sentences(text)) without building the pieces.
func CountSentences(text string) int {
	n := 0
	withTokens(text, func(tokenized string, toks []span) {
		var buf [64]int
		n = len(appendSentenceEnds(buf[:0], tokenized, toks))
	})
	return max(n, 1)
}
