package taskserver_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/datarefine/refine/acceptance"
	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/epistula"
	"github.com/datarefine/refine/taskapi"
	"github.com/datarefine/refine/taskserver"
	"github.com/datarefine/refine/taskserver/client"
	"github.com/datarefine/refine/taskserver/internal/dbtest"
	"github.com/datarefine/refine/wallet"
)

// fakeChain is a metagraph and a head block the test controls.
type fakeChain struct {
	mu      sync.Mutex
	block   uint64
	neurons []chain.Neuron
	down    bool // Block fails
}

func (f *fakeChain) Block(context.Context) (chain.Block, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return chain.Block{}, errors.New("connection refused")
	}
	return chain.Block{Number: f.block, Hash: fmt.Sprintf("0x%064x", f.block)}, nil
}

func (f *fakeChain) Metagraph(_ context.Context, netuid uint16) (*chain.Metagraph, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &chain.Metagraph{Netuid: netuid, Block: f.block, Neurons: append([]chain.Neuron(nil), f.neurons...)}, nil
}

func (f *fakeChain) register(hotkey string, permit bool) {
	var stake uint64
	if permit {
		stake = 1000
	}
	f.registerStake(hotkey, permit, stake)
}

func (f *fakeChain) registerStake(hotkey string, permit bool, stake uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.neurons = append(f.neurons, chain.Neuron{UID: uint16(len(f.neurons)), Hotkey: hotkey, ValidatorPermit: permit, Stake: stake})
}

func (f *fakeChain) setBlock(n uint64) {
	f.mu.Lock()
	f.block = n
	f.mu.Unlock()
}

var (
	keyMu sync.Mutex
	keys  = map[string]*wallet.Keypair{}
)

// key is a deterministic keypair per name.
func key(t testing.TB, name string) *wallet.Keypair {
	t.Helper()
	keyMu.Lock()
	defer keyMu.Unlock()
	if k, ok := keys[name]; ok {
		return k
	}
	seed := sha256.Sum256([]byte("taskserver-test/" + name))
	k, err := wallet.FromSeed(seed[:])
	if err != nil {
		t.Fatal(err)
	}
	keys[name] = k
	return k
}

// harness is a running API over one database.
type harness struct {
	t      *testing.T
	store  taskserver.Store
	chain  *fakeChain
	roster *taskserver.Roster
	svc    *taskserver.Service
	api    *taskserver.API
	srv    *httptest.Server
	server string // the server's hotkey (Signed-For)
	now    time.Time
	nowMu  sync.Mutex
}

type harnessOptions struct {
	tasks     int
	maxLeases int
	rate      float64
	burst     int
	// service and api, when set, adjust the options before use.
	service func(*taskserver.Options)
	api     func(*taskserver.APIOptions)
}

