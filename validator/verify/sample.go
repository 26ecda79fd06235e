package verify

import (
	"crypto/sha256"
	"math/rand/v2"
	"slices"
	"strings"
)

// Seed derives the sampling seed of one submission from the hash of a block
// after its commitment (which no miner knows when committing, and every
// validator reads alike) and the commitment string.
func Seed(blockHash, commitment string) [32]byte {
	return sha256.Sum256([]byte("refine/validator/seed/v1\x00" + strings.ToLower(blockHash) + "\x00" + commitment))
}

// SampleIndices draws k distinct indices of [0, n) from seed, sorted
// (Floyd's algorithm on a ChaCha8 stream, whose output Go specifies, so the
// draw is the same on every platform).
func SampleIndices(seed [32]byte, n, k int) []int {
	if k >= n {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	if k <= 0 {
		return nil
	}
	r := rand.New(rand.NewChaCha8(seed))
	chosen := make(map[int]bool, k)
	out := make([]int, 0, k)
	for j := n - k; j < n; j++ {
		t := r.IntN(j + 1)
		if chosen[t] {
			t = j
		}
		chosen[t] = true
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// WeightedDraws draws k rows with probability proportional to their
// lengths: k positions uniform over [0, Σ lengths) from seed (a ChaCha8
// stream, whose output Go specifies), each mapped to the row that holds it.
// The rows come out sorted; a row drawn twice appears twice. Drawing bytes
// rather than rows means a padding of few, long rows is drawn as often as
// its share of the text: what the provenance check then measures is the
// share of the text (and so, nearly, of the tokens) that is derived from
// its records.
func WeightedDraws(seed [32]byte, lengths []int32, k int) []int {
	var total int64
	prefix := make([]int64, len(lengths))
	for i, n := range lengths {
		total += int64(n)
		prefix[i] = total // end of row i
	}
	if total == 0 || k <= 0 {
		return nil
	}
	r := rand.New(rand.NewChaCha8(sha256.Sum256(append([]byte("refine/validator/draws/v1\x00"), seed[:]...))))
	out := make([]int, k)
	for j := range out {
		pos := int64(r.Uint64N(uint64(total)))
		out[j], _ = slices.BinarySearch(prefix, pos+1)
	}
	slices.Sort(out)
	return out
}
