package taskserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/datarefine/refine/epistula"
	"github.com/datarefine/refine/retry"
	"github.com/datarefine/refine/taskapi"
	"github.com/datarefine/refine/taskserver"
	"github.com/datarefine/refine/taskserver/client"
)

// The task server's side of the attacks of issue 13: a profit-seeking
// miner (or validator) against the task pool, the reports and the public
// reads. Each test plays the attack and shows what it gains.

// TestAttackTaskBurningRate plays a burner for six hours at the default
// limits: it leases whenever the server lets it and completes at once with
// a made-up commitment; validators reject each such submission when the
// grace for its commitment to reach the chain has passed (20 minutes:
// 100 blocks of 12 s). Before, every completion ended a task for ever, at
// 12 tasks a second per hotkey (a crawl in about two hours). Now the
// burner holds at most MaxLeases + MaxUndecided tasks out of the pool at
// any moment, every burned task returns to the pool, and throttling leaves
// it a handful of tries an hour.
func TestAttackTaskBurningRate(t *testing.T) {
	h := newHarness(t, "sqlite", harnessOptions{tasks: 1000})
	ctx := context.Background()
	const grace = 20 * time.Minute
	burner, v1 := key(t, "m1").SS58(), key(t, "v1").SS58()
	type sub struct {
		l  taskapi.Lease
		at time.Time
	}
	var waiting []sub
	completions, maxHeld := 0, 0
	start := h.clock()
	for h.clock().Sub(start) < 6*time.Hour {
		// The validators' verdicts that are due.
		for len(waiting) > 0 && h.clock().Sub(waiting[0].at) >= grace {
			s := waiting[0]
			waiting = waiting[1:]
			if _, _, err := h.svc.Report(ctx, v1, taskapi.Report{LeaseID: s.l.ID, TaskID: s.l.TaskID, Hotkey: burner,
				Commitment: s.l.Commitment, Accepted: false}); err != nil {
				t.Fatal(err)
			}
		}
		l, _, err := h.svc.Lease(ctx, burner)
		switch {
		case err == nil:
			done, err := h.svc.Complete(ctx, burner, l.ID, commitment(l.TaskID), 0)
			if err != nil {
				t.Fatal(err)
			}
			completions++
			waiting = append(waiting, sub{done, h.clock()})
		case errors.Is(err, taskapi.ErrThrottled), errors.Is(err, taskapi.ErrUndecidedLimit), errors.Is(err, taskapi.ErrLeaseLimit):
		default:
			t.Fatal(err)
		}
		c, err := h.store.Counts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		maxHeld = max(maxHeld, int(c.Leased+c.Submitted))
		h.advance(10 * time.Second)
	}
	c, _ := h.store.Counts(ctx)
	t.Logf("6 h: %d burns (before: 12/s, 259,200), at most %d tasks held at once; now %+v", completions, maxHeld, c)
	cfg := h.svc.Config()
	if limit := cfg.MaxLeases + 2*cfg.MaxLeases; maxHeld > limit {
		t.Fatalf("the burner held %d tasks at once, limit %d", maxHeld, limit)
	}
	if completions > 60 {
		t.Fatalf("%d burns in 6 h: throttling does not hold", completions)
	}
	if c.Done != 0 || c.Pending+c.Submitted != 1000 {
		t.Fatalf("counts %+v: every burned task must be back in the pool or awaiting its verdict", c)
	}
}