func newHarness(t *testing.T, kind string, o harnessOptions) *harness {
	t.Helper()
	ctx := context.Background()
	h := &harness{t: t, store: dbtest.Open(t, kind), chain: &fakeChain{block: 100}, server: key(t, "server").SS58()}
	h.now = time.Now().UTC().Truncate(time.Millisecond)
	h.chain.register(key(t, "m1").SS58(), false)
	h.chain.register(key(t, "m2").SS58(), false)
	h.chain.register(key(t, "v1").SS58(), true)
	h.chain.registerStake(key(t, "v2").SS58(), true, 300)
	h.roster = taskserver.NewRoster(h.chain, 1, nil)
	if err := h.roster.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if o.rate == 0 {
		o.rate = 1000
		o.burst = 1000
	}
	so := taskserver.Options{
		Store: h.store, Roster: h.roster, LeaseDuration: time.Hour, HeartbeatTTL: 10 * time.Minute,
		MaxLeases: o.maxLeases, Now: h.clock,
	}
	if o.service != nil {
		o.service(&so)
	}
	h.svc = taskserver.NewService(so)
	ao := taskserver.APIOptions{
		Service: h.svc, SignedFor: h.server, MaxBodyBytes: 4096, Rate: o.rate, Burst: o.burst,
		ClientRate: -1, PublicRate: -1, PublicCacheTTL: -1, MaxReportDetailBytes: 2048,
	}
	if o.api != nil {
		o.api(&ao)
	}
	var err error
	if h.api, err = taskserver.NewAPI(ao); err != nil {
		t.Fatal(err)
	}
	h.srv = httptest.NewServer(h.api)
	t.Cleanup(h.srv.Close)
	if o.tasks > 0 {
		var tasks []taskserver.NewTask
		for i := 0; i < o.tasks; i++ {
			tasks = append(tasks, taskserver.NewTask{Crawl: "CC-TEST", WARCs: []string{fmt.Sprintf("crawl-data/CC-TEST/%03d.warc.gz", i)}})
		}
		if _, err := h.svc.Import(ctx, tasks); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func (h *harness) clock() time.Time {
	h.nowMu.Lock()
	defer h.nowMu.Unlock()
	return h.now
}

func (h *harness) advance(d time.Duration) {
	h.nowMu.Lock()
	h.now = h.now.Add(d)
	h.nowMu.Unlock()
}

func (h *harness) client(name string) *client.Client {
	return client.New(client.Options{URL: h.srv.URL, Signer: key(h.t, name), SignedFor: h.server})
}

// snapshot captures everything a rejected request must leave unchanged.
func (h *harness) snapshot() string {
	h.t.Helper()
	ctx := context.Background()
	c, err := h.store.Counts(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	evs, err := h.store.Events(ctx, 0, 10000)
	if err != nil {
		h.t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%+v events=%d\n", c, len(evs))
	for id := int64(1); ; id++ {
		task, leases, err := h.store.Task(ctx, id)
		if errors.Is(err, taskapi.ErrNotFound) {
			break
		}
		if err != nil {
			h.t.Fatal(err)
		}
		fmt.Fprintf(&b, "%+v %+v\n", task, leases)
	}
	sc, _ := h.store.Scores(ctx, "", 1000)
	fmt.Fprintf(&b, "scores=%d", len(sc))
	return b.String()
}

// raw sends a request, signed by signer unless it is "", and returns the
// status and error code.
func (h *harness) raw(method, path, signer string, body []byte, tamper func(http.Header, *[]byte)) (int, string) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	if signer != "" {
		hd, err := epistula.Headers(body, key(h.t, signer), h.server, time.Now())
		if err != nil {
			h.t.Fatal(err)
		}
		req.Header = hd
	}
	if tamper != nil {
		tamper(req.Header, &body)
	}
	return h.send(req, body)
}

func (h *harness) send(req *http.Request, body []byte) (int, string) {
	h.t.Helper()
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var eb taskapi.ErrorBody
	if resp.StatusCode >= 300 {
		if err := json.Unmarshal(data, &eb); err != nil || eb.Error.Code == "" || eb.Error.Message == "" {
			h.t.Fatalf("%s %s: %d with body %q, not the error envelope", req.Method, req.URL.Path, resp.StatusCode, data)
		}
	}
	return resp.StatusCode, eb.Error.Code
}

// testRev is a revision in the form validators accept (a 40-hex commit).
const testRev = "0123456789abcdef0123456789abcdef01234567"

const testCommit = "r1:user/refined@" + testRev + ":%d:0123456789abcdef"

func commitment(taskID int64) string { return fmt.Sprintf(testCommit, taskID) }

func forEachDB(t *testing.T, fn func(t *testing.T, kind string)) {
	for _, kind := range dbtest.Backends {
		t.Run(kind, func(t *testing.T) { fn(t, kind) })
	}
}

func TestLeaseLifecycle(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		h := newHarness(t, kind, harnessOptions{tasks: 3})
		m1, v1 := h.client("m1"), h.client("v1")

		h.chain.setBlock(120)
		h.roster.RefreshBlock(ctx)
		got, err := m1.Lease(ctx)
		if err != nil {
			t.Fatal(err)
		}
		l := got.Lease
		if got.Task.ID != 1 || l.TaskID != 1 || l.Hotkey != key(t, "m1").SS58() || l.GrantedBlock != 120 || l.State != taskapi.LeaseLive || got.HeartbeatTTLSeconds != 600 {
			t.Fatalf("lease = %+v", got)
		}
		h.advance(5 * time.Minute)
		hb, err := m1.Heartbeat(ctx, l.ID)
		if err != nil || !hb.ExpiresAt.Equal(h.clock().Add(10*time.Minute)) {
			t.Fatalf("heartbeat = %+v, %v", hb, err)
		}
		h.chain.setBlock(130)
		h.roster.RefreshBlock(ctx)
		done, err := m1.Complete(ctx, l.ID, commitment(1), 129)
		if err != nil || done.State != taskapi.LeaseCompleted || done.Commitment != commitment(1) || done.CommitBlock != 129 || done.EndedBlock != 130 {
			t.Fatalf("complete = %+v, %v", done, err)
		}
		// Complete is idempotent for the same commitment.
		again, err := m1.Complete(ctx, l.ID, commitment(1), 129)
		if err != nil || again.State != taskapi.LeaseCompleted || !again.EndedAt.Equal(*done.EndedAt) {
			t.Fatalf("complete again = %+v, %v", again, err)
		}
		if _, err := m1.Complete(ctx, l.ID, "r1:user/refined@"+strings.Repeat("f", 40)+":1:0123456789abcdef", 129); !errors.Is(err, taskapi.ErrConflict) {
			t.Fatalf("complete with another commitment: %v", err)
		}

		// A completion does not end the task: it is submitted, and
		// validators read it in completion order.
		tr, err := v1.Task(ctx, 1)
		if err != nil || tr.Task.State != taskapi.TaskSubmitted || len(tr.Leases) != 1 || tr.Leases[0].GrantedBlock != 120 ||
			tr.Leases[0].Commitment != commitment(1) || tr.Leases[0].Decision != taskapi.DecisionPending {
			t.Fatalf("task = %+v, %v", tr, err)
		}
		ls, err := v1.HotkeyLeases(ctx, key(t, "m1").SS58(), 10)
		if err != nil || len(ls) != 1 || ls[0].ID != l.ID {
			t.Fatalf("hotkey leases = %+v, %v", ls, err)
		}
		subs, err := v1.Submissions(ctx, 0, 0)
		if err != nil || len(subs) != 1 || subs[0].Lease.ID != l.ID || subs[0].Seq == 0 {
			t.Fatalf("submissions = %+v, %v", subs, err)
		}
		if more, err := v1.Submissions(ctx, subs[0].Seq, 0); err != nil || len(more) != 0 {
			t.Fatalf("submissions after the last = %+v, %v", more, err)
		}
		// A validator's acceptance (the only stake reporting) decides it.
		detail := `{"accepted":true,"documents":12,"tokens":3400,"measured_tokens":3400,"quality":0.5}`
		rr, err := v1.Report(ctx, taskapi.ScoreBody{LeaseID: l.ID, Hotkey: key(t, "m1").SS58(), TaskID: 1, Commitment: commitment(1),
			Accepted: true, Score: 0.75, Detail: json.RawMessage(detail)})
		if err != nil || rr.Report.Validator != key(t, "v1").SS58() || rr.Report.Block != 130 || rr.Report.Detail != detail ||
			rr.Lease.Decision != taskapi.DecisionAccepted {
			t.Fatalf("report = %+v, %v", rr, err)
		}
		if tr, _ := v1.Task(ctx, 1); tr.Task.State != taskapi.TaskDone {
			t.Fatalf("task after acceptance: %+v", tr.Task)
		}
		if _, err := v1.Report(ctx, taskapi.ScoreBody{LeaseID: l.ID, Hotkey: key(t, "m1").SS58(), TaskID: 99, Commitment: commitment(1)}); !errors.Is(err, taskapi.ErrNotSubmission) {
			t.Fatalf("report naming another task: %v", err)
		}

		// Release puts a task back; public endpoints see it all.
		l2, err := m1.Lease(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m1.Release(ctx, l2.Lease.ID); err != nil {
			t.Fatal(err)
		}
		pub := client.New(client.Options{URL: h.srv.URL})
		st, err := pub.Stats(ctx)
		if err != nil || st.Counts.Done != 1 || st.Counts.Pending != 2 || st.HeadBlock != 130 || st.Registered != 4 || st.ActiveMiners != 1 || st.CompletedLastH != 1 {
			t.Fatalf("stats = %+v, %v", st, err)
		}
		evs, err := pub.Events(ctx, 0, 4)
		if err != nil || len(evs) != 4 || evs[0].Kind != "released" || evs[1].Kind != "leased" || evs[2].Kind != "accepted" || evs[3].Kind != "scored" {
			t.Fatalf("events = %+v, %v", evs, err)
		}
		if strings.Contains(evs[3].Detail, "0.75") {
			t.Fatalf("the scored event shows the score before its release: %+v", evs[3])
		}
		acc, share, err := pub.AllAccepted(ctx)
		if err != nil || len(acc) != 1 || acc[0].TaskID != 1 || acc[0].Commitment != commitment(1) || acc[0].CommitBlock != 129 || acc[0].Hotkey != key(t, "m1").SS58() {
			t.Fatalf("accepted = %+v, %v", acc, err)
		}
		if share != acceptance.DefaultShare {
			t.Fatalf("accepted with share %v, want the default %v", share, acceptance.DefaultShare)
		}
		// Every miner, registered or active; the validators are not miners.
		ms, err := pub.Miners(ctx, time.Hour)
		if err != nil || len(ms) != 2 || ms[0].Hotkey != key(t, "m1").SS58() || ms[0].UID != 0 || ms[0].Completed != 1 || ms[0].Leases != 2 ||
			ms[0].Accepted != 1 || !ms[0].Active || ms[1].Hotkey != key(t, "m2").SS58() || ms[1].Leases != 0 || ms[1].UID != 1 {
			t.Fatalf("miners = %+v, %v", ms, err)
		}
		bs, err := pub.Throughput(ctx, time.Hour, time.Minute)
		if err != nil || len(bs) != 1 || bs[0].Count != 1 {
			t.Fatalf("throughput = %+v, %v", bs, err)
		}
		// The score is published once the validator releases it.
		if ss, err := pub.Scores(ctx, key(t, "m1").SS58(), 0); err != nil || len(ss) != 0 {
			t.Fatalf("scores before release = %+v, %v", ss, err)
		}
		// Nothing of the report shows anywhere before its release: not
		// its verdict, score or counts; only that v1 reported.
		sub, err := pub.Submission(ctx, l.ID)
		if err != nil || len(sub.Verdicts) != 0 || len(sub.Unpublished) != 1 || sub.Unpublished[0].Validator != key(t, "v1").SS58() ||
			sub.Lease.Decision != taskapi.DecisionAccepted || sub.Repo != "user/refined" || sub.Tally.Outcome != "pending" {
			t.Fatalf("submission before release = %+v, %v", sub, err)
		}
		st, _ = pub.Stats(ctx)
		if st.Accepted != (taskapi.Volume{Submissions: 1}) || len(st.Crawls) != 1 || st.Crawls[0].Tasks != 3 || st.Permits != 2 || st.ActiveValidators != 1 {
			t.Fatalf("stats before release = %+v", st)
		}
		vs, err := pub.Validators(ctx, time.Hour)
		if err != nil || len(vs.Validators) != 2 || vs.Validators[0].Hotkey != key(t, "v1").SS58() || vs.Validators[0].Reports != 1 ||
			vs.Validators[0].Released != 0 || vs.Validators[1].Reports != 0 || !vs.Validators[1].ValidatorPermit {
			t.Fatalf("validators before release = %+v, %v", vs, err)
		}
		if n, err := v1.ReleaseScores(ctx, 0); err != nil || n != 1 {
			t.Fatalf("release = %d, %v", n, err)
		}
		ss, err := pub.Scores(ctx, key(t, "m1").SS58(), 0)
		if err != nil || len(ss) != 1 || ss[0].Score != 0.75 || ss[0].Detail != detail || ss[0].LeaseID != l.ID || !ss[0].Accepted {
			t.Fatalf("scores = %+v, %v", ss, err)
		}
		sub, err = pub.Submission(ctx, l.ID)
		if err != nil || len(sub.Verdicts) != 1 || len(sub.Unpublished) != 0 || sub.Verdicts[0].Agrees == nil || !*sub.Verdicts[0].Agrees ||
			sub.Verdicts[0].UID != 2 || sub.Tally.Outcome != "accepted" || sub.Task.ID != 1 {
			t.Fatalf("submission = %+v, %v", sub, err)
		}
		st, _ = pub.Stats(ctx)
		if st.Accepted != (taskapi.Volume{Submissions: 1, Counted: 1, Documents: 12, Tokens: 3400}) || st.Crawls[0].Volume != st.Accepted ||
			st.Crawls[0].Done != 1 || st.Crawls[0].Tasks != 3 {
			t.Fatalf("stats = %+v", st)
		}
		vol, err := pub.Volume(ctx, time.Hour, time.Hour)
		if err != nil || len(vol.Buckets) != 1 || vol.Buckets[0].Volume != st.Accepted {
			t.Fatalf("volume = %+v, %v", vol, err)
		}
		vs, _ = pub.Validators(ctx, time.Hour)
		if v := vs.Validators[0]; v.Released != 1 || v.Decided != 1 || v.Agreement != 1 || !v.Active {
			t.Fatalf("validator = %+v", v)
		}
		if vd, err := pub.Validator(ctx, key(t, "v1").SS58()); err != nil || len(vd.Scores) != 1 || vd.Scores[0].Decision != taskapi.DecisionAccepted {
			t.Fatalf("validator detail = %+v, %v", vd, err)
		}
		if _, err := pub.Validator(ctx, key(t, "m1").SS58()); !errors.Is(err, taskapi.ErrNotFound) {
			t.Fatalf("a miner as a validator: %v", err)
		}
		if md, err := pub.Miner(ctx, key(t, "m1").SS58()); err != nil || len(md.Leases) != 2 || len(md.Scores) != 1 || md.Miner.Tokens != 3400 {
			t.Fatalf("miner detail = %+v, %v", md, err)
		}
		if th, err := pub.TaskHistory(ctx, 1); err != nil || th.Task.State != taskapi.TaskDone || len(th.Leases) != 1 || len(th.Scores) != 1 {
			t.Fatalf("task history = %+v, %v", th, err)
		}
		if _, err := pub.Submission(ctx, l2.Lease.ID); !errors.Is(err, taskapi.ErrNotFound) {
			t.Fatalf("a released lease as a submission: %v", err)
		}
		decided, err := pub.EventsOf(ctx, 0, 10, []string{"accepted", "rejected"})
		if err != nil || len(decided) != 1 || decided[0].Kind != "accepted" {
			t.Fatalf("decision events = %+v, %v", decided, err)
		}
		mg, err := pub.Metagraph(ctx)
		if err != nil || len(mg.Neurons) != 4 || mg.Netuid != 1 {
			t.Fatalf("metagraph = %+v, %v", mg, err)
		}
		if p, err := pub.Payouts(ctx, "", 0); err != nil || p.Source != "metagraph" {
			t.Fatalf("payouts = %+v, %v", p, err)
		}
	})
}

// TestCompleteRefusesWhatValidatorsReject: the task server parses a
// completion's commitment with the validators' parser (submission.Parse),
// so a miner cannot park a task in "completed" with a commitment that
// every validator refuses as malformed. Each refusal names what was wrong
// and leaves the lease live; the canonical commitment then completes it.
func TestCompleteRefusesWhatValidatorsReject(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		h := newHarness(t, kind, harnessOptions{tasks: 1})
		m1 := h.client("m1")
		got, err := m1.Lease(ctx)
		if err != nil {
			t.Fatal(err)
		}
		id := got.Lease.ID
		const hash = "0123456789abcdef"
		for _, tc := range []struct{ name, commitment, want string }{
			{"another version", "1:user/refined@" + testRev + ":1:" + hash, `version "1"`},
			{"short revision", "r1:user/refined@0123abcd:1:" + hash, "revision"},
			{"upper-case revision", "r1:user/refined@" + strings.ToUpper(testRev) + ":1:" + hash, "revision"},
			{"repository with a colon", "r1:file:///srv/x@" + testRev + ":1:" + hash, "want version:repo@revision:task:hash"},
			{"8-digit manifest prefix", "r1:user/refined@" + testRev + ":1:89abcdef", "manifest hash prefix"},
			{"64-digit manifest prefix", "r1:user/refined@" + testRev + ":1:" + strings.Repeat(hash, 4), "manifest hash prefix"},
			{"task id with a leading zero", "r1:user/refined@" + testRev + ":01:" + hash, "canonical form"},
			{"task id with a sign", "r1:user/refined@" + testRev + ":+1:" + hash, "canonical form"},
			{"repository path escape", "r1:../refined@" + testRev + ":1:" + hash, "repo"},
		} {
			_, err := m1.Complete(ctx, id, tc.commitment, 5)
			if !errors.Is(err, taskapi.ErrBadCommitment) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: Complete(%q) = %v, want bad_commitment naming %q", tc.name, tc.commitment, err, tc.want)
			}
		}
		l, err := h.store.GetLease(ctx, id)
		if err != nil || l.State != taskapi.LeaseLive || l.Commitment != "" {
			t.Fatalf("after refusals: %+v, %v; want the lease still live", l, err)
		}
		if done, err := m1.Complete(ctx, id, commitment(1), 5); err != nil || done.State != taskapi.LeaseCompleted {
			t.Fatalf("canonical commitment: %+v, %v", done, err)
		}
	})
}

