package process

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/datarefine/refine/assets"
	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/internal/shareddata"
)

// assetDir imports datatrove's word lists from the shared data once.
var assetDir = sync.OnceValues(func() (string, error) {
	root := shareddata.Root()
	dir, err := os.MkdirTemp("", "refine-assets-*")
	if err != nil {
		return "", err
	}
	return dir, assets.Import(filepath.Join(root, "filters_dedup", "datatrove_assets"), dir, "")
})

func testAssets(t testing.TB) string {
	t.Helper()
	shareddata.Dir(t)
	dir, err := assetDir()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// treeHashes returns the sha256 of every file under dir.
func treeHashes(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, p)
		s := sha256.Sum256(b)
		out[rel] = hex.EncodeToString(s[:])
		return nil
	})
	return out
}

func readDecisions(t *testing.T, p string) []decision {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []decision
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var d decision
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

// TestRealWARCsDeterministic runs the whole pipeline on the real CommonCrawl
// and crawler WARCs with 1 and 4 workers: the outputs must be byte-identical,
// every record must have a decision, and the manifest must seal the files.
func TestRealWARCsDeterministic(t *testing.T) {
	dir := testAssets(t)
	inputs := []string{
		shareddata.Path(t, "warc", "commoncrawl"),
		shareddata.Path(t, "warc", "real_crawls"),
	}
	var first map[string]string
	for _, workers := range []int{1, 4} {
		out := filepath.Join(t.TempDir(), "out")
		dec := filepath.Join(t.TempDir(), "decisions.jsonl")
		m, err := Run(context.Background(), Options{
			Inputs: inputs, Output: out, Workers: workers, Decisions: dec,
			// No extraction time limit: a limit makes the output depend on
			// how loaded the machine is, which is not what this tests.
			Steps: StepOptions{AssetsDir: dir},
		})
		if err != nil {
			t.Fatal(err)
		}
		if m.Documents == 0 || m.Tokens == 0 {
			t.Fatalf("workers=%d: %d documents, %d tokens", workers, m.Documents, m.Tokens)
		}
		if err := dataset.Verify(out, m); err != nil {
			t.Fatal(err)
		}
		decs := readDecisions(t, dec)
		if int64(len(decs)) != m.Stats.Records {
			t.Fatalf("%d decisions for %d records", len(decs), m.Stats.Records)
		}
		kept := 0
		for _, d := range decs {
			if d.Kept {
				kept++
			} else if d.Step == "" || d.Reason == "" && d.Step != "dedup" {
				t.Errorf("dropped record without step/reason: %+v", d)
			}
		}
		if int64(kept) != m.Documents {
			t.Fatalf("%d kept decisions, %d documents", kept, m.Documents)
		}
		h := treeHashes(t, out)
		if first == nil {
			first = h
			t.Logf("records %d kept %d tokens %d", m.Stats.Records, m.Documents, m.Tokens)
			continue
		}
		keys := make([]string, 0, len(h))
		for k := range h {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if len(h) != len(first) {
			t.Fatalf("workers=%d wrote %d files, workers=1 wrote %d", workers, len(h), len(first))
		}
		for _, k := range keys {
			if first[k] != h[k] {
				t.Errorf("workers=%d: %s differs from the 1-worker run", workers, k)
			}
		}
	}
}

// TestBuiltinWordLists runs with an empty asset folder: the word lists
// built into the binary are used and recorded with their pinned hashes; an
// altered copy in the folder is a clear error, never silently replaced.
func TestBuiltinWordLists(t *testing.T) {
	in := shareddata.Path(t, "warc", "commoncrawl", "jwarc_cc.warc.gz")
	m, err := Run(context.Background(), Options{
		Inputs: []string{in}, Output: t.TempDir(), Steps: StepOptions{AssetsDir: t.TempDir()},
	})
	if err != nil {
		t.Fatal(err)
	}
	recorded := map[string]string{}
	for _, a := range m.Assets {
		recorded[a.Name] = a.SHA256
	}
	for _, s := range assets.Known {
		if recorded[s.Name] != s.SHA256 {
			t.Errorf("%s recorded as %q, want the pinned %s", s.Name, recorded[s.Name], s.SHA256)
		}
	}
	// The optional UT1 blocklist is absent: recorded with no hash.
	if h, ok := recorded[assets.Blocklist+"/domains"]; !ok || h != "" {
		t.Errorf("absent blocklist recorded as %q (present %v)", h, ok)
	}

	// With the optional UT1 blocklist imported (and the word lists still
	// built in), it is used and its hash recorded.
	ut1 := t.TempDir()
	os.WriteFile(filepath.Join(ut1, "domains"), []byte("commoncrawl.org\n"), 0o644)
	os.WriteFile(filepath.Join(ut1, "urls"), []byte(""), 0o644)
	withUT1 := t.TempDir()
	// A folder without word lists: the blocklist alone is imported.
	if err := assets.Import(ut1, withUT1, ut1); !errors.Is(err, assets.ErrMissing) {
		t.Fatalf("Import of a folder without word lists: %v", err)
	}
	m, err = Run(context.Background(), Options{Inputs: []string{in}, Output: t.TempDir(), Steps: StepOptions{AssetsDir: withUT1}})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := assets.Hash(filepath.Join(ut1, "domains"))
	for _, a := range m.Assets {
		if a.Name == assets.Blocklist+"/domains" && a.SHA256 != want {
			t.Errorf("blocklist recorded as %q, want %s", a.SHA256, want)
		}
	}
	if st := m.Stats.Step("url"); st == nil || st.Reasons["domain"] == 0 {
		t.Errorf("the blocklist dropped nothing: %+v", st)
	}

	altered := t.TempDir()
	p := filepath.Join(altered, filepath.FromSlash(assets.Known[0].Name))
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, []byte("porn\n"), 0o644)
	out := filepath.Join(t.TempDir(), "out")
	_, err = Run(context.Background(), Options{Inputs: []string{in}, Output: out, Steps: StepOptions{AssetsDir: altered}})
	if err == nil || !strings.Contains(err.Error(), "refine assets fetch") || !strings.Contains(err.Error(), "banned_words") {
		t.Fatalf("altered word list: %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed run left its output folder: %v", err)
	}
}

// TestBadInputLeavesNothing: input that is not a WARC is an error naming
// it, and a failed run removes what it created; a non-empty output folder
// is refused before anything is written.
func TestBadInputLeavesNothing(t *testing.T) {
	dir := testAssets(t)
	tmp := t.TempDir()
	notWARC := filepath.Join(tmp, "notes.warc.gz")
	var buf strings.Builder
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte("these are notes, not a WARC file\n"))
	zw.Close()
	os.WriteFile(notWARC, []byte(buf.String()), 0o644)
	garbage := filepath.Join(tmp, "garbage.warc")
	os.WriteFile(garbage, []byte(strings.Repeat("\x00\x01 not warc ", 500)), 0o644)

	for _, in := range []string{notWARC, garbage} {
		out := filepath.Join(tmp, "new", "out")
		_, err := Run(context.Background(), Options{Inputs: []string{in}, Output: out, Decisions: filepath.Join(tmp, "decisions.jsonl"), Steps: StepOptions{AssetsDir: dir}})
		if !errors.Is(err, ErrNotWARC) || !strings.Contains(err.Error(), filepath.Base(in)) {
			t.Errorf("%s: err = %v, want ErrNotWARC naming the file", in, err)
		}
		for _, left := range []string{filepath.Join(tmp, "new"), filepath.Join(tmp, "decisions.jsonl")} {
			if _, err := os.Stat(left); !os.IsNotExist(err) {
				t.Errorf("%s: a failed run left %s", in, left)
			}
		}
		// An existing empty output folder stays, empty.
		empty := t.TempDir()
		if _, err := Run(context.Background(), Options{Inputs: []string{in}, Output: empty, Steps: StepOptions{AssetsDir: dir}}); err == nil {
			t.Errorf("%s: no error", in)
		}
		if entries, _ := os.ReadDir(empty); len(entries) != 0 {
			t.Errorf("%s: a failed run left %d files in the output folder", in, len(entries))
		}
	}

	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "keep.txt"), []byte("mine"), 0o644)
	_, err := Run(context.Background(), Options{Inputs: []string{shareddata.Path(t, "warc", "commoncrawl", "jwarc_cc.warc.gz")}, Output: full, Steps: StepOptions{AssetsDir: dir}})
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("non-empty output folder: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(full, "keep.txt")); string(b) != "mine" {
		t.Error("the refused run touched the folder's files")
	}
}