// TestAttackReportFlood: a validator permit holder posts reports for tasks
// nobody submitted, for other hotkeys' submissions with a made-up
// commitment, and many times over on one submission. Only a report on a
// real submission is stored, once per validator and submission, with a
// bounded detail: the reports table cannot outgrow validators ×
// submissions × 8 KiB.
func TestAttackReportFlood(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		h := newHarness(t, kind, harnessOptions{tasks: 3})
		m1, v1 := h.client("m1"), h.client("v1")
		got, err := m1.Lease(ctx)
		if err != nil {
			t.Fatal(err)
		}
		l, err := m1.Complete(ctx, got.Lease.ID, commitment(got.Task.ID), 5)
		if err != nil {
			t.Fatal(err)
		}
		real := taskapi.ScoreBody{LeaseID: l.ID, Hotkey: l.Hotkey, TaskID: l.TaskID, Commitment: l.Commitment, Accepted: true, Score: 1}
		for i, body := range []taskapi.ScoreBody{
			{LeaseID: l.ID, Hotkey: l.Hotkey, TaskID: 2, Commitment: l.Commitment},                             // another task
			{LeaseID: l.ID, Hotkey: key(t, "m2").SS58(), TaskID: l.TaskID, Commitment: l.Commitment},           // another hotkey
			{LeaseID: l.ID, Hotkey: l.Hotkey, TaskID: l.TaskID, Commitment: commitment(l.TaskID) + "0"},        // another string
			{LeaseID: l.ID + 1, Hotkey: l.Hotkey, TaskID: l.TaskID, Commitment: l.Commitment},                  // no such lease
			{LeaseID: 9999, Hotkey: key(t, "m2").SS58(), TaskID: 3, Commitment: "r1:x/y@z:3:0123456789abcdef"}, // nothing at all
		} {
			if _, err := v1.Report(ctx, body); !errors.Is(err, taskapi.ErrNotSubmission) {
				t.Fatalf("report %d on no submission: %v", i, err)
			}
		}
		for i := 0; i < 20; i++ {
			r := real
			r.Score, r.Accepted = float64(i+1), i%2 == 0
			rr, err := v1.Report(ctx, r)
			if err != nil || rr.Report.Score != 1 || !rr.Report.Accepted {
				t.Fatalf("report %d: %+v, %v; want the first one back", i, rr, err)
			}
		}
		var big bytes.Buffer
		big.WriteString(`{"x":"`)
		big.WriteString(strings.Repeat("a", 3000))
		big.WriteString(`"}`)
		r := real
		r.Detail = big.Bytes()
		var ce *client.Error
		if _, err := h.client("v2").Report(ctx, r); !errors.As(err, &ce) || ce.Code != "detail_too_large" {
			t.Fatalf("oversized detail: %v", err)
		}
		evs, err := h.store.Events(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range evs {
			if e.Kind == "scored" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d reports stored, want 1", n)
		}
	})
}

