package process

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/internal/shareddata"
	"github.com/datarefine/refine/pipeline/warc"
)

// readIndex reads a run's record index.
func readIndex(t *testing.T, dir string, m *dataset.Manifest) []dataset.IndexEntry {
	t.Helper()
	if m.RecordIndex == nil {
		t.Fatal("no record index in the manifest")
	}
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(m.RecordIndex.Path)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []dataset.IndexEntry
	if err := dataset.ReadIndex(context.Background(), f, 1<<20, func(_ int64, e dataset.IndexEntry) error {
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRecordIndex: the record index of a whole WARC, of a record range
// and of a WARC holding every page twice tiles its bytes exactly, says for
// every record what the decisions file says, lists as kept exactly the
// records the documents cite, and every entry's bytes read back (alone,
// with the validator's decoder) as the record the run saw; each dropped
// duplicate's Dup leads to a kept entry.
func TestRecordIndex(t *testing.T) {
	src := shareddata.Path(t, "warc", "real_crawls", "dolma_browsertrix_sample-0000.warc.gz")
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	twice := filepath.Join(t.TempDir(), "twice.warc.gz")
	if err := os.WriteFile(twice, append(append([]byte{}, raw...), raw...), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		warc       string
		start, end int64
	}{
		{"whole", src, 0, 0},
		{"range", src, 10, 30},
		{"twice", twice, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := os.ReadFile(tc.warc)
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "out")
			dec := filepath.Join(t.TempDir(), "decisions.jsonl")
			m, err := Run(context.Background(), Options{Inputs: []string{tc.warc}, Output: out, Workers: 2, Decisions: dec,
				RecordStart: tc.start, RecordEnd: tc.end, Steps: StepOptions{AssetsDir: testAssets(t)}})
			if err != nil {
				t.Fatal(err)
			}
			idx := readIndex(t, out, m)
			decisions := readDecisions(t, dec)
			if len(idx) != len(decisions) || (tc.end > 0 && int64(len(idx)) != tc.end-tc.start) {
				t.Fatalf("%d entries, %d decisions", len(idx), len(decisions))
			}
			cited := map[int64]bool{}
			rf, err := os.Open(filepath.Join(out, m.Records.Path))
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(rf)
			for sc.Scan() {
				var r dataset.RecordRef
				if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
					t.Fatal(err)
				}
				cited[r.Offset] = true
			}
			rf.Close()
			at := idx[0].Offset
			if tc.start == 0 && at != 0 {
				t.Errorf("first entry at %d", at)
			}
			dups := 0
			for i, e := range idx {
				d := decisions[i]
				if e.Offset != at {
					t.Fatalf("entry %d at %d, previous ends at %d", i, e.Offset, at)
				}
				at += e.Length
				if e.Kept != d.Kept || e.Kept != cited[e.Offset] || (!e.Kept && (e.Step != d.Step || e.Reason != dataset.IndexReason(d.Reason))) {
					t.Errorf("entry %d %+v, decision %+v, cited %v", i, e, d, cited[e.Offset])
				}
				rec, err := warc.ReadEntry(context.Background(), bytes.NewReader(b[e.Offset:e.Offset+e.Length]), e.Length, warc.Options{})
				if err != nil || rec.ID != d.ID {
					t.Errorf("entry %d reads back as %v, %v; decision %s", i, rec, err, d.ID)
				}
				if e.Step == "dedup" {
					dups++
					for hops, j := 0, i; !idx[j].Kept; hops++ {
						if idx[j].Dup == nil || hops > 10 {
							t.Fatalf("entry %d: dup path breaks at %d", i, j)
						}
						j = int(*idx[j].Dup)
					}
				}
			}
			if tc.end == 0 && at != int64(len(b)) {
				t.Errorf("entries end at %d, the file at %d", at, len(b))
			}
			if tc.name == "twice" && dups != int(m.Documents) {
				t.Errorf("%d duplicates, %d documents", dups, m.Documents)
			}
		})
	}
}
