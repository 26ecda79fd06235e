package web

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/datarefine/refine/store/local"
)

// A lineage file over the limit is read once and cut after its last whole
// line; one within it is read whole, a last line without newline kept.
func TestReadLinesCutsAtLimit(t *testing.T) {
	ctx := context.Background()
	st, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const repo = "o/ds"
	if err := st.Create(ctx, repo); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, s string) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("lineage/d/big.jsonl", "aaaa\nbbbb\ncccc\n")
	write("lineage/d/small.jsonl", "aa\nbb")
	rev, err := st.Publish(ctx, repo, dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	d := &DatasetSource{Store: st, Refs: st, Repo: repo, MaxFileBytes: 12}
	for path, want := range map[string]string{"lineage/d/big.jsonl": "aaaa\nbbbb\n", "lineage/d/small.jsonl": "aa\nbb"} {
		b, err := d.readLines(ctx, rev, path)
		if err != nil || string(b) != want {
			t.Errorf("%s: %q, %v; want %q", path, b, err, want)
		}
	}
}
