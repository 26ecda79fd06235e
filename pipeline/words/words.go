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
// replaced by hand-written scanners over precomputed character tables.
package words

import (
	"sync"
	"unicode"
)

var tokenizers = sync.Pool{New: func() any { return new(tokenizer) }}

// withTokens runs the tokenizer on text and calls f with its tokens; the
// tokens are only valid during f.
func withTokens(text string, f func(toks []span)) {
	t := tokenizers.Get().(*tokenizer)
	t.run(text, true)
	f(t.toks)
	t.text = ""
	tokenizers.Put(t)
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
	withTokens(text, func(toks []span) {
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
	withTokens(text, func(toks []span) {
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
	withTokens(text, func(toks []span) { ends = appendSentenceEnds(nil, text, toks) })
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

// CountSentences returns len(Sentences(text)) without building the pieces.
func CountSentences(text string) int {
	n := 0
	withTokens(text, func(toks []span) {
		var buf [64]int
		n = len(appendSentenceEnds(buf[:0], text, toks))
	})
	return max(n, 1)
}
