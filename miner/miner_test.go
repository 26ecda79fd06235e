package miner

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/datarefine/refine/assets"
	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/chain/devchain"
	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/internal/shareddata"
	"github.com/datarefine/refine/process"
	"github.com/datarefine/refine/store"
	"github.com/datarefine/refine/store/local"
	"github.com/datarefine/refine/submission"
	"github.com/datarefine/refine/taskapi"
	"github.com/datarefine/refine/taskserver"
	"github.com/datarefine/refine/taskserver/sqlstore"
	"github.com/datarefine/refine/wallet"
)

// storeTasks drives the real task database directly as one hotkey, with
// the chain's current block on every transition (the HTTP client does the
// same through the task server).
type storeTasks struct {
	db      *sqlstore.Store
	chain   *devchain.Chain
	hotkey  string
	onLease func()
	ttl     time.Duration // heartbeat TTL (default 1 min)
	dead    bool          // a crashed miner: it never releases
	down    error         // Ping fails with this
	leases  int
}

func (s *storeTasks) Ping(ctx context.Context) error { return s.down }

func (s *storeTasks) heartbeatTTL() time.Duration {
	if s.ttl > 0 {
		return s.ttl
	}
	return time.Minute
}

func (s *storeTasks) stamp(ctx context.Context) taskserver.Stamp {
	b, _ := s.chain.Block(ctx)
	return taskserver.Stamp{Time: time.Now(), Block: b.Number}
}

func (s *storeTasks) Lease(ctx context.Context) (taskapi.Lease, taskapi.Task, error) {
	l, t, err := s.db.Lease(ctx, taskserver.LeaseRequest{Hotkey: s.hotkey, At: s.stamp(ctx), Duration: time.Hour, TTL: s.heartbeatTTL(), MaxLive: 4})
	if err == nil {
		s.leases++
	}
	if err == nil && s.onLease != nil {
		s.onLease()
	}
	return l, t, err
}
func (s *storeTasks) Heartbeat(ctx context.Context, id int64) (taskapi.Lease, error) {
	return s.db.Heartbeat(ctx, id, s.hotkey, s.heartbeatTTL(), s.stamp(ctx))
}
func (s *storeTasks) Complete(ctx context.Context, id int64, c string, block uint64) (taskapi.Lease, error) {
	return s.db.Complete(ctx, id, s.hotkey, c, block, s.stamp(ctx))
}
func (s *storeTasks) Release(ctx context.Context, id int64) (taskapi.Lease, error) {
	if s.dead {
		return taskapi.Lease{}, errors.New("killed: the process is gone")
	}
	return s.db.Release(ctx, id, s.hotkey, s.stamp(ctx))
}

