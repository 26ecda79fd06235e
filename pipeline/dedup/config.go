// Package dedup is FineWeb's MinHash near-duplicate removal, written to give
// the same results as datatrove's MinhashDedup{Signature,Buckets,Cluster,
// Filter} (datatrove a649de79, FineWeb settings: 5-grams, 14 buckets × 8
// hashes, sha1 64-bit shingle hashes, seed 1).
//
// It holds the signatures (MinHasher), their files (SigWriter, OpenSigFile,
// docs/formats/signatures.md) and the deduplication inside one task
// (TaskDeduper): documents arrive in order, their signatures are kept in
// memory, and Finish clusters them with datatrove's union-find rules.
// Deduplication across datasets, with an external sort in bounded memory,
// is package corpus (`refine dedup`, `refine dataset build`).
package dedup

import "fmt"

// MersennePrime is 2^61 − 1, the modulus of the permutation functions.
const MersennePrime uint64 = (1 << 61) - 1

// Config holds the MinHash parameters. The zero value is not valid; use
// DefaultConfig (FineWeb's settings).
type Config struct {
	NGrams          int    // words per shingle
	NumBuckets      int    // LSH bands
	HashesPerBucket int    // rows per band
	Seed            uint32 // numpy RandomState seed of the permutations
}

// DefaultConfig returns FineWeb's MinHash settings.
func DefaultConfig() Config {
	return Config{NGrams: 5, NumBuckets: 14, HashesPerBucket: 8, Seed: 1}
}

// NumHashes is the signature length.
func (c Config) NumHashes() int { return c.NumBuckets * c.HashesPerBucket }

// Validate reports a configuration the package cannot run.
func (c Config) Validate() error {
	switch {
	case c.NGrams < 1:
		return fmt.Errorf("minhash config: n-grams %d < 1", c.NGrams)
	case c.NumBuckets < 1 || c.NumBuckets > 1024:
		return fmt.Errorf("minhash config: buckets %d outside [1, 1024]", c.NumBuckets)
	case c.HashesPerBucket < 1 || c.HashesPerBucket > 64:
		return fmt.Errorf("minhash config: hashes per bucket %d outside [1, 64]", c.HashesPerBucket)
	}
	return nil
}

// Permutations returns the (a, b) parameters of the NumHashes permutation
// functions, drawn exactly as datatrove does:
//
//	gen = np.random.RandomState(seed)
//	a = gen.randint(1, 2**61-1, dtype=np.uint64, size=(1, n))
//	b = gen.randint(0, 2**61-1, dtype=np.uint64, size=(1, n))
func (c Config) Permutations() (a, b []uint64) {
	gen := newMT19937(c.Seed)
	a = gen.randUint64(1, MersennePrime, c.NumHashes())
	b = gen.randUint64(0, MersennePrime, c.NumHashes())
	return a, b
}
