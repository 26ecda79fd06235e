package verify

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/datarefine/refine/pipeline"
	"github.com/datarefine/refine/taskserver"
)

// CheckProvenance re-derives the sampled documents of a submission: each is
// read back from its cited WARC record, run through the reference pipeline,
// and must be kept with the same id, URL, token count and text (modulo PII
// replacements). It returns a validator error (not a Failure) only when the
// context ends.
//
// It also collects the two sides of the relative quality score: the text of
// every checked document as submitted, and the reference pipeline's output
// for the same cited records where the reference keeps them, both with PII
// replacements folded (FoldPII), so that an honest miner's side equals the
// reference side exactly.
func CheckProvenance(ctx context.Context, ref *Reference, sub *Submission, sample []int) (Provenance, error) {
	var p Provenance
	for _, i := range sample {
		if err := ctx.Err(); err != nil {
			return p, err
		}
		row, ok := sub.Sampled[i]
		if !ok {
			continue
		}
		d := sub.Docs[i]
		p.Checked++
		minerText := FoldPII(row.Text)
		p.MinerTexts = append(p.MinerTexts, minerText)
		doc, err := ref.Record(ctx, d.WARC, d.Offset)
		if err != nil {
			if ctx.Err() != nil {
				return p, ctx.Err()
			}
			p.Mismatches = note(p.Mismatches, "%s: cited record unreadable: %v", d.ID, err)
			continue
		}
		kept, step, reason := ref.Run(doc)
		var refText string
		if kept {
			refText = ref.Folded(doc.Text)
			p.ReferenceTexts = append(p.ReferenceTexts, refText)
		}
		if doc.ID != row.ID || doc.URL != row.URL {
			p.Mismatches = note(p.Mismatches, "%s: record at %s@%d is %s (%s)", row.ID, d.WARC, d.Offset, doc.ID, doc.URL)
			continue
		}
		switch {
		case !kept:
			p.Mismatches = note(p.Mismatches, "%s: reference drops it (%s/%s)", row.ID, step, reason)
		case refText != minerText:
			p.Mismatches = note(p.Mismatches, "%s: text differs from the reference", row.ID)
		case doc.TokenCount != row.TokenCount:
			p.Mismatches = note(p.Mismatches, "%s: %d tokens, reference %d", row.ID, row.TokenCount, doc.TokenCount)
		default:
			p.Matched++
		}
	}
	return p, nil
}

// candidate is a record in the bottom-k coverage sample.
type candidate struct {
	prio  uint64
	warc  string
	index int64
	doc   *pipeline.Document
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

// CheckCoverage samples k usable records of the task's WARCs (bottom-k by a
// seeded hash of WARC name and record index, so the sample does not depend
// on the stream's length and no miner can predict it), re-runs the
// reference pipeline on them, and counts how many of those the reference
// keeps are in the submission: by id, or by a shared MinHash band with a
// submitted document (the miner's deduplication legitimately keeps one
// document of a near-duplicate cluster).
func CheckCoverage(ctx context.Context, ref *Reference, task taskserver.Task, sub *Submission, seed [32]byte, k int) (Coverage, error) {
	var c Coverage
	if k <= 0 {
		return c, nil
	}
	h := &maxHeap{}
	for _, name := range task.WARCs {
		if err := sampleWARC(ctx, ref, name, task.RecordStart, task.RecordEnd, seed, k, h); err != nil {
			return c, err
		}
	}
	cands := []candidate(*h)
	slices.SortFunc(cands, func(a, b candidate) int {
		if a.prio != b.prio {
			if a.prio < b.prio {
				return -1
			}
			return 1
		}
		return 0
	})
	ids := make(map[string]bool, len(sub.Docs))
	bands := map[[2]uint64]bool{}
	for _, d := range sub.Docs {
		ids[d.ID] = true
		for b, v := range d.Bands {
			bands[[2]uint64{uint64(b), v}] = true
		}
	}
	cfg := ref.Signer().Config()
	for _, cand := range cands {
		if err := ctx.Err(); err != nil {
			return c, err
		}
		c.Sampled++
		if kept, _, _ := ref.Run(cand.doc); !kept {
			continue
		}
		c.ReferenceKept++
		found := ids[cand.doc.ID]
		if !found {
			for b, v := range Bands(ref.Signer().Sign(ref.NewPII().Replace(cand.doc.Text)), cfg) {
				if bands[[2]uint64{uint64(b), v}] {
					found = true
					break
				}
			}
		}
		if found {
			c.Found++
		} else {
			c.Missing = note(c.Missing, "%s (%s#%d)", cand.doc.ID, cand.warc, cand.index)
		}
	}
	return c, nil
}

// sampleWARC streams one WARC and keeps its records in the bottom-k heap.
func sampleWARC(ctx context.Context, ref *Reference, name string, start, end int64, seed [32]byte, k int, h *maxHeap) error {
	rd, err := ref.Open(ctx, name)
	if err != nil {
		return fmt.Errorf("coverage: %w", err)
	}
	defer rd.Close()
	for {
		rec, err := rd.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("coverage: %w", err)
		}
		if end > 0 && rec.Index >= end {
			return nil
		}
		if rec.Index < start || rec.Skip != "" {
			continue
		}
		p := priority(seed, name, rec.Index)
		if h.Len() == k && p >= (*h)[0].prio {
			continue
		}
		heap.Push(h, candidate{prio: p, warc: name, index: rec.Index, doc: &pipeline.Document{
			ID: rec.ID, URL: rec.URL, Date: rec.Date, FilePath: name, Offset: rec.Offset, Index: rec.Index, HTML: rec.HTML,
		}})
		if h.Len() > k {
			heap.Pop(h)
		}
	}
}
