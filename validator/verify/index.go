package verify

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/pipeline/warc"
	"github.com/datarefine/refine/taskapi"
)

// The record index (dataset.IndexEntry) is read whole and checked before
// any record is fetched: every check here is exact and deterministic, so a
// miner whose index skips bytes, overlaps, claims other lengths or a
// different number of records than its task, lists as kept other records
// than its documents cite, or links a duplicate to nothing, is rejected
// without a single WARC byte read. What the index says of each record's
// outcome is checked on the records the coverage sample draws
// (coverage.go).

// MaxEntryBytes bounds one record's bytes in the index: Common Crawl
// truncates payloads at 1 MiB, so its records are far smaller; an entry
// this long is refused rather than fetched (a miner's merged entries would
// otherwise cost a validator their whole length to check).
const MaxEntryBytes = 16 << 20

// Span is the bytes of one WARC that a task covers.
type Span struct {
	// Start and End bound the task's records in the WARC, [Start, End):
	// a range's planned byte bounds, or the whole file. For a range
	// imported without byte bounds they are unknown (-1): it starts at its
	// first entry and ends at its last (its record count still holds).
	Start, End int64
	// Size is the WARC file's size (-1 when not measured: a range that
	// ends before the file's end).
	Size int64
}

// TaskSpans are the bytes of each of the task's WARCs that the task
// covers, given the WARCs' sizes (-1 where not measured).
func TaskSpans(task taskapi.Task, sizes []int64) []Span {
	out := make([]Span, len(task.WARCs))
	for i := range task.WARCs {
		s := Span{Start: 0, End: sizes[i], Size: sizes[i]}
		if len(task.WARCs) == 1 {
			switch {
			case task.ByteStart > 0 || task.ByteEnd > 0:
				s.Start = task.ByteStart
				if task.ByteEnd > 0 {
					s.End = task.ByteEnd
				}
			case task.RecordStart > 0 || task.RecordEnd > 0: // imported without byte bounds
				if task.RecordStart > 0 {
					s.Start = -1
				}
				if task.RecordEnd > 0 {
					s.End = -1
				}
			}
		}
		out[i] = s
	}
	return out
}

// MinEntryBytes is the shortest record an index may list: a WARC record's
// mandatory headers (type, a 36-character UUID, date, length) alone are
// longer, compressed or not. It bounds the entries of a task by its bytes.
const MinEntryBytes = 128

// Index is a submission's record index, checked whole. It is held
// compactly (12 bytes per record; a claim's strings once), since its size
// is the miner's to choose within the task's budget.
type Index struct {
	// ends[i] is where entry i ends counted over all entries (the byte
	// draws' coordinates); Total is the bytes the index covers.
	ends  []int64
	Total int64
	// claim[i] is entry i's claim in claims; dups its Dup, for duplicates.
	claim  []uint32
	claims []dataset.IndexEntry // distinct (Kept, Step, Reason)
	dups   map[int]int64
	// firsts[w] is the first entry of WARC w and starts[w] its offset
	// there; lastOfFile[w]: WARC w's entries end at its file's end (only
	// there may the file cut a record short).
	firsts, starts []int64
	lastOfFile     []bool
}

// Len is the number of entries.
func (ix *Index) Len() int { return len(ix.ends) }

// warcOf returns the WARC of entry i.
func (ix *Index) warcOf(i int) int {
	// The last WARC whose first entry is at or before i (a WARC with no
	// entries shares its first with the next).
	return sort.Search(len(ix.firsts), func(w int) bool { return ix.firsts[w] > int64(i) }) - 1
}

// Entry returns entry i as the file lists it.
func (ix *Index) Entry(i int) dataset.IndexEntry {
	e := ix.claims[ix.claim[i]]
	w := ix.warcOf(i)
	start := int64(0)
	if i > 0 {
		start = ix.ends[i-1]
	}
	first := int64(0)
	if ix.firsts[w] > 0 {
		first = ix.ends[ix.firsts[w]-1]
	}
	e.WARC, e.Offset, e.Length = w, ix.starts[w]+start-first, ix.ends[i]-start
	if d, ok := ix.dups[i]; ok {
		e.Dup = &d
	}
	return e
}

