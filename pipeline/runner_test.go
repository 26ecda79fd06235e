package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

type sliceSource struct {
	docs []*Document
	i    int
	err  error // returned after the documents, instead of io.EOF
}

func (s *sliceSource) Next(ctx context.Context) (*Document, error) {
	if s.i >= len(s.docs) {
		if s.err != nil {
			return nil, s.err
		}
		return nil, io.EOF
	}
	s.i++
	return s.docs[s.i-1], nil
}

func docs(n int) []*Document {
	out := make([]*Document, n)
	for i := range out {
		out[i] = &Document{ID: fmt.Sprint(i), Text: strings.Repeat("x", i%17), Index: int64(i)}
		if i%13 == 5 {
			out[i].Skip = "mime_image/png"
		}
	}
	return out
}

type funcFilter struct {
	name string
	f    func(*Document) (bool, string)
}

func (f funcFilter) Name() string                      { return f.name }
func (f funcFilter) Filter(d *Document) (bool, string) { return f.f(d) }

type upper struct{}

func (upper) Name() string       { return "upper" }
func (upper) Format(d *Document) { d.Text = strings.ToUpper(d.Text) + "!" }

func run(t *testing.T, workers int, src Source, filters ...Filter) ([]Result, error) {
	t.Helper()
	r := &Runner{Filters: filters, Annotators: []Formatter{upper{}}, Workers: workers}
	var out []Result
	err := r.Run(context.Background(), src, func(res Result) error {
		out = append(out, res)
		return nil
	})
	return out, err
}

func TestRunnerOrderAndDeterminism(t *testing.T) {
	short := funcFilter{"short", func(d *Document) (bool, string) {
		if len(d.Text) < 3 {
			return false, "too_short"
		}
		return true, ""
	}}
	var want []Result
	for _, workers := range []int{1, 2, 3, 8, 32} {
		got, err := run(t, workers, &sliceSource{docs: docs(500)}, short)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 500 {
			t.Fatalf("workers=%d: %d results, want 500", workers, len(got))
		}
		for i, r := range got {
			if r.Doc.ID != fmt.Sprint(i) {
				t.Fatalf("workers=%d: result %d is document %s", workers, i, r.Doc.ID)
			}
		}
		if want == nil {
			want = got
			continue
		}
		for i := range got {
			if got[i].Step != want[i].Step || got[i].Reason != want[i].Reason || got[i].Doc.Text != want[i].Doc.Text {
				t.Fatalf("workers=%d: result %d differs from workers=1", workers, i)
			}
		}
	}
	// Skipped records are reported under the reader step; kept ones annotated.
	for _, r := range want {
		switch {
		case r.Doc.Skip != "":
			if r.Step != "reader" || r.Reason != r.Doc.Skip {
				t.Errorf("skipped doc %s: step %q reason %q", r.Doc.ID, r.Step, r.Reason)
			}
		case r.Kept():
			if !strings.HasSuffix(r.Doc.Text, "!") {
				t.Errorf("kept doc %s not annotated: %q", r.Doc.ID, r.Doc.Text)
			}
		default:
			if r.Step != "short" || r.Reason != "too_short" {
				t.Errorf("doc %s: step %q reason %q", r.Doc.ID, r.Step, r.Reason)
			}
		}
	}
}

func TestRunnerPanicDropsDocument(t *testing.T) {
	boom := funcFilter{"boom", func(d *Document) (bool, string) {
		if d.ID == "7" {
			panic("hostile input")
		}
		return true, ""
	}}
	got, err := run(t, 4, &sliceSource{docs: docs(20)}, boom)
	if err != nil {
		t.Fatal(err)
	}
	if got[7].Step != "panic" || !strings.Contains(got[7].Reason, "hostile input") {
		t.Fatalf("doc 7: step %q reason %q", got[7].Step, got[7].Reason)
	}
	if !got[8].Kept() {
		t.Fatalf("doc 8 not kept after a panic in doc 7")
	}
}

func TestRunnerSourceError(t *testing.T) {
	readErr := errors.New("unreadable input at offset 123")
	got, err := run(t, 3, &sliceSource{docs: docs(10), err: readErr})
	if !errors.Is(err, readErr) {
		t.Fatalf("err = %v, want %v", err, readErr)
	}
	if len(got) > 10 {
		t.Fatalf("%d results", len(got))
	}
}

func TestRunnerSinkError(t *testing.T) {
	stop := errors.New("disk full")
	r := &Runner{Workers: 4}
	n := 0
	err := r.Run(context.Background(), &sliceSource{docs: docs(1000)}, func(Result) error {
		n++
		if n == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 10 {
		t.Fatalf("err = %v after %d results", err, n)
	}
}

func TestRunnerCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &Runner{Workers: 2}
	n := 0
	err := r.Run(ctx, &sliceSource{docs: docs(1000)}, func(Result) error {
		n++
		if n == 5 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestStats(t *testing.T) {
	s := NewStats("reader", "short")
	s.Add(Result{Doc: &Document{}})
	s.Add(Result{Doc: &Document{}, Step: "short", Reason: "too_short"})
	s.Add(Result{Doc: &Document{}, Step: "short", Reason: "too_short"})
	s.Add(Result{Doc: &Document{}, Step: "late", Reason: "x"})
	s.Unkeep("dedup", "duplicate")
	if s.Records != 4 || s.Kept != 0 {
		t.Fatalf("records %d kept %d", s.Records, s.Kept)
	}
	names := []string{}
	for _, st := range s.Steps {
		names = append(names, st.Name)
	}
	if strings.Join(names, ",") != "reader,short,late,dedup" {
		t.Fatalf("steps %v", names)
	}
	if s.Step("short").Reasons["too_short"] != 2 || s.Step("reader").Dropped != 0 {
		t.Fatalf("bad counts: %+v", s.Steps)
	}
}
