package tokens

import (
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"
)

// BPE is a GPT-2 byte-level BPE encoder. It gives the same tokens as
// tiktoken's r50k_base (and the Hugging Face "gpt2" tokenizer) but splits
// text with a hand-written scanner instead of a backtracking regular
// expression and caches the encoding of frequent pieces, which makes it an
// order of magnitude faster than tiktoken-go. It is safe for concurrent use.
type BPE struct {
	ranks map[string]int
	cache sync.Pool // *pieceCache
}

// EndOfText is GPT-2's special token; written in a text it is one token.
const (
	EndOfText   = "<|endoftext|>"
	EndOfTextID = 50256
)

const maxCache = 1 << 16

type pieceCache map[string][]int

var (
	bpeOnce sync.Once
	bpe     *BPE
	bpeErr  error
)

// GPT2BPE returns the shared GPT-2 encoder, loaded once from the BPE ranks
// embedded in tiktoken-go-loader.
func GPT2BPE() (*BPE, error) {
	bpeOnce.Do(func() {
		ranks, err := tiktoken_loader.NewOfflineLoader().LoadTiktokenBpe("r50k_base.tiktoken")
		if err != nil {
			bpeErr = fmt.Errorf("load GPT-2 BPE ranks: %w", err)
			return
		}
		bpe = &BPE{ranks: ranks}
		bpe.cache.New = func() any { return pieceCache{} }
	})
	return bpe, bpeErr
}

// Count returns the number of tokens of text.
func (e *BPE) Count(text string) int {
	n := 0
	e.encode(text, func(ids []int) { n += len(ids) })
	return n
}

// Encode returns the token ids of text.
func (e *BPE) Encode(text string) []int {
	var out []int
	e.encode(text, func(ids []int) { out = append(out, ids...) })
	return out
}

func (e *BPE) encode(text string, emit func([]int)) {
	cache := e.cache.Get().(pieceCache)
	defer e.cache.Put(cache)
	for {
		i := strings.Index(text, EndOfText)
		seg := text
		if i >= 0 {
			seg = text[:i]
		}
		splitPieces(seg, func(p string) {
			if ids, ok := cache[p]; ok {
				emit(ids)
				return
			}
			ids := e.merge(p)
			if len(cache) >= maxCache {
				clear(cache)
			}
			cache[strings.Clone(p)] = ids
			emit(ids)
		})
		if i < 0 {
			return
		}
		emit([]int{EndOfTextID})
		text = text[i+len(EndOfText):]
	}
}

// merge applies byte-pair merges to one piece, lowest rank first (the
// tiktoken algorithm).
func (e *BPE) merge(p string) []int {
	if r, ok := e.ranks[p]; ok {
		return []int{r}
	}
	// parts[i] is the start offset of part i; a sentinel closes the last.
	parts := make([]int, len(p)+1)
	for i := range parts {
		parts[i] = i
	}
	const none = int(^uint(0) >> 1)
	rank := func(i int) int { // rank of merging parts i and i+1
		if i+2 >= len(parts) {
			return none
		}
		if r, ok := e.ranks[p[parts[i]:parts[i+2]]]; ok {
			return r
		}
		return none
	}
	ranks := make([]int, len(parts)-1)
	for i := range ranks {
		ranks[i] = rank(i)
	}
	for len(parts) > 2 {
		best, at := none, -1
		for i, r := range ranks[:len(parts)-2] {
			if r < best {
				best, at = r, i
			}
		}
		if at < 0 {
			break
		}
		parts = append(parts[:at+1], parts[at+2:]...)
		ranks = append(ranks[:at+1], ranks[at+2:]...)
		ranks[at] = rank(at)
		if at > 0 {
			ranks[at-1] = rank(at - 1)
		}
	}
	ids := make([]int, len(parts)-1)
	for i := range ids {
		r, ok := e.ranks[p[parts[i]:parts[i+1]]]
		if !ok {
			// Every single byte has a rank in GPT-2's table; this cannot
			// happen with the real ranks.
			panic(fmt.Sprintf("tokens: no rank for %q", p[parts[i]:parts[i+1]]))
		}
		ids[i] = r
	}
	return ids
}

// splitPieces splits text as GPT-2's pre-tokenizer regular expression
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// does, alternative by alternative, leftmost first.
func splitPieces(text string, emit func(string)) {
	i := 0
	for i < len(text) {
		n := pieceLen(text[i:])
		emit(text[i : i+n])
		i += n
	}
}

type class uint8

const (
	clsOther class = iota
	clsLetter
	clsNumber
	clsSpace
)

func classOf(r rune) class {
	if r < utf8.RuneSelf {
		return asciiClass[r]
	}
	switch {
	case unicode.IsLetter(r):
		return clsLetter
	case unicode.IsNumber(r):
		return clsNumber
	case unicode.IsSpace(r):
		return clsSpace
	}
	return clsOther
}

var asciiClass = func() (t [utf8.RuneSelf]class) {
	for r := rune(0); r < utf8.RuneSelf; r++ {
		switch {
		case unicode.IsLetter(r):
			t[r] = clsLetter
		case unicode.IsNumber(r):
			t[r] = clsNumber
		case unicode.IsSpace(r):
			t[r] = clsSpace
		}
	}
	return t
}()

func decode(s string) (rune, int) {
	if s[0] < utf8.RuneSelf {
		return rune(s[0]), 1
	}
	return utf8.DecodeRuneInString(s)
}

// run returns the byte length of the longest prefix of s whose runes all
// satisfy in.
func run(s string, in func(class) bool) int {
	n := 0
	for n < len(s) {
		r, w := decode(s[n:])
		if !in(classOf(r)) {
			break
		}
		n += w
	}
	return n
}

func isLetter(c class) bool { return c == clsLetter }
func isNumber(c class) bool { return c == clsNumber }
func isOther(c class) bool  { return c == clsOther }
func isSpaceC(c class) bool { return c == clsSpace }

// pieceLen returns the length of the piece at the start of s (len(s) > 0).
func pieceLen(s string) int {
	if s[0] == '\'' && len(s) >= 2 {
		switch s[1] {
		case 's', 't', 'm', 'd':
			return 2
		case 'r':
			if len(s) >= 3 && s[2] == 'e' {
				return 3
			}
		case 'v':
			if len(s) >= 3 && s[2] == 'e' {
				return 3
			}
		case 'l':
			if len(s) >= 3 && s[2] == 'l' {
				return 3
			}
		}
	}
	start := 0
	if s[0] == ' ' && len(s) > 1 {
		start = 1
	}
	r, _ := decode(s[start:])
	switch c := classOf(r); {
	case c == clsLetter:
		return start + run(s[start:], isLetter)
	case c == clsNumber:
		return start + run(s[start:], isNumber)
	case c == clsOther:
		return start + run(s[start:], isOther)
	}
	// Whitespace: \s+(?!\S) takes the run but leaves its last character
	// when a non-space follows (so that it can prefix the next word), and
	// \s+ takes a lone space before a non-space.
	n := run(s, isSpaceC)
	if n == len(s) {
		return n
	}
	_, lastW := utf8.DecodeLastRuneInString(s[:n])
	if n-lastW > 0 {
		return n - lastW
	}
	return n
}
