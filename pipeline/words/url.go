package words

import "strings"

// urlMatch reports whether s matches spaCy's URL_MATCH (the URL_PATTERN of
// spacy/lang/tokenizer_exceptions.py, anchored at both ends):
//
//	^ (scheme://)? (userinfo@)? (IPv4 | (label.)+tld) (:port)? ([/?#]path)? $
//
// s never holds whitespace (it is part of a whitespace-free chunk), which
// lets the \S parts of the pattern accept any character. The regex can
// backtrack over the optional scheme and over which '@' ends the userinfo,
// so every such choice is tried.
func urlMatch(s string) bool {
	// Both host forms contain a '.', so most words are rejected here.
	if strings.IndexByte(s, '.') < 0 {
		return false
	}
	if p := schemeEnd(s); p > 0 && afterScheme(s, p) {
		return true
	}
	return afterScheme(s, 0)
}

// schemeEnd returns the offset after "scheme://" when s starts with
// (?:[\w\+\-\.]{2,}):// , else 0.
func schemeEnd(s string) int {
	n := 0
	for i := 0; i < len(s); {
		r, size := runeAt(s, i)
		if r == ':' {
			if n >= 2 && strings.HasPrefix(s[i:], "://") {
				return i + 3
			}
			return 0
		}
		if r != '+' && r != '-' && r != '.' && !has(r, fWord) {
			return 0
		}
		n++
		i += size
	}
	return 0
}

// afterScheme matches (?:\S+(?::\S*)?@)? host port? path? $ from p.
func afterScheme(s string, p int) bool {
	if hostTail(s, p) {
		return true
	}
	// \S+ ... @ : any '@' with at least one character before it.
	for i := len(s) - 1; i > p; i-- {
		if s[i] == '@' && hostTail(s, i+1) {
			return true
		}
	}
	return false
}

// hostTail matches (IPv4 | domain) (?::\d{2,5})? (?:[/?#]\S*)? $ from p.
func hostTail(s string, p int) bool {
	if p >= len(s) {
		return false
	}
	if c := s[p]; c >= '1' && c <= '9' && ipAllowed(s, p) && ipv4Tail(s, p) {
		return true
	}
	return domainTail(s, p)
}

// portPathEnd matches (?::\d{2,5})?(?:[/?#]\S*)?$ from q.
func portPathEnd(s string, q int) bool {
	if q == len(s) {
		return true
	}
	switch s[q] {
	case '/', '?', '#':
		return true
	case ':':
		n, e := 0, q+1
		for e < len(s) {
			r, size := runeAt(s, e)
			if !has(r, fDigit) {
				break
			}
			n++
			e += size
		}
		// Fewer digits would leave a digit next, which neither a path nor
		// the end accepts.
		return n >= 2 && n <= 5 && (e == len(s) || s[e] == '/' || s[e] == '?' || s[e] == '#')
	}
	return false
}

// domainTail matches (?:(?:H[H_-]{0,62})?H\.)+(?:[ALPHA_LOWER]{2,63}) then
// port/path/end, where H = [A-Za-z0-9\u00a1-\uffff]. Labels and the TLD hold
// no '.', ':', '/', '?' or '#', so the host is the longest run of characters
// they allow and its split at the dots is the only one possible.
func domainTail(s string, p int) bool {
	q := p
	for q < len(s) {
		r, size := runeAt(s, q)
		if r != '.' && r != '_' && r != '-' && !has(r, fURLHost|fLower) {
			break
		}
		q += size
	}
	if !portPathEnd(s, q) {
		return false
	}
	host := s[p:q]
	lastDot := strings.LastIndexByte(host, '.')
	if lastDot <= 0 {
		return false
	}
	tld := host[lastDot+1:]
	n := 0
	for _, r := range tld {
		if !has(r, fLower) {
			return false
		}
		n++
	}
	if n < 2 || n > 63 {
		return false
	}
	for labels := host[:lastDot]; ; {
		var label string
		if i := strings.IndexByte(labels, '.'); i >= 0 {
			label, labels = labels[:i], labels[i+1:]
		} else {
			label, labels = labels, ""
		}
		if !validLabel(label) {
			return false
		}
		if labels == "" {
			// A trailing empty label would come from "..", which the loop
			// below rejects through validLabel.
			return !strings.HasSuffix(host[:lastDot], ".")
		}
	}
}

