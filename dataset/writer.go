package dataset

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/parquet-go/parquet-go"

	"github.com/datarefine/refine/internal/buildinfo"
)

// RecordRef ties a kept document to the WARC record it came from.
type RecordRef struct {
	ID     string `json:"id"`
	Shard  int    `json:"shard"`
	Row    int64  `json:"row"`
	WARC   string `json:"warc,omitempty"`
	Offset int64  `json:"offset"`
}

// WriterOptions configures a Writer.
type WriterOptions struct {
	// Dir is the dataset folder; it is created if needed.
	Dir string
	// MaxShardBytes rotates to a new shard once a shard's text reaches this
	// many bytes (default 256 MiB), keeping shards a bounded size.
	MaxShardBytes int64
	// MaxShardDocs rotates after this many documents (default 1,000,000).
	MaxShardDocs int64
	// RowGroupDocs is the number of rows per parquet row group (default 10,000).
	RowGroupDocs int64
	// Layout places the files in Dir (default: a standalone dataset folder).
	Layout Layout
}

// Writer writes documents to parquet shards and records.jsonl, in the order
// given. It is not safe for concurrent use: the pipeline's ordered sink owns it.
type Writer struct {
	opts    WriterOptions
	shards  []Shard
	cur     *shardWriter
	records *bufio.Writer
	recFile *os.File
	recHash hashWriter
}

type shardWriter struct {
	path  string
	f     *os.File
	hash  hashWriter
	pw    *parquet.GenericWriter[Row]
	dump  string
	docs  int64
	bytes int64
	toks  int64
}

type hashWriter struct {
	w io.Writer
	h interface {
		io.Writer
		Sum([]byte) []byte
	}
	n int64
}

func newHashWriter(w io.Writer) hashWriter { return hashWriter{w: w, h: sha256.New()} }

func (h *hashWriter) Write(p []byte) (int, error) {
	n, err := h.w.Write(p)
	h.h.Write(p[:n])
	h.n += int64(n)
	return n, err
}

func (h *hashWriter) sum() string { return hex.EncodeToString(h.h.Sum(nil)) }

// DefaultMaxShardBytes is the text size at which a shard is rotated
// unless WriterOptions.MaxShardBytes says otherwise.
const DefaultMaxShardBytes = 256 << 20

// NewWriter creates the dataset folder and opens records.jsonl.
func NewWriter(opts WriterOptions) (*Writer, error) {
	if opts.MaxShardBytes <= 0 {
		opts.MaxShardBytes = DefaultMaxShardBytes
	}
	if opts.MaxShardDocs <= 0 {
		opts.MaxShardDocs = 1_000_000
	}
	if opts.RowGroupDocs <= 0 {
		opts.RowGroupDocs = 10_000
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create dataset folder: %w", err)
	}
	recPath := filepath.Join(opts.Dir, filepath.FromSlash(opts.Layout.RecordsPath()))
	if err := os.MkdirAll(filepath.Dir(recPath), 0o755); err != nil {
		return nil, fmt.Errorf("create dataset folder: %w", err)
	}
	f, err := os.Create(recPath)
	if err != nil {
		return nil, fmt.Errorf("create records file: %w", err)
	}
	w := &Writer{opts: opts, recFile: f}
	w.recHash = newHashWriter(f)
	w.records = bufio.NewWriterSize(&w.recHash, 1<<16)
	return w, nil
}

// CreatedBy is what the files a run writes record as their writer:
// "refine version <module version>".
func CreatedBy() string { return "refine version " + buildinfo.Version() }

// RecordsName is the side file of record references.
const RecordsName = "records.jsonl"

// Write appends one document and its WARC reference.
func (w *Writer) Write(d *Doc, warcPath string, offset int64) error {
	if w.cur != nil && (w.cur.dump != d.Dump || w.cur.bytes >= w.opts.MaxShardBytes || w.cur.docs >= w.opts.MaxShardDocs) {
		if err := w.closeShard(); err != nil {
			return err
		}
	}
	if w.cur == nil {
		if err := w.openShard(d.Dump); err != nil {
			return err
		}
	}
	row := d.Row()
	if _, err := w.cur.pw.Write([]Row{row}); err != nil {
		return fmt.Errorf("write %s: %w", w.cur.path, err)
	}
	ref := RecordRef{ID: d.ID, Shard: len(w.shards), Row: w.cur.docs, WARC: warcPath, Offset: offset}
	b, err := json.Marshal(ref)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if _, err := w.records.Write(b); err != nil {
		return fmt.Errorf("write records: %w", err)
	}
	w.cur.docs++
	w.cur.bytes += int64(len(d.Text))
	w.cur.toks += d.TokenCount
	if w.cur.docs%w.opts.RowGroupDocs == 0 {
		if err := w.cur.pw.Flush(); err != nil {
			return fmt.Errorf("flush %s: %w", w.cur.path, err)
		}
	}
	return nil
}

func (w *Writer) openShard(dump string) error {
	rel, err := w.opts.Layout.ShardPath(dump, len(w.shards))
	if err != nil {
		return err
	}
	full := filepath.Join(w.opts.Dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return fmt.Errorf("create shard folder: %w", err)
	}
	f, err := os.Create(full)
	if err != nil {
		return fmt.Errorf("create shard: %w", err)
	}
	sw := &shardWriter{path: rel, f: f, dump: dump}
	sw.hash = newHashWriter(f)
	sw.pw = parquet.NewGenericWriter[Row](&sw.hash,
		parquet.Compression(&parquet.Zstd),
		// The parquet convention: "<app> version <version>" (parquet-go's
		// own CreatedBy would add an empty "(build )").
		&parquet.WriterConfig{CreatedBy: CreatedBy()},
	)
	w.cur = sw
	return nil
}

func (w *Writer) closeShard() error {
	sw := w.cur
	w.cur = nil
	if err := sw.pw.Close(); err != nil {
		sw.f.Close()
		return fmt.Errorf("close %s: %w", sw.path, err)
	}
	if err := sw.f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", sw.path, err)
	}
	w.shards = append(w.shards, Shard{
		File:      File{Path: sw.path, Bytes: sw.hash.n, SHA256: sw.hash.sum()},
		Documents: sw.docs,
		Tokens:    sw.toks,
	})
	return nil
}

// Close finishes the last shard and the records file and returns what was
// written, ready for the manifest.
func (w *Writer) Close() (shards []Shard, records *File, err error) {
	if w.cur != nil {
		if err := w.closeShard(); err != nil {
			w.recFile.Close()
			return nil, nil, err
		}
	}
	if err := w.records.Flush(); err != nil {
		w.recFile.Close()
		return nil, nil, fmt.Errorf("write records: %w", err)
	}
	if err := w.recFile.Close(); err != nil {
		return nil, nil, fmt.Errorf("close records: %w", err)
	}
	return w.shards, &File{Path: w.opts.Layout.RecordsPath(), Bytes: w.recHash.n, SHA256: w.recHash.sum()}, nil
}

// HashFile returns the File entry (size and sha256) of a file in dir.
func HashFile(dir, rel string) (*File, error) {
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := newHashWriter(io.Discard)
	if _, err := io.Copy(&h, f); err != nil {
		return nil, fmt.Errorf("hash %s: %w", rel, err)
	}
	return &File{Path: rel, Bytes: h.n, SHA256: h.sum()}, nil
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
