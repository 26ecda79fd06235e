package verify

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/internal/shareddata"
	"github.com/datarefine/refine/pipeline/warc"
	"github.com/datarefine/refine/taskapi"
)

// goldenRecord is one record of the golden WARC: its bytes and what the
// reference FineWeb pipeline (datatrove) made of it.
type goldenRecord struct {
	offset, length int64
	kept           bool
	step, reason   string
}

// goldenRecords reads the record sizes of the golden pages' WARC (990 real
// pages) and their outcomes in the golden outputs.
func goldenRecords(t testing.TB) []goldenRecord {
	t.Helper()
	path := shareddata.Path(t, "golden", "trafilatura_eval.warc.gz")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd := warc.NewReader(f, warc.Options{Name: path})
	var out []goldenRecord
	for {
		rec, err := rd.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n := len(out); n > 0 {
			out[n-1].length = rec.Offset - out[n-1].offset
		}
		out = append(out, goldenRecord{offset: rec.Offset})
	}
	out[len(out)-1].length = rd.Offset() - out[len(out)-1].offset
	g, err := os.Open(shareddata.Path(t, "golden", "golden_trafilatura_eval.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	sc := bufio.NewScanner(g)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	steps := map[string]string{"lang": "language"}
	for i := 0; sc.Scan(); i++ {
		var row struct {
			Result string `json:"sequential_result_with_lang"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatal(err)
		}
		r := &out[i]
		if r.kept = row.Result == "kept"; !r.kept {
			step, reason, _ := strings.Cut(row.Result, ":")
			if s, ok := steps[step]; ok {
				step = s
			}
			r.step, r.reason = step, reason
		}
	}
	return out
}

// goldenSubmission is a submission whose record index lists records with
// the given claims; its re-runs (run) return truth[i] for record i, so no
// record is fetched.
func goldenSubmission(t *testing.T, reference *Reference, claims, truth []goldenRecord) (*Submission, func()) {
	t.Helper()
	task := taskapi.Task{ID: 1, WARCs: []string{"golden.warc.gz"}}
	var entries []dataset.IndexEntry
	var refs []ref
	var docs []Doc
	for _, c := range claims {
		entries = append(entries, dataset.IndexEntry{Offset: c.offset, Length: c.length, Kept: c.kept, Step: c.step, Reason: c.reason})
		if c.kept {
			refs = append(refs, ref{ID: "d", Offset: c.offset})
			docs = append(docs, Doc{ID: "d"})
		}
	}
	dir := t.TempDir()
	m := writeTestIndex(t, dir, entries)
	end := claims[len(claims)-1].offset + claims[len(claims)-1].length
	ix, err := readIndex(context.Background(), dir, m, task, TaskSpans(task, []int64{end}), refs, reference.stepOrder(), TaskBudget(task, end, BudgetParams{}))
	if err != nil {
		t.Fatal(err)
	}
	sub := &Submission{Index: ix, Docs: docs, refs: refs, task: task, opts: ReadOptions{Reference: reference}}
	fresh := func() {
		sub.reruns = newReruns(reference, task.WARCs, ix)
		sub.reruns.run = func(_ context.Context, i int) (*rerun, error) {
			g := truth[i]
			return &rerun{kept: g.kept, step: g.step, reason: g.reason, id: "d"}, nil
		}
	}
	return sub, fresh
}

// TestCoverageDropAcrossSeeds checks the coverage rows of the attack
// table with the real draw and judging code on the golden pages' real
// record sizes and outcomes (990 pages, 124 kept): an honest index passes
// under every seed, reading few of the WARC's bytes; an index that hides a
// fifth of the kept bytes (records the reference keeps, claimed dropped by
// a quality filter) passes under a share of the seeds that matches
// (1 − d)^21, d the hidden share of the kept bytes.
func TestCoverageDropAcrossSeeds(t *testing.T) {
	ref, _ := testReference(t, nil)
	truth := goldenRecords(t)
	var keptBytes, total int64
	for _, g := range truth {
		total += g.length
		if g.kept {
			keptBytes += g.length
		}
	}
	// Hide kept records, every third, up to a fifth of the kept bytes.
	lie := append([]goldenRecord(nil), truth...)
	var hidden int64
	for i := range lie {
		if lie[i].kept && i%3 == 0 && float64(hidden+lie[i].length) <= 0.2*float64(keptBytes) {
			lie[i].kept, lie[i].step, lie[i].reason = false, "fineweb_qual", "line_punct_ratio"
			hidden += lie[i].length
		}
	}
	d := float64(hidden) / float64(keptBytes)
	honest, freshHonest := goldenSubmission(t, ref, truth, truth)
	liar, freshLiar := goldenSubmission(t, ref, lie, truth)
	const seeds = 1000
	passed := 0
	var honestBytes, honestDraws float64
	for s := range seeds {
		var seed [32]byte
		seed[0], seed[1] = byte(s), byte(s>>8)
		freshHonest()
		c, err := CheckCoverage(context.Background(), honest, seed, CoverageParams{})
		if err != nil || c.ReferenceKept < 21 || c.Found != c.ReferenceKept || c.Absent+c.Mismatched != 0 {
			t.Fatalf("honest index, seed %d: %+v %v", s, c, err)
		}
		honestBytes += float64(c.WARCBytes)
		honestDraws += float64(c.Sampled)
		freshLiar()
		// The hidden records are claimed dropped: each one drawn is a
		// record the reference keeps that is missing (Evaluate rejects
		// the first: MaxMissing 0).
		c, err = CheckCoverage(context.Background(), liar, seed, CoverageParams{})
		if err != nil {
			t.Fatalf("seed %d: %v", s, err)
		}
		if c.Absent == 0 {
			passed++
		}
	}
	rate := float64(passed) / seeds
	want := math.Pow(1-d, 21)
	t.Logf("hidden %.3f of the kept bytes: passes %.4f of %d seeds, (1 − d)^21 = %.4f; honest: %.0f records, %.0f bytes read of %d (%.2f %%), mean",
		d, rate, seeds, want, honestDraws/seeds, honestBytes/seeds, total, 100*honestBytes/seeds/float64(total))
	if sd := math.Sqrt(want*(1-want)/seeds) + 0.002; math.Abs(rate-want) > 4*sd {
		t.Errorf("the hiding index passes %.4f of seeds, the formula says %.4f", rate, want)
	}
	if rate > 0.01 {
		t.Errorf("hiding a fifth of the kept bytes passes %.4f of seeds", rate)
	}
}