// TestAttackSignedForReplay: a request a miner signed for another service
// (or for nobody) is refused here, so a service that receives the miner's
// signed requests cannot replay them to lease, heartbeat or complete in
// its name; and no server can be built that accepts them.
func TestAttackSignedForReplay(t *testing.T) {
	h := newHarness(t, "sqlite", harnessOptions{tasks: 2})
	for _, signedFor := range []string{key(t, "another-service").SS58(), ""} {
		hd, err := epistula.Headers([]byte(`{}`), key(t, "m1"), signedFor, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("POST", h.srv.URL+"/v1/lease", nil)
		req.Header = hd
		before := h.snapshot()
		if status, code := h.send(req, []byte(`{}`)); status != 401 || code != epistula.CodeWrongSignedFor {
			t.Fatalf("signed for %q: %d %s", signedFor, status, code)
		}
		if h.snapshot() != before {
			t.Fatal("a request signed for another service changed the state")
		}
	}
	if _, err := taskserver.NewAPI(taskserver.APIOptions{Service: h.svc}); !errors.Is(err, epistula.ErrNoSignedFor) {
		t.Fatalf("NewAPI without the server's hotkey: %v", err)
	}
	// A client that is not told the server's hotkey learns it from the
	// server and signs for it.
	c := client.New(client.Options{URL: h.srv.URL, Signer: key(t, "m1")})
	if _, err := c.Lease(context.Background()); err != nil {
		t.Fatalf("lease signed for the identity the server names: %v", err)
	}
}

// TestPublicReadLimitPerClient: public reads are limited per client
// address; behind a trusted proxy the address is the one the proxy
// appended, so clients behind one proxy do not share a bucket and a
// client cannot escape its bucket by writing X-Forwarded-For itself.
func TestPublicReadLimitPerClient(t *testing.T) {
	h := newHarness(t, "sqlite", harnessOptions{tasks: 1, api: func(o *taskserver.APIOptions) {
		o.PublicRate, o.PublicBurst, o.TrustedProxies = 0.001, 2, []string{"127.0.0.1"}
	}})
	get := func(xff string) int {
		req, _ := http.NewRequest("GET", h.srv.URL+"/v1/stats", nil)
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := 0; i < 2; i++ {
		if st := get("203.0.113.1"); st != 200 {
			t.Fatalf("read %d: %d", i, st)
		}
	}
	if st := get("203.0.113.1"); st != 429 {
		t.Fatalf("third read of one client: %d, want 429", st)
	}
	if st := get("6.6.6.6, 203.0.113.1"); st != 429 {
		t.Fatalf("a forged hop left of the client's own address: %d, want 429", st)
	}
	if st := get("203.0.113.2"); st != 200 {
		t.Fatalf("another client behind the proxy: %d", st)
	}
}

// TestPublicReadsBounded: a public read looks back at most a week, and a
// throughput answer has at most 1,000 buckets, whatever the query asks.
func TestPublicReadsBounded(t *testing.T) {
	h := newHarness(t, "sqlite", harnessOptions{tasks: 1})
	pub := client.New(client.Options{URL: h.srv.URL})
	ctx := context.Background()
	var mr taskapi.MinersResponse
	resp, err := http.Get(h.srv.URL + "/v1/miners?since=1000000h")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&mr)
	resp.Body.Close()
	if want := h.clock().Add(-7 * 24 * time.Hour); !mr.Since.Equal(want.UTC()) {
		t.Fatalf("since %v, want clamped to %v", mr.Since, want)
	}
	if _, err := pub.Throughput(ctx, 7*24*time.Hour, time.Minute); err == nil {
		t.Fatal("10,080 buckets answered")
	}
	if _, err := pub.Throughput(ctx, 7*24*time.Hour, 11*time.Minute); err != nil {
		t.Fatalf("917 buckets: %v", err)
	}
	if st, code := h.raw("GET", "/v1/miners?limit=5000", "", nil, nil); st != 400 || code != "bad_request" {
		t.Fatalf("miners limit 5000: %d %s", st, code)
	}
}

// TestPublicReadsCached: a public read is computed once per cache period
// for the same query, however often it is asked.
func TestPublicReadsCached(t *testing.T) {
	h := newHarness(t, "sqlite", harnessOptions{tasks: 3, api: func(o *taskserver.APIOptions) { o.PublicCacheTTL = 5 * time.Second }})
	ctx := context.Background()
	pub := client.New(client.Options{URL: h.srv.URL})
	before, err := pub.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.client("m1").Lease(ctx); err != nil {
		t.Fatal(err)
	}
	cached, _ := pub.Stats(ctx)
	if cached.Counts.Leased != before.Counts.Leased {
		t.Fatalf("answer recomputed within the cache period: %+v", cached.Counts)
	}
	h.advance(6 * time.Second)
	fresh, _ := pub.Stats(ctx)
	if fresh.Counts.Leased != before.Counts.Leased+1 {
		t.Fatalf("answer not refreshed after the cache period: %+v", fresh.Counts)
	}
}

// TestCompletionStampsFreshHead (issue 13, seed grinding through a stale
// head): the completion's block seeds the validators' samples, so it is
// the chain's head when the completion arrives, not the roster's cached
// one; while the head cannot be read the completion is refused as
// transient and the lease stays live.
func TestCompletionStampsFreshHead(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		h := newHarness(t, kind, harnessOptions{tasks: 1})
		// One try per call: the refusal is what is tested, not the retries.
		m1 := client.New(client.Options{URL: h.srv.URL, Signer: key(t, "m1"), SignedFor: h.server, Retry: retry.Policy{MaxAttempts: 1}})
		got, err := m1.Lease(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// The chain moves on; the roster's cache does not (its refresh
		// loop is not running).
		h.chain.setBlock(150)
		h.chain.mu.Lock()
		h.chain.down = true
		h.chain.mu.Unlock()
		if _, err := m1.Complete(ctx, got.Lease.ID, commitment(got.Task.ID), 149); !errors.Is(err, taskapi.ErrChainUnavailable) {
			t.Fatalf("complete without a chain head: %v, want chain_unavailable", err)
		}
		if l, err := h.store.GetLease(ctx, got.Lease.ID); err != nil || l.State != taskapi.LeaseLive {
			t.Fatalf("lease after the refused completion: %+v, %v", l, err)
		}
		h.chain.mu.Lock()
		h.chain.down = false
		h.chain.mu.Unlock()
		if h.roster.Head() == 150 {
			t.Fatal("the roster's cache already has the new head: the test proves nothing")
		}
		done, err := m1.Complete(ctx, got.Lease.ID, commitment(got.Task.ID), 149)
		if err != nil || done.EndedBlock != 150 {
			t.Fatalf("complete = %+v, %v; want stamped with the chain's head 150", done, err)
		}
	})
}
