package validator

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datarefine/refine/taskapi"
	"github.com/datarefine/refine/taskserver/client"
	"github.com/datarefine/refine/validator/score"
)

// emaOf is name's EMA (0 when it has none).
func (e *env) emaOf(v *Validator, name string) float64 {
	e.t.Helper()
	scores, err := v.Scores(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, s := range scores {
		if s.Hotkey == key(e.t, name).SS58() {
			return s.EMA
		}
	}
	return 0
}

// TestAttackTaskBurning: a miner completes leases with made-up
// commitments that never reach the chain, to take tasks out of the pool
// without refining them (it used to mark them done, for ever: 12 tasks a
// second). Now a completion only makes a task submitted; the validators
// reject a submission whose commitment is not on chain within the grace
// (not_committed), which returns the task to the pool, where an honest
// miner does it and is paid; the burner earns nothing and, after its third
// rejection, is throttled.
func TestAttackTaskBurning(t *testing.T) {
	e := newEnv(t, false)
	for _, n := range []string{"Honest", "Burner", "Later"} {
		e.register(n, 0)
	}
	v := e.validator(filepath.Join(t.TempDir(), "v.db"))
	if _, err := v.Round(e.ctx); err != nil {
		t.Fatal(err)
	}
	var burned []int64
	for i := range 3 {
		l := e.lease("Burner", fmt.Sprintf("c-burn-%d", i), []string{warcA(t)}, 0, 24)
		made := e.commitment("Burner", strings.Repeat("ab", 32), l.TaskID, strings.Repeat("0", 16))
		e.complete("Burner", l.ID, made, e.head())
		burned = append(burned, l.TaskID)
	}
	e.honest("Honest", "c-honest", warcB(t), 0, 0)
	state := func(id int64) taskapi.TaskState {
		task, _, err := e.tstore.Task(e.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return task.State
	}
	for _, id := range burned {
		if st := state(id); st != taskapi.TaskSubmitted {
			t.Fatalf("burned task %d is %s after the completion, want submitted", id, st)
		}
	}
	// A commitment may land up to the grace after its completion: the
	// burns are judged once it has passed.
	recs, err := v.Round(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.advance(testGrace + 2)
	more, err := v.Round(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	recs = append(recs, more...)
	e.acceptedOnce(recs, "Honest")
	burns := 0
	for _, r := range recs {
		if r.Hotkey != key(t, "Burner").SS58() {
			continue
		}
		burns++
		if r.Verdict.Accepted || r.Verdict.Code != CodeNotCommitted || r.Score != 0 {
			t.Fatalf("burn: %s", describe(r))
		}
	}
	if burns != 3 {
		t.Fatalf("%d burns judged, want 3", burns)
	}
	for _, id := range burned {
		if st := state(id); st != taskapi.TaskPending {
			t.Fatalf("burned task %d is %s after the rejection, want back in the pool", id, st)
		}
	}
	if _, err := e.client("Burner").Lease(e.ctx); !errors.Is(err, taskapi.ErrThrottled) {
		t.Fatalf("burner's next lease: %v, want throttled", err)
	}
	// An honest miner gets a burned task and is paid for it.
	got, err := e.client("Later").Lease(e.ctx)
	if err != nil || got.Task.ID != burned[0] {
		t.Fatalf("next lease: %+v, %v; want burned task %d", got.Task, err, burned[0])
	}
	e.advance(1)
	dir, sha := clone(t, base(t, warcA(t), 0, 24), got.Task.ID, key(t, "Later").SS58(), nil)
	data := e.commitment("Later", e.publish("Later", dir), got.Task.ID, sha)
	e.complete("Later", got.Lease.ID, data, e.commit("Later", data))
	e.advance(2)
	recs, err = v.Round(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.acceptedOnce(recs, "Later")
	burner, honest, later := e.emaOf(v, "Burner"), e.emaOf(v, "Honest"), e.emaOf(v, "Later")
	t.Logf("EMA: burner %g, honest %g, later honest %g", burner, honest, later)
	if burner != 0 || honest <= 0 || later <= 0 {
		t.Fatalf("burner earns %g, honest miners %g and %g", burner, honest, later)
	}
}

// publicView is what anybody reads from the task server's public scores:
// each miner's summed score.
func publicView(e *env) map[string]float64 {
	e.t.Helper()
	ss, err := client.New(client.Options{URL: e.url}).Scores(e.ctx, "", 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]float64{}
	for _, s := range ss {
		out[s.Hotkey] += s.Score
	}
	return out
}

// revealAll advances the chain and reveals until the validator has no
// unrevealed commit, then releases the scores as the weights loop does.
func (e *env) revealAll(v *Validator) {
	e.t.Helper()
	for i := 0; len(pending(e.t, v)) > 0; i++ {
		if i > 60 {
			e.t.Fatal("weights never revealed")
		}
		e.advance(1)
		if err := v.reveal(e.ctx); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := v.release(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}

// TestAttackWeightCopying: a validator that does no work copies weights
// from the scores the task server publishes. Scores are published only
// once the weights they fed are revealed, so at the moment an honest
// validator commits weights that include a new miner, the public scores
// hold nothing about that miner: the copier's weights are those of the
// last revealed round, which commit-reveal already shows everybody.
// (Before, every verdict was public as soon as it was evaluated, and
// weights copied from them were bit-identical.)
func TestAttackWeightCopying(t *testing.T) {
	e := newEnv(t, true)
	e.register("A", 0)
	e.register("B", 0)
	o := e.options(filepath.Join(t.TempDir(), "v.db"))
	o.WeightsEvery = 1
	v, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	e.honest("A", "c-a", warcB(t), 0, 0)
	e.advance(3)
	if recs, err := v.Round(e.ctx); err != nil || len(recs) != 1 {
		t.Fatalf("round 1: %+v, %v", recs, err)
	}
	if err := v.WeightsTick(e.ctx); err != nil {
		t.Fatal(err)
	}
	if len(pending(t, v)) != 1 {
		t.Fatal("weights not committed")
	}
	if view := publicView(e); len(view) != 0 {
		t.Fatalf("scores published before the weights they fed were revealed: %v", view)
	}
	e.revealAll(v)
	first := publicView(e)
	if first[key(t, "A").SS58()] <= 0 {
		t.Fatalf("A's score not published after the reveal: %v", first)
	}

	// A new miner's work: the honest validator's next weights include B.
	e.honest("B", "c-b", warcA(t), 0, 24)
	e.advance(3)
	if recs, err := v.Round(e.ctx); err != nil || len(recs) != 1 {
		t.Fatalf("round 2: %+v, %v", recs, err)
	}
	if err := v.WeightsTick(e.ctx); err != nil {
		t.Fatal(err)
	}
	commits := pending(t, v)
	if len(commits) != 1 {
		t.Fatalf("%d commits pending", len(commits))
	}
	honest := map[uint16]uint16{}
	for i, uid := range commits[0].UIDs {
		honest[uid] = commits[0].Weights[i]
	}
	if honest[e.uids["B"]] == 0 {
		t.Fatalf("honest weights %v lack B", honest)
	}
	// The copier's weights, from what is public now.
	view := publicView(e)
	copied := map[uint16]float64{}
	for name, uid := range e.uids {
		copied[uid] = view[key(t, name).SS58()]
	}
	cu, cw := score.U16(copied)
	copiedW := map[uint16]uint16{}
	for i, uid := range cu {
		copiedW[uid] = cw[i]
	}
	t.Logf("honest committed %v; copier from public scores %v", honest, copiedW)
	if copiedW[e.uids["B"]] != 0 || fmt.Sprint(view) != fmt.Sprint(first) {
		t.Fatalf("the copier sees B's work before the weights holding it are revealed: %v", view)
	}
	// Once revealed, B's score is public, with the weights themselves.
	e.revealAll(v)
	if publicView(e)[key(t, "B").SS58()] <= 0 {
		t.Fatal("B's score not published after the reveal")
	}
}