type fixture struct {
	chain  *devchain.Chain
	db     *sqlstore.Store
	store  *local.Store
	hotkey *wallet.Keypair
	assets string
	mirror string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	root := shareddata.Dir(t)
	ctx := context.Background()
	f := &fixture{mirror: filepath.Join(root, "warc")}
	f.assets = t.TempDir()
	if err := assets.Import(filepath.Join(root, "filters_dedup", "datatrove_assets"), f.assets, ""); err != nil {
		t.Fatal(err)
	}
	var err error
	if f.chain, err = devchain.New(ctx, devchain.Options{DB: filepath.Join(t.TempDir(), "chain.db"), BlockTime: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.chain.Close() })
	cold, _ := wallet.FromURI("//Alice")
	if f.hotkey, err = wallet.FromURI("//Miner1"); err != nil {
		t.Fatal(err)
	}
	if err := f.chain.Faucet(ctx, cold, 1_000_000_000_000); err != nil {
		t.Fatal(err)
	}
	if _, err := f.chain.Register(ctx, cold, 1, f.hotkey.SS58()); err != nil {
		t.Fatal(err)
	}
	if f.db, err = sqlstore.Open(ctx, filepath.Join(t.TempDir(), "tasks.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.db.Close() })
	_, err = f.db.AddTasks(ctx, []taskserver.NewTask{
		{Crawl: "CC-MAIN-2024-22", WARCs: []string{"commoncrawl/whirlwind_CC-MAIN-2024-22_warc.gz"}},
		{Crawl: "CC-MAIN-2014-35", WARCs: []string{"commoncrawl/npm-warc_CC-MAIN-2014-35_00006.warc"}},
	}, taskserver.Stamp{Time: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if f.store, err = local.New(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) miner(t *testing.T, tasks Tasks, maxTasks int) *Miner {
	m, err := New(Options{
		Hotkey: f.hotkey, Netuid: 1, Chain: f.chain, Tasks: tasks, Store: f.store, Repo: "miner1/refined",
		WARCs: Mirror{Dir: f.mirror}, WorkDir: t.TempDir(), Workers: 2, PipelineWorkers: 1,
		Steps: process.StepOptions{AssetsDir: f.assets}, HeartbeatEvery: 50 * time.Millisecond,
		IdleWait: 20 * time.Millisecond, MaxTasks: maxTasks,
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMinerCompletesTasks runs the whole loop on two real CommonCrawl
// WARCs: lease, refine, publish, commit, complete.
func TestMinerCompletesTasks(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tasks := &storeTasks{db: f.db, chain: f.chain, hotkey: f.hotkey.SS58()}
	if err := f.miner(t, tasks, 2).Run(ctx); err != nil {
		t.Fatal(err)
	}
	for id := int64(1); id <= 2; id++ {
		task, leases, err := f.db.Task(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if task.State != taskapi.TaskSubmitted || len(leases) != 1 || leases[0].State != taskapi.LeaseCompleted {
			t.Fatalf("task %d: %s with leases %+v", id, task.State, leases)
		}
		l := leases[0]
		c, err := submission.Parse(l.Commitment)
		if err != nil {
			t.Fatal(err)
		}
		if c.TaskID != id || l.CommitBlock < l.GrantedBlock {
			t.Fatalf("commitment %+v at block %d, lease granted at %d", c, l.CommitBlock, l.GrantedBlock)
		}
		// The pinned revision holds a manifest whose hash the commitment cites.
		dst := t.TempDir()
		got, err := submission.Fetch(ctx, f.store, c, dst, store.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		m := got.Manifest
		for _, sf := range m.Files() {
			if !strings.HasPrefix(sf.Path, dataset.SubmissionDir(id)+"/") && !strings.HasPrefix(path.Base(sf.Path), fmt.Sprintf("%d_", id)) {
				t.Errorf("task %d: %s is not in the submission's own paths", id, sf.Path)
			}
		}
		if m.Hotkey != f.hotkey.SS58() || m.Task != "1" && m.Task != "2" || len(m.Inputs) != 1 || m.Inputs[0].Path != task.WARCs[0] {
			t.Fatalf("manifest names hotkey %s task %s inputs %+v", m.Hotkey, m.Task, m.Inputs)
		}
	}
	// The last commitment on chain is one of the two.
	cm, err := f.chain.Commitment(ctx, 1, f.hotkey.SS58())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := submission.Parse(string(cm.Data)); err != nil {
		t.Fatal(err)
	}
}

// TestMinerReleasesOnCancel: Ctrl-C mid-task gives the lease back, so the
// task returns to the pool at once instead of waiting for expiry.
func TestMinerReleasesOnCancel(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	tasks := &storeTasks{db: f.db, chain: f.chain, hotkey: f.hotkey.SS58(), onLease: cancel}
	m := f.miner(t, tasks, 0)
	m.opts.Workers = 1
	m.Run(ctx)
	task, leases, err := f.db.Task(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if task.State != taskapi.TaskPending || len(leases) != 1 || leases[0].State != taskapi.LeaseReleased {
		t.Fatalf("after cancel: task %s, leases %+v", task.State, leases)
	}
}

// TestKilledMinerLeaseExpires: a miner killed mid-task never releases its
// lease; the lease expires without heartbeats and another miner completes
// the task.
func TestKilledMinerLeaseExpires(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cold, _ := wallet.FromURI("//Alice")
	other, _ := wallet.FromURI("//Miner2")
	for {
		// One registration per block: wait for the next block if needed.
		_, err := f.chain.Register(ctx, cold, 1, other.SS58())
		if err == nil {
			break
		}
		if !errors.Is(err, chain.ErrTooManyRegistrations) {
			t.Fatal(err)
		}
		time.Sleep(30 * time.Millisecond)
	}
	// Miner 1 leases task 1 and dies at once: no release, no heartbeats.
	kctx, kill := context.WithCancel(ctx)
	dying := &storeTasks{db: f.db, chain: f.chain, hotkey: f.hotkey.SS58(), ttl: 500 * time.Millisecond, dead: true, onLease: kill}
	m1 := f.miner(t, dying, 0)
	m1.opts.Workers = 1
	m1.Run(kctx)
	_, leases, err := f.db.Task(ctx, 1)
	if err != nil || len(leases) != 1 || leases[0].State != taskapi.LeaseLive {
		t.Fatalf("after the kill, task 1 should hold miner 1's live lease: %+v %v", leases, err)
	}

	// Miner 2 completes both tasks: task 2 at once, task 1 once the dead
	// lease has expired.
	m2, err := New(Options{
		Hotkey: other, Netuid: 1, Chain: f.chain,
		Tasks: &storeTasks{db: f.db, chain: f.chain, hotkey: other.SS58(), ttl: 500 * time.Millisecond},
		Store: f.store, Repo: "miner2/refined", WARCs: Mirror{Dir: f.mirror}, WorkDir: t.TempDir(),
		Workers: 1, PipelineWorkers: 1, Steps: process.StepOptions{AssetsDir: f.assets},
		HeartbeatEvery: 100 * time.Millisecond, IdleWait: 100 * time.Millisecond, MaxTasks: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := m2.Run(rctx); err != nil {
		t.Fatal(err)
	}
	task, leases, err := f.db.Task(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if task.State != taskapi.TaskSubmitted || len(leases) != 2 ||
		leases[0].Hotkey != f.hotkey.SS58() || leases[0].State != taskapi.LeaseExpired ||
		leases[1].Hotkey != other.SS58() || leases[1].State != taskapi.LeaseCompleted {
		t.Fatalf("task 1: %s, leases %+v", task.State, leases)
	}
}

// failingStore is a store whose Publish fails with err.
type failingStore struct {
	store.Store
	err error
}

func (f failingStore) Publish(ctx context.Context, repo, dir, msg string) (string, error) {
	return "", f.err
}

// noWARCs resolves nothing: every task fails before refining.
type noWARCs struct{}

func (noWARCs) Resolve(context.Context, []string) ([]string, map[string]string, func(), error) {
	return nil, nil, nil, errors.New("WARC not reachable (test)")
}

// httpError is an API answer with a status, as the Hub and task server
// clients return.
type httpError int

func (e httpError) Error() string   { return fmt.Sprintf("HTTP %d", int(e)) }
func (e httpError) Temporary() bool { return e == 429 || e >= 500 }

// TestPermanentErrorStopsMiner: a publish refused for good (403: the token
// cannot write) stops the miner after one task, with the lease released,
// instead of leasing again and again.
func TestPermanentErrorStopsMiner(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tasks := &storeTasks{db: f.db, chain: f.chain, hotkey: f.hotkey.SS58()}
	m := f.miner(t, tasks, 0)
	m.opts.Workers = 1
	m.opts.Store = failingStore{f.store, fmt.Errorf("hub: commit: %w", httpError(403))}
	err := m.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "retrying cannot fix") || ctx.Err() != nil {
		t.Fatalf("Run = %v", err)
	}
	if tasks.leases != 1 {
		t.Fatalf("%d leases taken, want 1", tasks.leases)
	}
	task, leases, _ := f.db.Task(ctx, 1)
	if task.State != taskapi.TaskPending || leases[0].State != taskapi.LeaseReleased {
		t.Fatalf("task %s, leases %+v", task.State, leases)
	}
}

// TestMaxTasksCountsAttempts: --max-tasks 2 with tasks that fail stops
// after two attempts and reports the failures; transient failures go on
// until MaxFailures in a row.
func TestMaxTasksCountsAttempts(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tasks := &storeTasks{db: f.db, chain: f.chain, hotkey: f.hotkey.SS58()}
	m := f.miner(t, tasks, 2)
	m.opts.WARCs = noWARCs{}
	err := m.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "2 of 2 tasks failed") || tasks.leases != 2 {
		t.Fatalf("Run = %v after %d leases", err, tasks.leases)
	}
	// Without a task limit: MaxFailures (3) failures in a row stop it.
	tasks.leases = 0
	m = f.miner(t, tasks, 0)
	m.opts.WARCs, m.opts.Workers = noWARCs{}, 1
	err = m.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "3 failed tasks in a row") || tasks.leases != 3 {
		t.Fatalf("Run = %v after %d leases", err, tasks.leases)
	}
}

// TestPreflight: a miner that cannot work says why before it leases
// anything: every problem named, no lease taken.
func TestPreflight(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	nobody, _ := wallet.FromURI("//Nobody")
	tasks := &storeTasks{db: f.db, chain: f.chain, hotkey: nobody.SS58(), down: errors.New("dial tcp 127.0.0.1:1: connection refused")}
	m := f.miner(t, tasks, 1)
	m.opts.Hotkey = nobody
	m.opts.Store = noCreate{f.store}
	err := m.Run(ctx)
	for _, want := range []string{"miner cannot start", "task server: dial tcp", "not registered on subnet 1", "dataset repository miner1/refined: no token"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Run = %v; want it to say %q", err, want)
		}
	}
	if tasks.leases != 0 {
		t.Fatalf("%d leases taken", tasks.leases)
	}
}

// noCreate is a store that may not create repositories (a Hub store
// without a token).
type noCreate struct{ store.Store }

func (noCreate) Create(context.Context, string) error { return errors.New("no token (test)") }
