package dedup

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// punctuation is datatrove's PUNCTUATION (utils/text.py): 66 symbols plus
// the control characters 0–8, 11–31 and 127–159 (tab and newline are not in
// it). simplify_text turns each of them into a space.
const punctuationSymbols = "!/—”:％１〈&(、━\\【#%「」，】；+^]~“《„';’{|∶´[=-`*．（–？！：$～«〉,><》)?）。…@_.\"}►»"

var punctuation = func() map[rune]bool {
	m := make(map[rune]bool, 129)
	for _, r := range punctuationSymbols {
		m[r] = true
	}
	for _, span := range [][2]rune{{0, 9}, {11, 13}, {13, 32}, {127, 160}} {
		for r := span[0]; r < span[1]; r++ {
			m[r] = true
		}
	}
	return m
}()

// asciiPunct mirrors punctuation for the ASCII range, the hot path.
var asciiPunct = func() (t [128]bool) {
	for r := range punctuation {
		if r < 128 {
			t[r] = true
		}
	}
	return t
}()

func isPunctuation(r rune) bool {
	if r < 128 {
		return asciiPunct[r]
	}
	return punctuation[r]
}

// numberSeparators are the decimal separators of datatrove's NUMBERS_PATTERN
// `\p{Nd}+([.,،٫⎖⎗⎘]{1}\p{Nd}+)?`.
func isNumberSeparator(r rune) bool {
	switch r {
	case '.', ',', '،', '٫', '⎖', '⎗', '⎘':
		return true
	}
	return false
}

// isPySpace is Python's str.isspace(), which `\s` and strip() use on str.
func isPySpace(r rune) bool {
	if r < 0x80 {
		return r == ' ' || (r >= '\t' && r <= '\r') || (r >= 0x1c && r <= 0x1f)
	}
	return r == 0x85 || r == 0xa0 || r == 0x2028 || r == 0x2029 || unicode.Is(unicode.Zs, r)
}

// Simplify is datatrove's simplify_text with the default TextNormConfig
// (what MinHash hashes): lowercase, numbers → "0", punctuation → space,
// whitespace runs → one space, NFD without nonspacing marks, strip.
func Simplify(text string) string {
	text = pyLower(text)
	text = replaceNumbersAndPunctuation(text)
	text = collapseSpaces(text)
	text = stripMarks(text)
	return strings.TrimFunc(text, isPySpace)
}

// pyLower is Python's str.lower(): full lowercasing, with the Greek final
// sigma rule (Σ → ς at the end of a word). Python's one multi-character
// mapping (İ → i + U+0307) differs from Go's only by a nonspacing mark that
// Simplify removes anyway.
func pyLower(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	if !strings.ContainsRune(s, 'Σ') {
		return strings.ToLower(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range s {
		if r == 'Σ' && isFinalSigma(s, i) {
			b.WriteRune('ς')
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// isFinalSigma is CPython's handle_capital_sigma: the Σ at byte i follows a
// cased letter and precedes none (case-ignorable characters skipped).
func isFinalSigma(s string, i int) bool {
	j := i
	before := false
	for j > 0 {
		r, n := utf8.DecodeLastRuneInString(s[:j])
		j -= n
		if !isCaseIgnorable(r) {
			before = isCased(r)
			break
		}
	}
	if !before {
		return false
	}
	for _, r := range s[i+len("Σ"):] {
		if !isCaseIgnorable(r) {
			return !isCased(r)
		}
	}
	return true
}

func isCased(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) ||
		unicode.Is(unicode.Other_Lowercase, r) || unicode.Is(unicode.Other_Uppercase, r)
}

func isCaseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', '^', '`', 0xad, 0xb7, 0x2018, 0x2019, 0x2024, 0x2027:
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}

// replaceNumbersAndPunctuation applies NUMBERS_PATTERN.sub("0") and then the
// punctuation translation in one scan: the two compose because a number
// match is replaced by "0", which is not punctuation, and every character
// outside a match is translated as before.
func replaceNumbersAndPunctuation(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r < utf8.RuneSelf && (r < '0' || r > '9') {
			if asciiPunct[r] {
				b.WriteByte(' ')
			} else {
				b.WriteByte(byte(r))
			}
			i += n
			continue
		}
		if isDigit(r) {
			i = skipDigits(s, i)
			// optional decimal part: one separator followed by digits
			if sep, m := utf8.DecodeRuneInString(s[i:]); isNumberSeparator(sep) {
				if d, _ := utf8.DecodeRuneInString(s[i+m:]); isDigit(d) {
					i = skipDigits(s, i+m)
				}
			}
			b.WriteByte('0')
			continue
		}
		if isPunctuation(r) {
			b.WriteByte(' ')
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func isDigit(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= '0' && r <= '9'
	}
	return unicode.Is(unicode.Nd, r)
}

func skipDigits(s string, i int) int {
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !isDigit(r) {
			break
		}
		i += n
	}
	return i
}

// collapseSpaces is WHITESPACE_PATTERN.sub(" ", text.strip()).
func collapseSpaces(s string) string {
	s = strings.TrimFunc(s, isPySpace)
	var b strings.Builder
	b.Grow(len(s))
	inSpace := false
	for _, r := range s {
		if isPySpace(r) {
			if !inSpace {
				b.WriteByte(' ')
				inSpace = true
			}
			continue
		}
		inSpace = false
		b.WriteRune(r)
	}
	return b.String()
}

// stripMarks is "".join(c for c in NFD(text) if category(c) != "Mn").
func stripMarks(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	d := norm.NFD.String(s)
	var b strings.Builder
	b.Grow(len(d))
	for _, r := range d {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}
