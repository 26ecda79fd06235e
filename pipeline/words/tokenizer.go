package words

import (
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// span is one token: the byte offsets of its text in the tokenized string.
// Every spaCy token of our configuration is a substring of the input (a
// special case's pieces concatenate to the text they replace), so offsets
// are enough and token strings share the input's memory.
type span struct{ start, end int32 }

// special is one tokenizer exception: the string and where its pieces end.
type special struct {
	text string
	cuts []int // end offset of each piece within text
}

// specials maps an exception string to its pieces (spaCy's _specials).
// specialBloom and specialMaxLen give a cheap pre-check before the map
// lookup (most words are no special case).
var (
	specials      map[string]*special
	specialBloom  bloom
	specialMaxLen int
)

// bloom is a set of (length, first byte, last byte) signatures of strings;
// a string whose signature is absent is not in the set. 32 KiB, so that
// it stays in a fast cache.
type bloom [16][256]uint64

func (b *bloom) add(s string) {
	last := s[len(s)-1]
	b[len(s)&15][s[0]] |= 1 << (last & 63)
}

func (b *bloom) mayHave(s string) bool {
	last := s[len(s)-1]
	return b[len(s)&15][s[0]]&(1<<(last&63)) != 0
}

func init() { specials = buildSpecials() }

func buildSpecials() map[string]*special {
	m := make(map[string]*special, len(tokenizerExceptions))
	for k, pieces := range tokenizerExceptions {
		specialBloom.add(k)
		specialMaxLen = max(specialMaxLen, len(k))
		sp := &special{text: k}
		off := 0
		for _, p := range pieces {
			off += len(p)
			sp.cuts = append(sp.cuts, off)
		}
		m[k] = sp
	}
	return m
}

// lookupSpecialString returns the special case spelled s, if any.
func lookupSpecialString(s string) *special {
	if len(s) == 0 || len(s) > specialMaxLen {
		return nil
	}
	if !specialBloom.mayHave(s) {
		return nil
	}
	return specials[s]
}

// phrasePattern is a special case whose string the affix rules would split:
// spaCy's Tokenizer adds these to a PhraseMatcher (faster_heuristics) and
// re-merges their tokens after tokenization (_apply_special_cases).
type phrasePattern struct {
	key    string   // the special-case string
	tokens []string // its tokenization without special cases
}

// patternsByFirst indexes the phrase patterns by their first token;
// maxFirstLen bounds the first-token lengths, to skip the map lookup for
// longer tokens, and firstBloom screens tokens before it. All are set by
// init (they need the tokenizer itself).
var (
	patternsByFirst map[string][]phrasePattern
	maxFirstLen     int
	firstBloom      bloom
)

func init() {
	// Runs after the init that fills specials (same file, source order).
	patternsByFirst, maxFirstLen = buildPhrasePatterns()
}

func buildPhrasePatterns() (map[string][]phrasePattern, int) {
	m := map[string][]phrasePattern{}
	keys := make([]string, 0, len(specials))
	for k := range specials {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if findPrefix(k) == 0 && findSuffix(k) == 0 && !hasInfix(k) && !strings.Contains(k, " ") {
			continue
		}
		var tk tokenizer
		tk.run(k, false)
		toks := make([]string, len(tk.toks))
		for i, t := range tk.toks {
			toks[i] = k[t.start:t.end]
		}
		if len(toks) == 1 && len(specials[k].cuts) == 1 {
			// A one-token pattern whose special case is that same token
			// replaces a token by itself, and being shorter than every
			// other pattern it cannot keep one from being applied: it
			// never changes the output (English has " ", "'", "’", "—").
			continue
		}
		m[toks[0]] = append(m[toks[0]], phrasePattern{key: k, tokens: toks})
	}
	n := 0
	for k := range m {
		n = max(n, len(k))
		firstBloom.add(k)
	}
	return m, n
}

func hasInfix(s string) bool {
	_, _, ok := nextInfix(s, 0)
	return ok
}

// tokenizer holds the scratch state of one tokenization.
type tokenizer struct {
	text     string
	toks     []span
	suffixes []span
	matches  []phraseMatch
	kept     []phraseMatch
	seen     []bool
	out      []span
}

// run tokenizes text into t.toks, like spaCy's Tokenizer.__call__
// (_tokenize_affixes followed by _apply_special_cases). withSpecials=false
// gives the plain affix tokenization spaCy uses to build phrase patterns.
func (t *tokenizer) run(text string, withSpecials bool) {
	t.text = text
	t.toks = t.toks[:0]
	if len(text) == 0 {
		return
	}
	// Split into alternating runs of space and non-space characters. A run
	// is tokenized on its own, except that a single ' ' right after a
	// non-space run only marks that token as followed by a space.
	r0, _ := runeAt(text, 0)
	inWS := isSpace(r0)
	start := 0
	for i := 0; i < len(text); {
		c := text[i]
		var ws bool
		size := 1
		if c < utf8.RuneSelf {
			ws = bmpFlags[c]&fSpace != 0
		} else {
			var r rune
			r, size = utf8.DecodeRuneInString(text[i:])
			ws = isSpace(r)
		}
		if ws != inWS {
			if start < i {
				t.chunk(start, i, withSpecials)
			}
			if c == ' ' {
				start = i + 1
			} else {
				start = i
			}
			inWS = !inWS
		}
		i += size
	}
	if start < len(text) {
		t.chunk(start, len(text), withSpecials)
	}
	if withSpecials {
		t.applyPhraseSpecials()
	}
}

func (t *tokenizer) push(a, b int) { t.toks = append(t.toks, span{int32(a), int32(b)}) }

// pushSpecial emits the pieces of special case sp found at offset at.
func (t *tokenizer) pushSpecial(sp *special, at int) {
	prev := 0
	for _, c := range sp.cuts {
		t.push(at+prev, at+c)
		prev = c
	}
}

func (t *tokenizer) lookupSpecial(s string, withSpecials bool) *special {
	if !withSpecials {
		return nil
	}
	return lookupSpecialString(s)
}

// chunk tokenizes text[lo:hi], one whitespace-delimited run: a special case
// as a whole, else affixes are peeled off (Tokenizer._split_affixes) and the
// rest is attached (Tokenizer._attach_tokens).
func (t *tokenizer) chunk(lo, hi int, withSpecials bool) {
	s := t.text
	if sp := t.lookupSpecial(s[lo:hi], withSpecials); sp != nil {
		t.pushSpecial(sp, lo)
		return
	}
	if onlyASCIILetters(s[lo:hi]) {
		// Fast path for plain words: letters start or end no affix, hold
		// no infix, and a URL needs a '.'; the special check was just done.
		t.push(lo, hi)
		return
	}
	t.suffixes = t.suffixes[:0]
	origLo, origHi := lo, hi
	lastSize := -1
	for hi > lo && hi-lo != lastSize {
		// The whole chunk was checked above.
		if withSpecials && (lo != origLo || hi != origHi) && lookupSpecialString(s[lo:hi]) != nil {
			break
		}
		lastSize = hi - lo
		pre := findPrefix(s[lo:hi])
		if pre != 0 && withSpecials && lo+pre < hi && lookupSpecialString(s[lo+pre:hi]) != nil {
			t.push(lo, lo+pre)
			lo += pre
			break
		}
		suf := findSuffix(s[lo+pre : hi])
		if suf != 0 && withSpecials && lo < hi-suf && lookupSpecialString(s[lo:hi-suf]) != nil {
			t.suffixes = append(t.suffixes, span{int32(hi - suf), int32(hi)})
			hi -= suf
			break
		}
		switch {
		case pre != 0 && suf != 0 && pre+suf <= hi-lo:
			t.push(lo, lo+pre)
			t.suffixes = append(t.suffixes, span{int32(hi - suf), int32(hi)})
			lo += pre
			hi -= suf
		case pre != 0:
			t.push(lo, lo+pre)
			lo += pre
		case suf != 0:
			t.suffixes = append(t.suffixes, span{int32(hi - suf), int32(hi)})
			hi -= suf
		}
	}
	if lo < hi {
		t.attach(lo, hi, withSpecials && (lo != origLo || hi != origHi))
	}
	for i := len(t.suffixes) - 1; i >= 0; i-- {
		t.toks = append(t.toks, t.suffixes[i])
	}
}

// attach emits the core text[lo:hi] left after affix splitting: a special
// case, a URL kept whole, or the pieces between infixes. checkSpecial is
// false when the core is known not to be a special case.
func (t *tokenizer) attach(lo, hi int, checkSpecial bool) {
	core := t.text[lo:hi]
	if sp := t.lookupSpecial(core, checkSpecial); sp != nil {
		t.pushSpecial(sp, lo)
		return
	}
	if onlyASCIILetters(core) {
		// No infix, and no URL without a '.'.
		t.push(lo, hi)
		return
	}
	if urlMatch(core) {
		t.push(lo, hi)
		return
	}
	start := 0
	for from := 0; ; {
		a, b, ok := nextInfix(core, from)
		if !ok {
			break
		}
		from = b
		// An infix at the very start is ignored (it stays in the next piece).
		if a == 0 {
			continue
		}
		if a != start {
			t.push(lo+start, lo+a)
		}
		t.push(lo+a, lo+b)
		start = b
	}
	if start < len(core) {
		t.push(lo+start, hi)
	}
}

// phraseMatch is a run of tokens [start,end) equal to a phrase pattern.
type phraseMatch struct {
	start, end int
	pat        *phrasePattern
}

// applyPhraseSpecials re-merges token runs that spell a special case which
// the affix rules split (Tokenizer._apply_special_cases): find all
// PhraseMatcher matches, keep the longest non-overlapping ones
// (_filter_special_spans), and replace each kept run whose text is exactly
// the special string by the special's pieces.
func (t *tokenizer) applyPhraseSpecials() {
	t.matches = t.matches[:0]
	s := t.text
	for i, tk := range t.toks {
		w := s[tk.start:tk.end]
		if len(w) > maxFirstLen || !firstBloom.mayHave(w) {
			continue
		}
		pats, ok := patternsByFirst[w]
		if !ok {
			continue
		}
		for pi := range pats {
			p := &pats[pi]
			if i+len(p.tokens) > len(t.toks) {
				continue
			}
			ok := true
			for j := 1; j < len(p.tokens); j++ {
				o := t.toks[i+j]
				if s[o.start:o.end] != p.tokens[j] {
					ok = false
					break
				}
			}
			if ok {
				t.matches = append(t.matches, phraseMatch{i, i + len(p.tokens), p})
			}
		}
	}
	if len(t.matches) == 0 {
		return
	}
	// Longest first; among equal lengths, leftmost first. A match is kept
	// when neither its first nor its last token was covered by a match seen
	// before it, kept or not.
	ms := t.matches
	slices.SortFunc(ms, func(a, b phraseMatch) int {
		if la, lb := a.end-a.start, b.end-b.start; la != lb {
			return lb - la
		}
		return a.start - b.start
	})
	if cap(t.seen) < len(t.toks) {
		t.seen = make([]bool, len(t.toks))
	}
	seen := t.seen[:len(t.toks)]
	kept := t.kept[:0]
	for _, m := range ms {
		if !seen[m.start] && !seen[m.end-1] {
			kept = append(kept, m)
		}
		for i := m.start; i < m.end; i++ {
			seen[i] = true
		}
	}
	clear(seen)
	t.kept = kept
	slices.SortFunc(kept, func(a, b phraseMatch) int { return a.start - b.start })
	t.out = t.out[:0]
	next := 0
	for _, m := range kept {
		t.out = append(t.out, t.toks[next:m.start]...)
		a, b := t.toks[m.start].start, t.toks[m.end-1].end
		// The span's text includes the whitespace between its tokens; only
		// when it equals the special string is there a rule to apply.
		if s[a:b] == m.pat.key {
			sp := specials[m.pat.key]
			prev := 0
			for _, c := range sp.cuts {
				t.out = append(t.out, span{a + int32(prev), a + int32(c)})
				prev = c
			}
		} else {
			t.out = append(t.out, t.toks[m.start:m.end]...)
		}
		next = m.end
	}
	t.out = append(t.out, t.toks[next:]...)
	t.toks, t.out = t.out, t.toks
}

// onlyASCIILetters reports whether s is made of ASCII letters only.
func onlyASCIILetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}
