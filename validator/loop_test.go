package validator

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/datarefine/refine/retry"
	"github.com/datarefine/refine/store/hub"
	"github.com/datarefine/refine/store/hub/hubtest"
	"github.com/datarefine/refine/taskapi"
	"github.com/datarefine/refine/taskserver"
	"github.com/datarefine/refine/taskserver/client"
	"github.com/datarefine/refine/taskserver/sqlstore"
)

// Honest work that used to be lost: every test here has an honest miner
// whose submission must end accepted and paid, whatever the timing of the
// chain, the task server and the validator, and whatever fails on the
// validator's side meanwhile.

// acceptedOnce checks that hotkey has exactly one accepted record among
// recs and that the task server marks its task done.
func (e *env) acceptedOnce(recs []Record, name string) Record {
	e.t.Helper()
	var got []Record
	for _, r := range recs {
		if r.Hotkey == key(e.t, name).SS58() {
			got = append(got, r)
		}
	}
	if len(got) != 1 || !got[0].Verdict.Accepted || got[0].Score <= 0 || got[0].LeaseID == 0 {
		e.t.Fatalf("%s: records %+v, want one accepted with a score and its lease", name, got)
	}
	task, _, err := e.tstore.Task(e.ctx, got[0].TaskID)
	if err != nil || task.State != taskapi.TaskDone {
		e.t.Fatalf("%s's task %d: %+v, %v; want done", name, got[0].TaskID, task, err)
	}
	return got[0]
}

