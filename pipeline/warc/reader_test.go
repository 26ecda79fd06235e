package warc

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datarefine/refine/internal/shareddata"
)

// countSkips reads a whole input and tallies records per verdict.
func countSkips(t *testing.T, path string) (map[string]int, error) {
	t.Helper()
	r, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	counts := map[string]int{}
	var prev int64 = -1
	for {
		rec, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return counts, nil
		}
		if err != nil {
			return counts, err
		}
		if rec.Index != prev+1 {
			t.Errorf("%s: record index %d after %d", path, rec.Index, prev)
		}
		prev = rec.Index
		k := rec.Skip
		if k == "" {
			k = "ok"
			if rec.HTML == "" || rec.URL == "" || rec.ID == "" {
				t.Errorf("%s#%d: usable record without HTML, URL or ID", path, rec.Index)
			}
		}
		counts[k]++
	}
}

// TestEdgeCases reads the odd, truncated and corrupt WARCs: none may stop
// the reader except the ARC files, which are a clear error.
func TestEdgeCases(t *testing.T) {
	dir := shareddata.Path(t, "warc", "edge_cases")
	tests := []struct {
		file    string
		want    map[string]int // verdicts that must be present with these counts
		wantErr string         // substring of the error, "" for none
	}{
		{"warcio/example.warc", map[string]int{"ok": 1, SkipNotResponse: 5}, ""},
		{"warcio/example.warc.gz", map[string]int{"ok": 1, SkipNotResponse: 5}, ""},
		{"warcio/example-iana.org-chunked.warc", map[string]int{"ok": 1}, ""},
		{"warcio/example-bad-non-chunked.warc.gz", map[string]int{"ok": 1}, ""},
		{"warcio/example-bad.warc.gz.bad", map[string]int{"ok": 2}, ""},
		{"warcio/example-trunc.warc", map[string]int{"ok": 1}, ""},
		{"warcio/example-wget-bad-target-uri.warc.gz", map[string]int{"ok": 1}, ""},
		{"warcio/example-wrong-chunks.warc.gz", map[string]int{SkipTruncated: 1}, ""},
		{"warcio/post-test.warc.gz", map[string]int{"mime_text/plain": 3}, ""},
		{"warcio/example-digest.warc", map[string]int{SkipNotResponse: 4}, ""},
		{"other/resiliparse_clipped_truncated.warc.gz", map[string]int{SkipTruncated: 1}, ""},
		{"other/resiliparse_block-sized-records.warc.gz", map[string]int{SkipNotResponse: 3}, ""},
		{"other/ukwa_IAH-20080430204825-00000-blackbook-truncated.warc.gz", map[string]int{"ok": 2}, ""},
		{"other/ukwa_IAH-urls-wget.warc.gz", map[string]int{"ok": 9}, ""},
		{"warcio/example.arc", nil, "ARC files are not supported"},
		{"warcio/example.arc.gz", nil, "ARC files are not supported"},
		{"warcio/bad.arc", nil, "ARC files are not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join(dir, tt.file)
			counts, err := countSkips(t, path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "offset") {
					t.Fatalf("error %v, want one naming %s, its offset and %q", err, path, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("reader stopped: %v", err)
			}
			for k, n := range tt.want {
				if counts[k] != n {
					t.Errorf("%s: %d, want %d (all: %v)", k, counts[k], n, counts)
				}
			}
		})
	}
}

// TestReadRecordAt reads every record back from its offset.
func TestReadRecordAt(t *testing.T) {
	for _, rel := range []string{
		"golden/trafilatura_eval.warc.gz",
		"warc/commoncrawl/npm-warc_CC-MAIN-2014-35_00006.warc",
		"warc/commoncrawl/resiliparse_CC-MAIN-2020-34_extract.warc.gz",
		"warc/real_crawls/dolma_browsertrix_sample-0000.warc.gz",
	} {
		path := shareddata.Path(t, strings.Split(rel, "/")...)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		recs := readAll(t, path)
		n := 0
		for _, want := range recs {
			if want.Offset < 0 {
				t.Errorf("%s#%d: no offset", rel, want.Index)
				continue
			}
			got, err := ReadRecordAt(context.Background(), f, want.Offset, Options{Name: path})
			if err != nil {
				t.Fatalf("%s#%d: %v", rel, want.Index, err)
			}
			if got.ID != want.ID || got.HTML != want.HTML || got.Skip != want.Skip || got.Offset != want.Offset {
				t.Errorf("%s#%d at %d: read back %q/%q/%d, want %q/%q/%d", rel, want.Index, want.Offset, got.ID, got.Skip, got.Offset, want.ID, want.Skip, want.Offset)
			}
			n++
		}
		f.Close()
		if n == 0 {
			t.Errorf("%s: no records", rel)
		}
	}
}

