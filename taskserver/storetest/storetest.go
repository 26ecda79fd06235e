// Package storetest is the conformance suite of taskserver.Store: every
// implementation runs Run against a fresh database per subtest, so the
// lease rules are checked the same way on SQLite and PostgreSQL.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/datarefine/refine/taskapi"
	"github.com/datarefine/refine/taskserver"
)

// Open returns an empty store; the suite closes it.
type Open func(t *testing.T) taskserver.Store

// T0 is the suite's clock origin (whole milliseconds, as stored).
var T0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func at(d time.Duration, block uint64) taskserver.Stamp {
	return taskserver.Stamp{Time: T0.Add(d), Block: block}
}

// Run runs every conformance test.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s taskserver.Store)
	}{
		{"AddTasksIsIdempotent", testAddTasks},
		{"LeaseGrantsEachTaskOnce", testLeaseOnce},
		{"ConcurrentLeasesNeverShareATask", testConcurrentLeases},
		{"PerHotkeyLeaseLimit", testLeaseLimit},
		{"ConcurrentLeaseLimit", testConcurrentLeaseLimit},
		{"ExpiredLeaseReturnsTask", testExpiry},
		{"Heartbeat", testHeartbeat},
		{"Complete", testComplete},
		{"Release", testRelease},
		{"EventsRecordEveryTransition", testEvents},
		{"HistoryAndQueries", testQueries},
		{"Scores", testScores},
		{"SubmissionsInCompletionOrder", testSubmissions},
		{"ReportsDecideTheTask", testReportsDecide},
		{"OneReportPerValidator", testOneReportPerValidator},
		{"ReportsNeedASubmission", testReportsNeedSubmission},
		{"LaterReportsReverseTheDecision", testDecisionFollowsReports},
		{"OnlyTheLatestSubmissionMovesTheTask", testLatestSubmission},
		{"ReleasePublishesReports", testRelease2},
		{"ReopenUndecided", testReopen},
		{"ThrottleAfterRejections", testThrottle},
		{"UndecidedLimit", testUndecidedLimit},
		{"AcceptedSubmissions", testAccepted},
		{"ReadModel", testReadModel},
		{"AbsurdCountsAreNoClaim", testAbsurdCounts},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

func addTasks(t *testing.T, s taskserver.Store, n int) {
	t.Helper()
	var tasks []taskserver.NewTask
	for i := 0; i < n; i++ {
		tasks = append(tasks, taskserver.NewTask{Crawl: "CC-TEST", WARCs: []string{fmt.Sprintf("w/%05d.warc.gz", i)}})
	}
	got, err := s.AddTasks(context.Background(), tasks, at(0, 1))
	if err != nil || got != n {
		t.Fatalf("AddTasks = %d, %v; want %d", got, err, n)
	}
}

func req(hotkey string, d time.Duration, block uint64) taskserver.LeaseRequest {
	return taskserver.LeaseRequest{Hotkey: hotkey, At: at(d, block), Duration: time.Hour, TTL: 10 * time.Minute, MaxLive: 4}
}

func mustLease(t *testing.T, s taskserver.Store, r taskserver.LeaseRequest) (taskapi.Lease, taskapi.Task) {
	t.Helper()
	l, task, err := s.Lease(context.Background(), r)
	if err != nil {
		t.Fatalf("Lease(%s): %v", r.Hotkey, err)
	}
	return l, task
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

func counts(t *testing.T, s taskserver.Store) taskapi.Counts {
	t.Helper()
	c, err := s.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testAddTasks(t *testing.T, s taskserver.Store) {
	ctx := context.Background()
	tasks := []taskserver.NewTask{
		{Crawl: "C", WARCs: []string{"a.warc.gz"}},
		{Crawl: "C", WARCs: []string{"b.warc.gz"}},
		{Crawl: "C", WARCs: []string{"b.warc.gz"}, RecordStart: 0, RecordEnd: 100, ByteStart: 0, ByteEnd: 123456},
		{Crawl: "C", WARCs: []string{"b.warc.gz"}, RecordStart: 100, ByteStart: 123456},
		{Crawl: "C", WARCs: []string{"c.warc.gz", "d.warc.gz"}},
	}
	n, err := s.AddTasks(ctx, tasks, at(0, 1))
	if err != nil || n != len(tasks) {
		t.Fatalf("first import = %d, %v", n, err)
	}
	e := taskserver.NewTask{Crawl: "C", WARCs: []string{"e.warc.gz"}}
	n, err = s.AddTasks(ctx, append(tasks, e, e), at(time.Second, 2))
	if err != nil || n != 1 {
		t.Fatalf("re-import = %d, %v; want 1 new", n, err)
	}
	if c := counts(t, s); c.Tasks != 6 || c.Pending != 6 {
		t.Fatalf("counts = %+v", c)
	}
	task, leases, err := s.Task(ctx, 5)
	if err != nil || len(leases) != 0 {
		t.Fatalf("Task(5) = %v, %v", leases, err)
	}
	if task.Crawl != "C" || len(task.WARCs) != 2 || task.WARCs[1] != "d.warc.gz" || task.State != taskapi.TaskPending || !task.CreatedAt.Equal(T0) {
		t.Fatalf("Task(5) = %+v", task)
	}
	// A range's byte bounds come back as planned.
	for id, want := range map[int64][4]int64{3: {0, 100, 0, 123456}, 4: {100, 0, 123456, 0}} {
		task, _, err := s.Task(ctx, id)
		if got := [4]int64{task.RecordStart, task.RecordEnd, task.ByteStart, task.ByteEnd}; err != nil || got != want {
			t.Fatalf("Task(%d) range = %v, %v; want %v", id, got, err, want)
		}
	}
	_, _, err = s.Task(ctx, 99)
	wantErr(t, "Task(99)", err, taskapi.ErrNotFound)
}

func testLeaseOnce(t *testing.T, s taskserver.Store) {
	addTasks(t, s, 3)
	seen := map[int64]bool{}
	for i := 0; i < 3; i++ {
		l, task := mustLease(t, s, req(fmt.Sprintf("hk%d", i), time.Duration(i)*time.Second, uint64(10+i)))
		if seen[task.ID] || l.TaskID != task.ID || task.State != taskapi.TaskLeased {
			t.Fatalf("lease %d: %+v of %+v", i, l, task)
		}
		seen[task.ID] = true
		if l.State != taskapi.LeaseLive || l.GrantedBlock != uint64(10+i) || !l.GrantedAt.Equal(T0.Add(time.Duration(i)*time.Second)) {
			t.Fatalf("lease %d: %+v", i, l)
		}
		if !l.Deadline.Equal(l.GrantedAt.Add(time.Hour)) || !l.ExpiresAt.Equal(l.GrantedAt.Add(10*time.Minute)) {
			t.Fatalf("lease %d times: %+v", i, l)
		}
	}
	if !seen[1] || !seen[2] || !seen[3] {
		t.Fatalf("tasks leased = %v, want 1..3 (lowest first)", seen)
	}
	_, _, err := s.Lease(context.Background(), req("hk9", 5*time.Second, 20))
	wantErr(t, "lease from empty pool", err, taskapi.ErrNoTask)
	if c := counts(t, s); c.Leased != 3 || c.LiveLeases != 3 || c.Pending != 0 || c.Miners != 3 {
		t.Fatalf("counts = %+v", c)
	}
}

func testConcurrentLeases(t *testing.T, s taskserver.Store) {
	const tasks, workers = 20, 32
	addTasks(t, s, tasks)
	var mu sync.Mutex
	got := map[int64]string{}
	noTask := 0
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			hk := fmt.Sprintf("hk%d", i)
			_, task, err := s.Lease(context.Background(), req(hk, time.Second, 5))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, taskapi.ErrNoTask):
				noTask++
			case err != nil:
				t.Errorf("%s: %v", hk, err)
			case got[task.ID] != "":
				t.Errorf("task %d leased to %s and %s", task.ID, got[task.ID], hk)
			default:
				got[task.ID] = hk
			}
		}(i)
	}
	wg.Wait()
	if len(got) != tasks || noTask != workers-tasks {
		t.Fatalf("%d tasks leased, %d ErrNoTask; want %d and %d", len(got), noTask, tasks, workers-tasks)
	}
}

