package words

import (
	"strings"
	"unicode/utf8"
)

// The three finders below reproduce, without regexes, spaCy's compiled
// prefix_search, suffix_search and infix_finditer for English
// (spacy/lang/punctuation.py TOKENIZER_PREFIXES / TOKENIZER_SUFFIXES and
// spacy/lang/en/punctuation.py TOKENIZER_INFIXES). Python's re picks, at the
// leftmost position that matches, the first alternative that matches; the
// comments say how that order shows through.

// unitSet holds the UNITS and CURRENCY alternatives of the suffix rules
// (?<=[0-9])(?:units)$ and (?<=[0-9])(?:currency)$.
var unitSet = func() map[string]struct{} {
	m := make(map[string]struct{}, len(unitSuffixes))
	for _, u := range unitSuffixes {
		m[u] = struct{}{}
	}
	return m
}()

// findPrefix returns the byte length of the prefix spaCy splits off s, or 0.
// The prefix regex is anchored at ^ and alternatives are tried in list
// order, so the first listed alternative that matches decides the length.
func findPrefix(s string) int {
	if len(s) == 0 {
		return 0
	}
	c := s[0]
	if c == '.' {
		// \.\.+ (LIST_ELLIPSES): no earlier alternative starts with '.'.
		n := 1
		for n < len(s) && s[n] == '.' {
			n++
		}
		if n >= 2 {
			return n
		}
		return 0
	}
	if c == '+' {
		// \+(?![0-9])
		if len(s) > 1 && isASCIIDigit(rune(s[1])) {
			return 0
		}
		return 1
	}
	// Multi-character currency symbols; U, C and A start no other prefix.
	switch c {
	case 'U':
		if strings.HasPrefix(s, "US$") {
			return 3
		}
		return 0
	case 'C', 'A':
		if len(s) > 1 && s[1] == '$' {
			return 2
		}
		return 0
	}
	// "……" is listed after "…", so a single "…" always wins.
	r, n := runeAt(s, 0)
	if has(r, fPrefix1|fIcon) {
		return n
	}
	return 0
}

// findSuffix returns the byte length of the suffix spaCy splits off s, or 0.
// Every suffix alternative is anchored at $, and re.search reports the
// leftmost match, so the result is the longest matching alternative.
func findSuffix(s string) int {
	if len(s) == 0 {
		return 0
	}
	best := 0
	last, n := runeBefore(s, len(s))
	if has(last, fSuffix1|fIcon) {
		best = n
	}
	switch last {
	case '.':
		dots := 0
		for dots < len(s) && s[len(s)-1-dots] == '.' {
			dots++
		}
		if dots >= 2 { // \.\.+$
			best = max(best, dots)
		}
		p, pn := runeBefore(s, len(s)-1)
		if pn > 0 {
			switch {
			case has(p, fSufDotPrev): // (?<=[0-9{al}{e}{p}(?:{q})])\.
				best = max(best, 1)
			case strings.ContainsRune("FfCcKk", p) && strings.HasSuffix(s[:len(s)-1-pn], "°"): // (?<=°[FfCcKk])\.
				best = max(best, 1)
			default:
				if has(p, fUpper) { // (?<=[{au}][{au}])\.
					if pp, ppn := runeBefore(s, len(s)-1-pn); ppn > 0 && has(pp, fUpper) {
						best = max(best, 1)
					}
				}
			}
		}
	case '…':
		if strings.HasSuffix(s, "……") {
			best = max(best, len("……"))
		}
	case 's', 'S':
		if strings.HasSuffix(s, "'s") || strings.HasSuffix(s, "'S") {
			best = max(best, 2)
		} else if strings.HasSuffix(s, "’s") || strings.HasSuffix(s, "’S") {
			best = max(best, len("’s"))
		}
	case '+':
		if len(s) >= 2 && isASCIIDigit(rune(s[len(s)-2])) { // (?<=[0-9])\+
			best = max(best, 1)
		}
	}
	// (?<=[0-9])(?:UNITS|CURRENCY)$: no unit contains an ASCII digit, so the
	// only candidate is the text after the last digit.
	for d := len(s) - 2; d >= 0 && len(s)-1-d <= maxUnitLen; d-- {
		if isASCIIDigit(rune(s[d])) {
			if _, ok := unitSet[s[d+1:]]; ok {
				best = max(best, len(s)-1-d)
			}
			break
		}
	}
	return best
}

