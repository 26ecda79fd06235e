package taskserver

import (
	"context"
	"time"
)

// Store keeps tasks, leases, events and scores. Every method is atomic and
// safe for concurrent use, also across processes sharing the database (the
// task server may run as several replicas in front of PostgreSQL).
//
// The lease rules are part of the contract, because only the database can
// enforce them atomically:
//   - a task has at most one live lease;
//   - a live lease whose ExpiresAt has passed is expired (and its task
//     returned to the pool) before any lease is granted;
//   - a hotkey holds at most MaxLive live leases;
//   - heartbeat, complete and release act only on the caller's own lease;
//     complete is idempotent for the same commitment;
//   - every transition is recorded as an Event with its time and block.
//
// The conformance suite in taskserver/storetest checks every rule; each
// implementation runs it.
type Store interface {
	// AddTasks inserts tasks that are not there yet (by crawl, WARCs and
	// record range) and returns how many were new; re-import is a no-op.
	AddTasks(ctx context.Context, tasks []NewTask, at Stamp) (added int, err error)

	// Lease grants the lowest pending task to req.Hotkey.
	// ErrLeaseLimit, ErrNoTask.
	Lease(ctx context.Context, req LeaseRequest) (Lease, Task, error)
	// Heartbeat extends a live lease's expiry (up to its deadline).
	// ErrNotFound, ErrNotHolder, ErrLeaseNotLive.
	Heartbeat(ctx context.Context, leaseID int64, hotkey string, ttl time.Duration, at Stamp) (Lease, error)
	// Complete ends a live lease with the miner's commitment and marks the
	// task done. Completing a completed lease again with the same
	// commitment returns it unchanged. ErrNotFound, ErrNotHolder,
	// ErrLeaseNotLive, ErrConflict.
	Complete(ctx context.Context, leaseID int64, hotkey, commitment string, commitBlock uint64, at Stamp) (Lease, error)
	// Release gives a live lease back; the task returns to the pool.
	Release(ctx context.Context, leaseID int64, hotkey string, at Stamp) (Lease, error)
	// Expire expires every live lease past its expiry and returns how many.
	Expire(ctx context.Context, at Stamp) (int, error)

	// GetLease returns one lease. ErrNotFound.
	GetLease(ctx context.Context, id int64) (Lease, error)
	// Task returns a task and its leases, oldest first. ErrNotFound.
	Task(ctx context.Context, id int64) (Task, []Lease, error)
	// Leases returns a hotkey's leases, newest first, at most limit.
	Leases(ctx context.Context, hotkey string, limit int) ([]Lease, error)
	// AddScore records a validator's report.
	AddScore(ctx context.Context, s Score) (Score, error)
	// Scores returns reports on a hotkey (all hotkeys when ""), newest first.
	Scores(ctx context.Context, hotkey string, limit int) ([]Score, error)

	// Counts summarises the pool.
	Counts(ctx context.Context) (Counts, error)
	// Events returns recent events, newest first, with ID < before (0: any).
	Events(ctx context.Context, before int64, limit int) ([]Event, error)
	// Miners returns per-hotkey activity since a time, most active first.
	Miners(ctx context.Context, since time.Time) ([]MinerActivity, error)
	// Completions returns completion counts per bucket since a time.
	Completions(ctx context.Context, since time.Time, bucket time.Duration) ([]Bucket, error)

	Close() error
}

// NewTask is a task to import.
type NewTask struct {
	Crawl       string
	WARCs       []string
	RecordStart int64
	RecordEnd   int64
	// ByteStart and ByteEnd are the byte offsets of record RecordStart and
	// of record RecordEnd of a range (ByteEnd 0: to the end of the file).
	ByteStart int64
	ByteEnd   int64
}

// Stamp is when something happens: wall time and chain block.
type Stamp struct {
	Time  time.Time
	Block uint64
}

// LeaseRequest asks for a task.
type LeaseRequest struct {
	Hotkey   string
	At       Stamp
	Duration time.Duration // hard deadline after grant
	TTL      time.Duration // expiry without heartbeats
	MaxLive  int           // per-hotkey live lease limit
}

// Bucket is one point of a time series.
type Bucket struct {
	Start time.Time `json:"start"`
	Count int64     `json:"count"`
}
