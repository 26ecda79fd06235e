package dataset

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/parquet-go/parquet-go"
)

// Verify checks that every file the manifest names exists in dir with the
// size and sha256 the manifest gives.
func Verify(dir string, m *Manifest) error {
	for _, f := range m.Files() {
		if err := verifyFile(dir, f); err != nil {
			return err
		}
	}
	return nil
}

func verifyFile(dir string, f File) error {
	fh, err := os.Open(filepath.Join(dir, filepath.FromSlash(f.Path)))
	if err != nil {
		return fmt.Errorf("dataset file %s: %w", f.Path, err)
	}
	defer fh.Close()
	h := sha256.New()
	n, err := io.Copy(h, fh)
	if err != nil {
		return fmt.Errorf("dataset file %s: %w", f.Path, err)
	}
	if n != f.Bytes {
		return fmt.Errorf("dataset file %s: %d bytes, manifest says %d", f.Path, n, f.Bytes)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
		return fmt.Errorf("dataset file %s: sha256 %s, manifest says %s", f.Path, got, f.SHA256)
	}
	return nil
}

// ErrSchema reports a parquet file whose columns are not FineWeb's.
var ErrSchema = errors.New("parquet schema is not FineWeb's")

// ErrLimit reports a shard over a ReadLimits bound: a decompression or
// dictionary bomb, or simply more than the work it may cost.
var ErrLimit = errors.New("over the read limits")

// ReadLimits bound the work of reading untrusted parquet shards. Every bound
// is enforced while reading, on what is actually read, never on what the
// file's metadata claims. The totals apply to everything one Reader reads
// (one submission); zero means unbounded.
type ReadLimits struct {
	// MaxFooterBytes bounds the file's metadata (default 64 MiB: the
	// footer holds each row group's smallest and largest text whole, so
	// its size follows the texts'; usually a few KiB).
	MaxFooterBytes int64
	// MaxPageBytes bounds one page's uncompressed size (default 16 MiB: a
	// page holds at least one whole value, up to MaxRowTextBytes, and
	// writers cut pages at a few hundred KiB).
	MaxPageBytes int64
	// MaxPageValues bounds one page's value count (default 1<<20).
	MaxPageValues int64
	// MaxRowTextBytes bounds one document's text (default 4 MiB: Common
	// Crawl truncates payloads at 1 MiB, and re-encoding to UTF-8 grows a
	// text by at most 3×).
	MaxRowTextBytes int64
	// MaxPagesBytes bounds the sum of the pages' uncompressed sizes, which
	// the reader verifies by decompressing each page with that bound before
	// anything is decoded.
	MaxPagesBytes int64
	// MaxRows bounds the rows, and MaxTextBytes the text bytes, decoded per
	// pass (see Reader.Pass).
	MaxRows, MaxTextBytes int64
}

// DefaultReadLimits are the per-page and per-row bounds, with no totals.
func DefaultReadLimits() ReadLimits {
	return ReadLimits{}.withDefaults()
}

func (l ReadLimits) withDefaults() ReadLimits {
	if l.MaxFooterBytes <= 0 {
		l.MaxFooterBytes = 64 << 20
	}
	if l.MaxPageBytes <= 0 {
		l.MaxPageBytes = 16 << 20
	}
	if l.MaxPageValues <= 0 {
		l.MaxPageValues = 1 << 20
	}
	if l.MaxRowTextBytes <= 0 {
		l.MaxRowTextBytes = 4 << 20
	}
	return l
}

// Reader reads shards within ReadLimits and counts what they cost. It is not
// safe for concurrent use.
type Reader struct {
	Limits ReadLimits
	// PageBytes is the uncompressed size of the pages checked; Rows and
	// TextBytes what the current pass decoded.
	PageBytes, Rows, TextBytes int64
	checked                    map[string]bool
}

// NewReader returns a Reader with limits (zero fields take the defaults).
func NewReader(limits ReadLimits) *Reader {
	return &Reader{Limits: limits.withDefaults(), checked: map[string]bool{}}
}

// Pass starts a new pass over the same shards: the row and text counts start
// again from zero (a shard's structure is checked once).
func (r *Reader) Pass() { r.Rows, r.TextBytes = 0, 0 }

