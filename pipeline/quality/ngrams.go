package quality

import "strings"

// ngramIndex finds repeated word n-grams without building the joined
// strings: each n-gram is hashed as the polynomial hash of the bytes of its
// joined string (words joined by sep), which can be combined from per-word
// hashes. Equal hashes are confirmed by comparing the joined strings, so the
// result is exactly what a Python set/Counter of joined strings gives, also
// when different word splits join to the same string (sep "").
type ngramIndex struct {
	words   []string
	runes   []int    // code points per word
	hash    []uint64 // polynomial hash of each word's bytes
	pow     []uint64 // hashBase^len(word bytes)
	slots   []int32  // open addressing: entry index+1, 0 = empty
	entries []ngramEntry
	mask    uint64
}

type ngramEntry struct {
	hash  uint64
	start int32
	count int32
}

const hashBase uint64 = 0x9e3779b97f4a7c15 // odd, so multiplication mod 2^64 is invertible

func (x *ngramIndex) reset(words []string) {
	x.words = words
	x.runes = x.runes[:0]
	x.hash = x.hash[:0]
	x.pow = x.pow[:0]
	for _, w := range words {
		var h uint64
		p := uint64(1)
		for i := 0; i < len(w); i++ {
			h = h*hashBase + uint64(w[i])
			p *= hashBase
		}
		x.hash = append(x.hash, h)
		x.pow = append(x.pow, p)
		x.runes = append(x.runes, pyLen(w))
	}
}

// begin clears the table for a pass that inserts at most n entries.
func (x *ngramIndex) begin(n int) {
	size := 16
	for size < 2*n {
		size <<= 1
	}
	if cap(x.slots) >= size {
		x.slots = x.slots[:size]
		clear(x.slots)
	} else {
		x.slots = make([]int32, size)
	}
	x.mask = uint64(size - 1)
	x.entries = x.entries[:0]
}

// gramHash is the hash of strings.Join(words[start:start+n], sep), where sep
// is "" or " ".
func (x *ngramIndex) gramHash(start, n int, space bool) uint64 {
	var h uint64
	for k := start; k < start+n; k++ {
		if space && k > start {
			h = h*hashBase + ' '
		}
		h = h*x.pow[k] + x.hash[k]
	}
	return h
}

func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return h
}

// sameGram reports whether the joined strings of the n-grams at a and b are
// equal.
func (x *ngramIndex) sameGram(a, b, n int, space bool) bool {
	identical := true
	for k := 0; k < n; k++ {
		if x.words[a+k] != x.words[b+k] {
			identical = false
			break
		}
	}
	if identical {
		return true
	}
	sep := ""
	if space {
		sep = " "
	}
	return strings.Join(x.words[a:a+n], sep) == strings.Join(x.words[b:b+n], sep)
}

// lookup returns the entry index of the n-gram at start, inserting it with
// count 0 when absent (insert=true) or returning -1 (insert=false).
func (x *ngramIndex) lookup(start, n int, space, insert bool) int {
	h := x.gramHash(start, n, space)
	i := mix(h) & x.mask
	for {
		s := x.slots[i]
		if s == 0 {
			if !insert {
				return -1
			}
			x.entries = append(x.entries, ngramEntry{hash: h, start: int32(start)})
			x.slots[i] = int32(len(x.entries))
			return len(x.entries) - 1
		}
		e := &x.entries[s-1]
		if e.hash == h && x.sameGram(int(e.start), start, n, space) {
			return int(s - 1)
		}
		i = (i + 1) & x.mask
	}
}

// gramRunes is len() of the joined n-gram at start.
func (x *ngramIndex) gramRunes(start, n int, space bool) int {
	l := 0
	for k := start; k < start+n; k++ {
		l += x.runes[k]
	}
	if space {
		l += n - 1
	}
	return l
}

// topDuplicate is datatrove's find_top_duplicate over the " "-joined
// n-grams: len(top) * count of Counter.most_common(1), where ties go to the
// n-gram seen first. ok is false when there are no n-grams.
func (x *ngramIndex) topDuplicate(n int) (chars int, ok bool) {
	total := len(x.words) - n + 1
	if total <= 0 {
		return 0, false
	}
	x.begin(total)
	for i := 0; i < total; i++ {
		x.entries[x.lookup(i, n, true, true)].count++
	}
	best := 0
	for i := 1; i < len(x.entries); i++ {
		if x.entries[i].count > x.entries[best].count {
			best = i
		}
	}
	e := x.entries[best]
	return x.gramRunes(int(e.start), n, true) * int(e.count), true
}

// allDuplicate is datatrove's find_all_duplicate: walk the ""-joined
// n-grams; a repeat adds its length and skips n words, a new one is
// remembered and the walk moves one word.
func (x *ngramIndex) allDuplicate(n int) int {
	total := len(x.words) - n + 1
	if total <= 0 {
		return 0
	}
	x.begin(total)
	repeated := 0
	for idx := 0; idx < total; {
		before := len(x.entries)
		x.lookup(idx, n, false, true)
		if len(x.entries) == before { // seen before
			repeated += x.gramRunes(idx, n, false)
			idx += n
		} else {
			idx++
		}
	}
	return repeated
}
