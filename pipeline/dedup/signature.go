package dedup

import (
	"crypto/sha1"
	"encoding/binary"
	"fmt"
)

// WordsFunc splits simplified text into words. The pipeline passes
// words.Words, the spaCy-compatible tokenizer, as datatrove does.
type WordsFunc func(text string) []string

// Signature is a document's MinHash signature: NumBuckets × HashesPerBucket
// values, bucket after bucket.
type Signature []uint64

// Bucket returns bucket i of the signature.
func (s Signature) Bucket(i, hashesPerBucket int) []uint64 {
	return s[i*hashesPerBucket : (i+1)*hashesPerBucket]
}

// MinHasherOptions configures a MinHasher.
type MinHasherOptions struct {
	Config Config    // zero value: DefaultConfig()
	Words  WordsFunc // required: the word tokenizer
}

// MinHasher computes signatures. It is safe for concurrent use.
type MinHasher struct {
	cfg   Config
	words WordsFunc
	a, b  []uint64
}

// NewMinHasher draws the permutation parameters once.
func NewMinHasher(opts MinHasherOptions) (*MinHasher, error) {
	cfg := opts.Config
	if cfg == (Config{}) {
		cfg = DefaultConfig()
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Words == nil {
		return nil, fmt.Errorf("minhash signer: no word tokenizer")
	}
	a, b := cfg.Permutations()
	return &MinHasher{cfg: cfg, words: opts.Words, a: a, b: b}, nil
}

// Config returns the signer's parameters.
func (s *MinHasher) Config() Config { return s.cfg }

// Sign returns the signature of a document's text, or nil when the text has
// fewer words than a shingle (datatrove writes no signature for such a
// document, so it is never removed).
func (s *MinHasher) Sign(text string) Signature {
	return s.SignWords(s.words(Simplify(text)))
}

// SignWords returns the signature of already simplified and tokenized text.
func (s *MinHasher) SignWords(words []string) Signature {
	return s.SignShingles(Shingles(words, s.cfg.NGrams))
}

// SignShingles returns the signature of a set of shingle hashes, nil when
// there are none.
func (s *MinHasher) SignShingles(shingles []uint64) Signature {
	if len(shingles) == 0 {
		return nil
	}
	sig := make(Signature, len(s.a))
	for i := range sig {
		sig[i] = MersennePrime // above every value the permutations produce
	}
	a, b := s.a, s.b[:len(s.a)]
	for _, sh := range shingles {
		for i := range sig {
			// numpy's uint64 arithmetic wraps before the modulo.
			if v := (sh*a[i] + b[i]) % MersennePrime; v < sig[i] {
				sig[i] = v
			}
		}
	}
	return sig
}

// Shingles hashes the n-word windows of words, each joined with single
// spaces, to the little-endian uint64 of the first 8 bytes of its SHA-1
// (datatrove's sha1_hash64). Fewer than n words give none.
func Shingles(words []string, n int) []uint64 {
	if len(words) < n {
		return nil
	}
	out := make([]uint64, 0, len(words)-n+1)
	var buf []byte
	for i := 0; i+n <= len(words); i++ {
		buf = buf[:0]
		for j, w := range words[i : i+n] {
			if j > 0 {
				buf = append(buf, ' ')
			}
			buf = append(buf, w...)
		}
		out = append(out, HashShingle(buf))
	}
	return out
}

// HashShingle is sha1_hash64 of one shingle's UTF-8 bytes.
func HashShingle(b []byte) uint64 {
	d := sha1.Sum(b)
	return binary.LittleEndian.Uint64(d[:8])
}