// readBatch is how many rows are decoded at a time: it bounds what a
// dictionary-encoded bomb can materialise before the text budget sees it
// (readBatch × MaxPageBytes).
const readBatch = 8

// ReadShard calls fn for every row of one parquet file, in order, within the
// default limits. For untrusted files with a budget use Reader.ReadShard.
func ReadShard(path string, fn func(Doc) error) error {
	return NewReader(ReadLimits{}).ReadShard(context.Background(), path, fn)
}

// ReadShard checks one parquet file's structure (CheckShard, once per path)
// and calls fn for every row, in order, counting rows and text bytes against
// the limits as they are decoded. ctx is checked between batches of rows.
func (r *Reader) ReadShard(ctx context.Context, path string, fn func(Doc) error) error {
	pf, closer, err := r.open(ctx, path)
	if err != nil {
		return err
	}
	defer closer.Close()
	rd := parquet.NewGenericReader[Row](pf)
	defer rd.Close()
	buf := make([]Row, readBatch)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := rd.Read(buf)
		for i := 0; i < n; i++ {
			d := buf[i].Doc()
			buf[i] = Row{}
			if err := r.charge(path, &d); err != nil {
				return err
			}
			if ferr := fn(d); ferr != nil {
				return ferr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
}

// charge counts one decoded row.
func (r *Reader) charge(path string, d *Doc) error {
	l := r.Limits
	r.Rows++
	r.TextBytes += int64(len(d.Text))
	switch {
	case int64(len(d.Text)) > l.MaxRowTextBytes:
		return fmt.Errorf("%s: %w: document %q has %d text bytes, limit %d", path, ErrLimit, d.ID, len(d.Text), l.MaxRowTextBytes)
	case l.MaxRows > 0 && r.Rows > l.MaxRows:
		return fmt.Errorf("%s: %w: more than %d rows", path, ErrLimit, l.MaxRows)
	case l.MaxTextBytes > 0 && r.TextBytes > l.MaxTextBytes:
		return fmt.Errorf("%s: %w: more than %d text bytes decoded", path, ErrLimit, l.MaxTextBytes)
	}
	return nil
}

// open opens a shard for decoding, checking its structure first.
func (r *Reader) open(ctx context.Context, path string) (*parquet.File, io.Closer, error) {
	if !r.checked[path] {
		if err := r.CheckShard(ctx, path); err != nil {
			return nil, nil, err
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return pf, f, nil
}

// CheckSchema verifies that a parquet schema has at least FineWeb's text and
// id columns and that every FineWeb column present has FineWeb's type.
func CheckSchema(s *parquet.Schema) error {
	byName := map[string]parquet.Field{}
	for _, f := range s.Fields() {
		byName[f.Name()] = f
	}
	for _, c := range Columns {
		f, ok := byName[c.Name]
		if !ok {
			if c.Name == "text" || c.Name == "id" {
				return fmt.Errorf("%w: no %q column", ErrSchema, c.Name)
			}
			continue
		}
		if !f.Leaf() {
			return fmt.Errorf("%w: column %q is not a leaf", ErrSchema, c.Name)
		}
		kind := f.Type().Kind()
		ok = false
		switch c.Type {
		case "string":
			ok = kind == parquet.ByteArray
		case "double":
			ok = kind == parquet.Double
		case "int64":
			ok = kind == parquet.Int64
		}
		if !ok {
			return fmt.Errorf("%w: column %q has type %s, want %s", ErrSchema, c.Name, kind, c.Type)
		}
	}
	return nil
}

// ReadAll reads every shard of a dataset folder, in manifest order, within
// the default limits.
func ReadAll(dir string, m *Manifest, fn func(shard int, row int64, d Doc) error) error {
	return NewReader(ReadLimits{}).ReadAll(context.Background(), dir, m, fn)
}

// ReadAll reads every shard of a dataset folder, in manifest order, within
// r's limits (one pass: Pass is called first).
func (r *Reader) ReadAll(ctx context.Context, dir string, m *Manifest, fn func(shard int, row int64, d Doc) error) error {
	r.Pass()
	for i, s := range m.Shards {
		var row int64
		err := r.ReadShard(ctx, filepath.Join(dir, filepath.FromSlash(s.Path)), func(d Doc) error {
			err := fn(i, row, d)
			row++
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}
