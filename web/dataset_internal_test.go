package web

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/datarefine/refine/store"
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

// slowLists is a store whose List is slow and counted.
type slowLists struct {
	store.Store
	lists atomic.Int64
}

func (s *slowLists) List(ctx context.Context, repo, rev string) ([]store.File, error) {
	s.lists.Add(1)
	time.Sleep(20 * time.Millisecond)
	return s.Store.List(ctx, repo, rev)
}

// Visitors who arrive together before a revision's samples are drawn wait
// for one draw instead of each reading the store.
func TestSamplesDrawnOnceForConcurrentVisitors(t *testing.T) {
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
	if err := os.WriteFile(filepath.Join(dir, "summary.json"), []byte(`{"format":"`+summaryFormat+`"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Publish(ctx, repo, dir, "build 1"); err != nil {
		t.Fatal(err)
	}
	slow := &slowLists{Store: st}
	d := &DatasetSource{Store: slow, Refs: st, Repo: repo}
	if _, err := d.Summary(ctx); err != nil {
		t.Fatal(err)
	}
	before := slow.lists.Load()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ss, err := d.Samples(ctx, 5); err != nil || len(ss) != 0 {
				t.Errorf("samples: %v, %v", ss, err)
			}
		}()
	}
	wg.Wait()
	if n := slow.lists.Load() - before; n != 1 {
		t.Errorf("%d draws listed the revision, want 1", n)
	}
}
