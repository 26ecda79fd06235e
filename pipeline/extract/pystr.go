package extract

import (
	"html"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/datarefine/refine/pipeline/extract/dom"
)

// Python string semantics the extraction depends on: lengths are counted
// in characters, white space is str.isspace, trim is trafilatura's
// ' '.join(s.split()).

// isSpace is Python's str.isspace for one character.
func isSpace(r rune) bool { return dom.IsPySpace(r) }

// pyLen is Python's len() of a str.
func pyLen(s string) int { return dom.RuneLen(s) }

// trim is trafilatura's trim: white space runs collapsed to one space,
// ends removed.
func trim(s string) string {
	// fast path: nothing to change
	clean := true
	prevSpace := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			clean = false
			break
		}
		sp := c == ' ' || c >= '\t' && c <= '\r' || c >= 0x1c && c <= 0x1f
		if sp && (c != ' ' || prevSpace) {
			clean = false
			break
		}
		prevSpace = sp
	}
	if clean && !prevSpace {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	inWord := false
	for _, r := range s {
		if isSpace(r) {
			inWord = false
			continue
		}
		if !inWord && b.Len() > 0 {
			b.WriteByte(' ')
		}
		inWord = true
		b.WriteRune(r)
	}
	return b.String()
}

// pyStrip is Python's str.strip().
func pyStrip(s string) string {
	return strings.TrimFunc(s, isSpace)
}

// textCharsTest is trafilatura's text_chars_test: not empty and not only
// white space.
func textCharsTest(s string) bool {
	for _, r := range s {
		if !isSpace(r) {
			return true
		}
	}
	return false
}

// pySplit is Python's str.split() with no argument.
func pySplit(s string) []string {
	return strings.FieldsFunc(s, isSpace)
}

// isLineBreak: the separators of Python's str.splitlines.
func isLineBreak(r rune) bool {
	switch r {
	case '\n', '\r', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
		return true
	}
	return false
}

// isWordChar is `\w` of Python's re on str: alphanumeric or underscore.
func isWordChar(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r)
}

// foldPy maps s for case-insensitive matching of ASCII words the way
// Python's re.IGNORECASE does: ASCII letters to lower case, and the
// characters Unicode case folding relates to ASCII letters (ı and İ to i,
// ſ to s, the Kelvin sign to k); every other non-ASCII character becomes
// 0x01 so that it matches no ASCII word.
func foldPy(s string) string {
	ascii := true
	lower := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
		if s[i] >= 'A' && s[i] <= 'Z' {
			lower = false
		}
	}
	if ascii && lower {
		return s
	}
	b := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z':
			b = append(b, byte(r)+0x20)
		case r < 0x80:
			b = append(b, byte(r))
		case r == 0x130 || r == 0x131:
			b = append(b, 'i')
		case r == 0x17f:
			b = append(b, 's')
		case r == 0x212a:
			b = append(b, 'k')
		default:
			b = append(b, 1)
		}
	}
	return string(b)
}

// containsAny reports whether the folded s contains one of the words.
func containsAny(folded string, words []string) bool {
	for _, w := range words {
		if strings.Contains(folded, w) {
			return true
		}
	}
	return false
}

// pyUnescape is Python's html.unescape: HTML5 character references, with
// Python's handling of numeric ones (Windows-1252 for 0x80-0x9F, U+FFFD for
// surrogates and out-of-range values, nothing for control characters and
// non-characters). Named references resolve through the standard library's
// HTML5 table, which is the same list.
func pyUnescape(s string) string {
	if strings.IndexByte(s, '&') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	i := 0
	for {
		k := strings.IndexByte(s[i:], '&')
		if k < 0 {
			b.WriteString(s[i:])
			return b.String()
		}
		b.WriteString(s[i : i+k])
		i += k
		n, repl := charRef(s[i:])
		if n == 0 {
			b.WriteByte('&')
			i++
			continue
		}
		b.WriteString(repl)
		i += n
	}
}

