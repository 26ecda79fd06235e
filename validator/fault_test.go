package validator

import (
	"context"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/datarefine/refine/validator/verify"
)

// TestRestartKeepsState evaluates a round, closes the validator and opens
// a new one on the same database: the EMAs are those before the restart,
// nothing is evaluated twice, and the next round continues the EMA.
// A second validator on its own database reaches the same verdicts and
// scores (determinism).
func TestRestartKeepsState(t *testing.T) {
	e := newEnv(t, false)
	e.register("H1", 0)
	e.register("H2", 0)
	e.honest("H1", "c-h1", warcA(t), 0, 24)
	e.honest("H2", "c-h2", warcB(t), 0, 0)
	db := filepath.Join(t.TempDir(), "v.db")

	v1, err := New(e.options(db))
	if err != nil {
		t.Fatal(err)
	}
	recs1, err := v1.Round(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	before, err := v1.Scores(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := v1.Close(); err != nil {
		t.Fatal(err)
	}
	if len(recs1) != 2 || len(before) == 0 {
		t.Fatalf("first round: %d records, %d scores", len(recs1), len(before))
	}

	v2 := e.validator(db)
	after, err := v2.Scores(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("after restart: %d scores, before %d", len(after), len(before))
	}
	for i := range before {
		if after[i] != before[i] {
			t.Errorf("uid %d: %+v after restart, %+v before", before[i].UID, after[i], before[i])
		}
	}
	e.advance(1)
	recs2, err := v2.Round(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs2) != 0 {
		t.Errorf("restarted validator re-evaluated %d submissions", len(recs2))
	}
	next, _ := v2.Scores(e.ctx)
	alpha := e.options(db).withDefaults().Score.Alpha
	for i := range before {
		if want := (1 - alpha) * before[i].EMA; math.Abs(next[i].EMA-want) > 1e-12 {
			t.Errorf("uid %d: EMA %v after an empty round, want %v", before[i].UID, next[i].EMA, want)
		}
	}

	// Another validator with its own state: same verdicts and scores.
	v3 := e.validator(":memory:")
	recs3, err := v3.Round(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs3) != len(recs1) {
		t.Fatalf("second validator: %d records, want %d", len(recs3), len(recs1))
	}
	for i := range recs1 {
		a, b := recs1[i], recs3[i]
		if a.Hotkey != b.Hotkey || a.Score != b.Score || a.Verdict.Provenance.Checked != b.Verdict.Provenance.Checked ||
			a.Verdict.Coverage.Sampled != b.Verdict.Coverage.Sampled || a.Verdict.Quality != b.Verdict.Quality {
			t.Errorf("validators disagree on %s: %+v vs %+v", a.Hotkey, a, b)
		}
	}
}

// panicky is a quality scorer that panics, standing in for any check
// tripping over hostile input.
type panicky struct{}

func (panicky) Quality(context.Context, []string, []string) (float64, error) { panic("boom") }

// TestPanicIsRejection: a panic inside a check rejects the submission with
// the internal code and the validator carries on.
func TestPanicIsRejection(t *testing.T) {
	e := newEnv(t, false)
	e.register("H2", 0)
	e.honest("H2", "c-h2", warcB(t), 0, 0)
	opts := e.options(":memory:")
	opts.Quality = panicky{}
	v, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	recs, err := v.Round(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Verdict.Code != verify.CodeInternal || recs[0].Score != 0 {
		t.Fatalf("records %+v, want one internal rejection", recs)
	}
	// The rejection is counted in the metrics by its code.
	mfs, err := v.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var counted float64
	for _, mf := range mfs {
		if mf.GetName() != "refine_validator_submissions_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "code" && l.GetValue() == string(verify.CodeInternal) {
					counted += m.GetCounter().GetValue()
				}
			}
		}
	}
	if counted != 1 {
		t.Fatalf("refine_validator_submissions_total{code=internal} = %v, want 1", counted)
	}
}

// TestRunCommitRevealWeights runs the validator's loop on a subnet with
// commit-reveal: it evaluates the submission on its own, commits weights
// and reveals them in the next epoch; cancelling the context stops it.
func TestRunCommitRevealWeights(t *testing.T) {
	e := newEnv(t, true)
	e.register("H2", 0)
	e.honest("H2", "c-h2", warcB(t), 0, 0)
	opts := e.options(":memory:")
	opts.PollInterval = 5 * time.Millisecond
	opts.WeightsEvery = 2
	v, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()

	uid, vuid := e.uids["H2"], e.uids["Validator"]
	// Wait for the evaluation (however loaded the machine), then let
	// blocks pass until the weights are revealed.
	for i := 0; ; i++ {
		recs, err := v.Records(e.ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) > 0 {
			break
		}
		if i > 6000 {
			t.Fatal("submission never evaluated")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var revealed bool
	for range 1500 {
		time.Sleep(20 * time.Millisecond)
		if err := e.chain.AdvanceBlocks(e.ctx, 1); err != nil {
			t.Fatal(err)
		}
		mg, err := e.chain.Metagraph(e.ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if w := mg.Neurons[vuid].Weights; len(w) == 1 && w[0].UID == uid && w[0].Value == 65535 {
			revealed = true
			break
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run returned %v after cancel", err)
	}
	if !revealed {
		t.Fatalf("weights never revealed; logs:\n%s", e.logs.String())
	}
	recs, _ := v.Records(e.ctx, "")
	if len(recs) != 1 || !recs[0].Verdict.Accepted {
		t.Fatalf("records %+v", recs)
	}
}
