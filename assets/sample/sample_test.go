package sample

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/datarefine/refine/pipeline/warc"
)

// TestSample checks that the built-in WARC is the published file, byte for
// byte, and that it holds the records its constants promise.
func TestSample(t *testing.T) {
	sum := sha256.Sum256(WARC())
	if got := hex.EncodeToString(sum[:]); got != SHA256 {
		t.Fatalf("embedded sample has sha256 %s, want %s", got, SHA256)
	}
	p, err := Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != SHA256 {
		t.Fatal("written sample differs from the embedded one")
	}
	r, err := warc.Open(context.Background(), p, warc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n, pages := 0, 0
	for {
		rec, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		if rec.Skip == "" {
			pages++
		}
	}
	if n != Records || Ranges*RecordsPerRange != Records {
		t.Fatalf("%d records, want %d = %d × %d", n, Records, Ranges, RecordsPerRange)
	}
	if pages < 20 {
		t.Fatalf("only %d HTML pages", pages)
	}
}
