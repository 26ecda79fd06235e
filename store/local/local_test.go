package local

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/datarefine/refine/store"
	"github.com/datarefine/refine/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestTamperedCommitRejected: a revision is the hash of its commit record,
// so editing the record in place makes the revision unreadable rather than
// silently different.
func TestTamperedCommitRejected(t *testing.T) {
	ctx := context.Background()
	s, _ := New(t.TempDir())
	if err := s.Create(ctx, "m/r"); err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "a.txt"), []byte("hello"), 0o644)
	rev, err := s.Publish(ctx, "m/r", src, "x")
	if err != nil {
		t.Fatal(err)
	}
	p := s.revPath("m/r", rev)
	b, _ := os.ReadFile(p)
	b[len(b)-3] ^= 1
	os.WriteFile(p, b, 0o644)
	if _, err := s.List(ctx, "m/r", rev); err == nil {
		t.Fatal("tampered commit record accepted")
	}
	// A commit's parent is part of its revision: the same files again make
	// a new revision on top, as a Hub commit does.
	os.WriteFile(p, nil, 0o644)
	if _, err := s.Publish(ctx, "m/r", src, "again"); err == nil {
		t.Fatal("a commit on top of a damaged head succeeded")
	}
}