func testLeaseLimit(t *testing.T, s taskserver.Store) {
	addTasks(t, s, 5)
	r := req("hk", 0, 1)
	r.MaxLive = 2
	mustLease(t, s, r)
	l2, _ := mustLease(t, s, r)
	_, _, err := s.Lease(context.Background(), r)
	wantErr(t, "third lease", err, taskapi.ErrLeaseLimit)
	// Another hotkey is not limited by hk's leases.
	mustLease(t, s, req("other", 0, 1))
	// Ending a lease frees a slot.
	if _, err := s.Release(context.Background(), l2.ID, "hk", at(time.Second, 2)); err != nil {
		t.Fatal(err)
	}
	mustLease(t, s, r)
}

func testConcurrentLeaseLimit(t *testing.T, s taskserver.Store) {
	addTasks(t, s, 20)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, limited := 0, 0
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := req("greedy", 0, 1)
			r.MaxLive = 3
			_, _, err := s.Lease(context.Background(), r)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, taskapi.ErrLeaseLimit):
				limited++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok != 3 || limited != 9 {
		t.Fatalf("granted %d, limited %d; want 3 and 9", ok, limited)
	}
}

func testExpiry(t *testing.T, s taskserver.Store) {
	ctx := context.Background()
	addTasks(t, s, 1)
	l1, _ := mustLease(t, s, req("slow", 0, 1))
	// Before expiry the task is taken.
	_, _, err := s.Lease(ctx, req("fast", 9*time.Minute, 5))
	wantErr(t, "lease before expiry", err, taskapi.ErrNoTask)
	// After it, the next lease request expires l1 and gets the task.
	l2, task := mustLease(t, s, req("fast", 11*time.Minute, 7))
	if task.ID != l1.TaskID || l2.ID == l1.ID {
		t.Fatalf("after expiry got %+v", l2)
	}
	old, err := s.GetLease(ctx, l1.ID)
	if err != nil || old.State != taskapi.LeaseExpired || old.EndedBlock != 7 || old.EndedAt == nil || !old.EndedAt.Equal(T0.Add(11*time.Minute)) {
		t.Fatalf("expired lease = %+v, %v", old, err)
	}
	// The expired holder can neither heartbeat nor complete.
	_, err = s.Heartbeat(ctx, l1.ID, "slow", 10*time.Minute, at(12*time.Minute, 8))
	wantErr(t, "heartbeat of expired lease", err, taskapi.ErrLeaseNotLive)
	_, err = s.Complete(ctx, l1.ID, "slow", "1:r@v:1:ab", 0, at(12*time.Minute, 8))
	wantErr(t, "complete of expired lease", err, taskapi.ErrLeaseNotLive)
	// Expire on its own: l2 expires at 21 min.
	if n, err := s.Expire(ctx, at(20*time.Minute, 9)); err != nil || n != 0 {
		t.Fatalf("Expire early = %d, %v", n, err)
	}
	if n, err := s.Expire(ctx, at(22*time.Minute, 10)); err != nil || n != 1 {
		t.Fatalf("Expire = %d, %v", n, err)
	}
	if c := counts(t, s); c.Pending != 1 || c.LiveLeases != 0 {
		t.Fatalf("counts after expiry = %+v", c)
	}
	ms, err := s.Miners(ctx, T0)
	if err != nil || len(ms) != 2 || ms[0].Expired != 1 || ms[1].Expired != 1 {
		t.Fatalf("Miners = %+v, %v", ms, err)
	}
}

