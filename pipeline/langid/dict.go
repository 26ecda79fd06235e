package langid

import (
	"fmt"
	"math/bits"
	"strings"
)

const (
	typeWord  = 0
	typeLabel = 1
)

// dictionary is fastText's vocabulary (dictionary.cc): words first, then
// labels, each with its input-matrix rows (subwords) precomputed.
type dictionary struct {
	words   []string // entry i, word or label (labels keep their prefix)
	types   []int8
	counts  []int64
	nwords  int32
	nlabels int32
	ntokens int64

	// table is an open-addressing index from word to entry id, probed
	// linearly from hash(word) like fastText's word2int_; any table size
	// gives the same answers, a power of two lets us mask instead of divide.
	table []int32
	mask  uint32

	// pruned tells whether a quantised model dropped n-gram buckets; then
	// prune maps a bucket to its row among the kept ones (dictionary.cc
	// pushHash). pruneAll is fastText's pruneidx_size_ == 0: no n-gram kept.
	pruned   bool
	pruneAll bool
	prune    pruneTable
	// pruneKeys and pruneVals keep the pruning index in file order.
	pruneKeys, pruneVals []int32

	// subwords of entry i are subData[subOff[i]:subOff[i+1]].
	subOff  []int32
	subData []int32

	eosID   int32  // -1 when "</s>" is not in the vocabulary
	eosHash uint32 // hash("</s>")

	bucket     int32
	minn, maxn int32
	wordNgrams int32
}

// hash is fastText's 32-bit FNV-1a with its historical quirk: each byte is
// sign-extended (char was signed when the released models were trained), so
// bytes ≥ 0x80 xor in 0xffffff80..0xffffffff instead of 0x80..0xff.
func hash(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(int32(int8(s[i])))
		h *= 16777619
	}
	return h
}

// lookup returns the entry id of w, whose hash is h, or -1.
func (d *dictionary) lookup(w string, h uint32) int32 {
	for i := h & d.mask; ; i = (i + 1) & d.mask {
		id := d.table[i]
		if id < 0 || d.words[id] == w {
			return id
		}
	}
}

// entryType follows Dictionary::getType: in-vocabulary tokens carry their
// stored type, others are labels when they start with the label prefix.
func (d *dictionary) tokenType(tok string, wid int32) int8 {
	if wid >= 0 {
		return d.types[wid]
	}
	if strings.HasPrefix(tok, labelPrefix) {
		return typeLabel
	}
	return typeWord
}

// pushHash appends the input row of n-gram bucket id, honouring pruning.
func (d *dictionary) pushHash(rows []int32, id int32) []int32 {
	if d.pruneAll || id < 0 {
		return rows
	}
	if d.pruned {
		r, ok := d.prune.get(id)
		if !ok {
			return rows
		}
		id = r
	}
	return append(rows, d.nwords+id)
}

// charNgrams appends the rows of the character n-grams of word, which
// already carries the "<" and ">" boundary marks (computeSubwords). N-grams
// are counted in UTF-8 characters; a lone boundary mark is not an n-gram.
// The hash of each n-gram is built up byte by byte as the n-gram grows.
func (d *dictionary) charNgrams(rows []int32, word []byte) []int32 {
	if d.maxn <= 0 || d.bucket <= 0 {
		return rows
	}
	n := len(word)
	for i := 0; i < n; i++ {
		if word[i]&0xC0 == 0x80 {
			continue
		}
		h := uint32(2166136261)
		j := i
		for k := int32(1); j < n && k <= d.maxn; k++ {
			h ^= uint32(int32(int8(word[j])))
			h *= 16777619
			j++
			for j < n && word[j]&0xC0 == 0x80 {
				h ^= uint32(int32(int8(word[j])))
				h *= 16777619
				j++
			}
			if k >= d.minn && !(k == 1 && (i == 0 || j == n)) {
				rows = d.pushHash(rows, int32(h%uint32(d.bucket)))
			}
		}
	}
	return rows
}

// wordNgramRows appends the rows of the word n-grams (addWordNgrams). The
// hashes are stored as int32 and widened with sign extension to uint64, as
// fastText does.
func (d *dictionary) wordNgramRows(rows []int32, hashes []int32) []int32 {
	n := int(d.wordNgrams)
	if n <= 1 || d.bucket <= 0 {
		return rows
	}
	b := uint64(d.bucket)
	for i := range hashes {
		h := uint64(int64(hashes[i]))
		for j := i + 1; j < len(hashes) && j < i+n; j++ {
			h = h*116049371 + uint64(int64(hashes[j]))
			rows = d.pushHash(rows, int32(h%b))
		}
	}
	return rows
}

