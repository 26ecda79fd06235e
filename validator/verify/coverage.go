package verify

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/datarefine/refine/pipeline"
	"github.com/datarefine/refine/pipeline/warc"
	"github.com/datarefine/refine/taskserver"
)

// CoverageParams shape the coverage check (docs/mechanism.md, "Coverage").
type CoverageParams struct {
	// Target is how many records the reference pipeline keeps that are
	// sought per submission (default 100): records of the task are re-run
	// in a seeded order until Target of them are kept, or the task's
	// records (or MaxRecords) are exhausted.
	Target int
	// MaxRecords bounds the records re-run (default 4,000: enough for the
	// target at a keep rate of 2.5 %).
	MaxRecords int
	// Drop and Miss set the rule: a submission missing more of the kept
	// records than a miner dropping a share Drop of them would miss with
	// probability Miss is rejected (defaults 0.2 and 0.01): such a miner is
	// caught with probability at least 1 − Miss whenever the sample holds
	// at least 21 kept records. See AllowedMisses.
	Drop, Miss float64
}

func (p CoverageParams) withDefaults() CoverageParams {
	if p.Target <= 0 {
		p.Target = 100
	}
	if p.MaxRecords <= 0 {
		p.MaxRecords = 4000
	}
	if p.Drop <= 0 {
		p.Drop = 0.2
	}
	if p.Miss <= 0 {
		p.Miss = 0.01
	}
	return p
}

// AllowedMisses is how many of n sampled records the reference keeps may be
// missing from a submission: the largest a such that a miner who drops each
// kept record with probability drop misses at most a of n with probability
// at most miss, i.e. P(Binomial(n, drop) ≤ a) ≤ miss; 0 when even a = 0
// does not qualify (n small). Computed exactly in rationals (binary
// fractions of the float64 parameters), so every validator allows the same.
func AllowedMisses(n int, drop, miss float64) int {
	switch {
	case n <= 0 || drop <= 0:
		return 0
	case drop >= 1: // such a miner misses all n
		return n - 1
	}
	p := new(big.Rat).SetFloat64(drop)
	q := new(big.Rat).Sub(big.NewRat(1, 1), p)
	limit := new(big.Rat).SetFloat64(miss)
	cdf := new(big.Rat)
	term := new(big.Rat).SetInt64(1)
	// term_k = C(n,k) p^k q^(n−k), built from q^n upwards.
	for range n {
		term.Mul(term, q)
	}
	allowed := 0
	for k := 0; k <= n; k++ {
		if k > 0 {
			// term_k = term_{k−1} × (n−k+1)/k × p/q
			term.Mul(term, big.NewRat(int64(n-k+1), int64(k)))
			term.Mul(term, p)
			term.Quo(term, q)
		}
		cdf.Add(cdf, term)
		if cdf.Cmp(limit) > 0 {
			break
		}
		allowed = k
	}
	return allowed
}

// CatchProbability is the probability that a miner dropping each kept
// record with probability drop is rejected when the sample holds n kept
// records: P(Binomial(n, drop) > AllowedMisses(n)).
func CatchProbability(n int, drop, miss float64) float64 {
	a := AllowedMisses(n, drop, miss)
	var cdf float64
	for k := 0; k <= a; k++ {
		cdf += binomPMF(n, k, drop)
	}
	return 1 - cdf
}

// binomPMF is P(Binomial(n, p) = k) in floating point (for reports).
func binomPMF(n, k int, p float64) float64 {
	lc := lgamma(n+1) - lgamma(k+1) - lgamma(n-k+1)
	return expf(lc + float64(k)*logf(p) + float64(n-k)*logf(1-p))
}

// candidate is a usable record of the task in the coverage order.
type candidate struct {
	prio   uint64
	warc   string
	index  int64
	offset int64
}

type maxHeap []candidate

