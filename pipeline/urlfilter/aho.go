package urlfilter

// matcher is an Aho-Corasick automaton over the normalised alphabet
// [a-z0-9] (banned subwords and the normalised URL contain nothing else). It
// only answers whether any pattern occurs, as datatrove's
// next(automaton.iter(url), False) does.
type matcher struct {
	next [][36]int32 // full transition table (goto + failure folded in)
	out  []bool      // a pattern ends here or at a suffix state
}

func symbol(c byte) int {
	switch {
	case 'a' <= c && c <= 'z':
		return int(c - 'a')
	case '0' <= c && c <= '9':
		return 26 + int(c-'0')
	}
	return -1
}

// newMatcher builds the automaton. Patterns with characters outside
// [a-z0-9] cannot occur in a normalised URL and are ignored, as is the
// empty pattern (pyahocorasick does not store empty keys).
func newMatcher(patterns []string) *matcher {
	m := &matcher{next: make([][36]int32, 1), out: make([]bool, 1)}
	for _, p := range patterns {
		if p == "" {
			continue
		}
		ok := true
		for i := 0; i < len(p); i++ {
			ok = ok && symbol(p[i]) >= 0
		}
		if !ok {
			continue
		}
		s := int32(0)
		for i := 0; i < len(p); i++ {
			c := symbol(p[i])
			if m.next[s][c] == 0 {
				m.next = append(m.next, [36]int32{})
				m.out = append(m.out, false)
				m.next[s][c] = int32(len(m.next) - 1)
			}
			s = m.next[s][c]
		}
		m.out[s] = true
	}
	// Breadth-first: failure links, folded into the transition table.
	fail := make([]int32, len(m.next))
	queue := make([]int32, 0, len(m.next))
	for c := 0; c < 36; c++ {
		if t := m.next[0][c]; t != 0 {
			queue = append(queue, t)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		m.out[s] = m.out[s] || m.out[fail[s]]
		for c := 0; c < 36; c++ {
			t := m.next[s][c]
			if t == 0 {
				m.next[s][c] = m.next[fail[s]][c]
				continue
			}
			fail[t] = m.next[fail[s]][c]
			queue = append(queue, t)
		}
	}
	return m
}

// any reports whether a pattern occurs in text (normalised: [a-z0-9] only;
// other bytes reset the automaton).
func (m *matcher) any(text string) bool {
	s := int32(0)
	for i := 0; i < len(text); i++ {
		c := symbol(text[i])
		if c < 0 {
			s = 0
			continue
		}
		s = m.next[s][c]
		if m.out[s] {
			return true
		}
	}
	return false
}
