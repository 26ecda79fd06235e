package verify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/pipeline"
	"github.com/datarefine/refine/pipeline/warc"
	"github.com/datarefine/refine/process"
)

// Entry reads the record of one index entry: the length bytes at offset of
// the named WARC — a file read, or one HTTP range request for exactly those
// bytes — decoded by the miner's own decoder (warc.ReadEntry) into the
// miner's own document (process.RecordDocument). Bytes that do not hold
// exactly one record are the miner's lie (a *Failure, CodeIndex); a read
// that fails or comes back short is the validator's side (any other error).
func (r *Reference) Entry(ctx context.Context, name string, offset, length int64) (*pipeline.Document, error) {
	if length <= 0 || length > MaxEntryBytes {
		return nil, Fail(CodeIndex, "%s@%d: an entry of %d bytes", name, offset, length)
	}
	b, err := r.entryBytes(ctx, name, offset, length)
	if err != nil {
		return nil, err
	}
	r.fetched.Add(int64(len(b)))
	rec, err := warc.ReadEntry(ctx, bytes.NewReader(b), length, warc.Options{Name: name})
	if errors.Is(err, warc.ErrNotOneRecord) {
		return nil, Fail(CodeIndex, "%s bytes [%d, %d): %v", name, offset, offset+length, err)
	}
	if err != nil {
		return nil, err
	}
	rec.Offset = offset
	return process.RecordDocument(rec, name), nil
}

// entryBytes reads exactly length bytes at offset.
func (r *Reference) entryBytes(ctx context.Context, name string, offset, length int64) ([]byte, error) {
	loc, err := r.opts.Resolve(name)
	if err != nil {
		return nil, err
	}
	b := make([]byte, length)
	if !warc.IsURL(loc) {
		f, err := os.Open(loc)
		if err != nil {
			return nil, fmt.Errorf("open WARC %s: %w", name, err)
		}
		defer f.Close()
		if _, err := f.ReadAt(b, offset); err != nil {
			return nil, fmt.Errorf("read %s bytes [%d, %d): %w", name, offset, offset+length, err)
		}
		return b, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", offset, offset+length-1))
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := r.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s bytes [%d, %d): %w", name, offset, offset+length, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent {
		return nil, fmt.Errorf("fetch %s bytes [%d, %d): HTTP status %s (want 206)", name, offset, offset+length, resp.Status)
	}
	if want := fmt.Sprintf("bytes %d-%d/", offset, offset+length-1); !strings.HasPrefix(resp.Header.Get("Content-Range"), want) {
		return nil, fmt.Errorf("fetch %s bytes [%d, %d): Content-Range %q", name, offset, offset+length, resp.Header.Get("Content-Range"))
	}
	if _, err := io.ReadFull(resp.Body, b); err != nil {
		return nil, fmt.Errorf("fetch %s bytes [%d, %d): %w", name, offset, offset+length, err)
	}
	return b, nil
}

// Fetched is the WARC bytes Entry has read so far, over all evaluations
// (for benchmarks).
func (r *Reference) Fetched() int64 { return r.fetched.Load() }

// rerun is what the reference pipeline makes of one record of the index.
type rerun struct {
	kept         bool
	step, reason string // reason cut as the index records it
	id, url      string
	tokens       int64
	// For a kept record: its text as the miner's output holds it modulo
	// PII (Reference.Folded: provenance and quality compare it), the
	// sha256 of that, and the MinHash bands of its text before PII
	// formatting (what the miner's deduplication compared).
	folded     string
	foldedHash [32]byte
	bands      []uint64
}

// reruns re-runs the records of one submission's index, each at most once.
type reruns struct {
	ref   *Reference
	warcs []string
	ix    *Index
	done  map[int]*rerun
	// bytes is the WARC bytes fetched for this submission.
	bytes int64
	// run fetches and re-runs one entry (fetchRun; tests replace it).
	run func(ctx context.Context, i int) (*rerun, error)
}

func newReruns(ref *Reference, warcs []string, ix *Index) *reruns {
	rs := &reruns{ref: ref, warcs: warcs, ix: ix, done: map[int]*rerun{}}
	rs.run = rs.fetchRun
	return rs
}

// get returns entry i's re-run. A *Failure is the miner's (its bytes are
// not one record); other errors are the validator's side.
func (rs *reruns) get(ctx context.Context, i int) (*rerun, error) {
	if r, ok := rs.done[i]; ok {
		return r, nil
	}
	r, err := rs.run(ctx, i)
	if err != nil {
		return nil, err
	}
	rs.bytes += rs.ix.Entry(i).Length
	rs.done[i] = r
	return r, nil
}

// fetchRun reads entry i's record alone and re-runs the reference on it.
func (rs *reruns) fetchRun(ctx context.Context, i int) (*rerun, error) {
	e := rs.ix.Entry(i)
	name := rs.warcs[e.WARC]
	doc, err := rs.ref.Entry(ctx, name, e.Offset, e.Length)
	if err != nil {
		return nil, err
	}
	if doc.Skip == warc.SkipTruncated && !rs.ix.last(i) {
		return nil, Fail(CodeIndex, "entry %d (%s@%d): half a record (truncated), not the last of its file", i, name, e.Offset)
	}
	kept, step, reason := rs.ref.Run(doc)
	r := &rerun{kept: kept, step: step, reason: dataset.IndexReason(reason), id: doc.ID, url: doc.URL, tokens: doc.TokenCount}
	if kept {
		r.folded = rs.ref.Folded(doc.Text)
		r.foldedHash = sha256.Sum256([]byte(r.folded))
		r.bands = Bands(rs.ref.MinHasher().Sign(doc.Text), rs.ref.MinHasher().Config())
	}
	return r, nil
}

// outcome renders a re-run for messages.
func (r *rerun) outcome() string {
	if r.kept {
		return "kept"
	}
	return r.step + "/" + r.reason
}

// claim renders an index entry's claim for messages.
func claim(e dataset.IndexEntry) string {
	switch {
	case e.Kept:
		return "kept"
	case e.Dup != nil:
		return e.Step + "/" + e.Reason + " of entry " + strconv.FormatInt(*e.Dup, 10)
	}
	return e.Step + "/" + e.Reason
}
