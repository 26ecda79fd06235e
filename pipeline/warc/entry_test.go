package warc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/datarefine/refine/internal/shareddata"
)

// TestReadEntry: every record of real WARCs (gzip members and a plain
// WARC) reads back from its entry — its offset to the next record's, the
// last to the file's end — as streaming read it; bytes holding two records,
// half a record, or a record that does not start at their first byte are
// refused.
func TestReadEntry(t *testing.T) {
	ctx := context.Background()
	for _, rel := range []string{
		"warc/commoncrawl/npm-warc_CC-MAIN-2014-35_00006.warc",
		"warc/commoncrawl/resiliparse_CC-MAIN-2020-34_extract.warc.gz",
		"warc/real_crawls/dolma_browsertrix_sample-0000.warc.gz",
	} {
		path := shareddata.Path(t, strings.Split(rel, "/")...)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rd := NewReader(bytes.NewReader(b), Options{Name: path})
		var recs []*Record
		for {
			rec, err := rd.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, rec)
		}
		if rd.Offset() != int64(len(b)) {
			t.Fatalf("%s: end offset %d, file %d bytes", rel, rd.Offset(), len(b))
		}
		end := func(i int) int64 {
			if i+1 < len(recs) {
				return recs[i+1].Offset
			}
			return int64(len(b))
		}
		entry := func(from, to int64) (*Record, error) {
			return ReadEntry(ctx, bytes.NewReader(b[from:to]), to-from, Options{Name: path})
		}
		for i, want := range recs {
			got, err := entry(want.Offset, end(i))
			if err != nil {
				t.Fatalf("%s#%d [%d, %d): %v", rel, i, want.Offset, end(i), err)
			}
			if got.ID != want.ID || got.HTML != want.HTML || got.Skip != want.Skip || got.URL != want.URL || got.Offset != 0 {
				t.Errorf("%s#%d: read back %q/%q, want %q/%q", rel, i, got.ID, got.Skip, want.ID, want.Skip)
			}
			if i+2 < len(recs) {
				if _, err := entry(want.Offset, end(i+1)); !errors.Is(err, ErrNotOneRecord) {
					t.Errorf("%s#%d: two records as one entry: %v", rel, i, err)
				}
			}
			if i > 0 {
				if _, err := entry(recs[i-1].Offset+1, end(i)); !errors.Is(err, ErrNotOneRecord) {
					t.Errorf("%s#%d: entry starting inside the previous record: %v", rel, i, err)
				}
			}
			// The first half of a record is a truncated record; the
			// validator allows one only at the end of the file.
			if mid := want.Offset + (end(i)-want.Offset)/2; mid > want.Offset {
				got, err := entry(want.Offset, mid)
				if err == nil && got.Skip != SkipTruncated && got.Skip != SkipCorrupt {
					t.Errorf("%s#%d: half a record reads as %q", rel, i, got.Skip)
				}
			}
		}
		if _, err := ReadEntry(ctx, bytes.NewReader(b[:10]), 20, Options{}); !errors.Is(err, ErrNotOneRecord) {
			t.Errorf("short read: %v", err)
		}
	}
}
