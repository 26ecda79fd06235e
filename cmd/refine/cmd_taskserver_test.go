package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestTaskserverImportIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	listing := filepath.Join(dir, "warc.paths")
	os.WriteFile(listing, []byte("crawl-data/CC-MAIN-2024-10/a.warc.gz\ncrawl-data/CC-MAIN-2024-10/b.warc.gz\n"), 0o644)
	o := taskserverImportOptions{DB: filepath.Join(dir, "ts.db"), Plan: planFlags{WARCsPerTask: 1, RangesPerWARC: 1}}
	for _, want := range []string{"2 tasks listed, 2 new\n", "2 tasks listed, 0 new\n"} {
		var out bytes.Buffer
		if err := runTaskserverImport(context.Background(), o, []string{listing}, &out); err != nil {
			t.Fatal(err)
		}
		if out.String() != want {
			t.Fatalf("output %q, want %q", out.String(), want)
		}
	}
	if err := runTaskserverImport(context.Background(), o, []string{filepath.Join(dir, "missing")}, &bytes.Buffer{}); err == nil {
		t.Fatal("missing source accepted")
	}
}