// last reports whether entry i is the last record of its WARC file.
func (ix *Index) last(i int) bool {
	w := ix.warcOf(i)
	return ix.lastOfFile[w] && (i+1 == ix.Len() || ix.warcOf(i+1) != w)
}

// stepOrder is the reference pipeline's steps in order, for judging
// claims: the reader, the filters, then the deduplication.
type stepOrder map[string]int

// The steps whose claims are checked apart: a duplicate depends on the
// rest of the task, a truncated record only ends a file, and a panic may
// happen in any step.
const (
	stepDedup  = "dedup"
	stepPanic  = "panic"
	stepReader = "reader"
)

// steps returns the reference's step order.
func (r *Reference) stepOrder() stepOrder {
	o := stepOrder{}
	for i, n := range r.steps.StepNames() {
		o[n] = i
	}
	return o
}

// readIndex reads and checks the record index the manifest seals against
// the task (spans, record count), the document references (refs: the kept
// entries are exactly the cited records, in order) and the reference's
// steps. The budget bounds its size and entries.
func readIndex(ctx context.Context, dir string, m *dataset.Manifest, task taskapi.Task, spans []Span, refs []ref, order stepOrder, budget Budget) (*Index, error) {
	if m.RecordIndex == nil {
		return nil, Fail(CodeIndex, "the manifest seals no record index")
	}
	if m.RecordIndex.Bytes > budget.IndexBytes {
		return nil, Fail(CodeTooLarge, "record index of %d bytes, the task allows %d", m.RecordIndex.Bytes, budget.IndexBytes)
	}
	maxEntries := budget.IndexEntries
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(m.RecordIndex.Path)))
	if err != nil {
		return nil, Fail(CodeIndex, "open record index: %v", err)
	}
	defer f.Close()
	ix := &Index{dups: map[int]int64{}, lastOfFile: make([]bool, len(spans))}
	claimOf := map[dataset.IndexEntry]uint32{}
	w, at := -1, int64(-1) // current WARC, where its next entry must start
	kept := 0
	// openWARC moves to WARC w+1 (its entries start at entry n).
	openWARC := func(n int64) {
		w++
		at = spans[w].Start
		ix.firsts = append(ix.firsts, n)
		ix.starts = append(ix.starts, at)
	}
	// closeWARC checks that WARC w's entries reached the end of its records.
	closeWARC := func() error {
		switch {
		case at < 0:
			return Fail(CodeIndex, "no entry for %s", task.WARCs[w])
		case spans[w].End >= 0 && at != spans[w].End:
			return Fail(CodeIndex, "the entries of %s end at byte %d, its records at %d", task.WARCs[w], at, spans[w].End)
		}
		ix.lastOfFile[w] = spans[w].Size >= 0 && at == spans[w].Size
		return nil
	}
	if len(spans) > 0 {
		openWARC(0)
	}
	err = dataset.ReadIndex(ctx, f, maxEntries, func(i int64, e dataset.IndexEntry) error {
		switch {
		case e.WARC >= len(spans):
			return Fail(CodeIndex, "entry %d: WARC %d, the task has %d", i, e.WARC, len(task.WARCs))
		case e.WARC < w:
			return Fail(CodeIndex, "entry %d: WARC %d after WARC %d", i, e.WARC, w)
		}
		for e.WARC > w {
			if err := closeWARC(); err != nil {
				return err
			}
			openWARC(i)
		}
		if at < 0 && i == ix.firsts[w] {
			at = e.Offset // a range without byte bounds starts at its first entry
			ix.starts[w] = at
		}
		switch {
		case e.Offset != at:
			return Fail(CodeIndex, "entry %d of %s starts at byte %d, the previous record ends at %d", i, task.WARCs[w], e.Offset, at)
		case e.Length > MaxEntryBytes || e.Length < MinEntryBytes:
			return Fail(CodeIndex, "entry %d: a record of %d bytes (records are %d to %d)", i, e.Length, MinEntryBytes, MaxEntryBytes)
		}
		at += e.Length
		if spans[w].End >= 0 && at > spans[w].End {
			return Fail(CodeIndex, "entry %d of %s ends at byte %d, past the task's records (%d)", i, task.WARCs[w], at, spans[w].End)
		}
		if e.Kept {
			if kept >= len(refs) || refs[kept].WARC != w || refs[kept].Offset != e.Offset {
				return Fail(CodeIndex, "entry %d (%s@%d) is kept, but no document cites it where the index lists it", i, task.WARCs[w], e.Offset)
			}
			refs[kept].Entry = int(i)
			kept++
		} else {
			if kept < len(refs) && refs[kept].WARC == w && refs[kept].Offset == e.Offset {
				return Fail(CodeIndex, "entry %d (%s@%d) is cited by document %s but claimed dropped by %s", i, task.WARCs[w], e.Offset, refs[kept].ID, e.Step)
			}
			if _, ok := order[e.Step]; !ok && e.Step != stepPanic {
				return Fail(CodeIndex, "entry %d: dropped by %q, not a step of the pipeline", i, e.Step)
			}
			if (e.Step == stepDedup) != (e.Dup != nil) {
				return Fail(CodeIndex, "entry %d: dropped by %s with dup %v", i, e.Step, e.Dup)
			}
		}
		ix.Total += e.Length
		ix.ends = append(ix.ends, ix.Total)
		if e.Dup != nil {
			ix.dups[int(i)] = *e.Dup
		}
		c := dataset.IndexEntry{Kept: e.Kept, Step: e.Step, Reason: e.Reason}
		id, ok := claimOf[c]
		if !ok {
			id = uint32(len(ix.claims))
			claimOf[c] = id
			ix.claims = append(ix.claims, c)
		}
		ix.claim = append(ix.claim, id)
		return nil
	})
	if errors.Is(err, dataset.ErrIndex) {
		return nil, Fail(CodeIndex, "%v", err)
	}
	if err != nil {
		return nil, err
	}
	for w < len(spans) {
		if err := closeWARC(); err != nil {
			return nil, err
		}
		if w+1 == len(spans) {
			break
		}
		openWARC(int64(ix.Len()))
	}
	if kept != len(refs) {
		return nil, Fail(CodeIndex, "the index lists %d kept records, the submission has %d documents", kept, len(refs))
	}
	if len(task.WARCs) == 1 && task.RecordEnd > 0 && int64(ix.Len()) != task.RecordEnd-task.RecordStart {
		return nil, Fail(CodeIndex, "the index lists %d records, the task's range [%d, %d) has %d", ix.Len(), task.RecordStart, task.RecordEnd, task.RecordEnd-task.RecordStart)
	}
	for i, d := range ix.dups {
		if d >= int64(ix.Len()) {
			return nil, Fail(CodeIndex, "entry %d: its duplicate, entry %d, is past the index's end", i, d)
		}
		if c := ix.claims[ix.claim[d]]; !c.Kept && c.Step != stepDedup {
			return nil, Fail(CodeIndex, "entry %d: its duplicate, entry %d, is neither kept nor a duplicate", i, d)
		}
	}
	// A file can cut only its last record short: a truncated record
	// elsewhere is half a record claimed as one.
	for i := range ix.Len() {
		if c := ix.claims[ix.claim[i]]; c.Step == stepReader && c.Reason == warc.SkipTruncated && !ix.last(i) {
			return nil, Fail(CodeIndex, "entry %d: a truncated record that is not the last of its file", i)
		}
	}
	return ix, nil
}

// find returns the entry holding byte pos of the index's coordinates.
func (ix *Index) find(pos int64) int {
	i, _ := slices.BinarySearch(ix.ends, pos+1)
	return i
}
