package dataset

import (
	"context"
	"fmt"
	"io"

	"github.com/datarefine/refine/pipeline"
)

// parquetSource reads documents from a parquet file with FineWeb columns.
type parquetSource struct {
	docs []Doc
	path string
	i    int
}

// OpenSource reads a parquet file's documents (at least text and id) as a
// pipeline source: `refine process` on already-extracted documents. The
// pipeline knows no output format, so the format reads itself into it.
func OpenSource(path string) (pipeline.Source, error) {
	s := &parquetSource{path: path}
	err := ReadShard(path, func(d Doc) error {
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
	s.docs[s.i] = Doc{}
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