// TestDumpLayout: the dump (the dump column and the data/<dump>/ folder)
// comes from the path's crawl id, else the WARC's warcinfo isPartOf, else
// DefaultDump; it is never empty.
func TestDumpLayout(t *testing.T) {
	dir := testAssets(t)
	// A CommonCrawl WARC under a name that holds no crawl id: isPartOf.
	b, err := os.ReadFile(shareddata.Path(t, "warc", "commoncrawl", "whirlwind_CC-MAIN-2024-22_warc.gz"))
	if err != nil {
		t.Fatal(err)
	}
	renamed := filepath.Join(t.TempDir(), "page.warc.gz")
	os.WriteFile(renamed, b, 0o644)
	for _, tc := range []struct{ in, dump, want string }{
		{renamed, "", "CC-MAIN-2024-22"},
		{shareddata.Path(t, "warc", "commoncrawl", "resiliparse_CC-MAIN-2020-34_extract.warc.gz"), "", "CC-MAIN-2020-34"},
		{shareddata.Path(t, "warc", "real_crawls", "dolma_browsertrix_sample-0000.warc.gz"), "", DefaultDump},
		{shareddata.Path(t, "warc", "real_crawls", "dolma_browsertrix_sample-0000.warc.gz"), "CC-MAIN-2024-10", "CC-MAIN-2024-10"},
	} {
		out := t.TempDir()
		m, err := Run(context.Background(), Options{Inputs: []string{tc.in}, Output: out, Dump: tc.dump, Steps: StepOptions{AssetsDir: dir}})
		if err != nil {
			t.Fatal(err)
		}
		if m.Dump != tc.want {
			t.Errorf("%s: dump %q, want %q", tc.in, m.Dump, tc.want)
		}
		for _, sh := range m.Shards {
			if !strings.HasPrefix(sh.Path, "data/"+tc.want+"/") {
				t.Errorf("%s: shard %s is not under data/%s/", tc.in, sh.Path, tc.want)
			}
		}
		n := 0
		err = dataset.ReadAll(out, m, func(_ int, _ int64, d dataset.Doc) error {
			n++
			if d.Dump != tc.want {
				t.Errorf("%s: document %s has dump %q", tc.in, d.ID, d.Dump)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if tc.want == DefaultDump && n == 0 {
			t.Errorf("%s: no documents to check", tc.in)
		}
	}
}

// TestJSONLInput runs the steps after extraction on documents given as text.
func TestJSONLInput(t *testing.T) {
	dir := testAssets(t)
	src := filepath.Join(t.TempDir(), "docs.jsonl")
	f, _ := os.Create(src)
	golden, err := os.Open(shareddata.Path(t, "golden", "golden_realwarcs.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(golden)
	sc.Buffer(nil, 64<<20)
	wantKept := 0
	n := 0
	for sc.Scan() {
		var row struct {
			ID, URL, Text string
			Seq           string `json:"sequential_result_with_lang"`
		}
		var raw map[string]any
		json.Unmarshal(sc.Bytes(), &raw)
		row.ID, _ = raw["id"].(string)
		row.URL, _ = raw["url"].(string)
		row.Text, _ = raw["extracted_text"].(string)
		row.Seq, _ = raw["sequential_result_with_lang"].(string)
		if row.Text == "" {
			continue
		}
		n++
		if row.Seq == "kept" {
			wantKept++
		}
		b, _ := json.Marshal(map[string]string{"id": row.ID, "url": row.URL, "text": row.Text})
		f.Write(append(b, '\n'))
	}
	f.WriteString("{not json\n")
	f.WriteString(`{"id": "x-1"}` + "\n")
	f.Close()
	golden.Close()
	out := t.TempDir()
	m, err := Run(context.Background(), Options{Inputs: []string{src}, Output: out, Steps: StepOptions{AssetsDir: dir}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Stats.Records != int64(n+2) {
		t.Fatalf("%d records, want %d", m.Stats.Records, n+2)
	}
	reader := m.Stats.Step("reader")
	if reader.Reasons["corrupt_json"] != 1 || reader.Reasons["missing_text"] != 1 {
		t.Fatalf("reader reasons %v", reader.Reasons)
	}
	t.Logf("JSONL: %d documents, %d kept (golden sequential with lang: %d kept before dedup)", n, m.Documents, wantKept)
}

// TestLanguageGateSameOutput runs the real CommonCrawl and crawler WARCs
// with the language gate on and off: the gate must drop some pages before
// extraction and change nothing else — the same shards, signatures and
// records, byte for byte. (Only the manifest differs: its statistics and
// the "+no-gate" version.)
func TestLanguageGateSameOutput(t *testing.T) {
	dir := testAssets(t)
	inputs := []string{
		shareddata.Path(t, "warc", "commoncrawl"),
		shareddata.Path(t, "warc", "real_crawls"),
	}
	var hashes [2]map[string]string
	for i, noGate := range []bool{false, true} {
		out := filepath.Join(t.TempDir(), "out")
		m, err := Run(context.Background(), Options{
			Inputs: inputs, Output: out, Workers: 2,
			Steps: StepOptions{AssetsDir: dir, NoLanguageGate: noGate},
		})
		if err != nil {
			t.Fatal(err)
		}
		gated := int64(0)
		for _, s := range m.Stats.Steps {
			if s.Name == "page_language" {
				gated = s.Dropped
			}
		}
		wantVersion := Version
		if noGate {
			wantVersion += "+no-gate"
		}
		if m.PipelineVersion != wantVersion {
			t.Errorf("pipeline version %q, want %q", m.PipelineVersion, wantVersion)
		}
		if noGate == (gated > 0) {
			t.Fatalf("noGate=%v: the gate dropped %d pages", noGate, gated)
		}
		t.Logf("noGate=%v: %d records, %d kept, %d dropped by the gate", noGate, m.Stats.Records, m.Documents, gated)
		hashes[i] = treeHashes(t, out)
		delete(hashes[i], "manifest.json")
		// The record index says which step dropped each record: the gate
		// (page_language) or, without it, the language filter.
		delete(hashes[i], dataset.IndexName)
	}
	if len(hashes[0]) < 3 {
		t.Fatalf("only %d output files", len(hashes[0]))
	}
	if !maps.Equal(hashes[0], hashes[1]) {
		t.Errorf("outputs differ with and without the gate:\n on: %v\noff: %v", hashes[0], hashes[1])
	}
}
