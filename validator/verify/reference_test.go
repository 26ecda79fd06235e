package verify

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/datarefine/refine/assets"
	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/internal/shareddata"
	"github.com/datarefine/refine/pipeline"
	"github.com/datarefine/refine/pipeline/tokens"
	"github.com/datarefine/refine/pipeline/warc"
	"github.com/datarefine/refine/process"
	"github.com/datarefine/refine/taskapi"
)

func testReference(t *testing.T, resolve func(string) (string, error)) (*Reference, string) {
	return testReferenceWith(t, resolve)
}

func testReferenceTB(tb testing.TB) (*Reference, string) { return testReferenceWith(tb, nil) }

func taskFor(warcs ...string) taskapi.Task { return taskapi.Task{ID: 1, WARCs: warcs} }

// localSpans are the spans of a task of local WARCs (their files' sizes).
func localSpans(t testing.TB, task taskapi.Task) []Span {
	t.Helper()
	sizes := make([]int64, len(task.WARCs))
	for i, w := range task.WARCs {
		st, err := os.Stat(w)
		if err != nil {
			sizes[i] = 0
			continue
		}
		sizes[i] = st.Size()
	}
	return TaskSpans(task, sizes)
}

func testReferenceWith(t testing.TB, resolve func(string) (string, error)) (*Reference, string) {
	t.Helper()
	root := shareddata.Dir(t)
	dir := t.TempDir()
	if err := assets.Import(filepath.Join(root, "filters_dedup", "datatrove_assets"), dir, ""); err != nil {
		t.Fatal(err)
	}
	ref, err := NewReference(ReferenceOptions{Steps: process.StepOptions{AssetsDir: dir}, Resolve: resolve})
	if err != nil {
		t.Fatal(err)
	}
	return ref, dir
}

