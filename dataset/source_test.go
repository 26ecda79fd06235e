package dataset

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"
)

// TestOpenSource: a shard read back as a pipeline source gives each row's
// fields as a Document, in row order, with no WARC offset.
func TestOpenSource(t *testing.T) {
	dir := t.TempDir()
	docs := sampleDocs(5)
	docs[2].FilePath = "" // a row without a file path names the shard
	shards, _ := writeDataset(t, dir, docs, 1<<20)
	if len(shards) != 1 {
		t.Fatalf("%d shards", len(shards))
	}
	path := filepath.Join(dir, filepath.FromSlash(shards[0].Path))
	src, err := OpenSource(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range docs {
		d, err := src.Next(context.Background())
		if err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		wantPath := want.FilePath
		if wantPath == "" {
			wantPath = path
		}
		if d.Text != want.Text || d.ID != want.ID || d.URL != want.URL || d.Date != want.Date || d.Dump != want.Dump ||
			d.FilePath != wantPath || d.Offset != -1 || d.Index != int64(i) || d.Skip != "" {
			t.Fatalf("document %d: %+v, want %+v", i, d, want)
		}
	}
	if _, err := src.Next(context.Background()); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last row: %v", err)
	}
}