func (h maxHeap) Len() int           { return len(h) }
func (h maxHeap) Less(i, j int) bool { return h[i].prio > h[j].prio }
func (h maxHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *maxHeap) Push(x any)        { *h = append(*h, x.(candidate)) }
func (h *maxHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// CheckCoverage re-runs the reference pipeline on records of the task, in
// the order of a seeded hash of (WARC name, record index) — an order no
// miner can predict and that depends on no stream or index layout — until
// Target of them are kept (or MaxRecords re-run, or the task exhausted),
// and counts how many of the kept ones are in the submission: by id, or by
// a shared MinHash band with a submitted document (the miner's
// deduplication legitimately keeps one document of a near-duplicate
// cluster). The rule is Coverage.Allowed.
//
// The task's records are listed once (the WARC, or a range's bytes, read
// from a local copy or downloaded once into workDir) and re-read by offset.
func CheckCoverage(ctx context.Context, ref *Reference, task taskserver.Task, sub *Submission, seed [32]byte, params CoverageParams, workDir string) (Coverage, error) {
	params = params.withDefaults()
	var c Coverage
	h := &maxHeap{}
	var spans []*span
	defer func() {
		for _, s := range spans {
			s.close()
		}
	}()
	byName := map[string]*span{}
	for _, name := range task.WARCs {
		s, err := ref.openSpan(ctx, task, name, workDir)
		if err != nil {
			return c, fmt.Errorf("coverage: %w", err)
		}
		spans = append(spans, s)
		byName[name] = s
		if err := s.list(ctx, task, seed, params.MaxRecords, h); err != nil {
			return c, fmt.Errorf("coverage: %w", err)
		}
	}
	cands := []candidate(*h)
	slices.SortFunc(cands, func(a, b candidate) int {
		switch {
		case a.prio < b.prio:
			return -1
		case a.prio > b.prio:
			return 1
		}
		return 0
	})
	var ids map[string]bool
	var bands map[[2]uint64]bool
	if sub != nil {
		ids = make(map[string]bool, len(sub.Docs))
		bands = map[[2]uint64]bool{}
		for _, d := range sub.Docs {
			ids[d.ID] = true
			for b, v := range d.Bands {
				bands[[2]uint64{uint64(b), v}] = true
			}
		}
	}
	cfg := ref.Signer().Config()
	for _, cand := range cands {
		if c.ReferenceKept >= params.Target {
			break
		}
		if err := ctx.Err(); err != nil {
			return c, err
		}
		doc, err := byName[cand.warc].record(ctx, cand)
		if err != nil {
			return c, fmt.Errorf("coverage: %w", err)
		}
		c.Sampled++
		if kept, _, _ := ref.Run(doc); !kept {
			continue
		}
		c.ReferenceKept++
		found := ids[doc.ID]
		if !found {
			for b, v := range Bands(ref.Signer().Sign(ref.NewPII().Replace(doc.Text)), cfg) {
				if bands[[2]uint64{uint64(b), v}] {
					found = true
					break
				}
			}
		}
		if found {
			c.Found++
		} else {
			c.Missing = note(c.Missing, "%s (%s#%d)", doc.ID, cand.warc, cand.index)
		}
	}
	c.Allowed = AllowedMisses(c.ReferenceKept, params.Drop, params.Miss)
	return c, nil
}

// span is the part of one WARC a task covers, readable by offset.
type span struct {
	name       string
	ra         io.ReaderAt
	shift      int64 // file offset of ra's byte 0
	size       int64 // bytes of ra in the span
	indexBase  int64 // record index of ra's first record (-1: count from the file's start)
	close      func()
	start, end int64 // record index bounds when indexBase < 0 (end 0: none)
}

// openSpan makes the task's part of one WARC readable by offset: a local
// file is read in place; a remote one is downloaded once (its byte range
// only, for a byte-bounded range) into a temporary file under workDir.
func (r *Reference) openSpan(ctx context.Context, task taskserver.Task, name, workDir string) (*span, error) {
	s := &span{name: name, indexBase: -1, start: task.RecordStart, end: task.RecordEnd, close: func() {}}
	var from, to int64 // byte range to read; to 0: the end
	if len(task.WARCs) == 1 && (task.ByteStart > 0 || task.ByteEnd > 0) {
		from, to = task.ByteStart, task.ByteEnd
		s.indexBase = task.RecordStart
	}
	loc := r.opts.Resolve(name)
	if !strings.HasPrefix(loc, "http://") && !strings.HasPrefix(loc, "https://") {
		f, err := os.Open(loc)
		if err != nil {
			return nil, fmt.Errorf("open WARC %s: %w", name, err)
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		if to == 0 || to > st.Size() {
			to = st.Size()
		}
		s.ra, s.shift, s.size, s.close = io.NewSectionReader(f, from, max(0, to-from)), from, max(0, to-from), func() { f.Close() }
		return s, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept-Encoding", "identity")
	want := http.StatusOK
	if from > 0 || to > 0 {
		want = http.StatusPartialContent
		if to > 0 {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", from, to-1))
		} else {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-", from))
		}
	}
	resp, err := r.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		return nil, fmt.Errorf("fetch %s: HTTP status %s (want %d)", name, resp.Status, want)
	}
	f, err := os.CreateTemp(workDir, "warc-*")
	if err != nil {
		return nil, err
	}
	cleanup := func() { f.Close(); os.Remove(f.Name()) }
	n, err := io.Copy(f, resp.Body)
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("fetch %s: %w", name, err)
	}
	s.ra, s.shift, s.size, s.close = f, from, n, cleanup
	return s, nil
}

// list streams the span and keeps its usable records with the smallest
// priorities (at most max) in h.
func (s *span) list(ctx context.Context, task taskserver.Task, seed [32]byte, max int, h *maxHeap) error {
	rd := warc.NewReader(io.NewSectionReader(s.ra, 0, s.size), warc.Options{Name: s.name})
	for {
		rec, err := rd.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		index := rec.Index
		if s.indexBase >= 0 {
			index += s.indexBase
		} else {
			if s.end > 0 && index >= s.end {
				return nil
			}
			if index < s.start {
				continue
			}
		}
		if rec.Skip != "" || rec.Offset < 0 {
			continue
		}
		p := priority(seed, s.name, index)
		if h.Len() == max && p >= (*h)[0].prio {
			continue
		}
		heap.Push(h, candidate{prio: p, warc: s.name, index: index, offset: s.shift + rec.Offset})
		if h.Len() > max {
			heap.Pop(h)
		}
	}
}

// record reads one listed record back.
func (s *span) record(ctx context.Context, c candidate) (*pipeline.Document, error) {
	rec, err := warc.ReadRecordAt(ctx, s.ra, c.offset-s.shift, warc.Options{Name: s.name})
	if err != nil {
		return nil, err
	}
	return &pipeline.Document{ID: rec.ID, URL: rec.URL, Date: rec.Date, FilePath: s.name,
		Offset: c.offset, Index: c.index, HTML: rec.HTML, Skip: rec.Skip}, nil
}