// readDictionary reads the dictionary section and precomputes what
// prediction needs.
func readDictionary(r *reader, a args) *dictionary {
	size := r.i32("dictionary size")
	nwords := r.i32("dictionary nwords")
	nlabels := r.i32("dictionary nlabels")
	ntokens := r.i64("dictionary ntokens")
	pruneSize := r.i64("dictionary pruneidx_size")
	if r.err != nil {
		return nil
	}
	if size < 0 || nwords < 0 || nlabels < 0 || int64(nwords)+int64(nlabels) != int64(size) {
		r.fail("dictionary sizes inconsistent: size %d, %d words, %d labels", size, nwords, nlabels)
		return nil
	}
	// Every entry takes at least 10 bytes (NUL, count, type).
	if int64(size) > int64(len(r.b)-r.off)/10 {
		r.fail("truncated file: dictionary of %d entries", size)
		return nil
	}
	d := &dictionary{
		words:      make([]string, size),
		types:      make([]int8, size),
		counts:     make([]int64, size),
		nwords:     nwords,
		nlabels:    nlabels,
		ntokens:    ntokens,
		bucket:     a.bucket,
		minn:       a.minn,
		maxn:       a.maxn,
		wordNgrams: a.wordNgrams,
	}
	for i := range size {
		d.words[i] = r.cstring("dictionary word")
		d.counts[i] = r.i64("dictionary count")
		d.types[i] = int8(r.u8("dictionary entry type"))
		if r.err != nil {
			return nil
		}
		want := int8(typeWord)
		if i >= nwords {
			want = typeLabel
		}
		if d.types[i] != want {
			r.fail("dictionary entry %d (%q) has type %d, want %d: words must precede labels", i, d.words[i], d.types[i], want)
			return nil
		}
	}
	if pruneSize > 0 && pruneSize > int64(len(r.b)-r.off)/8 {
		r.fail("truncated file: pruning index of %d pairs", pruneSize)
		return nil
	}
	d.pruned = pruneSize >= 0
	d.pruneAll = pruneSize == 0
	if pruneSize > 0 {
		d.pruneKeys = make([]int32, pruneSize)
		d.pruneVals = make([]int32, pruneSize)
		for i := range pruneSize {
			d.pruneKeys[i] = r.i32("pruneidx key")
			d.pruneVals[i] = r.i32("pruneidx value")
		}
		d.prune = newPruneTable(d.pruneKeys, d.pruneVals)
	}
	if r.err != nil {
		return nil
	}
	d.buildTable()
	d.buildSubwords()
	return d
}

func (d *dictionary) buildTable() {
	n := 8
	for n < 2*len(d.words) {
		n <<= 1
	}
	d.table = make([]int32, n)
	for i := range d.table {
		d.table[i] = -1
	}
	d.mask = uint32(n - 1)
	for i, w := range d.words {
		h := hash(w) & d.mask
		for d.table[h] >= 0 && d.words[d.table[h]] != w {
			h = (h + 1) & d.mask
		}
		// A repeated word maps to its last entry, as in Dictionary::load.
		d.table[h] = int32(i)
	}
	d.eosHash = hash(eosWord)
	d.eosID = d.lookup(eosWord, d.eosHash)
}

// buildSubwords precomputes, for every entry, its own row followed by the
// rows of its character n-grams (Dictionary::initNgrams); "</s>" has none.
func (d *dictionary) buildSubwords() {
	d.subOff = make([]int32, len(d.words)+1)
	var buf []byte
	for i, w := range d.words {
		d.subData = append(d.subData, int32(i))
		if w != eosWord {
			buf = append(append(append(buf[:0], '<'), w...), '>')
			d.subData = d.charNgrams(d.subData, buf)
		}
		d.subOff[i+1] = int32(len(d.subData))
	}
}

// maxRow is the largest input row the dictionary can produce, so that the
// input matrix can be checked against it once at load time.
func (d *dictionary) maxRow() (int64, error) {
	maxRow := int64(d.nwords) - 1
	ngrams := d.maxn > 0 || d.wordNgrams > 1
	if !ngrams || d.pruneAll {
		return maxRow, nil
	}
	if d.bucket <= 0 {
		return 0, fmt.Errorf("%w: bucket is %d but the model uses n-grams", ErrFormat, d.bucket)
	}
	if !d.pruned {
		return max(maxRow, int64(d.nwords)+int64(d.bucket)-1), nil
	}
	for i, v := range d.pruneVals {
		if k := d.pruneKeys[i]; v < 0 {
			return 0, fmt.Errorf("%w: pruning index maps bucket %d to negative row %d", ErrFormat, k, v)
		}
		maxRow = max(maxRow, int64(d.nwords)+int64(v))
	}
	return maxRow, nil
}

// labelNames returns the labels without their prefix.
func (d *dictionary) labelNames() []string {
	out := make([]string, d.nlabels)
	for i := range out {
		out[i] = strings.TrimPrefix(d.words[d.nwords+int32(i)], labelPrefix)
	}
	return out
}

func (d *dictionary) labelCounts() []int64 {
	return d.counts[d.nwords:]
}

// pruneTable maps kept n-gram buckets to rows. It is on the hot path (one
// lookup per n-gram), so instead of a Go map it is a bitmap of kept
// buckets with a running count per 64 buckets (rank): a dropped bucket
// costs one bit test, a kept one a popcount and an index into vals, which
// holds the rows in bucket order.
type pruneTable struct {
	words []pruneWord
	vals  []int32
}

type pruneWord struct {
	bits uint64 // bucket 64·w+b is kept when bit b is set
	rank int32  // kept buckets before 64·w
}

func newPruneTable(keys, vals []int32) pruneTable {
	// A repeated key keeps its last value, as when fastText fills its map;
	// pushHash never looks up a negative bucket.
	last := make(map[int32]int32, len(keys))
	maxKey := int32(-1)
	for i, k := range keys {
		if k >= 0 {
			last[k] = vals[i]
			maxKey = max(maxKey, k)
		}
	}
	t := pruneTable{words: make([]pruneWord, maxKey/64+1)}
	for k := range last {
		t.words[k/64].bits |= 1 << (k % 64)
	}
	var rank int32
	for w := range t.words {
		t.words[w].rank = rank
		for b := range 64 {
			if t.words[w].bits&(1<<b) != 0 {
				t.vals = append(t.vals, last[int32(w*64+b)])
			}
		}
		rank += int32(bits.OnesCount64(t.words[w].bits))
	}
	return t
}

func (t *pruneTable) get(k int32) (int32, bool) {
	w := int(k / 64)
	if w >= len(t.words) {
		return 0, false
	}
	pw := t.words[w]
	bit := uint64(1) << (k % 64)
	if pw.bits&bit == 0 {
		return 0, false
	}
	return t.vals[pw.rank+int32(bits.OnesCount64(pw.bits&(bit-1)))], true
}
