package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/datarefine/refine/acceptance"
	"github.com/datarefine/refine/taskapi"
	"github.com/datarefine/refine/taskserver"
)

// stakes are the suite's validators: a stake majority needs v1, or v2
// and v3 against nobody.
var stakes = map[string]uint64{"v1": 100, "v2": 30, "v3": 30, "gone": 0}

// decide is the acceptance rule over the suite's stakes.
func decide(votes []acceptance.Vote) (acceptance.Outcome, error) {
	for i := range votes {
		votes[i].Stake = stakes[votes[i].Validator]
	}
	d, err := acceptance.Rule{}.Decide(votes)
	return d.Outcome, err
}

// submit leases the lowest pending task to hotkey and completes it; it
// returns the completed lease.
func submit(t *testing.T, s taskserver.Store, hotkey string, d time.Duration, block uint64) taskapi.Lease {
	t.Helper()
	l, task := mustLease(t, s, req(hotkey, d, block))
	c := fmt.Sprintf("r1:%s/r@%040x:%d:%016x", hotkey, block, task.ID, block)
	done, err := s.Complete(context.Background(), l.ID, hotkey, c, block, at(d+time.Second, block+1))
	if err != nil {
		t.Fatal(err)
	}
	return done
}

func report(t *testing.T, s taskserver.Store, validator string, l taskapi.Lease, accepted bool, d time.Duration, block uint64) taskapi.Lease {
	t.Helper()
	r := taskapi.Report{Validator: validator, LeaseID: l.ID, TaskID: l.TaskID, Hotkey: l.Hotkey, Commitment: l.Commitment,
		Accepted: accepted, Score: 0.5, Detail: `{"accepted":true}`, WeightsRound: 1}
	_, got, err := s.Report(context.Background(), r, decide, at(d, block))
	if err != nil {
		t.Fatalf("report by %s: %v", validator, err)
	}
	return got
}