func testHeartbeat(t *testing.T, s taskserver.Store) {
	ctx := context.Background()
	addTasks(t, s, 1)
	l, _ := mustLease(t, s, req("hk", 0, 1))
	hb, err := s.Heartbeat(ctx, l.ID, "hk", 10*time.Minute, at(8*time.Minute, 3))
	if err != nil || !hb.ExpiresAt.Equal(T0.Add(18*time.Minute)) || !hb.HeartbeatAt.Equal(T0.Add(8*time.Minute)) {
		t.Fatalf("Heartbeat = %+v, %v", hb, err)
	}
	// The lease survives past its first expiry thanks to the heartbeat.
	if _, _, err := s.Lease(ctx, req("other", 15*time.Minute, 4)); !errors.Is(err, taskapi.ErrNoTask) {
		t.Fatalf("lease at 15 min: %v, want ErrNoTask", err)
	}
	// Expiry never passes the deadline (1 h).
	for m := 16; m <= 48; m += 8 {
		if _, err := s.Heartbeat(ctx, l.ID, "hk", 10*time.Minute, at(time.Duration(m)*time.Minute, 5)); err != nil {
			t.Fatalf("heartbeat at %d min: %v", m, err)
		}
	}
	hb, err = s.Heartbeat(ctx, l.ID, "hk", 10*time.Minute, at(55*time.Minute, 5))
	if err != nil || !hb.ExpiresAt.Equal(l.Deadline) {
		t.Fatalf("Heartbeat near deadline = %+v, %v", hb, err)
	}
	_, err = s.Heartbeat(ctx, l.ID, "thief", 10*time.Minute, at(56*time.Minute, 5))
	wantErr(t, "heartbeat by another hotkey", err, taskapi.ErrNotHolder)
	_, err = s.Heartbeat(ctx, 999, "hk", 10*time.Minute, at(56*time.Minute, 5))
	wantErr(t, "heartbeat of unknown lease", err, taskapi.ErrNotFound)
	// Past the deadline the lease is gone whatever the heartbeats.
	_, err = s.Heartbeat(ctx, l.ID, "hk", 10*time.Minute, at(61*time.Minute, 6))
	wantErr(t, "heartbeat after deadline", err, taskapi.ErrLeaseNotLive)
}

