package dataset

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

func sampleDocs(n int) []Doc {
	out := make([]Doc, n)
	for i := range out {
		out[i] = Doc{
			Text: strings.Repeat(fmt.Sprintf("document %d says hello. ", i), 1+i%5), ID: fmt.Sprintf("<urn:uuid:%d>", i),
			Dump: "CC-MAIN-2024-10", URL: fmt.Sprintf("https://example.com/%d", i), Date: "2024-01-01T00:00:00Z",
			FilePath: "in.warc.gz", Language: "en", LanguageScore: 0.9 + float64(i%10)/100, TokenCount: int64(10 + i),
		}
	}
	return out
}

func writeDataset(t *testing.T, dir string, docs []Doc, maxBytes int64) ([]Shard, *File) {
	t.Helper()
	w, err := NewWriter(WriterOptions{Dir: dir, MaxShardBytes: maxBytes, RowGroupDocs: 7})
	if err != nil {
		t.Fatal(err)
	}
	for i := range docs {
		if err := w.Write(&docs[i], docs[i].FilePath, int64(i*1000)); err != nil {
			t.Fatal(err)
		}
	}
	shards, rec, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	return shards, rec
}

func TestWriteReadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	docs := sampleDocs(100)
	shards, rec := writeDataset(t, dir, docs, 2000)
	if len(shards) < 2 {
		t.Fatalf("expected several shards with a 2000-byte bound, got %d", len(shards))
	}
	var total int64
	for _, s := range shards {
		total += s.Documents
		if !strings.HasPrefix(s.Path, "data/CC-MAIN-2024-10/") {
			t.Errorf("shard path %s", s.Path)
		}
	}
	if total != 100 {
		t.Fatalf("%d documents in shards", total)
	}
	m := &Manifest{Format: Format, Shards: shards, Records: rec}
	if err := Verify(dir, m); err != nil {
		t.Fatal(err)
	}
	var got []Doc
	err := ReadAll(dir, m, func(shard int, row int64, d Doc) error {
		got = append(got, d)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(docs) {
		t.Fatalf("read %d docs", len(got))
	}
	for i := range docs {
		if got[i] != docs[i] {
			t.Fatalf("doc %d: got %+v want %+v", i, got[i], docs[i])
		}
	}
}

func TestSchemaIsFineWebs(t *testing.T) {
	dir := t.TempDir()
	shards, _ := writeDataset(t, dir, sampleDocs(3), 0)
	f, err := os.Open(filepath.Join(dir, shards[0].Path))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	fields := pf.Schema().Fields()
	if len(fields) != len(Columns) {
		t.Fatalf("%d columns, want %d", len(fields), len(Columns))
	}
	for i, c := range Columns {
		if fields[i].Name() != c.Name {
			t.Errorf("column %d is %q, want %q", i, fields[i].Name(), c.Name)
		}
		if !fields[i].Optional() {
			t.Errorf("column %q is not optional (nullable) as in FineWeb", c.Name)
		}
	}
	if err := CheckSchema(pf.Schema()); err != nil {
		t.Fatal(err)
	}
	for _, col := range pf.Metadata().RowGroups[0].Columns {
		if got := col.MetaData.Codec.String(); got != "ZSTD" {
			t.Errorf("column %v compressed with %s, want ZSTD", col.MetaData.PathInSchema, got)
		}
	}
}

func TestDeterministicBytes(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	sa, ra := writeDataset(t, a, sampleDocs(50), 1500)
	sb, rb := writeDataset(t, b, sampleDocs(50), 1500)
	if fmt.Sprint(sa) != fmt.Sprint(sb) || *ra != *rb {
		t.Fatalf("two writes of the same documents differ:\n%v\n%v", sa, sb)
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	dir := t.TempDir()
	shards, rec := writeDataset(t, dir, sampleDocs(20), 0)
	m := &Manifest{Format: Format, Shards: shards, Records: rec}
	p := filepath.Join(dir, shards[0].Path)
	b, _ := os.ReadFile(p)
	b[len(b)/2] ^= 0xff
	os.WriteFile(p, b, 0o644)
	if err := Verify(dir, m); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("Verify after tampering: %v", err)
	}
	os.Remove(p)
	if err := Verify(dir, m); err == nil {
		t.Fatal("Verify with a missing shard passed")
	}
}

func TestManifestRejectsEscapingPaths(t *testing.T) {
	for _, p := range []string{"../x.parquet", "/etc/passwd", "data/../../x", ""} {
		m := &Manifest{Format: Format, Shards: []Shard{{File: File{Path: p}}}}
		b, _ := m.Marshal()
		if _, err := ParseManifest(b); err == nil {
			t.Errorf("manifest with shard path %q accepted", p)
		}
	}
	if _, err := ParseManifest([]byte(`{"format":"other/1"}`)); err == nil {
		t.Error("foreign format accepted")
	}
	if _, err := ParseManifest([]byte(`{"format":`)); err == nil {
		t.Error("truncated manifest accepted")
	}
	m := &Manifest{Format: Format, Shards: []Shard{{File: File{Path: "data/x/00000.parquet"}}}}
	b, _ := m.Marshal()
	back, err := ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := back.Marshal()
	if !bytes.Equal(b, b2) {
		t.Fatal("manifest does not round-trip byte for byte")
	}
}

func TestReadShardRejectsForeignSchema(t *testing.T) {
	type other struct {
		Body string `parquet:"body"`
		Num  int32  `parquet:"num"`
	}
	p := filepath.Join(t.TempDir(), "x.parquet")
	f, _ := os.Create(p)
	w := parquet.NewGenericWriter[other](f)
	w.Write([]other{{"a", 1}})
	w.Close()
	f.Close()
	err := ReadShard(p, func(Doc) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "schema") {
		t.Fatalf("ReadShard on a foreign schema: %v", err)
	}
	os.WriteFile(p, []byte("not parquet at all"), 0o644)
	if err := ReadShard(p, func(Doc) error { return nil }); err == nil {
		t.Fatal("ReadShard on garbage succeeded")
	}
}

func TestLayout(t *testing.T) {
	var std Layout
	sub := SubmissionLayout(42)
	for _, tc := range []struct{ got, want string }{
		{std.ManifestPath(), "manifest.json"},
		{std.RecordsPath(), "records.jsonl"},
		{sub.ManifestPath(), "submissions/42/manifest.json"},
		{SubmissionManifestPath(42), "submissions/42/manifest.json"},
		{sub.RecordsPath(), "submissions/42/records.jsonl"},
		{SignaturePath("data/CC-MAIN-2024-10/42_00003.parquet"), "data/CC-MAIN-2024-10/42_00003.minhash.sig"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	if p, err := sub.ShardPath("CC-MAIN-2024-10", 3); err != nil || p != "data/CC-MAIN-2024-10/42_00003.parquet" {
		t.Errorf("ShardPath = %q, %v", p, err)
	}
	if p, _ := std.ShardPath("CC-MAIN-2024-10", 3); p != "data/CC-MAIN-2024-10/00003.parquet" {
		t.Errorf("standalone ShardPath = %q", p)
	}
	if _, err := sub.ShardPath("", 0); err == nil {
		t.Error("a submission's shard without a dump accepted")
	}
	for _, dump := range []string{"..", ".", "a/../../b"} {
		p, _ := std.ShardPath(dump, 0)
		if !filepath.IsLocal(p) || !strings.HasPrefix(p, "data/") || strings.Count(p, "/") != 2 {
			t.Errorf("dump %q gives shard path %q", dump, p)
		}
	}
}

// TestCreatedBy: shards name their writer as the parquet convention has
// it, "refine version <module version>", with no empty "(build )".
func TestCreatedBy(t *testing.T) {
	dir := t.TempDir()
	shards, _ := writeDataset(t, dir, sampleDocs(3), 1<<20)
	f, err := os.Open(filepath.Join(dir, shards[0].Path))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	got := pf.Metadata().CreatedBy
	if got != CreatedBy() || !strings.HasPrefix(got, "refine version ") || strings.Contains(got, "build") {
		t.Fatalf("created_by %q", got)
	}
}
