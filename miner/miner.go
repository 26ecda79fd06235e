// Package miner is the subnet's miner: it leases a task from the task
// server, fetches the task's WARC, runs the FineWeb pipeline on it,
// publishes the dataset to its store at a pinned revision, commits the
// reference on chain and completes the lease — over and over, with several
// workers per hotkey.
//
// A crash or a Ctrl-C mid-task releases the lease (or, after a crash, the
// lease expires and the task returns to the pool): the pipeline is
// deterministic, so a task is simply done again.
package miner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/process"
	"github.com/datarefine/refine/store"
	"github.com/datarefine/refine/submission"
	"github.com/datarefine/refine/taskapi"
)

// Tasks is what the miner needs from the task server (its Go client
// implements it). Calls are signed by the miner's hotkey.
type Tasks interface {
	// Ping checks that the task server answers (at start: a miner that
	// cannot reach it says so instead of waiting).
	Ping(ctx context.Context) error
	Lease(ctx context.Context) (taskapi.Lease, taskapi.Task, error)
	Heartbeat(ctx context.Context, leaseID int64) (taskapi.Lease, error)
	Complete(ctx context.Context, leaseID int64, commitment string, commitBlock uint64) (taskapi.Lease, error)
	Release(ctx context.Context, leaseID int64) (taskapi.Lease, error)
}

// Options configures a miner.
type Options struct {
	Hotkey chain.Signer
	Netuid uint16
	Chain  chain.Client
	Tasks  Tasks
	Store  store.Store
	// Repo is the dataset repository submissions are published to.
	Repo string
	// WARCs resolves a task's WARC path to something the pipeline can read.
	WARCs Resolver
	// WorkDir holds each task's output while it is built.
	WorkDir string
	// Workers is the number of tasks processed at once (default 1).
	Workers int
	// PipelineWorkers is each task's pipeline parallelism (default GOMAXPROCS).
	PipelineWorkers int
	// Steps configures the pipeline (asset folder, models).
	Steps process.StepOptions
	// HeartbeatEvery is the interval between heartbeats (default 30 s).
	HeartbeatEvery time.Duration
	// IdleWait is how long to wait when no task is available (default 10 s).
	IdleWait time.Duration
	// MaxTasks stops the miner after this many attempted tasks — leases
	// taken, whether the task then succeeded or failed (0: never).
	MaxTasks int
	// MaxFailures stops the miner after this many tasks in a row failed
	// (default 3): a fault that recurs on every task is not retried
	// forever.
	MaxFailures int
	// Log receives structured logs (default: discard).
	Log *slog.Logger
	// Metrics, if set, receives the miner's Prometheus metrics.
	Metrics prometheus.Registerer
}

// Miner runs the mining loop.
type Miner struct {
	opts    Options
	metrics *metrics
	// commitMu serialises chain commitments: a hotkey has one commitment at
	// a time, so workers take turns and each waits for its commitment to
	// land before completing its lease.
	commitMu sync.Mutex
	mu       sync.Mutex
	done     int
	started  int // leases taken or being asked for (MaxTasks counts these)
	failed   int // tasks failed
	inARow   int // tasks failed since the last success
	lastErr  error
	docs     int64
	tokens   int64
	status   map[int]string // worker → what it is doing
}

// New checks opts and returns a miner.
func New(opts Options) (*Miner, error) {
	switch {
	case opts.Hotkey == nil:
		return nil, errors.New("miner: no hotkey")
	case opts.Chain == nil:
		return nil, errors.New("miner: no chain client")
	case opts.Tasks == nil:
		return nil, errors.New("miner: no task server client")
	case opts.Store == nil:
		return nil, errors.New("miner: no dataset store")
	case opts.WARCs == nil:
		return nil, errors.New("miner: no WARC resolver")
	}
	if err := store.CheckRepo(opts.Repo); err != nil {
		return nil, fmt.Errorf("miner: %w", err)
	}
	opts = opts.withDefaults()
	m := &Miner{opts: opts, metrics: newMetrics(opts.Metrics), status: map[int]string{}}
	return m, nil
}

// DefaultOptions are the miner's defaults (keys, clients, store and
// repository unset).
func DefaultOptions() Options { return Options{}.withDefaults() }

func (opts Options) withDefaults() Options {
	if opts.Workers <= 0 {
		opts.Workers = 1
	}
	if opts.HeartbeatEvery <= 0 {
		opts.HeartbeatEvery = 30 * time.Second
	}
	if opts.IdleWait <= 0 {
		opts.IdleWait = 10 * time.Second
	}
	if opts.MaxFailures <= 0 {
		opts.MaxFailures = 3
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.WorkDir == "" {
		opts.WorkDir = filepath.Join(os.TempDir(), "refine-miner")
	}
	return opts
}

// Done is the number of tasks completed so far.
func (m *Miner) Done() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.done
}

