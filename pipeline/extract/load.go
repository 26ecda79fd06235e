package extract

import (
	"strings"
	"unicode/utf8"

	"github.com/datarefine/refine/pipeline/extract/dom"
)

// loadHTML parses a page as trafilatura 1.8.1's load_html does with a
// string: two textual repairs first (repairFaultyHTML), then lxml's
// fromstring; a page whose first 50 characters do not mention "html" is
// rejected when its root has fewer than two children. nil means no tree.
//
// load_html also retries with the page encoded as bytes when the root has
// no children; lxml builds the same tree from the same text either way, so
// that retry cannot change the outcome and is not reproduced.
func loadHTML(a *dom.Arena, page string) (*dom.Node, *dom.Document) {
	beginning := strings.ToLower(prefixRunes(page, 50))
	dubious := !strings.Contains(beginning, "html")
	page = repairFaultyHTML(page, beginning)
	root, doc := a.FromString(page)
	if root != nil && dubious && root.Len() < 2 {
		return nil, doc
	}
	return root, doc
}

// prefixRunes returns the first n characters of s.
func prefixRunes(s string, n int) string {
	i := 0
	for k := range s {
		if i == n {
			return s[:k]
		}
		i++
	}
	return s
}

// repairFaultyHTML is trafilatura's repair_faulty_html:
//   - when the beginning mentions "doctype", the first line loses the
//     match of `^< ?! ?DOCTYPE.+?/ ?>` (case-insensitive): from a doctype
//     up to the first "/>" on that line, which on a one-line page can be
//     the end of any self-closing tag (and a newline is appended to a page
//     that has none);
//   - when one of the first four lines contains "<html" and ends with
//     "/>", the first match of `(<html.*?)\s*/>` loses its slash.
func repairFaultyHTML(s, beginning string) string {
	if strings.Contains(beginning, "doctype") {
		first, rest, found := strings.Cut(s, "\n")
		if fixed := removeDoctypeTag(first); !found || len(fixed) != len(first) {
			s = fixed + "\n" + rest
		}
	}
	lines := 0
	for line := range pySplitLines(s) {
		if strings.Contains(line, "<html") && strings.HasSuffix(line, "/>") {
			s = fixSelfClosingHTML(s)
			break
		}
		if lines > 2 {
			break
		}
		lines++
	}
	return s
}

// removeDoctypeTag removes the match of `^< ?! ?DOCTYPE.+?/ ?>` (re.I).
func removeDoctypeTag(line string) string {
	i := 0
	if i >= len(line) || line[i] != '<' {
		return line
	}
	i++
	if i < len(line) && line[i] == ' ' {
		i++
	}
	if i >= len(line) || line[i] != '!' {
		return line
	}
	i++
	if i < len(line) && line[i] == ' ' {
		i++
	}
	if len(line)-i < 7 || !strings.EqualFold(line[i:i+7], "doctype") {
		return line
	}
	i += 7
	// .+? : at least one character (any but \n, and the line has none),
	// then the first "/>" or "/ >".
	if i >= len(line) {
		return line
	}
	_, size := utf8.DecodeRuneInString(line[i:])
	for j := i + size; j < len(line); j++ {
		if line[j] != '/' {
			continue
		}
		if j+1 < len(line) && line[j+1] == '>' {
			return line[j+2:]
		}
		if j+2 < len(line) && line[j+1] == ' ' && line[j+2] == '>' {
			return line[j+3:]
		}
	}
	return line
}

// fixSelfClosingHTML replaces the first match of `(<html.*?)\s*/>` (re.I)
// by its group and ">". For an "<html" at k the lazy match ends at the
// first "/>" after it, its group at the start of the white space before
// that "/>" (\s may span lines, . may not): there is a match only when no
// newline comes between k and that point. Skipping to the next line after
// a failure keeps this linear where the regular expression is quadratic.
func fixSelfClosingHTML(s string) string {
	for start := 0; start < len(s); {
		k := indexFold(s[start:], "<html")
		if k < 0 {
			return s
		}
		k += start
		q := strings.Index(s[k+5:], "/>")
		if q < 0 {
			return s // no "/>" after this "<html", nor after any later one
		}
		q += k + 5
		j := q // start of the white space run before q, not before k+5
		for j > k+5 {
			r, size := utf8.DecodeLastRuneInString(s[:j])
			if !isPyReSpace(r) {
				break
			}
			j -= size
		}
		nl := strings.IndexByte(s[k+5:j], '\n')
		if nl < 0 {
			return s[:j] + ">" + s[q+2:]
		}
		// every "<html" before that newline fails the same way
		start = k + 5 + nl + 1
	}
	return s
}

// isPyReSpace is `\s` of Python's re on str patterns: str.isspace.
func isPyReSpace(r rune) bool { return dom.IsPySpace(r) }

// indexFold is strings.Index ignoring the ASCII case of s (sub is lower
// case and starts with a byte that has no case).
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); {
		k := strings.IndexByte(s[i:], sub[0])
		if k < 0 || i+k+len(sub) > len(s) {
			return -1
		}
		i += k
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
		i++
	}
	return -1
}

// pySplitLines yields the lines of s as Python's str.splitlines does.
func pySplitLines(s string) func(func(string) bool) {
	return func(yield func(string) bool) {
		start := 0
		for i := 0; i < len(s); {
			r, size := utf8.DecodeRuneInString(s[i:])
			if isLineBreak(r) {
				if !yield(s[start:i]) {
					return
				}
				i += size
				if r == '\r' && i < len(s) && s[i] == '\n' {
					i++
				}
				start = i
				continue
			}
			i += size
		}
		if start < len(s) {
			yield(s[start:])
		}
	}
}
