package dataset

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/datarefine/refine/internal/attack"
)

// readAllOf reads one shard with r and returns the rows seen and the error.
func readAllOf(r *Reader, path string) (int, error) {
	n := 0
	err := r.ReadShard(context.Background(), path, func(Doc) error { n++; return nil })
	return n, err
}

// TestReaderDictionaryBomb: a 1 MiB value dictionary-encoded in 20,000
// rows decodes to ~20 GiB. The text budget stops the decoding at the
// budget, within a second and without holding more than a few batches.
func TestReaderDictionaryBomb(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bomb.parquet")
	if err := attack.DictionaryBomb(p, 20_000, strings.Repeat("x", 1<<20), "id"); err != nil {
		t.Fatal(err)
	}
	r := NewReader(ReadLimits{MaxTextBytes: 16 << 20})
	start := time.Now()
	n, err := readAllOf(r, p)
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("dictionary bomb: %d rows read, err %v", n, err)
	}
	if n > 16 || r.TextBytes > 32<<20 {
		t.Errorf("decoded %d rows, %d text bytes before stopping", n, r.TextBytes)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("took %v", el)
	}
	t.Logf("stopped after %d rows, %d text bytes, %v: %v", n, r.TextBytes, time.Since(start), err)
}

// TestReaderZstdBomb: pages of 4 MiB of one letter compress to a few hundred
// bytes each. The sum of the pages' sizes is bounded before any page is
// decompressed beyond the budget; a page whose header under-declares its
// size is caught by decompressing it with the declared size as the bound.
func TestReaderZstdBomb(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "zstd.parquet")
	if err := attack.ZstdBomb(p, 16, 4<<20, "id"); err != nil {
		t.Fatal(err)
	}
	r := NewReader(ReadLimits{MaxPagesBytes: 8 << 20})
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	err := r.CheckShard(context.Background(), p)
	if !errors.Is(err, ErrLimit) || r.PageBytes > 16<<20 {
		t.Fatalf("zstd bomb: %v after %d page bytes", err, r.PageBytes)
	}

	// The same bomb with headers declaring 1 MiB for each 4 MiB page.
	lie := filepath.Join(dir, "lie.parquet")
	if err := attack.ZstdBomb(lie, 4, 4<<20, "id"); err != nil {
		t.Fatal(err)
	}
	// Each page holds one value: 4 bytes of length, the text, and the
	// definition levels (RLE).
	patched, err := attack.LieAboutPageSize(lie, 4<<20+10, 1<<20+10)
	if err != nil {
		t.Fatal(err)
	}
	if patched == 0 {
		t.Fatal("no page header patched")
	}
	r = NewReader(ReadLimits{})
	if err := r.CheckShard(context.Background(), lie); !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "decompresses to more") {
		t.Fatalf("lying page headers: %v", err)
	}
}

// TestReaderThriftListBomb: a footer declaring two billion row groups in a
// few bytes is refused before parquet-go allocates them.
func TestReaderThriftListBomb(t *testing.T) {
	dir := t.TempDir()
	shards, _ := writeDataset(t, dir, sampleDocs(3), 0)
	p := filepath.Join(dir, shards[0].Path)
	if err := attack.WithFooter(p, attack.ThriftListBomb(1<<31-1)); err != nil {
		t.Fatal(err)
	}
	_, err := readAllOf(NewReader(ReadLimits{}), p)
	if err == nil || !strings.Contains(err.Error(), "exceeds the") {
		t.Fatalf("footer list bomb: %v", err)
	}
}

// TestReaderLimits: the row and text budgets apply per pass and across the
// shards of one Reader; a cancelled context stops the read.
func TestReaderLimits(t *testing.T) {
	dir := t.TempDir()
	docs := sampleDocs(50)
	shards, _ := writeDataset(t, dir, docs, 0)
	m := &Manifest{Shards: shards}
	var text int64
	for _, d := range docs {
		text += int64(len(d.Text))
	}
	ok := NewReader(ReadLimits{MaxRows: 50, MaxTextBytes: text})
	for pass := 0; pass < 2; pass++ {
		if err := ok.ReadAll(context.Background(), dir, m, func(int, int64, Doc) error { return nil }); err != nil {
			t.Fatalf("pass %d within the limits: %v", pass, err)
		}
	}
	for name, l := range map[string]ReadLimits{
		"rows": {MaxRows: 49}, "text": {MaxTextBytes: text - 1}, "row text": {MaxRowTextBytes: 10},
		"page bytes": {MaxPagesBytes: 100},
	} {
		err := NewReader(l).ReadAll(context.Background(), dir, m, func(int, int64, Doc) error { return nil })
		if !errors.Is(err, ErrLimit) {
			t.Errorf("%s: %v", name, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := NewReader(ReadLimits{}).ReadAll(ctx, dir, m, func(int, int64, Doc) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// FuzzThriftStructLen: the walker never panics and never accepts a struct
// longer than its input.
func FuzzThriftStructLen(f *testing.F) {
	f.Add(attack.ThriftListBomb(5))
	f.Add([]byte{0x15, 0x02, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		if n, err := thriftStructLen(b, 1<<10); err == nil && (n <= 0 || n > len(b)) {
			t.Fatalf("length %d of %d bytes", n, len(b))
		}
	})
}