// charRef matches `&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)`
// at the start of s and returns the match length and its replacement.
func charRef(s string) (int, string) {
	if len(s) < 2 {
		return 0, ""
	}
	if s[1] == '#' {
		j := 2
		hex := false
		if j < len(s) && (s[j] == 'x' || s[j] == 'X') {
			hex = true
			j++
		}
		start := j
		num := 0
		big := false
		for j < len(s) {
			c := s[j]
			var d int
			switch {
			case c >= '0' && c <= '9':
				d = int(c - '0')
			case hex && c >= 'a' && c <= 'f':
				d = int(c-'a') + 10
			case hex && c >= 'A' && c <= 'F':
				d = int(c-'A') + 10
			default:
				d = -1
			}
			if d < 0 {
				break
			}
			if hex {
				num = num*16 + d
			} else {
				num = num*10 + d
			}
			if num > 0x10FFFF {
				big = true
				num = 0x110000
			}
			j++
		}
		if j == start {
			return 0, ""
		}
		if j < len(s) && s[j] == ';' {
			j++
		}
		if big {
			return j, "\uFFFD"
		}
		return j, numericRef(num)
	}
	// named: up to 32 characters other than \t \n \f space < & # ;
	j := 1
	for k := 0; k < 32 && j < len(s); k++ {
		r, size := utf8.DecodeRuneInString(s[j:])
		if r == '\t' || r == '\n' || r == '\f' || r == ' ' || r == '<' || r == '&' || r == '#' || r == ';' {
			break
		}
		j += size
	}
	if j == 1 {
		return 0, ""
	}
	if j < len(s) && s[j] == ';' {
		j++
	}
	return j, html.UnescapeString(s[:j])
}

// numericRef is the replacement of a numeric reference below 0x110000.
func numericRef(num int) string {
	if r, ok := invalidCharRefs[num]; ok {
		return string(r)
	}
	if num >= 0xD800 && num <= 0xDFFF {
		return "\uFFFD"
	}
	if num >= 1 && num <= 8 || num == 11 || num >= 14 && num <= 31 || num >= 127 && num <= 159 ||
		num >= 0xFDD0 && num <= 0xFDEF || num&0xFFFE == 0xFFFE {
		return ""
	}
	return string(rune(num))
}

// invalidCharRefs is Python's html._invalid_charrefs.
var invalidCharRefs = map[int]rune{
	0x00: '\uFFFD', 0x0d: '\r', 0x80: '\u20ac', 0x81: '\x81', 0x82: '\u201a', 0x83: '\u0192',
	0x84: '\u201e', 0x85: '\u2026', 0x86: '\u2020', 0x87: '\u2021', 0x88: '\u02c6', 0x89: '\u2030',
	0x8a: '\u0160', 0x8b: '\u2039', 0x8c: '\u0152', 0x8d: '\x8d', 0x8e: '\u017d', 0x8f: '\x8f',
	0x90: '\x90', 0x91: '\u2018', 0x92: '\u2019', 0x93: '\u201c', 0x94: '\u201d', 0x95: '\u2022',
	0x96: '\u2013', 0x97: '\u2014', 0x98: '\u02dc', 0x99: '\u2122', 0x9a: '\u0161', 0x9b: '\u203a',
	0x9c: '\u0153', 0x9d: '\x9d', 0x9e: '\u017e', 0x9f: '\u0178',
}

// keepChar is what trafilatura's remove_control_characters keeps:
// printable characters and white space (it drops control, format,
// surrogate, private-use and unassigned characters).
func keepChar(r rune) bool {
	if r < 0x80 {
		return r >= 0x20 && r < 0x7f || r >= '\t' && r <= '\r' || r >= 0x1c && r <= 0x1f
	}
	if isSpace(r) {
		return true
	}
	return !unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs) &&
		unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z)
}