func TestExpiryAndLimits(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		h := newHarness(t, kind, harnessOptions{tasks: 3, maxLeases: 2})
		m1, m2 := h.client("m1"), h.client("m2")
		a, err := m1.Lease(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m1.Lease(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := m1.Lease(ctx); !errors.Is(err, taskapi.ErrLeaseLimit) {
			t.Fatalf("third lease: %v, want lease_limit", err)
		}
		if _, err := m2.Lease(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := m2.Lease(ctx); !errors.Is(err, taskapi.ErrNoTask) {
			t.Fatalf("lease from empty pool: %v, want no_task", err)
		}
		// Without heartbeats the leases expire and their tasks return.
		h.advance(11 * time.Minute)
		b, err := m2.Lease(ctx)
		if err != nil || b.Task.ID != a.Task.ID {
			t.Fatalf("lease after expiry = %+v, %v; want task %d", b, err, a.Task.ID)
		}
		if _, err := m1.Heartbeat(ctx, a.Lease.ID); !errors.Is(err, taskapi.ErrLeaseNotLive) {
			t.Fatalf("heartbeat of expired lease: %v", err)
		}
		if _, err := m1.Complete(ctx, a.Lease.ID, commitment(a.Task.ID), 0); !errors.Is(err, taskapi.ErrLeaseNotLive) {
			t.Fatalf("complete of expired lease: %v", err)
		}
		if n, err := h.svc.Expire(ctx); err != nil || n != 0 {
			t.Fatalf("Expire = %d, %v (the lease call expired them already)", n, err)
		}
	})
}

func TestRejections(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		h := newHarness(t, kind, harnessOptions{tasks: 3})
		ctx := context.Background()
		got, err := h.client("m1").Lease(ctx)
		if err != nil {
			t.Fatal(err)
		}
		id := got.Lease.ID
		leaseBody := []byte(fmt.Sprintf(`{"lease_id":%d}`, id))
		completeBody := func(c string) []byte {
			return []byte(fmt.Sprintf(`{"lease_id":%d,"commitment":%q}`, id, c))
		}
		cases := []struct {
			name   string
			method string
			path   string
			signer string
			body   []byte
			tamper func(http.Header, *[]byte)
			status int
			code   string
		}{
			{"unsigned lease", "POST", "/v1/lease", "", []byte(`{}`), nil, 401, "missing_header"},
			{"unsigned validator read", "GET", "/v1/tasks/1", "", nil, nil, 401, "missing_header"},
			{"bad signature (body changed)", "POST", "/v1/complete", "m1", completeBody(commitment(1)), func(_ http.Header, b *[]byte) {
				*b = completeBody(commitment(1) + "0")
			}, 401, "bad_signature"},
			{"signature by another key", "POST", "/v1/lease", "m1", []byte(`{}`), func(hd http.Header, _ *[]byte) {
				hd.Set(epistula.HeaderSignedBy, key(t, "m2").SS58())
			}, 401, "bad_signature"},
			{"stale timestamp", "POST", "/v1/lease", "m1", []byte(`{}`), func(hd http.Header, _ *[]byte) {
				hd.Set(epistula.HeaderTimestamp, fmt.Sprint(time.Now().Add(-time.Minute).UnixMilli()))
			}, 401, "stale_timestamp"},
			{"signed for another server", "POST", "/v1/lease", "m1", []byte(`{}`), func(hd http.Header, _ *[]byte) {
				hd.Set(epistula.HeaderSignedFor, key(t, "m2").SS58())
			}, 401, "wrong_signed_for"},
			{"unregistered hotkey", "POST", "/v1/lease", "outsider", []byte(`{}`), nil, 403, "not_registered"},
			{"unregistered on validator endpoint", "GET", "/v1/tasks/1", "outsider", nil, nil, 403, "not_registered"},
			{"miner reads a task", "GET", "/v1/tasks/1", "m1", nil, nil, 403, "no_validator_permit"},
			{"miner reads a hotkey's leases", "GET", "/v1/hotkeys/x/leases", "m2", nil, nil, 403, "no_validator_permit"},
			{"miner reports a score", "POST", "/v1/scores", "m1", []byte(`{"hotkey":"x","task_id":1,"score":1}`), nil, 403, "no_validator_permit"},
			{"miner reads submissions", "GET", "/v1/submissions", "m1", nil, nil, 403, "no_validator_permit"},
			{"miner releases scores", "POST", "/v1/scores/release", "m1", []byte(`{"through":1}`), nil, 403, "no_validator_permit"},
			{"report on no submission", "POST", "/v1/scores", "v1", []byte(fmt.Sprintf(`{"lease_id":%d,"hotkey":%q,"task_id":1,"commitment":%q,"score":1}`, id, key(t, "m1").SS58(), commitment(1))), nil, 404, "not_submission"},
			{"report without a lease", "POST", "/v1/scores", "v1", []byte(`{"hotkey":"x","task_id":1,"commitment":"c","score":1}`), nil, 400, "bad_request"},
			{"report with a negative score", "POST", "/v1/scores", "v1", []byte(fmt.Sprintf(`{"lease_id":%d,"hotkey":"x","task_id":1,"commitment":"c","score":-1}`, id)), nil, 400, "bad_request"},
			{"report with a score near the float limit", "POST", "/v1/scores", "v1", []byte(fmt.Sprintf(`{"lease_id":%d,"hotkey":"x","task_id":1,"commitment":"c","score":1e308}`, id)), nil, 400, "bad_request"},
			{"report with a huge detail", "POST", "/v1/scores", "v1", []byte(fmt.Sprintf(`{"lease_id":%d,"hotkey":"x","task_id":1,"commitment":"c","score":1,"detail":{"x":"%s"}}`, id, strings.Repeat("a", 3000))), nil, 413, "detail_too_large"},
			{"malformed JSON", "POST", "/v1/heartbeat", "m1", []byte(`{"lease_id":`), nil, 400, "bad_request"},
			{"unknown field", "POST", "/v1/heartbeat", "m1", []byte(fmt.Sprintf(`{"lease_id":%d,"extra":1}`, id)), nil, 400, "bad_request"},
			{"wrong type", "POST", "/v1/release", "m1", []byte(`{"lease_id":"1"}`), nil, 400, "bad_request"},
			{"trailing data", "POST", "/v1/release", "m1", append(leaseBody, []byte(`{}`)...), nil, 400, "bad_request"},
			{"missing lease id", "POST", "/v1/release", "m1", []byte(`{}`), nil, 400, "bad_request"},
			{"oversized body", "POST", "/v1/lease", "m1", []byte(`{"x":"` + strings.Repeat("a", 5000) + `"}`), nil, 413, "body_too_large"},
			{"oversized public body", "GET", "/v1/stats", "", bytes.Repeat([]byte("a"), 5000), nil, 200, ""},
			{"unknown lease", "POST", "/v1/heartbeat", "m1", []byte(`{"lease_id":999}`), nil, 404, "not_found"},
			{"heartbeat someone else's lease", "POST", "/v1/heartbeat", "m2", leaseBody, nil, 403, "not_holder"},
			{"complete someone else's lease", "POST", "/v1/complete", "m2", completeBody(commitment(1)), nil, 403, "not_holder"},
			{"release someone else's lease", "POST", "/v1/release", "m2", leaseBody, nil, 403, "not_holder"},
			{"commitment for another task", "POST", "/v1/complete", "m1", completeBody(commitment(2)), nil, 400, "bad_commitment"},
			{"commitment too long", "POST", "/v1/complete", "m1", completeBody("r1:u/" + strings.Repeat("r", 70) + "@" + testRev + ":1:0123456789abcdef"), nil, 400, "bad_commitment"},
			{"commitment malformed", "POST", "/v1/complete", "m1", completeBody("hello"), nil, 400, "bad_commitment"},
			{"score with bad detail", "POST", "/v1/scores", "v1", []byte(fmt.Sprintf(`{"lease_id":%d,"hotkey":"x","task_id":1,"commitment":"c","score":1,"detail":"{"}`, id)), nil, 400, "bad_request"},
			{"bad task id", "GET", "/v1/tasks/abc", "v1", nil, nil, 400, "bad_request"},
			{"bad limit", "GET", "/v1/events?limit=0", "", nil, nil, 400, "bad_request"},
			{"unknown route", "GET", "/v1/nope", "", nil, nil, 404, "not_found"},
			{"wrong method", "GET", "/v1/lease", "", nil, nil, 405, "method_not_allowed"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := h.snapshot()
				status, code := h.raw(tc.method, tc.path, tc.signer, tc.body, tc.tamper)
				if status != tc.status || code != tc.code {
					t.Fatalf("got %d %q, want %d %q", status, code, tc.status, tc.code)
				}
				if after := h.snapshot(); after != before {
					t.Fatalf("state changed:\nbefore %s\nafter  %s", before, after)
				}
			})
		}

		t.Run("replayed", func(t *testing.T) {
			hd, err := epistula.Headers(leaseBody, key(t, "m1"), h.server, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			req := func() *http.Request {
				r, _ := http.NewRequest("POST", h.srv.URL+"/v1/heartbeat", nil)
				r.Header = hd.Clone()
				return r
			}
			if status, code := h.send(req(), leaseBody); status != 200 {
				t.Fatalf("first send: %d %s", status, code)
			}
			before := h.snapshot()
			// The same signed request again, and on another route.
			if status, code := h.send(req(), leaseBody); status != 401 || code != "replayed" {
				t.Fatalf("replay: %d %q, want 401 replayed", status, code)
			}
			r := req()
			r.URL.Path = "/v1/release"
			if status, code := h.send(r, leaseBody); status != 401 || code != "replayed" {
				t.Fatalf("replay on release: %d %q, want 401 replayed", status, code)
			}
			if after := h.snapshot(); after != before {
				t.Fatalf("state changed by a replay:\nbefore %s\nafter  %s", before, after)
			}
		})
	})
}