// TestReferenceRederivesKeptDocuments processes a real WARC, then re-derives
// every kept document from its cited record, read from the file and over
// HTTP range requests: each must be kept with the same text (modulo PII)
// and token count.
func TestReferenceRederivesKeptDocuments(t *testing.T) {
	warc := shareddata.Path(t, "warc", "real_crawls", "dolma_browsertrix_sample-0000.warc.gz")
	srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Dir(warc))))
	defer srv.Close()
	local, assetsDir := testReference(t, nil)
	remote, err := NewReference(ReferenceOptions{Steps: process.StepOptions{AssetsDir: assetsDir},
		Resolve: func(name string) (string, error) { return srv.URL + "/" + filepath.Base(name), nil }})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	m, err := process.Run(context.Background(), process.Options{Inputs: []string{warc}, Output: out, Workers: 2,
		Steps: process.StepOptions{AssetsDir: assetsDir}})
	if err != nil {
		t.Fatal(err)
	}
	var docs []dataset.Doc
	if err := dataset.ReadAll(out, m, func(_ int, _ int64, d dataset.Doc) error { docs = append(docs, d); return nil }); err != nil {
		t.Fatal(err)
	}
	// Each kept record's length, from the record index.
	lengths := map[int64]int64{}
	ixf, err := os.Open(filepath.Join(out, dataset.IndexName))
	if err != nil {
		t.Fatal(err)
	}
	if err := dataset.ReadIndex(context.Background(), ixf, 1<<20, func(_ int64, e dataset.IndexEntry) error {
		lengths[e.Offset] = e.Length
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ixf.Close()
	f, err := os.Open(filepath.Join(out, dataset.RecordsName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	i := 0
	for sc.Scan() {
		var r dataset.RecordRef
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		for name, ref := range map[string]*Reference{"file": local, "http": remote} {
			doc, err := ref.Entry(context.Background(), r.WARC, r.Offset, lengths[r.Offset])
			if err != nil {
				t.Fatalf("%s: record %s: %v", name, r.ID, err)
			}
			kept, step, reason := ref.Run(doc)
			switch {
			case doc.ID != docs[i].ID:
				t.Errorf("%s: record at %d is %s, want %s", name, r.Offset, doc.ID, docs[i].ID)
			case !kept:
				t.Errorf("%s: %s dropped by %s/%s", name, doc.ID, step, reason)
			case !ref.SameText(doc.Text, docs[i].Text):
				t.Errorf("%s: %s text differs", name, doc.ID)
			case doc.TokenCount != docs[i].TokenCount:
				t.Errorf("%s: %s has %d tokens, dataset %d", name, doc.ID, doc.TokenCount, docs[i].TokenCount)
			}
		}
		i++
	}
	if i != len(docs) || i == 0 {
		t.Fatalf("%d records for %d documents", i, len(docs))
	}

	// The same folder read as a submission: accepted for its task (every
	// row's tokens and signature match, the signature files included),
	// refused for another task's WARC and over a budget.
	bpe, err := tokens.GPT2BPE()
	if err != nil {
		t.Fatal(err)
	}
	var measured int64
	for _, d := range docs {
		n := int64(bpe.Count(d.Text))
		measured += n
		if n != d.TokenCount && FoldPII(d.Text) == d.Text {
			t.Errorf("%s: pipeline counted %d tokens, GPT-2 %d (no PII replaced)", d.ID, d.TokenCount, n)
		}
	}
	for _, tc := range []struct {
		name   string
		task   []string
		budget Budget
		want   Code
	}{
		{"own task", []string{warc}, Budget{}, ""},
		{"other task", []string{"crawl-data/other.warc.gz"}, Budget{}, CodeWrongTask},
		{"text budget", []string{warc}, Budget{Rows: 1000, TextBytes: 100, PageBytes: 1 << 30}, CodeTooLarge},
		{"row budget", []string{warc}, Budget{Rows: 1, TextBytes: 1 << 30, PageBytes: 1 << 30}, CodeTooLarge},
	} {
		task := taskFor(tc.task...)
		sub, err := OpenSubmission(context.Background(), out, m, task, ReadOptions{Reference: local, Spans: localSpans(t, task), Budget: tc.budget, Draws: 16})
		if err == nil {
			err = sub.ReadAll(context.Background())
		}
		f, _ := AsFailure(err)
		switch {
		case tc.want == "" && (err != nil || len(sub.Docs) != len(docs) || sub.InternalDuplicates != 0 || len(sub.Draws) != 16):
			t.Errorf("%s: %v", tc.name, err)
		case tc.want == "" && sub.MeasuredTokens != measured:
			t.Errorf("%s: measured %d tokens, GPT-2 on the texts %d", tc.name, sub.MeasuredTokens, measured)
		case tc.want != "" && (f == nil || f.Code != tc.want):
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
}

func TestSameTextModuloPII(t *testing.T) {
	ref, _ := testReference(t, nil)
	tests := []struct {
		ref, sub string
		want     bool
	}{
		{"mail jane.doe@corp.io today", "mail email@example.com today", true},
		// The cycle position of the miner's run decides which replacement a
		// document gets; both are accepted.
		{"mail jane.doe@corp.io today", "mail firstname.lastname@example.org today", true},
		{"server 8.8.8.8 is up", "server 188.8.131.52 is up", true},
		{"mail jane.doe@corp.io today", "mail jane.doe@corp.io today", false}, // PII must be replaced
		{"mail jane.doe@corp.io today", "mail email@example.com tomorrow", false},
		{"plain text", "plain text", true},
		{"plain text", "plain text!", false},
	}
	for _, tc := range tests {
		if got := ref.SameText(tc.ref, tc.sub); got != tc.want {
			t.Errorf("SameText(%q, %q) = %v, want %v", tc.ref, tc.sub, got, tc.want)
		}
	}
}

// panicky is a filter that panics on one URL, as a step might on a hostile
// page.
type panicky struct{ url string }

func (panicky) Name() string { return "panicky" }
func (p panicky) Filter(d *pipeline.Document) (bool, string) {
	if d.URL == p.url {
		panic("hostile page")
	}
	return true, ""
}

// TestReferencePanicLikeRunner: a filter that panics on a record drops it
// in the miner's runner and in the validator's reference re-run alike
// (pipeline.Process is the one loop), instead of rejecting the submission
// on the validator's side.
func TestReferencePanicLikeRunner(t *testing.T) {
	ref, _ := testReference(t, nil)
	warcPath := shareddata.Path(t, "warc", "real_crawls", "dolma_browsertrix_sample-0000.warc.gz")
	rd, err := warc.Open(context.Background(), warcPath, warc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var docs []*pipeline.Document
	for {
		rec, err := rd.Next(context.Background())
		if err != nil {
			break
		}
		if rec.Skip == "" {
			docs = append(docs, &pipeline.Document{ID: rec.ID, URL: rec.URL, Offset: rec.Offset, HTML: rec.HTML})
		}
	}
	if len(docs) < 2 {
		t.Fatalf("%d usable records", len(docs))
	}
	ref.filters = append([]pipeline.Filter{panicky{docs[1].URL}}, ref.filters...)
	runner := pipeline.Runner{Filters: ref.filters, Annotators: ref.steps.Annotators, Workers: 2}
	var results []pipeline.Result
	src := &docSource{docs: docs}
	if err := runner.Run(context.Background(), src, func(r pipeline.Result) error { results = append(results, r); return nil }); err != nil {
		t.Fatal(err)
	}
	for i, r := range results {
		d := *docs[i]
		d.Text, d.TokenCount, d.MinHash = "", 0, nil
		kept, step, reason := ref.Run(&d)
		if kept != r.Kept() || step != r.Step || reason != r.Reason {
			t.Errorf("%s: reference %v %s/%s, runner %v %s/%s", d.URL, kept, step, reason, r.Kept(), r.Step, r.Reason)
		}
		if i == 1 && (step != "panic" || reason != "hostile page") {
			t.Errorf("panicking record: %s/%s", step, reason)
		}
	}
}

type docSource struct {
	docs []*pipeline.Document
	i    int
}

func (s *docSource) Next(context.Context) (*pipeline.Document, error) {
	if s.i >= len(s.docs) {
		return nil, io.EOF
	}
	s.i++
	d := *s.docs[s.i-1]
	return &d, nil
}
