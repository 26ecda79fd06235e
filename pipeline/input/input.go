// Package input turns the paths and URLs given to `refine process` into
// pipeline sources: WARC files (read and extracted) and already-extracted
// documents in JSONL(.gz) or parquet (which skip reading and extraction,
// like datatrove's JsonlReader).
package input

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/pipeline"
)

// Kind is what an input holds.
type Kind int

const (
	WARC    Kind = iota // WARC records: read, decode, extract
	JSONL               // extracted documents, one JSON object a line
	Parquet             // extracted documents in parquet rows
)

func (k Kind) String() string {
	return [...]string{"warc", "jsonl", "parquet"}[k]
}

// Input is one file or URL to read.
type Input struct {
	Path string
	Kind Kind
}

// IsURL reports whether p is an http(s) URL.
func IsURL(p string) bool {
	u, err := url.Parse(p)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// KindOf tells an input's kind from its name.
func KindOf(name string) (Kind, bool) {
	if IsURL(name) {
		if u, err := url.Parse(name); err == nil {
			name = u.Path
		}
	}
	n := strings.ToLower(name)
	switch {
	case strings.HasSuffix(n, "warc"), strings.HasSuffix(n, "warc.gz"):
		return WARC, true
	case strings.HasSuffix(n, ".jsonl"), strings.HasSuffix(n, ".jsonl.gz"), strings.HasSuffix(n, ".json.gz"):
		return JSONL, true
	case strings.HasSuffix(n, ".parquet"):
		return Parquet, true
	}
	return 0, false
}

// Expand resolves paths, folders and URLs into inputs, in the order given;
// a folder contributes its inputs (recursively) in lexical order.
func Expand(args []string) ([]Input, error) {
	var out []Input
	for _, a := range args {
		if IsURL(a) {
			k, ok := KindOf(a)
			if !ok {
				k = WARC
			}
			out = append(out, Input{a, k})
			continue
		}
		st, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", a, err)
		}
		if !st.IsDir() {
			k, ok := KindOf(a)
			if !ok {
				// A file named explicitly may have an odd name: look inside.
				if k, ok = sniff(a); !ok {
					return nil, fmt.Errorf("input %s: not a .warc, .warc.gz, .jsonl(.gz) or .parquet file", a)
				}
			}
			out = append(out, Input{a, k})
			continue
		}
		var found []Input
		err = filepath.WalkDir(a, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				return nil
			}
			if k, ok := KindOf(p); ok {
				found = append(found, Input{p, k})
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", a, err)
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("input %s: folder holds no WARC, JSONL or parquet files", a)
		}
		sort.Slice(found, func(i, j int) bool { return found[i].Path < found[j].Path })
		out = append(out, found...)
	}
	if len(out) == 0 {
		return nil, errors.New("no input given")
	}
	return out, nil
}

// sniff tells an input's kind from its first bytes: a WARC header, a
// parquet magic, a JSON object, possibly inside gzip.
func sniff(path string) (Kind, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	var r io.Reader = f
	head := make([]byte, 8)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		f.Seek(0, io.SeekStart)
		gz, err := gzip.NewReader(f)
		if err != nil {
			return 0, false
		}
		r = gz
		head = make([]byte, 8)
		n, _ = io.ReadFull(r, head)
		head = head[:n]
	}
	switch {
	case strings.HasPrefix(string(head), "WARC/"):
		return WARC, true
	case strings.HasPrefix(string(head), "PAR1"):
		return Parquet, true
	case strings.HasPrefix(strings.TrimSpace(string(head)), "{"):
		return JSONL, true
	}
	return 0, false
}

// docLine is the JSONL document shape: text and id required, the rest
// optional, as datatrove's JsonlReader writes and reads them (metadata may be
// nested under "metadata" or flat).
type docLine struct {
	Text          *string         `json:"text"`
	ID            json.RawMessage `json:"id"`
	URL           string          `json:"url"`
	Date          string          `json:"date"`
	Dump          string          `json:"dump"`
	FilePath      string          `json:"file_path"`
	Language      string          `json:"language"`
	LanguageScore float64         `json:"language_score"`
	Metadata      *struct {
		URL      string `json:"url"`
		Date     string `json:"date"`
		Dump     string `json:"dump"`
		FilePath string `json:"file_path"`
	} `json:"metadata"`
}

// jsonlSource reads documents from a JSONL(.gz) stream.
type jsonlSource struct {
	path string
	sc   *bufio.Scanner
	line int64
	c    io.Closer
}

// OpenJSONL opens a JSONL or JSONL.gz file of documents.
func OpenJSONL(path string) (pipeline.Source, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	var r io.Reader = f
	closer := io.Closer(f)
	if strings.HasSuffix(strings.ToLower(path), ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		r = gz
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 256<<20)
	return &jsonlSource{path: path, sc: sc, c: closer}, closer, nil
}

func (s *jsonlSource) Next(ctx context.Context) (*pipeline.Document, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for s.sc.Scan() {
		s.line++
		b := s.sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		doc := &pipeline.Document{FilePath: s.path, Offset: -1, Index: s.line - 1}
		var l docLine
		if err := json.Unmarshal(b, &l); err != nil {
			doc.ID = fmt.Sprintf("%s:%d", s.path, s.line)
			doc.Skip = "corrupt_json"
			return doc, nil
		}
		doc.ID = idString(l.ID)
		switch {
		case l.Text == nil:
			doc.Skip = "missing_text"
		case doc.ID == "":
			doc.Skip = "missing_id"
		default:
			doc.Text = *l.Text
		}
		if doc.ID == "" {
			doc.ID = fmt.Sprintf("%s:%d", s.path, s.line)
		}
		doc.URL, doc.Date, doc.Dump = l.URL, l.Date, l.Dump
		if l.FilePath != "" {
			doc.FilePath = l.FilePath
		}
		if m := l.Metadata; m != nil {
			doc.URL = first(doc.URL, m.URL)
			doc.Date = first(doc.Date, m.Date)
			doc.Dump = first(doc.Dump, m.Dump)
			if m.FilePath != "" {
				doc.FilePath = m.FilePath
			}
		}
		return doc, nil
	}
	if err := s.sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: line %d: %w", s.path, s.line+1, err)
	}
	return nil, io.EOF
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// idString accepts a JSON string or number as an id.
func idString(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// parquetSource reads documents from a parquet file with FineWeb columns.
type parquetSource struct {
	docs []dataset.Doc
	path string
	i    int
}

// OpenParquet reads a parquet file's documents (at least text and id).
func OpenParquet(path string) (pipeline.Source, error) {
	s := &parquetSource{path: path}
	err := dataset.ReadShard(path, func(d dataset.Doc) error {
		s.docs = append(s.docs, d)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (s *parquetSource) Next(ctx context.Context) (*pipeline.Document, error) {
	if s.i >= len(s.docs) {
		return nil, io.EOF
	}
	d := s.docs[s.i]
	s.docs[s.i] = dataset.Doc{}
	doc := d.Document()
	doc.Index = int64(s.i)
	if doc.FilePath == "" {
		doc.FilePath = s.path
	}
	if doc.ID == "" {
		doc.ID = fmt.Sprintf("%s:%d", s.path, s.i)
		doc.Skip = "missing_id"
	}
	s.i++
	return doc, nil
}
