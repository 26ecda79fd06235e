package dataset

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"unicode/utf8"
)

// IndexName is the record index's file name (Layout.IndexPath).
const IndexName = "index.jsonl"

// IndexEntry is one record of a run's WARC inputs in the record index: one
// line per record, in input order, every record the reader met (kept or
// not), so that the entries of one WARC tile it: each entry's bytes start
// where the previous one's end, the first at the input's first byte (a
// range's first record), the last ending at its last (the file's end, or
// the first record after a range). A validator reads the index whole (it is
// small), checks the tiling against the WARC's size, and re-runs only the
// records a seeded sample draws, each fetched by its bytes alone
// (warc.ReadEntry) — instead of downloading the WARC.
//
// Every field is the miner's claim; docs/mechanism.md ("Coverage") says how
// each is checked.
type IndexEntry struct {
	// WARC is the input's position in the manifest's inputs (0 omitted).
	WARC int `json:"warc,omitempty"`
	// Offset and Length are the record's bytes in its WARC: from the start
	// of its gzip member (or WARC header) to the next record's start.
	Offset int64 `json:"offset"`
	Length int64 `json:"length"`
	// Kept: the record is a document of the dataset (records.jsonl cites
	// its offset). Otherwise Step and Reason name what dropped it, as the
	// run's statistics count it ("reader"/"not_response", "language"/
	// "low_en_score", "dedup"/"duplicate", …), the reason cut by IndexReason.
	Kept   bool   `json:"kept,omitempty"`
	Step   string `json:"step,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Dup, for a record dropped as a near-duplicate, is the entry (its
	// line number in the index, from 0) of a record whose text shares a
	// MinHash band with this one's, one step on the shortest such path to
	// the document kept in its place: following Dup leads to a kept entry.
	Dup *int64 `json:"dup,omitempty"`
}

// MaxIndexReason bounds a reason in the index: a panic's message can be
// long, and a line must stay small.
const MaxIndexReason = 200

// IndexReason is reason as the index records it: cut at MaxIndexReason
// bytes on a rune boundary. Writers and checkers both pass reasons through
// it, so that they compare alike.
func IndexReason(reason string) string {
	if len(reason) <= MaxIndexReason {
		return reason
	}
	cut := MaxIndexReason
	for cut > 0 && !utf8.RuneStart(reason[cut]) {
		cut--
	}
	return reason[:cut]
}

// MaxIndexLine bounds one line of the index (two numbers, a step and a
// reason of at most MaxIndexReason bytes).
const MaxIndexLine = 512

// IndexWriter writes a record index.
type IndexWriter struct {
	f   *os.File
	bw  *bufio.Writer
	enc *json.Encoder
	rel string
	dir string
	n   int64
}

// NewIndexWriter creates the record index at rel inside dir.
func NewIndexWriter(dir, rel string) (*IndexWriter, error) {
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, fmt.Errorf("create record index: %w", err)
	}
	f, err := os.Create(p)
	if err != nil {
		return nil, fmt.Errorf("create record index: %w", err)
	}
	w := &IndexWriter{f: f, bw: bufio.NewWriterSize(f, 1<<20), rel: rel, dir: dir}
	w.enc = json.NewEncoder(w.bw)
	w.enc.SetEscapeHTML(false)
	return w, nil
}

// Add writes the next entry.
func (w *IndexWriter) Add(e IndexEntry) error {
	e.Reason = IndexReason(e.Reason)
	w.n++
	return w.enc.Encode(&e)
}

// Close finishes the file and returns its manifest entry.
func (w *IndexWriter) Close() (*File, error) {
	err := w.bw.Flush()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("write record index: %w", err)
	}
	return HashFile(w.dir, w.rel)
}

// Abort removes a partly written index.
func (w *IndexWriter) Abort() {
	w.f.Close()
	os.Remove(filepath.Join(w.dir, filepath.FromSlash(w.rel)))
}

// ErrIndex reports a record index that is not well formed (the error names
// the line and what is wrong).
var ErrIndex = errors.New("record index")

// ReadIndex reads a record index from r, at most maxEntries lines of at
// most MaxIndexLine bytes each, and calls fn with every entry in order.
// Every line must be one JSON object of IndexEntry's fields and nothing
// else; an entry without a positive length, a kept entry with a step, or
// a dropped one without a step is refused. Errors from the index wrap
// ErrIndex; fn's errors are returned as they are.
func ReadIndex(ctx context.Context, r io.Reader, maxEntries int64, fn func(i int64, e IndexEntry) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4<<10), MaxIndexLine)
	var i int64
	for sc.Scan() {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if i >= maxEntries {
			return fmt.Errorf("%w: more than %d entries", ErrIndex, maxEntries)
		}
		var e IndexEntry
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return fmt.Errorf("%w: line %d: %v", ErrIndex, i+1, err)
		}
		if dec.More() {
			return fmt.Errorf("%w: line %d: more than one object", ErrIndex, i+1)
		}
		switch {
		case e.Length <= 0 || e.Offset < 0 || e.WARC < 0:
			return fmt.Errorf("%w: line %d: WARC %d, offset %d, length %d", ErrIndex, i+1, e.WARC, e.Offset, e.Length)
		case e.Kept && (e.Step != "" || e.Reason != "" || e.Dup != nil):
			return fmt.Errorf("%w: line %d: kept, yet dropped by %q", ErrIndex, i+1, e.Step)
		case !e.Kept && e.Step == "":
			return fmt.Errorf("%w: line %d: neither kept nor dropped by a step", ErrIndex, i+1)
		case e.Reason != IndexReason(e.Reason):
			return fmt.Errorf("%w: line %d: reason longer than %d bytes", ErrIndex, i+1, MaxIndexReason)
		case e.Dup != nil && (*e.Dup < 0 || *e.Dup == i):
			return fmt.Errorf("%w: line %d: dup %d", ErrIndex, i+1, *e.Dup)
		}
		if err := fn(i, e); err != nil {
			return err
		}
		i++
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("%w: line %d longer than %d bytes", ErrIndex, i+1, MaxIndexLine)
		}
		return err
	}
	return nil
}