func testComplete(t *testing.T, s taskserver.Store) {
	ctx := context.Background()
	addTasks(t, s, 2)
	l, task := mustLease(t, s, req("hk", 0, 1))
	const c1 = "1:user/repo@abc123:1:deadbeef"
	_, err := s.Complete(ctx, l.ID, "thief", c1, 3, at(time.Minute, 4))
	wantErr(t, "complete by another hotkey", err, taskapi.ErrNotHolder)
	if got, _ := s.GetLease(ctx, l.ID); got.State != taskapi.LeaseLive {
		t.Fatalf("lease after rejected complete = %+v", got)
	}
	done, err := s.Complete(ctx, l.ID, "hk", c1, 3, at(time.Minute, 4))
	if err != nil || done.State != taskapi.LeaseCompleted || done.Commitment != c1 || done.CommitBlock != 3 || done.EndedBlock != 4 ||
		done.Decision != taskapi.DecisionPending {
		t.Fatalf("Complete = %+v, %v", done, err)
	}
	again, err := s.Complete(ctx, l.ID, "hk", c1, 3, at(2*time.Minute, 5))
	if err != nil || fmt.Sprint(again) != fmt.Sprint(done) {
		t.Fatalf("Complete again = %+v, %v; want %+v", again, err, done)
	}
	_, err = s.Complete(ctx, l.ID, "hk", "1:user/repo@other:1:deadbeef", 3, at(2*time.Minute, 5))
	wantErr(t, "complete with another commitment", err, taskapi.ErrConflict)
	_, err = s.Complete(ctx, l.ID, "thief", c1, 3, at(2*time.Minute, 5))
	wantErr(t, "complete of a completed lease by another", err, taskapi.ErrNotHolder)
	_, err = s.Release(ctx, l.ID, "hk", at(2*time.Minute, 5))
	wantErr(t, "release of a completed lease", err, taskapi.ErrLeaseNotLive)
	// A completion does not end the task: it is submitted, awaiting the
	// validators' decision.
	got, leases, err := s.Task(ctx, task.ID)
	if err != nil || got.State != taskapi.TaskSubmitted || len(leases) != 1 {
		t.Fatalf("task after complete = %+v %+v, %v", got, leases, err)
	}
	// A submitted task is not leased again while it awaits the decision.
	_, t2 := mustLease(t, s, req("hk", 3*time.Hour, 6))
	if t2.ID == task.ID {
		t.Fatal("submitted task leased again")
	}
	_, _, err = s.Lease(ctx, req("hk2", 3*time.Hour+time.Minute, 7))
	wantErr(t, "lease with only submitted tasks", err, taskapi.ErrNoTask)
	if c := counts(t, s); c.Submitted != 1 || c.Done != 0 || c.Leased != 1 || c.Pending != 0 {
		t.Fatalf("counts = %+v", c)
	}
	bs, err := s.Completions(ctx, T0.Add(-time.Hour), time.Minute)
	if err != nil || len(bs) != 1 || bs[0].Count != 1 || !bs[0].Start.Equal(T0.Add(time.Minute).Truncate(time.Minute)) {
		t.Fatalf("Completions = %+v, %v", bs, err)
	}
	ms, err := s.Miners(ctx, T0)
	if err != nil || len(ms) != 1 || ms[0].Hotkey != "hk" || ms[0].Leases != 2 || ms[0].Completed != 1 || ms[0].AvgSeconds != 60 {
		t.Fatalf("Miners = %+v, %v", ms, err)
	}
}