func taskState(t *testing.T, s taskserver.Store, id int64) taskapi.TaskState {
	t.Helper()
	task, _, err := s.Task(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return task.State
}

func testSubmissions(t *testing.T, s taskserver.Store) {
	ctx := context.Background()
	addTasks(t, s, 3)
	// Leases 1 and 2 are granted in order but completed in reverse: the
	// feed follows completions, not lease ids.
	a, _ := mustLease(t, s, req("a", 0, 1))
	b, _ := mustLease(t, s, req("b", time.Second, 2))
	if _, err := s.Complete(ctx, b.ID, "b", "r1:b/r@v:2:0123456789abcdef", 2, at(2*time.Second, 3)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Complete(ctx, a.ID, "a", "r1:a/r@v:1:0123456789abcdef", 3, at(3*time.Second, 4)); err != nil {
		t.Fatal(err)
	}
	all, err := s.Submissions(ctx, 0, 10)
	if err != nil || len(all) != 2 || all[0].Lease.ID != b.ID || all[1].Lease.ID != a.ID || all[0].Seq >= all[1].Seq {
		t.Fatalf("Submissions = %+v, %v", all, err)
	}
	if all[1].Lease.Commitment != "r1:a/r@v:1:0123456789abcdef" || all[1].Lease.EndedBlock != 4 || all[1].Lease.Decision != taskapi.DecisionPending {
		t.Fatalf("submission = %+v", all[1].Lease)
	}
	page, err := s.Submissions(ctx, all[0].Seq, 10)
	if err != nil || len(page) != 1 || page[0].Lease.ID != a.ID {
		t.Fatalf("page after %d = %+v, %v", all[0].Seq, page, err)
	}
	if one, _ := s.Submissions(ctx, 0, 1); len(one) != 1 {
		t.Fatalf("limit: %d", len(one))
	}
}

func testReportsDecide(t *testing.T, s taskserver.Store) {
	ctx := context.Background()
	addTasks(t, s, 2)
	l := submit(t, s, "m", 0, 1)
	// A validator without stake decides nothing.
	got := report(t, s, "gone", l, true, time.Minute, 5)
	if got.Decision != taskapi.DecisionPending || taskState(t, s, l.TaskID) != taskapi.TaskSubmitted {
		t.Fatalf("after a zero-stake report: %+v, task %s", got, taskState(t, s, l.TaskID))
	}
	// Small validators accepting are outvoted by a larger one rejecting.
	report(t, s, "v2", l, true, 2*time.Minute, 6)
	if st := taskState(t, s, l.TaskID); st != taskapi.TaskDone {
		t.Fatalf("after v2 accepts (the only stake): task %s", st)
	}
	got = report(t, s, "v1", l, false, 3*time.Minute, 7)
	if got.Decision != taskapi.DecisionRejected || got.DecidedBlock != 7 || got.DecidedAt == nil || !got.DecidedAt.Equal(T0.Add(3*time.Minute)) {
		t.Fatalf("after v1 rejects: %+v", got)
	}
	// Rejected: the task is back in the pool and leased to the next miner.
	if st := taskState(t, s, l.TaskID); st != taskapi.TaskPending {
		t.Fatalf("rejected submission's task is %s", st)
	}
	_, again := mustLease(t, s, req("honest", 4*time.Minute, 8))
	if again.ID != l.TaskID {
		t.Fatalf("reopened task not leased first: got %d", again.ID)
	}
	evs, err := s.Events(ctx, 0, 20)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, e := range evs {
		kinds[e.Kind]++
		if e.Kind == "scored" && e.Detail != "gone" && e.Detail != "v1" && e.Detail != "v2" {
			t.Errorf("scored event detail %q: must name the validator only", e.Detail)
		}
	}
	if kinds["scored"] != 3 || kinds["accepted"] != 1 || kinds["rejected"] != 1 || kinds["reopened"] != 1 {
		t.Fatalf("events: %v", kinds)
	}
}

func testOneReportPerValidator(t *testing.T, s taskserver.Store) {
	ctx := context.Background()
	addTasks(t, s, 1)
	l := submit(t, s, "m", 0, 1)
	r := taskapi.Report{Validator: "v1", LeaseID: l.ID, TaskID: l.TaskID, Hotkey: l.Hotkey, Commitment: l.Commitment, Accepted: true, Score: 1}
	first, _, err := s.Report(ctx, r, decide, at(time.Minute, 5))
	if err != nil {
		t.Fatal(err)
	}
	// The same validator again, changing its mind: the first report stands.
	r.Accepted, r.Score = false, 0
	second, lease, err := s.Report(ctx, r, decide, at(2*time.Minute, 6))
	if err != nil || second.ID != first.ID || !second.Accepted || second.Score != 1 || lease.Decision != taskapi.DecisionAccepted {
		t.Fatalf("second report = %+v, lease %+v, %v", second, lease, err)
	}
	evs, _ := s.Events(ctx, 0, 100)
	n := 0
	for _, e := range evs {
		if e.Kind == "scored" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d scored events for one validator's report", n)
	}
}

func testReportsNeedSubmission(t *testing.T, s taskserver.Store) {
	ctx := context.Background()
	addTasks(t, s, 2)
	l := submit(t, s, "m", 0, 1)
	live, _ := mustLease(t, s, req("m", time.Minute, 2))
	base := taskapi.Report{Validator: "v1", LeaseID: l.ID, TaskID: l.TaskID, Hotkey: l.Hotkey, Commitment: l.Commitment, Accepted: true}
	for name, mut := range map[string]func(r *taskapi.Report){
		"unknown lease":      func(r *taskapi.Report) { r.LeaseID = 999 },
		"live lease":         func(r *taskapi.Report) { r.LeaseID, r.TaskID, r.Commitment = live.ID, live.TaskID, "" },
		"another task":       func(r *taskapi.Report) { r.TaskID = l.TaskID + 1 },
		"another hotkey":     func(r *taskapi.Report) { r.Hotkey = "x" },
		"another commitment": func(r *taskapi.Report) { r.Commitment = "r1:x/r@v:1:0123456789abcdef" },
	} {
		r := base
		mut(&r)
		_, _, err := s.Report(ctx, r, decide, at(2*time.Minute, 3))
		wantErr(t, name, err, taskapi.ErrNotSubmission)
	}
	if st := taskState(t, s, l.TaskID); st != taskapi.TaskSubmitted {
		t.Fatalf("rejected reports moved the task to %s", st)
	}
	if rs, _ := s.Scores(ctx, "", 10); len(rs) != 0 {
		t.Fatalf("scores: %+v", rs)
	}
}

// testDecisionFollowsReports: a decision is re-made on every report, so a
// small validator that accepts junk first is overruled by the stake.
func testDecisionFollowsReports(t *testing.T, s taskserver.Store) {
	addTasks(t, s, 1)
	l := submit(t, s, "m", 0, 1)
	report(t, s, "v2", l, true, time.Minute, 5)
	if st := taskState(t, s, l.TaskID); st != taskapi.TaskDone {
		t.Fatalf("task %s", st)
	}
	got := report(t, s, "v1", l, false, 2*time.Minute, 6)
	if got.Decision != taskapi.DecisionRejected || taskState(t, s, l.TaskID) != taskapi.TaskPending {
		t.Fatalf("after the stake rejects: %+v, task %s", got, taskState(t, s, l.TaskID))
	}
	acc, err := s.Accepted(context.Background(), 0, 10)
	if err != nil || len(acc) != 0 {
		t.Fatalf("Accepted after reversal = %+v, %v", acc, err)
	}
}

// testLatestSubmission: once a reopened task is leased again, late reports
// on the old submission record its decision but do not move the task.
func testLatestSubmission(t *testing.T, s taskserver.Store) {
	addTasks(t, s, 1)
	old := submit(t, s, "m", 0, 1)
	report(t, s, "v1", old, false, time.Minute, 5)
	newer, _ := mustLease(t, s, req("h", 2*time.Minute, 6))
	got := report(t, s, "v2", old, true, 3*time.Minute, 7)
	if got.Decision != taskapi.DecisionRejected {
		t.Fatalf("old submission: %+v", got)
	}
	if st := taskState(t, s, old.TaskID); st != taskapi.TaskLeased {
		t.Fatalf("task %s, want leased by lease %d", st, newer.ID)
	}
}

func testRelease2(t *testing.T, s taskserver.Store) {
	ctx := context.Background()
	addTasks(t, s, 3)
	a := submit(t, s, "m", 0, 1)
	b := submit(t, s, "m", time.Minute, 3)
	c := submit(t, s, "m", 2*time.Minute, 5)
	for i, l := range []taskapi.Lease{a, b, c} {
		r := taskapi.Report{Validator: "v1", LeaseID: l.ID, TaskID: l.TaskID, Hotkey: l.Hotkey, Commitment: l.Commitment,
			Accepted: true, Score: float64(i + 1), Detail: fmt.Sprintf(`{"n":%d}`, i), WeightsRound: int64(i)}
		if _, _, err := s.Report(ctx, r, decide, at(3*time.Minute, 10)); err != nil {
			t.Fatal(err)
		}
	}
	if sc, _ := s.Scores(ctx, "", 10); len(sc) != 0 {
		t.Fatalf("scores published before release: %+v", sc)
	}
	if n, err := s.ReleaseReports(ctx, "v1", 1, at(4*time.Minute, 11)); err != nil || n != 2 {
		t.Fatalf("release through 1 = %d, %v", n, err)
	}
	if n, err := s.ReleaseReports(ctx, "v1", 1, at(4*time.Minute, 11)); err != nil || n != 0 {
		t.Fatalf("release again = %d, %v", n, err)
	}
	if n, err := s.ReleaseReports(ctx, "v2", 5, at(4*time.Minute, 11)); err != nil || n != 0 {
		t.Fatalf("another validator's release = %d, %v", n, err)
	}
	sc, err := s.Scores(ctx, "m", 10)
	if err != nil || len(sc) != 2 || sc[0].Score != 2 || sc[1].Score != 1 || sc[1].Detail != `{"n":0}` || sc[1].Validator != "v1" ||
		sc[1].TaskID != a.TaskID || sc[1].Block != 10 {
		t.Fatalf("published = %+v, %v", sc, err)
	}
	if n, _ := s.ReleaseReports(ctx, "v1", 2, at(5*time.Minute, 12)); n != 1 {
		t.Fatalf("release through 2 = %d", n)
	}
}

func testReopen(t *testing.T, s taskserver.Store) {
	ctx := context.Background()
	addTasks(t, s, 2)
	a := submit(t, s, "m", 0, 1)              // completed at T0+1s
	b := submit(t, s, "m", 10*time.Minute, 5) // completed at T0+10m1s
	if n, err := s.Reopen(ctx, T0, at(time.Hour, 20)); err != nil || n != 0 {
		t.Fatalf("Reopen before any cutoff = %d, %v", n, err)
	}
	n, err := s.Reopen(ctx, T0.Add(5*time.Minute), at(time.Hour, 20))
	if err != nil || n != 1 || taskState(t, s, a.TaskID) != taskapi.TaskPending || taskState(t, s, b.TaskID) != taskapi.TaskSubmitted {
		t.Fatalf("Reopen = %d, %v; tasks %s %s", n, err, taskState(t, s, a.TaskID), taskState(t, s, b.TaskID))
	}
	got, _ := s.GetLease(ctx, a.ID)
	if got.Decision != taskapi.DecisionUnverified {
		t.Fatalf("reopened lease: %+v", got)
	}
	// A late acceptance still counts while nobody leased the task again.
	got = report(t, s, "v1", got, true, 2*time.Hour, 21)
	if got.Decision != taskapi.DecisionAccepted || taskState(t, s, a.TaskID) != taskapi.TaskDone {
		t.Fatalf("late acceptance: %+v, task %s", got, taskState(t, s, a.TaskID))
	}
	// An unverified submission does not count toward the undecided limit.
	r := req("m", 3*time.Hour, 30)
	r.MaxUndecided = 1
	if _, _, err := s.Lease(ctx, r); !errors.Is(err, taskapi.ErrUndecidedLimit) {
		t.Fatalf("lease with b undecided: %v", err)
	}
}

func testThrottle(t *testing.T, s taskserver.Store) {
	ctx := context.Background()
	addTasks(t, s, 10)
	th := taskserver.Throttle{After: 2, Base: time.Minute, Max: 4 * time.Minute}
	lease := func(hk string, d time.Duration) error {
		r := req(hk, d, 50)
		r.Throttle = th
		_, _, err := s.Lease(ctx, r)
		return err
	}
	// Two rejected submissions (decided at 10 and 11 min): throttled for
	// 1 min after the last.
	a := submit(t, s, "burner", 0, 1)
	b := submit(t, s, "burner", time.Minute, 2)
	report(t, s, "v1", a, false, 10*time.Minute, 5)
	report(t, s, "v1", b, false, 11*time.Minute, 6)
	err := lease("burner", 11*time.Minute+30*time.Second)
	var te *taskapi.ThrottledError
	if !errors.As(err, &te) || !errors.Is(err, taskapi.ErrThrottled) || te.Rejections != 2 || !te.Until.Equal(T0.Add(12*time.Minute)) {
		t.Fatalf("lease after 2 rejections: %v", err)
	}
	// Another hotkey is not affected.
	if err := lease("honest", 11*time.Minute+30*time.Second); err != nil {
		t.Fatal(err)
	}
	// After the wait it may lease; a third rejection doubles the wait.
	if err := lease("burner", 12*time.Minute); err != nil {
		t.Fatalf("lease after the wait: %v", err)
	}
	c := submit(t, s, "burner", 13*time.Minute, 7)
	report(t, s, "v1", c, false, 20*time.Minute, 8)
	if err := lease("burner", 21*time.Minute); !errors.As(err, &te) || !te.Until.Equal(T0.Add(22*time.Minute)) {
		t.Fatalf("after 3 rejections: %v", err)
	}
	// An accepted submission ends the run.
	d := submit(t, s, "burner", 22*time.Minute, 9)
	report(t, s, "v1", d, true, 23*time.Minute, 10)
	if err := lease("burner", 23*time.Minute); err != nil {
		t.Fatalf("after an acceptance: %v", err)
	}
	if w := th.Wait(10); w != 4*time.Minute {
		t.Fatalf("wait capped at %s, got %s", th.Max, w)
	}
}

func testUndecidedLimit(t *testing.T, s taskserver.Store) {
	addTasks(t, s, 5)
	a := submit(t, s, "m", 0, 1)
	submit(t, s, "m", time.Minute, 2)
	r := req("m", 2*time.Minute, 3)
	r.MaxUndecided = 2
	_, _, err := s.Lease(context.Background(), r)
	wantErr(t, "lease with 2 undecided submissions", err, taskapi.ErrUndecidedLimit)
	report(t, s, "v1", a, true, 3*time.Minute, 4)
	r.At = at(3*time.Minute, 4)
	if _, _, err := s.Lease(context.Background(), r); err != nil {
		t.Fatalf("lease once one is decided: %v", err)
	}
}

func testAccepted(t *testing.T, s taskserver.Store) {
	ctx := context.Background()
	addTasks(t, s, 4)
	a := submit(t, s, "m1", 0, 1)
	b := submit(t, s, "m2", time.Minute, 3)
	c := submit(t, s, "m1", 2*time.Minute, 5)
	report(t, s, "v1", c, true, 3*time.Minute, 7)
	report(t, s, "v1", b, false, 3*time.Minute, 7)
	report(t, s, "v1", a, true, 4*time.Minute, 8)
	got, err := s.Accepted(ctx, 0, 10)
	if err != nil || len(got) != 2 || got[0].LeaseID != a.ID || got[1].LeaseID != c.ID {
		t.Fatalf("Accepted = %+v, %v", got, err)
	}
	if g := got[0]; g.TaskID != a.TaskID || g.Hotkey != "m1" || g.Commitment != a.Commitment || g.CommitBlock != 1 || g.DecidedBlock != 8 || !g.DecidedAt.Equal(T0.Add(4*time.Minute)) {
		t.Fatalf("accepted submission = %+v", g)
	}
	page, err := s.Accepted(ctx, a.ID, 1)
	if err != nil || len(page) != 1 || page[0].LeaseID != c.ID {
		t.Fatalf("page = %+v, %v", page, err)
	}
	if c := counts(t, s); c.Done != 2 || c.Pending != 2 {
		t.Fatalf("counts = %+v", c)
	}
}
