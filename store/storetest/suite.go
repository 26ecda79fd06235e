// Package storetest is the conformance suite every store.Store passes.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datarefine/refine/store"
)

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func read(t *testing.T, s store.Store, repo, rev, path string) string {
	t.Helper()
	rc, err := s.Open(context.Background(), repo, rev, path)
	if err != nil {
		t.Fatalf("Open(%s@%s:%s): %v", repo, rev, path, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Run runs the suite against stores made by newStore (a fresh, empty
// store each call).
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	ctx := context.Background()
	big := strings.Repeat("0123456789abcdef", 4096) // 64 KiB: large-file path on the Hub
	v1 := map[string]string{
		"manifest.json":                      `{"format":"refine-dataset/1"}`,
		"data/CC-MAIN-2024-10/00000.parquet": big,
		"records.jsonl":                      "{}\n",
	}

	t.Run("PublishListOpen", func(t *testing.T) {
		s := newStore(t)
		rev, err := s.Publish(ctx, "miner1/refined", writeTree(t, v1), "task 1")
		if err != nil {
			t.Fatal(err)
		}
		if rev == "" {
			t.Fatal("empty revision")
		}
		files, err := s.List(ctx, "miner1/refined", rev)
		if err != nil {
			t.Fatal(err)
		}
		var paths []string
		for _, f := range files {
			paths = append(paths, f.Path)
			if f.Size != int64(len(v1[f.Path])) {
				t.Errorf("%s: size %d, want %d", f.Path, f.Size, len(v1[f.Path]))
			}
		}
		if strings.Join(paths, ",") != "data/CC-MAIN-2024-10/00000.parquet,manifest.json,records.jsonl" {
			t.Fatalf("List = %v", paths)
		}
		for p, c := range v1 {
			if got := read(t, s, "miner1/refined", rev, p); got != c {
				t.Fatalf("%s: read %d bytes, want %d", p, len(got), len(c))
			}
		}
	})

	t.Run("RevisionsAreImmutable", func(t *testing.T) {
		s := newStore(t)
		rev1, err := s.Publish(ctx, "miner1/refined", writeTree(t, v1), "one")
		if err != nil {
			t.Fatal(err)
		}
		v2 := map[string]string{"manifest.json": `{"format":"refine-dataset/1","task":"2"}`}
		rev2, err := s.Publish(ctx, "miner1/refined", writeTree(t, v2), "two")
		if err != nil {
			t.Fatal(err)
		}
		if rev1 == rev2 {
			t.Fatal("different content, same revision")
		}
		if got := read(t, s, "miner1/refined", rev1, "manifest.json"); got != v1["manifest.json"] {
			t.Fatalf("old revision changed: %q", got)
		}
		if _, err := s.Open(ctx, "miner1/refined", rev2, "records.jsonl"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("file absent from revision 2: %v", err)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		s := newStore(t)
		rev, err := s.Publish(ctx, "miner1/refined", writeTree(t, v1), "one")
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ repo, rev, path string }{
			{"nobody/none", rev, "manifest.json"},
			{"miner1/refined", strings.Repeat("0", 40), "manifest.json"},
			{"miner1/refined", rev, "missing.json"},
		} {
			if _, err := s.Open(ctx, tc.repo, tc.rev, tc.path); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Open(%+v) = %v, want ErrNotFound", tc, err)
			}
		}
		if _, err := s.List(ctx, "nobody/none", rev); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("List of a missing repo: %v", err)
		}
	})

	t.Run("BadRepoName", func(t *testing.T) {
		s := newStore(t)
		for _, repo := range []string{"", "../etc", "a/b/c", "a b", "/abs"} {
			if _, err := s.Publish(ctx, repo, writeTree(t, v1), "x"); err == nil {
				t.Errorf("Publish to %q accepted", repo)
			}
		}
	})

	t.Run("FetchLimits", func(t *testing.T) {
		s := newStore(t)
		rev, err := s.Publish(ctx, "miner1/refined", writeTree(t, v1), "one")
		if err != nil {
			t.Fatal(err)
		}
		dst := t.TempDir()
		if _, err := store.Fetch(ctx, s, "miner1/refined", rev, dst, store.Limits{}); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(filepath.Join(dst, "data", "CC-MAIN-2024-10", "00000.parquet"))
		if !bytes.Equal(b, []byte(big)) {
			t.Fatal("fetched content differs")
		}
		for _, lim := range []store.Limits{{MaxFileBytes: 1000}, {MaxTotalBytes: 2000}, {MaxFiles: 2}} {
			if _, err := store.Fetch(ctx, s, "miner1/refined", rev, t.TempDir(), lim); !errors.Is(err, store.ErrTooLarge) {
				t.Errorf("Fetch with %+v: %v, want ErrTooLarge", lim, err)
			}
		}
	})
}
