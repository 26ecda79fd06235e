package dedup

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// writeTestSigFile writes rows rows; row r has a signature unless r%7 == 3.
func writeTestSigFile(t *testing.T, path string, rows int) map[int64]Signature {
	t.Helper()
	cfg := DefaultConfig()
	rng := rand.New(rand.NewPCG(1, uint64(rows)))
	want := map[int64]Signature{}
	err := WriteSigFile(path, cfg, func(sw *SigWriter) error {
		for r := int64(0); r < int64(rows); r++ {
			var sig Signature
			if r%7 != 3 {
				sig = make(Signature, cfg.NumHashes())
				for i := range sig {
					sig[i] = rng.Uint64() % MersennePrime
				}
				want[r] = sig
			}
			if err := sw.Add(r, fmt.Sprintf("id-%d", r), sig); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return want
}

func TestSigFileRoundTrip(t *testing.T) {
	for _, rows := range []int{0, 1, 1023, 1024 * 7 / 6 * 2, 3000} {
		t.Run(fmt.Sprint(rows), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.minhash.sig")
			want := writeTestSigFile(t, path, rows)
			s, err := OpenSigFile(path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Rows != int64(rows) || s.Records != int64(len(want)) || s.Config != DefaultConfig() {
				t.Fatalf("rows %d records %d config %+v", s.Rows, s.Records, s.Config)
			}
			seen := 0
			err = s.ScanSignatures(func(rec, row int64, sig Signature) error {
				if fmt.Sprint(sig) != fmt.Sprint(want[row]) {
					return fmt.Errorf("row %d: signature differs", row)
				}
				seen++
				return nil
			})
			if err != nil || seen != len(want) {
				t.Fatalf("scan: %v, %d of %d records", err, seen, len(want))
			}
			var refs []Ref
			if err := s.ScanRefs(func(_ int64, r Ref) error { refs = append(refs, r); return nil }); err != nil {
				t.Fatal(err)
			}
			for _, r := range refs {
				if want[r.Row] == nil || r.ID != fmt.Sprintf("id-%d", r.Row) {
					t.Fatalf("bad ref %+v", r)
				}
			}
			if len(refs) != len(want) {
				t.Fatalf("%d refs, want %d", len(refs), len(want))
			}
		})
	}
}

func TestSigFileDetectsCorruption(t *testing.T) {
	dir := t.TempDir()
	orig := filepath.Join(dir, "orig.minhash.sig")
	writeTestSigFile(t, orig, 2500)
	raw, err := os.ReadFile(orig)
	if err != nil {
		t.Fatal(err)
	}
	rs := 8 * 113
	cases := []struct {
		name    string
		mutate  func([]byte) []byte
		atOpen  bool // detected when opening, before any signature is used
		scanned int  // records passed on before the scan stops
	}{
		{"header", func(b []byte) []byte { b[12] ^= 1; return b }, true, 0},
		{"footer", func(b []byte) []byte { b[len(b)-45] ^= 1; return b }, true, 0},
		{"refs", func(b []byte) []byte { b[len(b)-60] ^= 1; return b }, true, 0},
		{"truncated", func(b []byte) []byte { return b[:len(b)-1] }, true, 0},
		{"empty", func(b []byte) []byte { return nil }, true, 0},
		{"second block", func(b []byte) []byte { b[64+1024*rs+4+100] ^= 0x80; return b }, false, 1024},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name+".minhash.sig")
			if err := os.WriteFile(path, c.mutate(append([]byte(nil), raw...)), 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := OpenSigFile(path)
			if c.atOpen {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("open: %v, want ErrCorrupt", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			n := 0
			err = s.ScanSignatures(func(int64, int64, Signature) error { n++; return nil })
			if !errors.Is(err, ErrCorrupt) || n != c.scanned {
				t.Fatalf("scan: %v after %d records, want ErrCorrupt after %d", err, n, c.scanned)
			}
		})
	}
	if _, err := OpenSigFile(filepath.Join(dir, "missing.minhash.sig")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestSigWriterRowsInOrder(t *testing.T) {
	sw, err := NewSigWriter(new(discard), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.Add(1, "x", nil); err == nil {
		t.Fatal("row 1 accepted as the first row")
	}
	if err := sw.Add(0, "x", Signature{1, 2}); err == nil {
		t.Fatal("short signature accepted")
	}
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }

func TestSignaturePath(t *testing.T) {
	if got := SignaturePath("data/CC-MAIN-2024-10/000_00000.parquet"); got != "data/CC-MAIN-2024-10/000_00000.minhash.sig" {
		t.Fatal(got)
	}
}