// Totals are the documents and tokens of the completed tasks.
func (m *Miner) Totals() (documents, tokens int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.docs, m.tokens
}

// Status describes what each worker is doing, for a status line.
func (m *Miner) Status() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	parts := make([]string, 0, len(m.status)+1)
	parts = append(parts, fmt.Sprintf("done %d", m.done))
	for w := 0; w < m.opts.Workers; w++ {
		if s, ok := m.status[w]; ok {
			parts = append(parts, fmt.Sprintf("w%d: %s", w, s))
		}
	}
	return strings.Join(parts, " | ")
}

func (m *Miner) setStatus(w int, s string) {
	m.mu.Lock()
	m.status[w] = s
	m.mu.Unlock()
}

// Run mines until ctx is cancelled, MaxTasks tasks were attempted, or an
// error no retry can fix. It first checks what every task needs — the
// task server answers, the hotkey is registered, the dataset repository
// can be written — and returns at once, naming what is wrong, if not.
// It returns an error when it stopped on a permanent error, after
// MaxFailures failed tasks in a row, or when any of MaxTasks tasks failed.
func (m *Miner) Run(ctx context.Context) error {
	if err := m.Preflight(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, m.opts.Workers)
	for w := 0; w < m.opts.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := m.worker(ctx, w); err != nil {
				errs <- err
				cancel()
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	if m.opts.MaxTasks > 0 {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.started >= m.opts.MaxTasks {
			if m.failed > 0 {
				return fmt.Errorf("miner: %d of %d tasks failed; the last: %w", m.failed, m.started, m.lastErr)
			}
			return nil
		}
	}
	return ctx.Err()
}

// Preflight checks, once, what every task needs, and names every problem
// it finds: the task server answers, the hotkey is registered on the
// subnet, and the dataset repository exists or can be created (a Hub
// store without a token, or with one that cannot write, fails here).
func (m *Miner) Preflight(ctx context.Context) error {
	var errs []error
	if err := m.opts.Tasks.Ping(ctx); err != nil {
		errs = append(errs, fmt.Errorf("task server: %w", err))
	}
	hk := m.opts.Hotkey.SS58()
	if mg, err := m.opts.Chain.Metagraph(ctx, m.opts.Netuid); err != nil {
		errs = append(errs, fmt.Errorf("chain: %w", err))
	} else if _, err := mg.UID(hk); err != nil {
		errs = append(errs, fmt.Errorf("hotkey %s is not registered on subnet %d: register it first (refine chain register, or btcli subnet register)", hk, m.opts.Netuid))
	}
	// The repository is created once, here, not on every publish.
	if err := m.opts.Store.Create(ctx, m.opts.Repo); err != nil {
		errs = append(errs, fmt.Errorf("dataset repository %s: %w", m.opts.Repo, err))
	}
	if len(errs) > 0 {
		return startErrors(errs)
	}
	return nil
}

// startErrors are the problems Preflight found, one a line.
type startErrors []error

func (e startErrors) Error() string {
	msgs := make([]string, len(e))
	for i, err := range e {
		msgs[i] = err.Error()
	}
	return "miner cannot start:\n  " + strings.Join(msgs, "\n  ")
}

func (e startErrors) Unwrap() []error { return e }

// Permanent reports whether err is one that retrying cannot fix: an API
// answer that says so (a 4xx other than 408 and 429: no permission, bad
// token, unregistered hotkey), a repository that does not exist, or a
// hotkey the chain does not know.
func Permanent(err error) bool {
	var t interface{ Temporary() bool }
	switch {
	case err == nil, errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	case errors.Is(err, chain.ErrNotRegistered), errors.Is(err, taskapi.ErrNotRegistered), errors.Is(err, store.ErrNotFound):
		return true
	case errors.As(err, &t):
		return !t.Temporary()
	}
	return false
}

// take reserves one of MaxTasks attempts; false when none is left.
func (m *Miner) take() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.opts.MaxTasks > 0 && m.started >= m.opts.MaxTasks {
		return false
	}
	m.started++
	return true
}

// untake gives back a reservation no lease came of.
func (m *Miner) untake() {
	m.mu.Lock()
	m.started--
	m.mu.Unlock()
}

// settle records a task's outcome and reports an error that must stop
// the miner.
func (m *Miner) settle(err error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err == nil {
		m.inARow = 0
		return nil
	}
	m.failed++
	m.inARow++
	m.lastErr = err
	switch {
	case Permanent(err):
		return fmt.Errorf("miner: stopping on an error that retrying cannot fix: %w", err)
	case m.inARow >= m.opts.MaxFailures:
		return fmt.Errorf("miner: stopping after %d failed tasks in a row; the last: %w", m.inARow, err)
	}
	return nil
}