func testRelease(t *testing.T, s taskserver.Store) {
	ctx := context.Background()
	addTasks(t, s, 1)
	l, task := mustLease(t, s, req("hk", 0, 1))
	_, err := s.Release(ctx, l.ID, "thief", at(time.Second, 2))
	wantErr(t, "release by another hotkey", err, taskapi.ErrNotHolder)
	rel, err := s.Release(ctx, l.ID, "hk", at(time.Second, 2))
	if err != nil || rel.State != taskapi.LeaseReleased || rel.EndedBlock != 2 {
		t.Fatalf("Release = %+v, %v", rel, err)
	}
	_, err = s.Release(ctx, l.ID, "hk", at(time.Second, 2))
	wantErr(t, "release twice", err, taskapi.ErrLeaseNotLive)
	_, err = s.Complete(ctx, l.ID, "hk", "1:r@v:1:ab", 0, at(2*time.Second, 3))
	wantErr(t, "complete after release", err, taskapi.ErrLeaseNotLive)
	_, again := mustLease(t, s, req("other", 2*time.Second, 3))
	if again.ID != task.ID {
		t.Fatalf("released task not back in the pool: got %d", again.ID)
	}
}

func testEvents(t *testing.T, s taskserver.Store) {
	ctx := context.Background()
	addTasks(t, s, 3)
	a, _ := mustLease(t, s, req("a", time.Second, 11))
	if _, err := s.Heartbeat(ctx, a.ID, "a", time.Minute, at(2*time.Second, 12)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Complete(ctx, a.ID, "a", "1:r@v:1:ab", 12, at(3*time.Second, 13)); err != nil {
		t.Fatal(err)
	}
	b, _ := mustLease(t, s, req("b", 4*time.Second, 14))
	if _, err := s.Release(ctx, b.ID, "b", at(5*time.Second, 15)); err != nil {
		t.Fatal(err)
	}
	c, _ := mustLease(t, s, req("c", 6*time.Second, 16))
	if _, err := s.Expire(ctx, at(time.Hour, 17)); err != nil {
		t.Fatal(err)
	}
	// A rejected call records nothing.
	if _, err := s.Complete(ctx, c.ID, "c", "x", 0, at(time.Hour, 18)); err == nil {
		t.Fatal("complete of expired lease succeeded")
	}
	evs, err := s.Events(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	type ev struct {
		kind   string
		block  uint64
		hotkey string
		lease  int64
	}
	var got []ev
	for i := len(evs) - 1; i >= 0; i-- {
		e := evs[i]
		got = append(got, ev{e.Kind, e.Block, e.Hotkey, e.LeaseID})
	}
	want := []ev{
		{"imported", 1, "", 0},
		{"leased", 11, "a", a.ID}, {"heartbeat", 12, "a", a.ID}, {"completed", 13, "a", a.ID},
		{"leased", 14, "b", b.ID}, {"released", 15, "b", b.ID},
		{"leased", 16, "c", c.ID}, {"expired", 17, "c", c.ID},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events (oldest first)\n got %v\nwant %v", got, want)
	}
	if !evs[0].At.Equal(T0.Add(time.Hour)) || evs[len(evs)-4].Detail != "1:r@v:1:ab" {
		t.Fatalf("event times/details: %+v", evs)
	}
	// Paging: events before the third newest.
	page, err := s.Events(ctx, evs[2].ID, 2)
	if err != nil || len(page) != 2 || page[0].ID != evs[3].ID || page[1].ID != evs[4].ID {
		t.Fatalf("page = %+v, %v", page, err)
	}
}

func testQueries(t *testing.T, s taskserver.Store) {
	ctx := context.Background()
	addTasks(t, s, 3)
	l1, _ := mustLease(t, s, req("a", 0, 1))
	if _, err := s.Release(ctx, l1.ID, "a", at(time.Second, 2)); err != nil {
		t.Fatal(err)
	}
	l2, _ := mustLease(t, s, req("b", 2*time.Second, 3))
	l3, _ := mustLease(t, s, req("a", 3*time.Second, 4))
	_, leases, err := s.Task(ctx, l1.TaskID)
	if err != nil || len(leases) != 2 || leases[0].ID != l1.ID || leases[1].ID != l2.ID || leases[1].GrantedBlock != 3 {
		t.Fatalf("task history = %+v, %v", leases, err)
	}
	mine, err := s.Leases(ctx, "a", 10)
	if err != nil || len(mine) != 2 || mine[0].ID != l3.ID || mine[1].ID != l1.ID {
		t.Fatalf("Leases(a) = %+v, %v", mine, err)
	}
	if one, _ := s.Leases(ctx, "a", 1); len(one) != 1 {
		t.Fatalf("Leases limit: %d", len(one))
	}
	if none, err := s.Leases(ctx, "nobody", 10); err != nil || len(none) != 0 {
		t.Fatalf("Leases(nobody) = %+v, %v", none, err)
	}
	_, err = s.GetLease(ctx, 999)
	wantErr(t, "GetLease(999)", err, taskapi.ErrNotFound)
	ms, err := s.Miners(ctx, T0)
	if err != nil || len(ms) != 2 || ms[0].Hotkey != "a" || ms[0].Leases != 2 || ms[0].Live != 1 || ms[1].Live != 1 {
		t.Fatalf("Miners = %+v, %v", ms, err)
	}
	if !ms[0].LastSeen.Equal(T0.Add(3 * time.Second)) {
		t.Fatalf("last seen = %v", ms[0].LastSeen)
	}
	if recent, _ := s.Miners(ctx, T0.Add(2500*time.Millisecond)); len(recent) != 1 || recent[0].Hotkey != "a" {
		t.Fatalf("Miners since 2.5 s = %+v", recent)
	}
}

func testScores(t *testing.T, s taskserver.Store) {
	ctx := context.Background()
	addTasks(t, s, 2)
	for i, sc := range []taskapi.Score{
		{Validator: "v1", Hotkey: "m1", TaskID: 1, Score: 0.5, Detail: `{"q":1}`, At: T0, Block: 5},
		{Validator: "v2", Hotkey: "m1", TaskID: 1, Score: 0.25, At: T0.Add(time.Second), Block: 6},
		{Validator: "v1", Hotkey: "m2", TaskID: 2, Score: 1, At: T0.Add(2 * time.Second), Block: 7},
	} {
		got, err := s.AddScore(ctx, sc)
		if err != nil || got.ID == 0 {
			t.Fatalf("AddScore %d = %+v, %v", i, got, err)
		}
	}
	m1, err := s.Scores(ctx, "m1", 10)
	if err != nil || len(m1) != 2 || m1[0].Validator != "v2" || m1[1].Detail != `{"q":1}` || m1[1].Score != 0.5 || m1[1].Block != 5 {
		t.Fatalf("Scores(m1) = %+v, %v", m1, err)
	}
	all, err := s.Scores(ctx, "", 2)
	if err != nil || len(all) != 2 || all[0].Hotkey != "m2" {
		t.Fatalf("Scores() = %+v, %v", all, err)
	}
	evs, _ := s.Events(ctx, 0, 1)
	if len(evs) != 1 || evs[0].Kind != "scored" || evs[0].Block != 7 {
		t.Fatalf("score event = %+v", evs)
	}
}
