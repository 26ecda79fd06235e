package verify

import (
	"context"
	"testing"

	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/taskapi"
)

// writeTestIndex writes entries as a record index in dir and returns the
// manifest sealing it.
func writeTestIndex(t *testing.T, dir string, entries []dataset.IndexEntry) *dataset.Manifest {
	t.Helper()
	w, err := dataset.NewIndexWriter(dir, dataset.IndexName)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := w.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	f, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	return &dataset.Manifest{RecordIndex: f}
}

// TestIndexChecks: the checks made on the whole record index before any
// record is fetched. Each case is one lie (or a sound index) on a task of
// one 2,000-byte WARC, or a record range of it.
func TestIndexChecks(t *testing.T) {
	reference, _ := testReference(t, nil)
	order := reference.stepOrder()
	dup := func(i int64) *int64 { return &i }
	base := func() []dataset.IndexEntry {
		return []dataset.IndexEntry{
			{Offset: 0, Length: 300, Step: "reader", Reason: "not_response"},
			{Offset: 300, Length: 500, Kept: true},
			{Offset: 800, Length: 200, Step: "reader", Reason: "not_response"},
			{Offset: 1000, Length: 400, Step: "dedup", Reason: "duplicate", Dup: dup(1)},
			{Offset: 1400, Length: 250, Step: "language", Reason: "low_en_score"},
			{Offset: 1650, Length: 350, Kept: true},
		}
	}
	whole := taskapi.Task{ID: 1, WARCs: []string{"w.warc.gz"}}
	rangeTask := taskapi.Task{ID: 1, WARCs: []string{"w.warc.gz"}, RecordStart: 10, RecordEnd: 16, ByteStart: 0, ByteEnd: 2000}
	for _, tc := range []struct {
		name   string
		task   taskapi.Task
		size   int64
		edit   func([]dataset.IndexEntry) []dataset.IndexEntry
		refs   []int64 // documents' offsets (default: the kept entries')
		budget int64   // index bytes allowed (default: the task's)
		want   Code
	}{
		{name: "sound", size: 2000},
		{name: "sound range", task: rangeTask, size: -1},
		{name: "skip", size: 2000, want: CodeIndex, edit: func(e []dataset.IndexEntry) []dataset.IndexEntry {
			e[2].Offset, e[2].Length = 820, 180 // bytes 800-820 unlisted
			return e
		}},
		{name: "overlap", size: 2000, want: CodeIndex, edit: func(e []dataset.IndexEntry) []dataset.IndexEntry {
			e[2].Offset, e[2].Length = 780, 220
			return e
		}},
		{name: "length", size: 2000, want: CodeIndex, edit: func(e []dataset.IndexEntry) []dataset.IndexEntry {
			e[1].Length = 520 // the next record no longer starts where it ends
			return e
		}},
		{name: "short of the file", size: 2100, want: CodeIndex},
		{name: "past the range", task: rangeTask, size: -1, want: CodeIndex, edit: func(e []dataset.IndexEntry) []dataset.IndexEntry {
			e[5].Length = 400
			return e
		}},
		{name: "record count of the range", task: rangeTask, size: -1, want: CodeIndex, edit: func(e []dataset.IndexEntry) []dataset.IndexEntry {
			e[4].Length += e[5].Length // merged: five records for six
			return e[:5]
		}},
		{name: "tiny entries", size: 2000, want: CodeIndex, edit: func(e []dataset.IndexEntry) []dataset.IndexEntry {
			out := []dataset.IndexEntry{}
			for i := int64(0); i < 300; i += 30 {
				out = append(out, dataset.IndexEntry{Offset: i, Length: 30, Step: "reader", Reason: "not_response"})
			}
			return append(out, e[1:]...)
		}},
		{name: "kept but not cited", size: 2000, want: CodeIndex, refs: []int64{300}},
		{name: "cited but dropped", size: 2000, want: CodeIndex, refs: []int64{300, 1400, 1650}},
		{name: "kept count", size: 2000, want: CodeIndex, edit: func(e []dataset.IndexEntry) []dataset.IndexEntry {
			e[5] = dataset.IndexEntry{Offset: 1650, Length: 350, Step: "gopher_qual", Reason: "gopher_short_doc"}
			return e
		}, refs: []int64{300, 1650}},
		{name: "unknown step", size: 2000, want: CodeIndex, edit: func(e []dataset.IndexEntry) []dataset.IndexEntry {
			e[4].Step = "vibes"
			return e
		}},
		{name: "duplicate of nothing", size: 2000, want: CodeIndex, edit: func(e []dataset.IndexEntry) []dataset.IndexEntry {
			e[3].Dup = dup(2) // a dropped record
			return e
		}},
		{name: "duplicate past the end", size: 2000, want: CodeIndex, edit: func(e []dataset.IndexEntry) []dataset.IndexEntry {
			e[3].Dup = dup(60)
			return e
		}},
		{name: "truncated mid-file", size: 2000, want: CodeIndex, edit: func(e []dataset.IndexEntry) []dataset.IndexEntry {
			e[2].Reason = "truncated_record"
			return e
		}},
		{name: "truncated at the end", size: 2000, edit: func(e []dataset.IndexEntry) []dataset.IndexEntry {
			e[5] = dataset.IndexEntry{Offset: 1650, Length: 350, Step: "reader", Reason: "truncated_record"}
			return e
		}, refs: []int64{300}},
		{name: "second WARC", size: 2000, want: CodeIndex, edit: func(e []dataset.IndexEntry) []dataset.IndexEntry {
			e[5].WARC = 1
			return e
		}},
		{name: "too large", size: 2000, want: CodeTooLarge, budget: 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			task := tc.task
			if task.WARCs == nil {
				task = whole
			}
			entries := base()
			if tc.edit != nil {
				entries = tc.edit(entries)
			}
			dir := t.TempDir()
			m := writeTestIndex(t, dir, entries)
			refs := tc.refs
			if refs == nil {
				for _, e := range entries {
					if e.Kept {
						refs = append(refs, e.Offset)
					}
				}
			}
			var rs []ref
			for _, o := range refs {
				rs = append(rs, ref{ID: "d", Offset: o})
			}
			b := TaskBudget(task, 2000, BudgetParams{})
			if tc.budget > 0 {
				b.IndexBytes = tc.budget
			}
			ix, err := readIndex(context.Background(), dir, m, task, TaskSpans(task, []int64{tc.size}), rs, order, b)
			f, _ := AsFailure(err)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("sound index refused: %v", err)
			case tc.want != "" && (f == nil || f.Code != tc.want):
				t.Fatalf("got %v, want %s", err, tc.want)
			case tc.want == "":
				if ix.Len() != len(entries) || ix.Total != 2000 {
					t.Errorf("%d entries, %d bytes", ix.Len(), ix.Total)
				}
				for i, e := range entries {
					if got := ix.Entry(i); got.Offset != e.Offset || got.Length != e.Length || got.Kept != e.Kept || got.Step != e.Step {
						t.Errorf("entry %d read back as %+v, want %+v", i, got, e)
					}
				}
			default:
				t.Log(err)
			}
		})
	}
}

// TestIndexNone: a submission without a record index is refused.
func TestIndexNone(t *testing.T) {
	ref, _ := testReference(t, nil)
	task := taskapi.Task{ID: 1, WARCs: []string{"w.warc.gz"}}
	_, err := readIndex(context.Background(), t.TempDir(), &dataset.Manifest{}, task, TaskSpans(task, []int64{10}), nil, ref.stepOrder(), TaskBudget(task, 10, BudgetParams{}))
	if f, ok := AsFailure(err); !ok || f.Code != CodeIndex {
		t.Fatalf("no index: %v", err)
	}
}
