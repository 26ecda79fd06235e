package eval

import (
	"compress/gzip"
	"context"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/datarefine/refine/internal/shareddata"
)

func TestDetokenizeWikiText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{" = Robert Boulter = ", "Robert Boulter"},
		{" = = Career = = ", "Career"},
		{" He had a guest @-@ starring role , in 2000 . ", "He had a guest-starring role, in 2000."},
		{" It cost $ 1 @,@ 000 ( about 3 @.@ 5 % ) . ", "It cost $1,000 (about 3.5%)."},
		{` He said " no " and did n't . `, `He said "no" and didn't.`},
		{" the company 's profits ; it 's true : yes ! ", "the company's profits; it's true: yes!"},
	} {
		if got := DetokenizeWikiText(c.in); got != c.want {
			t.Errorf("DetokenizeWikiText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	docs := ReferenceDocs(" = A = \n x @-@ y . \n = = B = = \n z . \n = C = \n w . \n", FormatAuto)
	if len(docs) != 2 || docs[0] != "A\nx-y.\nB\nz." || docs[1] != "C\nw." {
		t.Errorf("ReferenceDocs = %q", docs)
	}
}

func TestParseBenchmark(t *testing.T) {
	data := `{"query": "Q: a?", "choices": ["x", "y"], "gold": 1}
{"idx": 0, "query": "Roof: he", "label": 3, "endings": ["a", "b", "c", "d"]}
{"context": "not multiple choice", "continuation": "x"}
`
	items, err := ParseBenchmark([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || items[0].Gold != 1 || len(items[1].Choices) != 4 || items[1].Gold != 3 {
		t.Errorf("items = %+v", items)
	}
	if _, err := ParseBenchmark([]byte(`{"query": "q", "choices": ["a", "b"], "gold": 2}`)); err == nil {
		t.Error("gold out of range accepted")
	}
	// The registered HellaSwag asset (text layout) parses to the same items
	// as the JSONL form generated from it.
	txt, err := readAsset(context.Background(), DefaultOpener{}, shareddata.Path(t, "benchmarks", "hellaswag", "hellaswag_val_full.txt.bz2"))
	if err != nil {
		t.Fatal(err)
	}
	fromText, err := ParseBenchmark(txt)
	if err != nil {
		t.Fatal(err)
	}
	js, err := readAsset(context.Background(), DefaultOpener{}, shareddata.Path(t, "benchmarks", "hellaswag", "hellaswag_val_preprocessed.jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := ParseBenchmark(js)
	if err != nil {
		t.Fatal(err)
	}
	if len(fromText) != 10042 || len(fromText) != len(fromJSON) {
		t.Fatalf("hellaswag: %d items from text, %d from JSONL", len(fromText), len(fromJSON))
	}
	for i := range fromText {
		a, b := fromText[i], fromJSON[i]
		if a.Query != b.Query || a.Gold != b.Gold || strings.Join(a.Choices, "\x00") != strings.Join(b.Choices, "\x00") {
			t.Fatalf("hellaswag item %d differs: %+v vs %+v", i, a, b)
		}
	}
	if _, err := ParseBenchmark([]byte("q\n9\na\nb\nc\nd\n")); err == nil {
		t.Error("hellaswag text with gold 9 accepted")
	}
	// The shared benchmark files parse.
	for _, f := range []string{"llm_foundry_icl/arc_easy.jsonl", "llm_foundry_icl/piqa.jsonl", "hellaswag/hellaswag_val_preprocessed.jsonl.gz"} {
		b, err := readAsset(context.Background(), DefaultOpener{}, shareddata.Path(t, "benchmarks", f))
		if err != nil {
			t.Fatal(err)
		}
		items, err := ParseBenchmark(b)
		if err != nil || len(items) < 100 {
			t.Errorf("%s: %d items, %v", f, len(items), err)
		}
	}
}

func TestReadDataset(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "b.jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	zw.Write([]byte(`{"text": "second", "id": 1}` + "\n" + `{"text": "third"}` + "\n"))
	zw.Close()
	f.Close()
	type row struct {
		ID   int64  `parquet:"id"`
		Text string `parquet:"text"`
		URL  string `parquet:"url"`
	}
	if err := parquet.WriteFile(filepath.Join(dir, "a.parquet"), []row{{1, "first", "u"}}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "README.md"), []byte("ignored"), 0o644)
	texts, err := ReadDataset(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(texts, ",") != "first,second,third" {
		t.Errorf("texts = %q", texts)
	}
	os.WriteFile(filepath.Join(dir, "bad.jsonl"), []byte(`{"body": "x"}`+"\n"), 0o644)
	if _, err := ReadDataset(context.Background(), dir); err == nil {
		t.Error("row without text accepted")
	}
}

func tinyProtocol() Protocol {
	p := ProtocolV1()
	p.Model.Vocab, p.Model.Dim, p.Model.Ctx, p.Model.Batch, p.Model.Steps, p.Model.Warmup = 512, 32, 32, 4, 12, 2
	p.RefTokens, p.PoolTokens, p.Seeds = 1024, 8192, []uint64{1, 2}
	return p
}

// TestEvaluateDeterministic requires bit-identical reports (and benchmark
// scores) for the same input across runs and GOMAXPROCS values, and the
// document sample not to depend on document order.
func TestEvaluateDeterministic(t *testing.T) {
	p := tinyProtocol()
	e, err := New(context.Background(), Options{
		Protocol:   p,
		Reference:  Asset{Source: shareddata.Path(t, "reference_text", "wikitext-2-raw", "wiki.test.raw")},
		Benchmarks: []NamedAsset{{Name: "arc_easy", Source: shareddata.Path(t, "benchmarks", "llm_foundry_icl", "arc_easy.jsonl")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.proto.BenchItems = 20
	var docs []string
	for _, r := range readGolden(t, "golden_trafilatura_eval.jsonl") {
		if r.Result == "kept" {
			docs = append(docs, r.Final)
		}
	}
	var first *Report
	for i, procs := range []int{1, 2, 4} {
		in := docs
		if i == 2 { // reversed document order: same sample
			in = make([]string, len(docs))
			for j, d := range docs {
				in[len(docs)-1-j] = d
			}
		}
		old := runtime.GOMAXPROCS(procs)
		r, err := e.Evaluate(context.Background(), in)
		runtime.GOMAXPROCS(old)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = r
			continue
		}
		for s := range r.Seeds {
			a, b := first.Seeds[s], r.Seeds[s]
			if math.Float64bits(a.RefLoss) != math.Float64bits(b.RefLoss) || a.TrainLoss != b.TrainLoss ||
				a.RefAccuracy != b.RefAccuracy || a.Benchmarks["arc_easy"] != b.Benchmarks["arc_easy"] {
				t.Errorf("GOMAXPROCS=%d seed %d: %+v, want %+v", procs, s, b, a)
			}
		}
		if math.Float64bits(r.Quality) != math.Float64bits(first.Quality) {
			t.Errorf("GOMAXPROCS=%d: quality %v, want %v", procs, r.Quality, first.Quality)
		}
	}
	t.Logf("quality %.6f (bits %x)", first.Quality, math.Float64bits(first.Quality))
}

// TestCompare: the relative mode pairs seeds, gives exactly 0 for two
// datasets with the same sample (trained once), and otherwise the same bits
// as two separate evaluations.
func TestCompare(t *testing.T) {
	e := testEvaluator(t, tinyProtocol())
	var docs []string
	for _, r := range readGolden(t, "golden_trafilatura_eval.jsonl") {
		if r.Result == "kept" {
			docs = append(docs, r.Final)
		}
	}
	rev := slices.Clone(docs)
	slices.Reverse(rev)
	ctx := context.Background()
	same, err := e.Compare(ctx, docs, rev)
	if err != nil {
		t.Fatal(err)
	}
	if same.Delta != 0 || same.Z != 0 || same.A.Quality != same.B.Quality {
		t.Errorf("same documents: delta %v, z %v", same.Delta, same.Z)
	}
	shuffled := shuffleWords(docs, 7)
	c, err := e.Compare(ctx, docs, shuffled)
	if err != nil {
		t.Fatal(err)
	}
	ra, err := e.Evaluate(ctx, docs)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := e.Evaluate(ctx, shuffled)
	if err != nil {
		t.Fatal(err)
	}
	if c.Delta != ra.Quality-rb.Quality || c.A.Quality != ra.Quality || c.B.Quality != rb.Quality {
		t.Errorf("Compare %v (%v, %v) differs from two evaluations (%v, %v)", c.Delta, c.A.Quality, c.B.Quality, ra.Quality, rb.Quality)
	}
	if c.Delta == 0 {
		t.Error("word-shuffled documents compare equal to the originals")
	}
}
