package corpus

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestBandsFile writes a bands file, reads every bucket's section back in
// row order, and finds a flipped byte by its section's checksum.
func TestBandsFile(t *testing.T) {
	s := newTestMinHasher(t)
	cfg := s.Config()
	path := filepath.Join(t.TempDir(), "x.bands")
	w, err := createBands(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	rows := []int64{0, 2, 3, 7}
	for _, row := range rows {
		if err := w.add(row, s.Sign(randWords(uint64(row), 30))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".tmp-*")); len(m) != 0 {
		t.Fatalf("temporary sections left: %v", m)
	}
	bf, err := openBands(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for b := range cfg.NumBuckets {
		var got []int64
		err := bf.scan(b, func(r *bucketRec) error {
			sig := s.Sign(randWords(uint64(r.g), 30))
			for i := range cfg.HashesPerBucket {
				if r.h[i] != sig[b*cfg.HashesPerBucket+i] {
					t.Fatalf("bucket %d row %d: band differs", b, r.g)
				}
			}
			got = append(got, int64(r.g))
			return nil
		})
		if err != nil || len(got) != len(rows) || got[3] != 7 {
			t.Fatalf("bucket %d: rows %v, %v", b, got, err)
		}
	}
	bf.close()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-3] ^= 1 // the last bucket's section
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	bf, err = openBands(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer bf.close()
	if err := bf.scan(0, func(*bucketRec) error { return nil }); err != nil {
		t.Fatalf("an intact section: %v", err)
	}
	if err := bf.scan(cfg.NumBuckets-1, func(*bucketRec) error { return nil }); !errors.Is(err, errBands) {
		t.Fatalf("a damaged section: %v", err)
	}
	if err := os.WriteFile(path, raw[:len(raw)-1], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := openBands(path, cfg); !errors.Is(err, errBands) {
		t.Fatalf("a truncated file: %v", err)
	}
}