// worker leases and processes tasks one after another, backing off on
// transient errors; a permanent error, too many failures in a row or the
// end of MaxTasks ends it.
func (m *Miner) worker(ctx context.Context, w int) error {
	backoff := time.Second
	for ctx.Err() == nil {
		if !m.take() {
			return nil
		}
		m.setStatus(w, "leasing")
		lease, task, err := m.opts.Tasks.Lease(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
			m.untake()
			return nil
		case errors.Is(err, taskapi.ErrNoTask):
			m.untake()
			m.setStatus(w, "idle: no task")
			sleep(ctx, m.opts.IdleWait)
			continue
		case errors.Is(err, taskapi.ErrUndecidedLimit), errors.Is(err, taskapi.ErrThrottled), errors.Is(err, taskapi.ErrLeaseLimit):
			// Not a failure: the task server waits for validators to
			// decide on this hotkey's submissions (or throttles it after
			// rejections). Ask again after the idle wait.
			m.untake()
			m.setStatus(w, "waiting: "+err.Error())
			sleep(ctx, m.opts.IdleWait)
			continue
		case err != nil && Permanent(err):
			m.untake()
			return fmt.Errorf("miner: lease: %w", err)
		case err != nil:
			// The client already retried; the server is down or busy.
			m.untake()
			m.metrics.errors.WithLabelValues("lease").Inc()
			m.opts.Log.Warn("lease failed", "worker", w, "err", err, "retry_in", backoff)
			m.setStatus(w, "lease failed, retrying")
			sleep(ctx, jitter(backoff))
			backoff = min(2*backoff, 2*time.Minute)
			continue
		}
		backoff = time.Second
		m.metrics.leases.Inc()
		err = m.runTask(ctx, w, lease, task)
		if err != nil && ctx.Err() != nil {
			m.release(lease)
			return nil
		}
		if err != nil {
			m.metrics.errors.WithLabelValues("task").Inc()
			m.opts.Log.Error("task failed", "worker", w, "task", task.ID, "lease", lease.ID, "err", err)
			m.release(lease)
		}
		if stop := m.settle(err); stop != nil {
			return stop
		}
		if err != nil {
			sleep(ctx, jitter(backoff))
		}
	}
	return nil
}

// release gives a lease back even when ctx is cancelled (Ctrl-C).
func (m *Miner) release(lease taskapi.Lease) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := m.opts.Tasks.Release(ctx, lease.ID); err != nil {
		m.opts.Log.Warn("release failed; the lease will expire", "lease", lease.ID, "err", err)
		return
	}
	m.opts.Log.Info("lease released", "lease", lease.ID, "task", lease.TaskID)
}