func TestRateLimit(t *testing.T) {
	h := newHarness(t, "sqlite", harnessOptions{tasks: 1, rate: 0.001, burst: 3})
	ctx := context.Background()
	m1 := h.client("m1")
	l, err := m1.Lease(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := m1.Heartbeat(ctx, l.Lease.ID); err != nil {
			t.Fatalf("heartbeat %d: %v", i, err)
		}
	}
	before := h.snapshot()
	_, err = m1.Heartbeat(ctx, l.Lease.ID)
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != 429 || ce.Code != "rate_limited" || !client.IsRetryable(err) {
		t.Fatalf("fourth request: %v, want 429 rate_limited", err)
	}
	if h.snapshot() != before {
		t.Fatal("rate-limited request changed state")
	}
	// Buckets are per hotkey: m2 is not limited by m1's use.
	if _, err := h.client("m2").Lease(ctx); !errors.Is(err, taskapi.ErrNoTask) {
		t.Fatalf("m2: %v, want no_task", err)
	}
}

func TestMetagraphRefresh(t *testing.T) {
	h := newHarness(t, "sqlite", harnessOptions{tasks: 2})
	ctx := context.Background()
	late := h.client("late")
	if _, err := late.Lease(ctx); !errors.Is(err, taskapi.ErrNotRegistered) {
		t.Fatalf("before registration: %v", err)
	}
	h.chain.register(key(t, "late").SS58(), false)
	h.chain.setBlock(555)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { h.roster.Run(rctx, 5*time.Millisecond, 5*time.Millisecond); close(done) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(5 * time.Second)
	for h.roster.Size() != 5 || h.roster.Head() != 555 {
		if time.Now().After(deadline) {
			t.Fatalf("roster not refreshed: %d hotkeys, head %d", h.roster.Size(), h.roster.Head())
		}
		time.Sleep(5 * time.Millisecond)
	}
	l, err := late.Lease(ctx)
	if err != nil || l.Lease.GrantedBlock != 555 {
		t.Fatalf("after registration: %+v, %v", l, err)
	}
}

// TestRoutesMatchOpenAPI checks that every route is documented and every
// documented path and method is served.
func TestRoutesMatchOpenAPI(t *testing.T) {
	h := newHarness(t, "sqlite", harnessOptions{})
	served := map[string]bool{}
	err := chi.Walk(h.api.Router(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		route = strings.TrimSuffix(strings.ReplaceAll(route, "/*/", "/"), "/")
		served[strings.ToLower(method)+" "+route] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(taskserver.OpenAPI))
	inPaths, path := false, ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "paths:":
			inPaths = true
		case inPaths && len(line) > 0 && line[0] != ' ':
			inPaths = false
		case inPaths && strings.HasPrefix(line, "  /"):
			path = strings.TrimSuffix(strings.TrimSpace(line), ":")
		case inPaths && path != "" && len(line) > 4 && line[:4] == "    " && line[4] != ' ':
			m := strings.TrimSuffix(strings.TrimSpace(line), ":")
			switch m {
			case "get", "post", "put", "delete", "patch":
				documented[m+" "+path] = true
			}
		}
	}
	if len(documented) < 10 {
		t.Fatalf("parsed only %d operations from openapi.yaml", len(documented))
	}
	var missing, extra []string
	for r := range served {
		if !documented[r] {
			missing = append(missing, r)
		}
	}
	for r := range documented {
		if !served[r] {
			extra = append(extra, r)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("routes not in openapi.yaml: %v\ndocumented but not served: %v", missing, extra)
	}
	// The document is served as is.
	resp, err := http.Get(h.srv.URL + "/v1/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.Equal(body, taskserver.OpenAPI) {
		t.Fatalf("GET /v1/openapi.yaml: %d, %d bytes", resp.StatusCode, len(body))
	}
}

// countsStore counts the Store's Counts reads.
type countsStore struct {
	taskserver.Store
	n atomic.Int64
}

func (s *countsStore) Counts(ctx context.Context) (taskapi.Counts, error) {
	s.n.Add(1)
	return s.Store.Counts(ctx)
}

func TestMetrics(t *testing.T) {
	var counted *countsStore
	h := newHarness(t, "sqlite", harnessOptions{tasks: 2, service: func(o *taskserver.Options) {
		counted = &countsStore{Store: o.Store}
		o.Store = counted
	}})
	if _, err := h.client("m1").Lease(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.raw("POST", "/v1/lease", "", nil, nil)
	resp, err := http.Get(h.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`taskserver_requests_total{method="POST",route="/v1/lease",status="201"} 1`,
		`taskserver_requests_total{method="POST",route="/v1/lease",status="401"} 1`,
		`taskserver_lease_transitions_total{kind="leased"} 1`,
		`taskserver_tasks_pending 1`,
		`taskserver_tasks_leased 1`,
		`taskserver_registered_hotkeys 4`,
		`taskserver_signature_verify_seconds_total`,
		`taskserver_tasks_submitted 0`,
		`taskserver_tasks_done 0`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// One read of the counts per scrape, however many gauges it feeds.
	if n := counted.n.Load(); n != 1 {
		t.Errorf("one scrape read the counts %d times, want 1", n)
	}
}

func TestGracefulShutdown(t *testing.T) {
	h := newHarness(t, "sqlite", harnessOptions{tasks: 1})
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// A handler that is slow on purpose shows in-flight requests finish.
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Write([]byte("done"))
	})
	mux.Handle("/", h.api)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- taskserver.Serve(ctx, ln, mux, 5*time.Second, nil) }()
	url := "http://" + ln.Addr().String()
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get(url + "/slow")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	// Wait for the slow request to be in flight, then shut down.
	for i := 0; ; i++ {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if i > 100 {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	cancel()
	time.Sleep(50 * time.Millisecond)
	close(release)
	if body := <-got; body != "done" {
		t.Fatalf("in-flight request got %q", body)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Fatal("server still accepting after shutdown")
	}
}
