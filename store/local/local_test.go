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

// TestTamperedListingRejected: a revision is the hash of its listing, so
// editing the listing in place makes the revision unreadable rather than
// silently different.
func TestTamperedListingRejected(t *testing.T) {
	root := t.TempDir()
	s, _ := New(root)
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "a.txt"), []byte("hello"), 0o644)
	rev, err := s.Publish(context.Background(), "m/r", src, "x")
	if err != nil {
		t.Fatal(err)
	}
	p := s.revPath("m/r", rev)
	b, _ := os.ReadFile(p)
	b[len(b)-3] ^= 1
	os.WriteFile(p, b, 0o644)
	if _, err := s.List(context.Background(), "m/r", rev); err == nil {
		t.Fatal("tampered listing accepted")
	}
	// Publishing the same content again gives the same revision.
	os.WriteFile(p, nil, 0o644)
	rev2, err := s.Publish(context.Background(), "m/r", src, "again")
	if err != nil || rev2 != rev {
		t.Fatalf("republish: %s %v, want %s", rev2, err, rev)
	}
}