// TestOverwrittenCommitmentsAllEvaluated: a miner finishes two tasks and
// commits them a block apart, both before the validator's next round, so
// that the chain's current commitment holds only the second. Both are
// evaluated and paid: the validator reads the commitment history, and the
// task server's submissions.
func TestOverwrittenCommitmentsAllEvaluated(t *testing.T) {
	e := newEnv(t, false)
	e.register("M", 0)
	v := e.validator(filepath.Join(t.TempDir(), "v.db"))
	if _, err := v.Round(e.ctx); err != nil { // a round before: the scan starts
		t.Fatal(err)
	}
	first := e.honest("M", "c-1", warcA(t), 0, 24)
	second := e.honest("M", "c-2", warcB(t), 0, 0)
	cur, err := e.chain.Commitment(e.ctx, 1, key(t, "M").SS58())
	if err != nil || string(cur.Data) != second {
		t.Fatalf("current commitment %q, %v; want the second", cur.Data, err)
	}
	recs, err := v.Round(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Commitment != first || recs[1].Commitment != second {
		t.Fatalf("records %+v, want both submissions in commit order", recs)
	}
	for _, r := range recs {
		if !r.Verdict.Accepted || r.Score <= 0 {
			t.Fatalf("%s", describe(r))
		}
		if task, _, _ := e.tstore.Task(e.ctx, r.TaskID); task.State != taskapi.TaskDone {
			t.Fatalf("task %d is %s", r.TaskID, task.State)
		}
	}
}

// TestCompletionRaceWaits: a round between the miner's commitment and its
// completion sees a commitment whose lease is still live: it waits, and the
// next round accepts the submission (it used to record not_leased, for
// ever).
func TestCompletionRaceWaits(t *testing.T) {
	e := newEnv(t, false)
	e.register("M", 0)
	l := e.lease("M", "c-race", []string{warcB(t)}, 0, 0)
	dir, sha := clone(t, base(t, warcB(t), 0, 0), l.TaskID, key(t, "M").SS58(), nil)
	data := e.commitment("M", e.publish("M", dir), l.TaskID, sha)
	blk := e.commit("M", data)
	e.advance(2)
	v := e.validator(filepath.Join(t.TempDir(), "v.db"))
	recs, err := v.Round(e.ctx)
	if err != nil || len(recs) != 0 {
		t.Fatalf("round before the completion: %+v, %v; want no verdict", recs, err)
	}
	e.complete("M", l.ID, data, blk)
	recs, err = v.Round(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.acceptedOnce(recs, "M")
}

// stopTaskServer makes the validator's task server unreachable: a client
// of a closed port, retrying little.
func unreachableTasks(t *testing.T, signer string) *client.Client {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return client.New(client.Options{URL: "http://" + addr, Signer: key(t, signer), SignedFor: taskServerKey,
		Retry: retry.Policy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}})
}

// TestValidatorSideErrorsNeverZero: nothing that fails on the validator's
// side becomes the miner's zero. Each failure is retried, with its attempt
// count kept in the validator's state, across a restart, until it resolves
// and the submission is accepted.
func TestValidatorSideErrorsNeverZero(t *testing.T) {
	t.Run("task server down, validator restarted", func(t *testing.T) {
		e := newEnv(t, false)
		e.register("M", 0)
		e.honest("M", "c-down", warcB(t), 0, 0)
		db := filepath.Join(t.TempDir(), "v.db")
		o := e.options(db)
		o.Tasks = unreachableTasks(t, "Validator")
		v, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if recs, err := v.Round(e.ctx); err != nil || len(recs) != 0 {
				t.Fatalf("round with the task server down: %+v, %v; want no verdict", recs, err)
			}
			e.advance(1)
		}
		v.Close()
		v = e.validator(db)
		recs, err := v.Round(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		e.acceptedOnce(recs, "M")
	})
	t.Run("validator registered after the first rounds", func(t *testing.T) {
		e := newEnv(t, false)
		e.register("M", 0)
		e.honest("M", "c-newcomer", warcB(t), 0, 0)
		db := filepath.Join(t.TempDir(), "v.db")
		o := e.options(db)
		o.Hotkey, o.Tasks = key(t, "Newcomer"), e.client("Newcomer")
		v, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		// Refused by the task server (403 not_registered), it reads
		// nothing and judges nothing.
		for range 2 {
			if recs, err := v.Round(e.ctx); err != nil || len(recs) != 0 {
				t.Fatalf("unregistered validator's round: %+v, %v; want no verdict", recs, err)
			}
			e.advance(1)
		}
		e.register("Newcomer", 500e9)
		e.advance(4) // an epoch: the permit
		recs, err := v.Round(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		e.acceptedOnce(recs, "M")
		if rs, _ := v.Retries(e.ctx); len(rs) != 0 {
			t.Fatalf("retries left: %+v", rs)
		}
	})
	t.Run("store failing past its retries, over real HTTP", func(t *testing.T) {
		e := newEnv(t, false)
		e.register("M", 0)
		h := hubtest.New(t)
		quick := retry.Policy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}
		st := hub.New(hub.Options{Endpoint: h.URL, Token: h.Token, Retry: quick})
		l := e.lease("M", "c-hub", []string{warcB(t)}, 0, 0)
		dir, sha := clone(t, base(t, warcB(t), 0, 0), l.TaskID, key(t, "M").SS58(), nil)
		if err := st.Create(e.ctx, "miners/M"); err != nil {
			t.Fatal(err)
		}
		rev, err := st.Publish(e.ctx, "miners/M", dir, "submission")
		if err != nil {
			t.Fatal(err)
		}
		data := e.commitment("M", rev, l.TaskID, sha)
		e.complete("M", l.ID, data, e.commit("M", data))
		// The Hub answers the validator's reads with 429s, 5xx and
		// resets, more than one fetch's retries absorb.
		h.Fail(hubtest.RouteResolve, http.StatusTooManyRequests, http.StatusServiceUnavailable, hubtest.Reset,
			http.StatusBadGateway, http.StatusTooManyRequests, http.StatusInternalServerError)
		db := filepath.Join(t.TempDir(), "v.db")
		o := e.options(db)
		o.Store = hub.New(hub.Options{Endpoint: h.URL, Token: h.Token, Retry: quick})
		o.EvalEvery = 1
		var recs []Record
		for i := 0; len(recs) == 0; i++ {
			if i == 10 {
				t.Fatalf("not evaluated after %d rounds; %d faults left", i, h.Pending())
			}
			v, err := New(o) // a restart every round
			if err != nil {
				t.Fatal(err)
			}
			if recs, err = v.Round(e.ctx); err != nil {
				t.Fatal(err)
			}
			if len(recs) == 0 {
				rs, _ := v.Retries(e.ctx)
				if len(rs) != 1 || rs[0].Attempts != i+1 {
					t.Fatalf("round %d: retries %+v, want the attempt counted across restarts", i, rs)
				}
			}
			v.Close()
			e.advance(1 << min(i, 6)) // the retry's backoff
		}
		e.acceptedOnce(recs, "M")
		if h.Pending() != 0 || h.Served() == 0 {
			t.Fatalf("faults: %d served, %d left", h.Served(), h.Pending())
		}
	})
}

// restartable is a task server on a fixed loopback address over a SQLite
// file, which a test can stop and start again as a process restart would.
type restartable struct {
	t     *testing.T
	e     *env
	addr  string
	path  string
	store *sqlstore.Store
	srv   *http.Server
}

func (r *restartable) start() {
	r.t.Helper()
	var err error
	if r.store, err = sqlstore.Open(context.Background(), r.path); err != nil {
		r.t.Fatal(err)
	}
	svc := taskserver.NewService(taskserver.Options{Store: r.store, Roster: r.e.roster})
	api, err := taskserver.NewAPI(taskserver.APIOptions{Service: svc, SignedFor: taskServerKey, Rate: -1, ClientRate: -1, PublicRate: -1, PublicCacheTTL: -1})
	if err != nil {
		r.t.Fatal(err)
	}
	var ln net.Listener
	for i := 0; ; i++ { // the port may take a moment to be free again
		if ln, err = net.Listen("tcp", r.addr); err == nil {
			break
		}
		if i == 100 {
			r.t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.addr = ln.Addr().String()
	r.srv = &http.Server{Handler: api}
	go r.srv.Serve(ln)
}

func (r *restartable) stop() {
	r.srv.Close()
	r.store.Close()
}

// TestTaskServerRestartLosesNothing: the task server goes down after a
// miner committed and before it completed; the miner's completion, the
// validator's reads and its report all wait for it, nothing is scored
// meanwhile, and once it is back (same database) the submission is
// accepted and the task done.
func TestTaskServerRestartLosesNothing(t *testing.T) {
	e := newEnv(t, false)
	e.register("M", 0)
	ts := &restartable{t: t, e: e, addr: "127.0.0.1:0", path: filepath.Join(t.TempDir(), "tasks.db")}
	ts.start()
	defer func() { ts.stop() }()
	quick := retry.Policy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}
	cl := func(name string) *client.Client {
		return client.New(client.Options{URL: "http://" + ts.addr, Signer: key(t, name), Retry: quick})
	}
	if _, err := ts.store.AddTasks(e.ctx, []taskserver.NewTask{{Crawl: "c-restart", WARCs: []string{warcB(t)}}}, taskserver.Stamp{Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	got, err := cl("M").Lease(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.advance(1)
	dir, sha := clone(t, base(t, warcB(t), 0, 0), got.Task.ID, key(t, "M").SS58(), nil)
	data := e.commitment("M", e.publish("M", dir), got.Task.ID, sha)
	blk := e.commit("M", data)

	o := e.options(filepath.Join(t.TempDir(), "v.db"))
	o.Tasks = cl("Validator")
	v, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ts.stop()
	if _, err := cl("M").Complete(e.ctx, got.Lease.ID, data, blk); err == nil {
		t.Fatal("completion while the task server is down succeeded")
	}
	for range 2 {
		if recs, err := v.Round(e.ctx); err != nil || len(recs) != 0 {
			t.Fatalf("round with the task server down: %+v, %v", recs, err)
		}
		e.advance(1)
	}
	ts.start()
	// The miner completes its lease once the server is back (its lease is
	// still live: the server's state was kept).
	if _, err := cl("M").Complete(e.ctx, got.Lease.ID, data, blk); err != nil {
		t.Fatalf("completion after the restart: %v", err)
	}
	e.advance(int(o.withDefaults().SeedDelay) + 1) // the seed block after the completion
	recs, err := v.Round(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || !recs[0].Verdict.Accepted || recs[0].Score <= 0 {
		t.Fatalf("after the restart: %+v\n%s", recs, e.logs.String())
	}
	task, leases, err := ts.store.Task(e.ctx, got.Task.ID)
	if err != nil || task.State != taskapi.TaskDone || leases[0].Decision != taskapi.DecisionAccepted {
		t.Fatalf("task %+v %+v, %v; want done and accepted", task, leases, err)
	}
	if q, err := v.state.outbox(e.ctx); err != nil || len(q) != 0 {
		t.Fatalf("%d reports undelivered, %v", len(q), err)
	}
}
