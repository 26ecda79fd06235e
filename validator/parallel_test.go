package validator

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/validator/verify"
)

// TestParallelEvaluationDeterministic (issue 19): validators that check a
// round's submissions on 1, 3 or 8 workers record the same verdicts and
// scores, in the same order — with the round holding what depends on the
// order of evaluation: two honest miners, a later exact copy of one's
// commitment, a later republication of its dataset for the same records
// (uniqueness: credited nothing), and a dropper caught by coverage. The
// earlier commit wins in every one.
func TestParallelEvaluationDeterministic(t *testing.T) {
	e := newEnv(t, false)
	A, B := warcA(t), warcB(t)
	for _, n := range []string{"H1", "H2", "CopyExact", "CopyRepub", "Dropper"} {
		e.register(n, 0)
	}
	h1 := e.honest("H1", "c", A, 0, 24)
	e.honest("H2", "c", B, 0, 0)
	e.commit("CopyExact", h1)
	e.republish("CopyRepub", "c", A, 0, 24)
	e.submit("Dropper", "c", A, 24, 0, "", func(dir string, m *dataset.Manifest) {
		rewrite(t, dir, m, func(docs []dataset.Doc, refs []dataset.RecordRef) ([]dataset.Doc, []dataset.RecordRef) {
			return docs[:1], refs[:1]
		})
	})
	e.advance(2) // the last seed blocks
	var first string
	for _, workers := range []int{1, 3, 8} {
		opts := e.options(filepath.Join(t.TempDir(), "v.db"))
		opts.EvalWorkers = workers
		v, err := New(opts)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := v.Round(e.ctx)
		v.Close()
		if err != nil {
			t.Fatal(err)
		}
		got := byHotkey(recs)
		want := map[string]verify.Code{"H1": "", "H2": "", "CopyExact": verify.CodeCopy, "CopyRepub": "", "Dropper": verify.CodeCoverage}
		for n, code := range want {
			r := got[key(t, n).SS58()]
			if r.Verdict.Code != code || r.Verdict.Accepted != (code == "") {
				t.Errorf("%d workers: %s %s, want %q", workers, n, describe(r), code)
			}
		}
		// The republication is settled after its original: every document
		// overlaps, nothing is credited.
		if r := got[key(t, "CopyRepub").SS58()]; r.Verdict.Uniqueness != 0 || r.Score != 0 {
			t.Errorf("%d workers: the republication: %s, uniqueness %v", workers, describe(r), r.Verdict.Uniqueness)
		}
		// Everything a verdict holds but timing.
		var rows []string
		for _, r := range recs {
			vd := r.Verdict
			vd.Reason = ""
			b, err := json.Marshal(vd)
			if err != nil {
				t.Fatal(err)
			}
			rows = append(rows, fmt.Sprintf("%s %d %s %.9f %s", r.Hotkey, r.Block, r.Commitment, r.Score, b))
		}
		all, _ := json.Marshal(rows)
		if first == "" {
			first = string(all)
			t.Logf("%d records", len(recs))
		} else if string(all) != first {
			t.Errorf("%d workers: records differ from 1 worker's:\n%s\n%s", workers, all, first)
		}
	}
}
