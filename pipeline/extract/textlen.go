package extract

import (
	"unicode/utf8"

	"github.com/datarefine/refine/pipeline/extract/dom"
)

// Most of trafilatura's text measures are lengths of trimmed or joined text
// (len(trim(element.text_content())), len(' '.join(itertext()).strip())).
// They are computed here while walking the text, without building it.

// asciiSpace is isSpace for ASCII.
var asciiSpace = func() (t [128]bool) {
	for c := range t {
		t[c] = isSpace(rune(c))
	}
	return t
}()

// wordCounter counts the characters of trim() of a text fed in pieces.
type wordCounter struct {
	chars, words int
	inWord       bool
}

func (w *wordCounter) feed(s string) {
	for i := 0; i < len(s); {
		c := s[i]
		var sp bool
		if c < 0x80 {
			sp = asciiSpace[c]
			i++
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			sp = isSpace(r)
			i += size
		}
		if sp {
			w.inWord = false
			continue
		}
		if !w.inWord {
			w.words++
			w.inWord = true
		}
		w.chars++
	}
}

// sep is a word break between pieces (a joining space).
func (w *wordCounter) sep() { w.inWord = false }

func (w *wordCounter) len() int {
	if w.words == 0 {
		return 0
	}
	return w.chars + w.words - 1
}

// trimmedLen is len(trim(e.text_content())).
func trimmedLen(e *dom.Node) int {
	var w wordCounter
	e.IterText(w.feed)
	return w.len()
}

// trimmedJoinLen is len(trim(' '.join(e.itertext()))).
func trimmedJoinLen(e *dom.Node) int {
	var w wordCounter
	e.IterTextAll(func(s string) {
		w.sep()
		w.feed(s)
	})
	return w.len()
}

// stripJoinLen is len(' '.join(e.itertext()).strip()).
func stripJoinLen(e *dom.Node) int {
	total, lead, trail := 0, 0, 0
	seen := false // a non-space character was met
	first := true
	add := func(r rune) {
		total++
		if isSpace(r) {
			if !seen {
				lead++
			}
			trail++
			return
		}
		seen = true
		trail = 0
	}
	e.IterTextAll(func(s string) {
		if !first {
			add(' ')
		}
		first = false
		for _, r := range s {
			add(r)
		}
	})
	if !seen {
		return 0
	}
	return total - lead - trail
}

// appendTrimJoin appends trim(' '.join(e.itertext())) to b.
func appendTrimJoin(b []byte, e *dom.Node) []byte {
	start := len(b)
	inWord := false
	e.IterTextAll(func(s string) {
		inWord = false
		for i := 0; i < len(s); {
			c := s[i]
			size := 1
			var sp bool
			if c < 0x80 {
				sp = asciiSpace[c]
			} else {
				var r rune
				r, size = utf8.DecodeRuneInString(s[i:])
				sp = isSpace(r)
			}
			if sp {
				inWord = false
			} else {
				if !inWord && len(b) > start {
					b = append(b, ' ')
				}
				inWord = true
				b = append(b, s[i:i+size]...)
			}
			i += size
		}
	})
	return b
}

// countByte counts c in e's text content.
func countByte(e *dom.Node, c byte) int {
	n := 0
	e.IterText(func(s string) {
		for i := 0; i < len(s); i++ {
			if s[i] == c {
				n++
			}
		}
	})
	return n
}