// runTask processes one leased task to a completed lease.
func (m *Miner) runTask(ctx context.Context, w int, lease taskapi.Lease, task taskapi.Task) (err error) {
	log := m.opts.Log.With("worker", w, "task", task.ID, "lease", lease.ID)
	log.Info("leased", "warcs", task.WARCs, "deadline", lease.Deadline)
	start := time.Now()

	// Heartbeats run until the task is done; a lease that the server
	// reports lost cancels the task.
	tctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		t := time.NewTicker(m.opts.HeartbeatEvery)
		defer t.Stop()
		for {
			select {
			case <-tctx.Done():
				return
			case <-t.C:
				if _, err := m.opts.Tasks.Heartbeat(tctx, lease.ID); err != nil {
					if errors.Is(err, taskapi.ErrLeaseNotLive) || errors.Is(err, taskapi.ErrNotHolder) || errors.Is(err, taskapi.ErrNotFound) {
						cancel(fmt.Errorf("lease lost: %w", err))
						return
					}
					log.Warn("heartbeat failed", "err", err)
				}
			}
		}
	}()
	defer func() { cancel(nil); <-hbDone }()

	m.setStatus(w, fmt.Sprintf("task %d: fetching", task.ID))
	inputs, names, cleanup, err := m.opts.WARCs.Resolve(tctx, task.WARCs)
	if err != nil {
		return fmt.Errorf("fetch WARC: %w", err)
	}
	defer cleanup()

	out := filepath.Join(m.opts.WorkDir, fmt.Sprintf("task-%d-lease-%d", task.ID, lease.ID))
	os.RemoveAll(out)
	defer os.RemoveAll(out)
	m.setStatus(w, fmt.Sprintf("task %d: refining", task.ID))
	// The submission is written in its place in the repository's layout
	// (submissions/T/…, data/<dump>/T_…), so that the repository grows as
	// one dataset and each submission's paths are its own.
	layout := dataset.SubmissionLayout(task.ID)
	man, err := process.Run(tctx, process.Options{
		Inputs: inputs, Names: names, Output: out, Layout: layout, Workers: m.opts.PipelineWorkers,
		Steps: m.opts.Steps, Dump: task.Crawl, Task: fmt.Sprint(task.ID), Hotkey: m.opts.Hotkey.SS58(),
		RecordStart: task.RecordStart, RecordEnd: task.RecordEnd,
		Log: log,
	})
	if err != nil {
		if cause := context.Cause(tctx); cause != nil && ctx.Err() == nil {
			return cause
		}
		return fmt.Errorf("refine: %w", err)
	}
	manifestHash, err := checkSubmission(out, layout, man)
	if err != nil {
		return err
	}

	m.setStatus(w, fmt.Sprintf("task %d: publishing", task.ID))
	rev, err := m.opts.Store.Publish(tctx, m.opts.Repo, out, fmt.Sprintf("task %d (%s)", task.ID, task.Crawl))
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	c, err := submission.New(m.opts.Repo, rev, task.ID, manifestHash)
	if err != nil {
		return err
	}

	m.setStatus(w, fmt.Sprintf("task %d: committing", task.ID))
	block, err := m.commit(tctx, c.String())
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if _, err := m.opts.Tasks.Complete(tctx, lease.ID, c.String(), block); err != nil {
		return fmt.Errorf("complete lease: %w", err)
	}
	m.mu.Lock()
	m.done++
	m.docs += man.Documents
	m.tokens += man.Tokens
	m.mu.Unlock()
	m.metrics.completed.Inc()
	m.metrics.documents.Add(float64(man.Documents))
	m.metrics.tokens.Add(float64(man.Tokens))
	m.metrics.seconds.Observe(time.Since(start).Seconds())
	log.Info("task done", "documents", man.Documents, "tokens", man.Tokens, "revision", rev, "commit_block", block, "took", time.Since(start).Round(time.Millisecond))
	m.setStatus(w, fmt.Sprintf("task %d: done", task.ID))
	return nil
}

// checkSubmission makes sure the folder to publish holds the submission's
// files and nothing else (a commit on the Hub adds every file it is given
// to the repository for good), and returns the manifest's sha256.
func checkSubmission(dir string, layout dataset.Layout, man *dataset.Manifest) (string, error) {
	mb, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(layout.ManifestPath())))
	if err != nil {
		return "", err
	}
	want := []string{layout.ManifestPath()}
	for _, f := range man.Files() {
		want = append(want, f.Path)
	}
	slices.Sort(want)
	got, err := store.Walk(dir)
	if err != nil {
		return "", err
	}
	if !slices.Equal(got, want) {
		return "", fmt.Errorf("output folder %s holds %v, the submission is %v", dir, got, want)
	}
	sum := sha256.Sum256(mb)
	return hex.EncodeToString(sum[:]), nil
}

// commit writes the commitment on chain and returns the block it landed in.
// Workers take turns, and each waits until its own commitment is the one
// the chain shows, so validators see every submission at its own block.
func (m *Miner) commit(ctx context.Context, data string) (uint64, error) {
	m.commitMu.Lock()
	defer m.commitMu.Unlock()
	backoff := time.Second
	for {
		err := m.opts.Chain.Commit(ctx, m.opts.Hotkey, m.opts.Netuid, []byte(data))
		if err == nil {
			break
		}
		if !errors.Is(err, chain.ErrRateLimited) {
			return 0, err
		}
		m.opts.Log.Warn("commitment rate-limited; waiting", "retry_in", backoff)
		if !sleep(ctx, backoff) {
			return 0, ctx.Err()
		}
		backoff = min(2*backoff, time.Minute)
	}
	for {
		c, err := m.opts.Chain.Commitment(ctx, m.opts.Netuid, m.opts.Hotkey.SS58())
		if err == nil && string(c.Data) == data {
			// Hold the turn until the next block, so that the next
			// commitment of this hotkey lands in a later block and every
			// commitment is visible to validators at least one block.
			m.waitBlock(ctx, c.Block+1)
			return c.Block, nil
		}
		if err != nil && !errors.Is(err, chain.ErrNoCommitment) {
			return 0, err
		}
		if !sleep(ctx, 200*time.Millisecond) {
			return 0, ctx.Err()
		}
	}
}

func (m *Miner) waitBlock(ctx context.Context, n uint64) {
	for {
		b, err := m.opts.Chain.Block(ctx)
		if err != nil || b.Number >= n {
			return
		}
		if !sleep(ctx, 100*time.Millisecond) {
			return
		}
	}
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func jitter(d time.Duration) time.Duration {
	return d/2 + time.Duration(rand.Int64N(int64(d)))
}