// maxUnitLen is the byte length of the longest unit or currency symbol.
var maxUnitLen = func() int {
	m := 0
	for _, u := range unitSuffixes {
		m = max(m, len(u))
	}
	return m
}()

// asciiInfixStart marks the ASCII characters an infix match can start with
// (no ASCII character is an icon).
var asciiInfixStart = func() (t [utf8.RuneSelf]bool) {
	for _, c := range ".+-*^,:<>=/~" {
		t[c] = true
	}
	return t
}()

// hyphenInfixes are the HYPHENS alternatives of the infix rule
// (?<=[{a}0-9])(?:{h})(?=[{a}]), in their regex order.
var hyphenInfixes = [...]string{"-", "–", "—", "--", "---", "——", "~"}

// nextInfix finds the first infix match of s at or after byte offset from,
// as infix_finditer would report it; lookbehinds see all of s.
func nextInfix(s string, from int) (start, end int, ok bool) {
	for pos := from; pos < len(s); {
		if c := s[pos]; c < utf8.RuneSelf && !asciiInfixStart[c] {
			pos++
			continue
		}
		r, n := runeAt(s, pos)
		if e := infixAt(s, pos, r, n); e > pos {
			return pos, e, true
		}
		pos += n
	}
	return 0, 0, false
}

// infixAt returns the end of the infix match starting at pos (whose rune is
// r of n bytes), or pos when none matches there.
func infixAt(s string, pos int, r rune, n int) int {
	switch r {
	case '.':
		// \.\.+
		if pos+1 < len(s) && s[pos+1] == '.' {
			e := pos + 2
			for e < len(s) && s[e] == '.' {
				e++
			}
			return e
		}
		// (?<=[{al}{q}])\.(?=[{au}{q}])
		p, pn := runeBefore(s, pos)
		q, qn := runeAt(s, pos+1)
		if pn > 0 && qn > 0 && has(p, fLower|fQuote) && has(q, fUpper|fQuote) {
			return pos + 1
		}
		return pos
	case '…':
		return pos + n
	}
	if has(r, fIcon) {
		return pos + n
	}
	p, pn := runeBefore(s, pos)
	if pn == 0 {
		return pos
	}
	switch r {
	case '+', '-', '*', '^':
		// (?<=[0-9])[+\-\*^](?=[0-9-])
		if isASCIIDigit(p) && pos+1 < len(s) && (isASCIIDigit(rune(s[pos+1])) || s[pos+1] == '-') {
			return pos + 1
		}
	case ',':
		// (?<=[{a}]),(?=[{a}])
		if q, qn := runeAt(s, pos+1); qn > 0 && has(p, fAlpha) && has(q, fAlpha) {
			return pos + 1
		}
		return pos
	case ':', '<', '>', '=', '/':
		// (?<=[{a}0-9])[:<>=/](?=[{a}])
		if q, qn := runeAt(s, pos+1); qn > 0 && (has(p, fAlpha) || isASCIIDigit(p)) && has(q, fAlpha) {
			return pos + 1
		}
		return pos
	}
	// (?<=[{a}0-9])(?:-|–|—|--|---|——|~)(?=[{a}])
	if r == '-' || r == '–' || r == '—' || r == '~' {
		if !has(p, fAlpha) && !isASCIIDigit(p) {
			return pos
		}
		for _, h := range hyphenInfixes {
			if strings.HasPrefix(s[pos:], h) {
				if q, qn := runeAt(s, pos+len(h)); qn > 0 && has(q, fAlpha) {
					return pos + len(h)
				}
			}
		}
	}
	return pos
}
