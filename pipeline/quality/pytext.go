package quality

import (
	"bytes"
	"sort"
	"unicode"
	"unicode/utf8"
)

// This file reproduces the few Python str semantics the datatrove filters
// depend on. Go's strings package differs in small ways that change filter
// decisions on real pages: len() counts code points, str.strip() and
// str.split() use Unicode whitespace including U+001C..U+001F, and
// str.splitlines() breaks on more than "\n".

// pyLen is Python's len(str): the number of code points.
func pyLen(s string) int { return utf8.RuneCountInString(s) }

// pyIsSpace is Python's str.isspace() for one character. It is Go's
// unicode.IsSpace plus the information separators U+001C..U+001F, which
// Python treats as whitespace (bidirectional class B or S).
func pyIsSpace(r rune) bool {
	if r < utf8.RuneSelf {
		switch r {
		case ' ', '\t', '\n', '\v', '\f', '\r', 0x1c, 0x1d, 0x1e, 0x1f:
			return true
		}
		return false
	}
	return unicode.IsSpace(r)
}

// pyStrip is Python's str.strip() without arguments.
func pyStrip(s string) string { return pyRStrip(pyLStrip(s)) }

// pyLStrip is Python's str.lstrip() without arguments.
func pyLStrip(s string) string {
	for len(s) > 0 {
		c := s[0]
		if c < utf8.RuneSelf {
			if !pyIsSpace(rune(c)) {
				return s
			}
			s = s[1:]
			continue
		}
		r, n := utf8.DecodeRuneInString(s)
		if !pyIsSpace(r) {
			return s
		}
		s = s[n:]
	}
	return s
}

// pyRStrip is Python's str.rstrip() without arguments.
func pyRStrip(s string) string {
	for len(s) > 0 {
		c := s[len(s)-1]
		if c < utf8.RuneSelf {
			if !pyIsSpace(rune(c)) {
				return s
			}
			s = s[:len(s)-1]
			continue
		}
		r, n := utf8.DecodeLastRuneInString(s)
		if !pyIsSpace(r) {
			return s
		}
		s = s[:len(s)-n]
	}
	return s
}

// pyIsBlank reports whether s.strip() == "".
func pyIsBlank(s string) bool { return pyLStrip(s) == "" }

// pyFields calls fn for each word of Python's str.split() (no arguments):
// runs of non-whitespace. It stops early when fn returns false.
func pyFields(s string, fn func(word string) bool) {
	start := -1
	for i := 0; i < len(s); {
		r, n := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(s[i:])
		}
		if pyIsSpace(r) {
			if start >= 0 {
				if !fn(s[start:i]) {
					return
				}
				start = -1
			}
		} else if start < 0 {
			start = i
		}
		i += n
	}
	if start >= 0 {
		fn(s[start:])
	}
}

// pySplitLines calls fn for each line of Python's str.splitlines(): lines
// break at \n, \r, \r\n, \v, \f, \x1c, \x1d, \x1e, \x85, U+2028 and U+2029,
// the break is not part of the line, and a final break adds no empty line.
func pySplitLines(s string, fn func(line string)) {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		brk := 0 // length of the line break at i, 0 if none
		switch {
		case c == '\n' || c == '\v' || c == '\f' || c == 0x1c || c == 0x1d || c == 0x1e:
			brk = 1
		case c == '\r':
			brk = 1
			if i+1 < len(s) && s[i+1] == '\n' {
				brk = 2
			}
		case c == 0xc2 && i+1 < len(s) && s[i+1] == 0x85: // U+0085
			brk = 2
		case c == 0xe2 && i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xa8 || s[i+2] == 0xa9): // U+2028, U+2029
			brk = 3
		}
		if brk == 0 {
			i++
			continue
		}
		fn(s[start:i])
		i += brk
		start = i
	}
	if start < len(s) {
		fn(s[start:])
	}
}

// inRuneTable reports whether r is in the sorted table.
func inRuneTable(table []rune, r rune) bool {
	i := sort.Search(len(table), func(i int) bool { return table[i] >= r })
	return i < len(table) && table[i] == r
}

// asciiPunct caches punctuationSet membership for ASCII and Latin-1, the
// characters nearly every word is made of.
var latinPunct = func() (t [256]bool) {
	for r := rune(0); r < 256; r++ {
		t[r] = inRuneTable(punctuationSet[:], r)
	}
	return t
}()

func isPunct(r rune) bool {
	if r < 256 {
		return latinPunct[r]
	}
	return inRuneTable(punctuationSet[:], r)
}

func isTerminalPunct(r rune) bool {
	switch r {
	case '.', '!', '?':
		return true
	}
	if r < 0x0589 {
		return false
	}
	return inRuneTable(terminalPunctuation[:], r)
}

// pyIsAlpha is Python's str.isalpha() for one character: categories Lu, Ll,
// Lt, Lm, Lo, exactly Go's unicode.IsLetter.
func pyIsAlpha(r rune) bool {
	if r < utf8.RuneSelf {
		return ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')
	}
	return unicode.IsLetter(r)
}

// lowerForASCIINeedles appends s to dst lowercased as Python's str.lower()
// would, as far as matching ASCII needles (e.g. "javascript") can tell: ASCII
// letters are lowered, U+212A KELVIN SIGN becomes "k" and U+0130 becomes
// "i\u0307" (Python's full case mapping; Go's simple mapping would give a bare
// "i" and match where Python does not). Every other character lowercases to a
// non-ASCII character in Python, so it is kept as is: its UTF-8 bytes can
// never be part of an ASCII match either way.
func lowerForASCIINeedles(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z':
			dst = append(dst, c+('a'-'A'))
			i++
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			switch r {
			case 0x212A:
				dst = append(dst, 'k')
			case 0x0130:
				dst = append(dst, 'i', 0xcc, 0x87)
			default:
				dst = append(dst, s[i:i+n]...)
			}
			i += n
		}
	}
	return dst
}

// containsAny reports whether s contains any of needles.
func containsAny(s []byte, needles [][]byte) bool {
	for _, n := range needles {
		if bytes.Contains(s, n) {
			return true
		}
	}
	return false
}
