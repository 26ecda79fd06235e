package input

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKindOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind Kind
		ok   bool
	}{
		{"a.warc.gz", WARC, true},
		{"CC-MAIN-x.warc", WARC, true},
		{"whirlwind_warc.gz", WARC, true},
		{"https://data.commoncrawl.org/crawl-data/x.warc.gz?sig=1", WARC, true},
		{"docs.jsonl", JSONL, true},
		{"docs.JSONL.GZ", JSONL, true},
		{"x.parquet", Parquet, true},
		{"x.warc.wat.gz", 0, false},
		{"README.md", 0, false},
	} {
		k, ok := KindOf(tc.name)
		if ok != tc.ok || ok && k != tc.kind {
			t.Errorf("KindOf(%q) = %v, %v", tc.name, k, ok)
		}
	}
}

func TestExpand(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"b.warc.gz", "a.warc.gz", "sub/c.warc", "notes.txt", "d.jsonl"} {
		p := filepath.Join(dir, n)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("WARC/1.0\r\n"), 0o644)
	}
	odd := filepath.Join(t.TempDir(), "data.bin")
	f, _ := os.Create(odd)
	gz := gzip.NewWriter(f)
	gz.Write([]byte("WARC/1.1\r\n"))
	gz.Close()
	f.Close()
	got, err := Expand([]string{dir, odd, "https://example.org/x.warc.gz"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, in := range got {
		names = append(names, strings.TrimPrefix(in.Path, dir+"/")+":"+in.Kind.String())
	}
	want := "a.warc.gz:warc b.warc.gz:warc d.jsonl:jsonl sub/c.warc:warc " + odd + ":warc https://example.org/x.warc.gz:warc"
	if strings.Join(names, " ") != want {
		t.Fatalf("Expand = %v\nwant %v", strings.Join(names, " "), want)
	}
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("just notes"), 0o644)
	if _, err := Expand([]string{filepath.Join(dir, "notes.txt")}); err == nil {
		t.Fatal("a text file was accepted as input")
	}
	if _, err := Expand([]string{filepath.Join(dir, "missing.warc.gz")}); err == nil || !strings.Contains(err.Error(), "missing.warc.gz") {
		t.Fatalf("missing file: %v", err)
	}
	empty := t.TempDir()
	if _, err := Expand([]string{empty}); err == nil {
		t.Fatal("empty folder accepted")
	}
}

func TestJSONL(t *testing.T) {
	p := filepath.Join(t.TempDir(), "docs.jsonl.gz")
	f, _ := os.Create(p)
	gz := gzip.NewWriter(f)
	io.WriteString(gz, `{"id":"a","text":"hello","url":"https://x.org/","metadata":{"date":"2024","dump":"CC-MAIN-2024-10"}}
{"id":7,"text":"number id"}

{"text":"no id"}
{"id":"b"}
{broken
`)
	gz.Close()
	f.Close()
	src, c, err := OpenJSONL(p)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var got []string
	for {
		d, err := src.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, d.ID+"|"+d.Text+"|"+d.Skip+"|"+d.Dump+"|"+d.Date)
	}
	want := []string{
		"a|hello||CC-MAIN-2024-10|2024",
		"7|number id|||",
		p + ":4||missing_id||",
		"b||missing_text||",
		p + ":6||corrupt_json||",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
