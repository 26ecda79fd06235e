package urlfilter

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// stringSet is a read-only set of strings kept as spans of one backing
// string, sorted by hash. The UT1 adult domain list has millions of entries:
// a map[string]struct{} of them costs several hundred MB, this about 16
// bytes per entry on top of the file's text.
type stringSet struct {
	blob  string
	items []setItem
}

type setItem struct {
	hash     uint64
	off, len uint32
}

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// newStringSet builds a set of the given substrings of blob.
func newStringSet(blob string, spans [][2]int) stringSet {
	s := stringSet{blob: blob, items: make([]setItem, len(spans))}
	for i, sp := range spans {
		s.items[i] = setItem{hash: fnv64(blob[sp[0]:sp[1]]), off: uint32(sp[0]), len: uint32(sp[1] - sp[0])}
	}
	slices.SortFunc(s.items, func(a, b setItem) int {
		switch {
		case a.hash < b.hash:
			return -1
		case a.hash > b.hash:
			return 1
		}
		return 0
	})
	return s
}

func (s stringSet) has(x string) bool {
	h := fnv64(x)
	i, _ := slices.BinarySearchFunc(s.items, h, func(it setItem, h uint64) int {
		switch {
		case it.hash < h:
			return -1
		case it.hash > h:
			return 1
		}
		return 0
	})
	for ; i < len(s.items) && s.items[i].hash == h; i++ {
		it := s.items[i]
		if s.blob[it.off:it.off+it.len] == x {
			return true
		}
	}
	return false
}

func (s stringSet) size() int { return len(s.items) }

// parseRawList is datatrove's parse_list(lines, do_normalize=False) over the
// lines of a file: lines whose first character is "#" are skipped, the
// others are added stripped. As in datatrove, a blank line adds "" (which
// then matches URLs whose host has no registered domain).
func parseRawList(text string) stringSet {
	var spans [][2]int
	forLines(text, func(start, end int) {
		if start < end && text[start] == '#' {
			return
		}
		line := text[start:end]
		l := pyLStrip(line)
		st := start + len(line) - len(l)
		spans = append(spans, [2]int{st, st + len(pyRStrip(l))})
	})
	return newStringSet(text, spans)
}

// forLines calls fn with the bounds of each line of text as Python's text
// mode iterates them (universal newlines: "\n", "\r\n" and "\r" end a
// line); the line ending is left out. Python yields the ending with the
// line, so a blank line is one whose text is empty here.
func forLines(text string, fn func(start, end int)) {
	start := 0
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '\n':
			fn(start, i)
			start = i + 1
		case '\r':
			fn(start, i)
			if i+1 < len(text) && text[i+1] == '\n' {
				i++
			}
			start = i + 1
		}
	}
	if start < len(text) {
		fn(start, len(text))
	}
}

// normalize is datatrove's normalize(): remove every run of characters
// outside [a-zA-Z0-9] and lowercase.
func normalize(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			b.WriteByte(c)
		case 'A' <= c && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		}
	}
	return b.String()
}

// parseWordList is datatrove's parse_list(lines) with normalisation: lines
// starting with "#" are skipped, the others normalised.
func parseWordList(lines []string) map[string]struct{} {
	m := make(map[string]struct{}, len(lines))
	for _, l := range lines {
		if l != "" && l[0] == '#' {
			continue
		}
		m[normalize(l)] = struct{}{}
	}
	return m
}

// splitFileLines returns the lines of a text file as Python iterates them
// (universal newlines), each without its ending.
func splitFileLines(text string) []string {
	var out []string
	forLines(text, func(start, end int) { out = append(out, text[start:end]) })
	return out
}

func isAlnum(c byte) bool {
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

// pyIsSpace is Python's str.isspace() for one character.
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

func pyLStrip(s string) string {
	return strings.TrimLeftFunc(s, pyIsSpace)
}

func pyRStrip(s string) string {
	return strings.TrimRightFunc(s, pyIsSpace)
}

func pyStrip(s string) string { return pyRStrip(pyLStrip(s)) }
