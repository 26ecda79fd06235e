package words

import (
	"sort"
	"unicode/utf8"
)

// charFlag marks the character classes the tokenizer rules look at. Each
// flag is one of spaCy's regex character classes (lang/char_classes.py),
// precomputed over all code points so that matching a class is one table
// load instead of a regex.
type charFlag uint16

const (
	fAlpha      charFlag = 1 << iota // ALPHA
	fLower                           // ALPHA_LOWER
	fUpper                           // ALPHA_UPPER
	fQuote                           // CONCAT_QUOTES
	fIcon                            // ICONS (LIST_ICONS)
	fSufDotPrev                      // lookbehind of the suffix rule (?<=[0-9{al}{e}{p}(?:{q})])\.
	fPrefix1                         // single-character literal prefixes
	fSuffix1                         // single-character literal suffixes
	fSpace                           // Python str.isspace
	fWord                            // Python re \w
	fDigit                           // Python re \d (Unicode decimal digit)
	fURLHost                         // [A-Za-z0-9\u00a1-\uffff] of URL_PATTERN
)

// bmpFlags holds the flags of every code point below U+10000; the few
// astral ranges are searched in astralFlags.
var bmpFlags [0x10000]charFlag

type astralRange struct {
	lo, hi rune
	flag   charFlag
}

var astralFlags []astralRange

func init() {
	for _, cr := range classRanges {
		for _, r := range cr.ranges {
			lo, hi := r[0], r[1]
			for c := lo; c <= hi && c < 0x10000; c++ {
				bmpFlags[c] |= cr.flag
			}
			if hi >= 0x10000 {
				if lo < 0x10000 {
					lo = 0x10000
				}
				astralFlags = append(astralFlags, astralRange{lo, hi, cr.flag})
			}
		}
	}
	sort.Slice(astralFlags, func(i, j int) bool { return astralFlags[i].lo < astralFlags[j].lo })
}

// flagsOf returns the class flags of r.
func flagsOf(r rune) charFlag {
	if r >= 0 && r < 0x10000 {
		return bmpFlags[r]
	}
	var f charFlag
	// Ranges of different flags overlap, so scan the (short) list.
	for _, a := range astralFlags {
		if a.lo > r {
			break
		}
		if r <= a.hi {
			f |= a.flag
		}
	}
	return f
}

func has(r rune, f charFlag) bool { return flagsOf(r)&f != 0 }

// isSpace reports Python's str.isspace for r.
func isSpace(r rune) bool { return r < 0x10000 && r >= 0 && bmpFlags[r]&fSpace != 0 }

func isASCIIDigit(r rune) bool { return r >= '0' && r <= '9' }

// runeBefore returns the rune ending at byte offset i of s (utf8.RuneError, 0
// at the start).
func runeBefore(s string, i int) (rune, int) {
	if i <= 0 {
		return utf8.RuneError, 0
	}
	if c := s[i-1]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeLastRuneInString(s[:i])
}

// runeAt returns the rune starting at byte offset i of s (utf8.RuneError, 0
// at the end).
func runeAt(s string, i int) (rune, int) {
	if i >= len(s) {
		return utf8.RuneError, 0
	}
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}
