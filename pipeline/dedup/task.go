package dedup

import (
	"context"
	"fmt"
	"slices"
)

// KeptBy names the document kept in place of a removed one.
type KeptBy struct {
	Index int    // the kept document's index, as given to Add
	ID    string // its id
	// Via is the index of a document that shares a MinHash band with the
	// removed one, one step on a shortest band-sharing path to the kept
	// document (Via == Index when they share a band). Following Via from
	// document to document leads to the kept one, each step a band both
	// share: evidence a validator can check record by record.
	Via int
}

// TaskStats summarises one task's deduplication.
type TaskStats struct {
	Documents     int   `json:"documents"`      // documents added
	WithSignature int   `json:"with_signature"` // documents with at least one shingle
	Matches       int64 `json:"matches"`        // duplicate pairs over all buckets
	Clusters      int   `json:"clusters"`       // clusters of two or more documents
	Removed       int   `json:"removed"`        // documents removed
}

// TaskOptions configures a TaskDeduper.
type TaskOptions struct {
	MinHasher *MinHasher // required
}

// TaskDeduper deduplicates the documents of one task exactly as datatrove's
// four MinHash stages do on one rank: documents arrive in order, their
// signatures are kept in memory (NumHashes × 8 bytes each), and Finish
// returns which to remove. It is not safe for concurrent use; compute
// signatures in parallel with MinHasher.Sign and hand them over in order with
// AddSignature.
type TaskDeduper struct {
	signer *MinHasher
	cfg    Config
	docs   int
	last   int
	index  []int
	ids    []string
	sigs   []uint64 // NumHashes values per document with a signature
}

// NewTaskDeduper returns an empty deduper.
func NewTaskDeduper(opts TaskOptions) (*TaskDeduper, error) {
	if opts.MinHasher == nil {
		return nil, fmt.Errorf("task dedup: no signer")
	}
	return &TaskDeduper{signer: opts.MinHasher, cfg: opts.MinHasher.Config(), last: -1}, nil
}

// Add computes the signature of a document and records it. index must grow
// from one call to the next. It returns the signature (nil when the text
// has fewer words than a shingle), e.g. for the task's signature file.
func (d *TaskDeduper) Add(index int, id, text string) (Signature, error) {
	sig := d.signer.Sign(text)
	return sig, d.AddSignature(index, id, sig)
}

// AddSignature records a signature computed elsewhere (nil: none).
func (d *TaskDeduper) AddSignature(index int, id string, sig Signature) error {
	if index <= d.last {
		return fmt.Errorf("task dedup: document index %d after %d: indices must increase", index, d.last)
	}
	if sig != nil && len(sig) != d.cfg.NumHashes() {
		return fmt.Errorf("task dedup: document %d: signature of %d values, want %d", index, len(sig), d.cfg.NumHashes())
	}
	d.last = index
	d.docs++
	if sig == nil {
		return nil
	}
	d.index = append(d.index, index)
	d.ids = append(d.ids, id)
	d.sigs = append(d.sigs, sig...)
	return nil
}

// Signature returns the recorded signature of the i-th document that had
// one (in Add order), for writers that need it after Finish.
func (d *TaskDeduper) Signature(i int) (index int, id string, sig Signature) {
	n := d.cfg.NumHashes()
	return d.index[i], d.ids[i], Signature(d.sigs[i*n : (i+1)*n])
}

// Len is the number of documents with a signature.
func (d *TaskDeduper) Len() int { return len(d.index) }

// Finish clusters the documents and returns the removed ones, keyed by
// index, each with the document kept in its place.
func (d *TaskDeduper) Finish(ctx context.Context) (map[int]KeptBy, TaskStats, error) {
	stats := TaskStats{Documents: d.docs, WithSignature: len(d.index)}
	n := len(d.index)
	if n > 1<<31-1 {
		return nil, stats, fmt.Errorf("task dedup: %d documents exceed the in-memory limit", n)
	}
	uf := newDatatroveUnion(n)
	// The band-sharing pairs, kept to find each removed document's path
	// to the one kept in its place.
	var adj [][]int32
	edge := func(a, b int32) {
		if adj == nil {
			adj = make([][]int32, n)
		}
		adj[a] = append(adj[a], b)
		adj[b] = append(adj[b], a)
	}
	order := make([]int32, n)
	h, nh := d.cfg.HashesPerBucket, d.cfg.NumHashes()
	for b := 0; b < d.cfg.NumBuckets; b++ {
		if err := ctx.Err(); err != nil {
			return nil, stats, err
		}
		bucket := func(i int32) []uint64 {
			off := int(i)*nh + b*h
			return d.sigs[off : off+h]
		}
		for i := range order {
			order[i] = int32(i)
		}
		// Documents are stored in index order, so ties on the bucket
		// signature fall back to the document order, as datatrove's
		// (sig, doc_id) sort does.
		slices.SortFunc(order, func(x, y int32) int {
			if c := slices.Compare(bucket(x), bucket(y)); c != 0 {
				return c
			}
			return int(x - y)
		})
		run := int32(0) // the first document of the current run of equal buckets
		for k := 1; k < n; k++ {
			if slices.Equal(bucket(order[k-1]), bucket(order[k])) {
				stats.Matches++
				uf.union(order[k-1], order[k])
				// Every document of a run shares this band with every
				// other: linking each to the run's first keeps the paths
				// short (one step per band crossed), where the pairs
				// union applies would chain a run of copies end to end.
				edge(order[run], order[k])
			} else {
				run = int32(k)
			}
		}
	}
	// A breadth-first walk from each cluster's root gives every other
	// member its step toward the root on a shortest path.
	via := make([]int32, n)
	for i := int32(0); i < int32(n); i++ {
		if uf.find(i) != i || uf.size[i] < 2 {
			continue
		}
		stats.Clusters++
		via[i] = i
		queue := []int32{i}
		seen := map[int32]bool{i: true}
		for len(queue) > 0 {
			x := queue[0]
			queue = queue[1:]
			for _, y := range adj[x] {
				if !seen[y] {
					seen[y] = true
					via[y] = x
					queue = append(queue, y)
				}
			}
		}
	}
	removed := make(map[int]KeptBy)
	for i := int32(0); i < int32(n); i++ {
		if root := uf.find(i); root != i {
			removed[d.index[i]] = KeptBy{Index: d.index[root], ID: d.ids[root], Via: d.index[via[i]]}
		}
	}
	stats.Removed = len(removed)
	return removed, stats, nil
}