// buildWARC writes records as plain WARC text.
func buildWARC(records ...string) []byte {
	var b bytes.Buffer
	for i, block := range records {
		fmt.Fprintf(&b, "WARC/1.1\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:%d>\r\nWARC-Target-URI: <http://example.com/%d>\r\nWARC-Date: 2024-01-01T00:00:00Z\r\nContent-Type: application/http; msgtype=response\r\nContent-Length: %d\r\n\r\n%s\r\n\r\n", i, i, len(block), block)
	}
	return b.Bytes()
}

const page = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><body>hi</body></html>"

// TestSingleStreamGzip: one gzip stream holding several records is read
// whole; only the first record has an offset.
func TestSingleStreamGzip(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(buildWARC(page, page, page))
	zw.Close()
	r := NewReader(&buf, Options{})
	var offsets []int64
	for {
		rec, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Skip != "" || rec.HTML != "<html><body>hi</body></html>" || rec.URL != fmt.Sprintf("http://example.com/%d", rec.Index) {
			t.Errorf("record %d: skip %q html %q url %q", rec.Index, rec.Skip, rec.HTML, rec.URL)
		}
		offsets = append(offsets, rec.Offset)
	}
	if fmt.Sprint(offsets) != "[0 -1 -1]" {
		t.Errorf("offsets %v, want [0 -1 -1]", offsets)
	}
}

// TestGarbageAndPerRecordGzip: garbage between members is skipped, a
// corrupt member is counted and reading goes on; offsets are member starts.
func TestGarbageAndPerRecordGzip(t *testing.T) {
	member := func(rec []byte) []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(rec)
		zw.Close()
		return b.Bytes()
	}
	m1 := member(buildWARC(page))
	bad := member(buildWARC(page))
	bad = append(bad[:len(bad)/2:len(bad)/2], bytes.Repeat([]byte{0xff}, 40)...) // broken deflate data
	m2 := member(buildWARC(page))
	var in []byte
	in = append(in, m1...)
	in = append(in, "junk"...)
	off2 := int64(len(in))
	in = append(in, bad...)
	off3 := int64(len(in))
	in = append(in, m2...)
	r := NewReader(bytes.NewReader(in), Options{})
	var got []string
	for {
		rec, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d:%s", rec.Offset, rec.Skip))
	}
	want := fmt.Sprintf("[0: %d:%s %d:]", off2, SkipCorrupt, off3)
	if fmt.Sprint(got) != want {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestTrimAngle(t *testing.T) {
	for in, want := range map[string]string{
		"<https://a.b/>": "https://a.b/", "https://a.b/": "https://a.b/", " <x> ": "x", "<": "<", "": "",
	} {
		if got := trimAngle(in); got != want {
			t.Errorf("trimAngle(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := NewReader(bytes.NewReader(buildWARC(page)), Options{})
	if _, err := r.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

// TestOpenHTTP streams a WARC over HTTP and names the URL in errors.
func TestOpenHTTP(t *testing.T) {
	body := buildWARC(page, page)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/x.warc" {
			http.NotFound(w, r)
			return
		}
		w.Write(body)
	}))
	defer srv.Close()
	r, err := Open(context.Background(), srv.URL+"/x.warc", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n := 0
	for {
		rec, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Skip != "" {
			t.Errorf("record %d skipped: %s", rec.Index, rec.Skip)
		}
		n++
	}
	if n != 2 {
		t.Errorf("%d records, want 2", n)
	}
	if _, err := Open(context.Background(), srv.URL+"/missing", Options{}); err == nil || !strings.Contains(err.Error(), "/missing") {
		t.Errorf("missing file: error %v, want one naming the URL", err)
	}
}

// TestIsPartOf reads the crawl's name from the warcinfo records of real
// WARCs: CommonCrawl's crawl id, another crawler's collection, none.
func TestIsPartOf(t *testing.T) {
	for rel, want := range map[string]string{
		"warc/commoncrawl/whirlwind_CC-MAIN-2024-22_warc.gz":                              "CC-MAIN-2024-22",
		"warc/commoncrawl/resiliparse_CC-MAIN-2020-34_extract.warc.gz":                    "CC-MAIN-2020-34",
		"warc/edge_cases/other/ukwa_IAH-20080430204825-00000-blackbook-truncated.warc.gz": "archive.org-shallow",
		"warc/real_crawls/dolma_browsertrix_sample-0000.warc.gz":                          "",
	} {
		r, err := Open(context.Background(), shareddata.Path(t, strings.Split(rel, "/")...), Options{})
		if err != nil {
			t.Fatal(err)
		}
		rec, err := r.Next(context.Background())
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if rec.Type != "warcinfo" || rec.IsPartOf != want {
			t.Errorf("%s: first record %s, isPartOf %q, want warcinfo %q", rel, rec.Type, rec.IsPartOf, want)
		}
	}
	if got := warcField([]byte("a: b\r\nIsPartOf:  x \r\n"), "isPartOf"); got != "x" {
		t.Errorf("warcField = %q", got)
	}
	if got := warcField([]byte("isPartOf: "+strings.Repeat("x", 300)), "isPartOf"); got != "" {
		t.Errorf("an overlong value was kept: %d bytes", len(got))
	}
}