// validLabel matches (?:H[H_-]{0,62})?H : 1 to 64 characters, first and
// last in H, the middle ones in H, '_' or '-'.
func validLabel(l string) bool {
	if l == "" {
		return false
	}
	rs := 0
	for _, r := range l {
		rs++
		if rs > 64 {
			return false
		}
		if !has(r, fURLHost) && r != '_' && r != '-' {
			return false
		}
	}
	first, _ := runeAt(l, 0)
	last, _ := runeBefore(l, len(l))
	return has(first, fURLHost) && has(last, fURLHost)
}

// ipAllowed applies the negative lookaheads that exclude private and local
// networks: (?!(?:10|127)(?:\.\d{1,3}){3}), (?!(?:169\.254|192\.168)(?:\.\d{1,3}){2})
// and (?!172\.(?:1[6-9]|2\d|3[0-1])(?:\.\d{1,3}){2}).
func ipAllowed(s string, p int) bool {
	t := s[p:]
	switch {
	case strings.HasPrefix(t, "10") && dotGroups(t, 2, 3):
		return false
	case strings.HasPrefix(t, "127") && dotGroups(t, 3, 3):
		return false
	case (strings.HasPrefix(t, "169.254") || strings.HasPrefix(t, "192.168")) && dotGroups(t, 7, 2):
		return false
	case strings.HasPrefix(t, "172."):
		var buf [8]int
		for _, e := range octetEnds(t, 4, alt172, &buf) {
			if dotGroups(t, e, 2) {
				return false
			}
		}
	}
	return true
}

// dotGroups reports whether (?:\.\d{1,3}){n} matches t at i (a prefix match).
func dotGroups(t string, i, n int) bool {
	if n == 0 {
		return true
	}
	if i >= len(t) || t[i] != '.' {
		return false
	}
	e := i + 1
	for k := 1; k <= 3; k++ {
		r, size := runeAt(t, e)
		if size == 0 || !has(r, fDigit) {
			return false
		}
		e += size
		if dotGroups(t, e, n-1) {
			return true
		}
	}
	return false
}

// Octet alternatives of the IPv4 part of URL_PATTERN, as sequences of
// single-character sets: 'd' is \d, "[xy]" style sets are spelled out.
type octetAlt []string

var (
	alt172 = []octetAlt{{"1", "6789"}, {"2", "d"}, {"3", "01"}}
	// (?:[1-9]\d?|1\d\d|2[01]\d|22[0-3])
	altFirst = []octetAlt{{"123456789"}, {"123456789", "d"}, {"1", "d", "d"}, {"2", "01", "d"}, {"2", "2", "0123"}}
	// (?:1?\d{1,2}|2[0-4]\d|25[0-5])
	altMid = []octetAlt{{"1", "d"}, {"1", "d", "d"}, {"d"}, {"d", "d"}, {"2", "01234", "d"}, {"2", "5", "012345"}}
	// (?:[1-9]\d?|1\d\d|2[0-4]\d|25[0-4])
	altLast = []octetAlt{{"123456789"}, {"123456789", "d"}, {"1", "d", "d"}, {"2", "01234", "d"}, {"2", "5", "01234"}}
)

// octetEnds returns every end offset at which one of alts matches t at i,
// stored in buf.
func octetEnds(t string, i int, alts []octetAlt, buf *[8]int) []int {
	ends := buf[:0]
next:
	for _, a := range alts {
		e := i
		for _, set := range a {
			r, size := runeAt(t, e)
			if size == 0 {
				continue next
			}
			if set == "d" {
				if !has(r, fDigit) {
					continue next
				}
			} else if !strings.ContainsRune(set, r) {
				continue next
			}
			e += size
		}
		ends = append(ends, e)
	}
	return ends
}

// ipv4Tail matches the dotted IPv4 form followed by port/path/end from p.
func ipv4Tail(s string, p int) bool {
	var b1, b2, b3, b4 [8]int
	for _, e1 := range octetEnds(s, p, altFirst, &b1) {
		for _, e2 := range dotOctet(s, e1, altMid, &b2) {
			for _, e3 := range dotOctet(s, e2, altMid, &b3) {
				for _, e4 := range dotOctet(s, e3, altLast, &b4) {
					if portPathEnd(s, e4) {
						return true
					}
				}
			}
		}
	}
	return false
}

func dotOctet(s string, i int, alts []octetAlt, buf *[8]int) []int {
	if i >= len(s) || s[i] != '.' {
		return nil
	}
	return octetEnds(s, i+1, alts, buf)
}
