package taskserver

import (
	"context"
	"time"

	"github.com/datarefine/refine/acceptance"
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
//   - a completion makes the task submitted, never done: only validators'
//     reports decide it (done, or back to the pool), by the Decider the
//     caller passes, applied in the same transaction as the report;
//   - a hotkey whose recent submissions were rejected is throttled, and one
//     with too many undecided submissions gets no new lease;
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
	// Complete ends a live lease with the miner's commitment: the lease is
	// completed with decision pending, the task submitted. Completing a
	// completed lease again with the same commitment returns it unchanged.
	// ErrNotFound, ErrNotHolder, ErrLeaseNotLive, ErrConflict.
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
	// Submissions returns completed leases whose completion Seq is
	// greater than after, in Seq order, at most limit: every submission,
	// for validators.
	Submissions(ctx context.Context, after int64, limit int) ([]Completion, error)
	// Report records a validator's report on a submission (r.LeaseID,
	// which must be a completed lease of r.TaskID by r.Hotkey with
	// r.Commitment, else ErrNotSubmission) and re-decides it with decide
	// over all its reports. A validator reports once per submission: a
	// second report returns the first unchanged. The lease's decision
	// follows the outcome; the task follows it while the lease is its
	// latest (accepted: done; rejected: back to the pool; pending:
	// submitted). It returns the stored report and the lease.
	Report(ctx context.Context, r Report, decide Decider, at Stamp) (Report, Lease, error)
	// ReleaseReports publishes validator's unreleased reports with
	// WeightsRound ≤ through as Scores, in report order, and returns how
	// many.
	ReleaseReports(ctx context.Context, validator string, through int64, at Stamp) (int, error)
	// Reopen returns to the pool every submitted task whose submission was
	// completed before cutoff and is still undecided; the lease's decision
	// becomes unverified (later reports still decide it). It returns how
	// many.
	Reopen(ctx context.Context, cutoff time.Time, at Stamp) (int, error)
	// Accepted returns accepted submissions with lease id > after, by
	// lease id, at most limit.
	Accepted(ctx context.Context, after int64, limit int) ([]AcceptedSubmission, error)
	// AddScore publishes a score directly (imports and fixtures; validators'
	// reports go through Report and ReleaseReports).
	AddScore(ctx context.Context, s Score) (Score, error)
	// Scores returns published scores of a hotkey (all hotkeys when ""),
	// newest first.
	Scores(ctx context.Context, hotkey string, limit int) ([]Score, error)

	// The public read model (reads.go). Published scores only: nothing
	// of a report shows before its validator released it.
	//
	// ScoresOf returns published scores matching q, newest first.
	ScoresOf(ctx context.Context, q ScoreQuery) ([]Score, error)
	// Reporters returns who reported on a submission, oldest first, and
	// whether each report is published yet.
	Reporters(ctx context.Context, leaseID int64) ([]ReportStatus, error)
	// Volume returns every crawl's task counts and accepted output, by
	// crawl name.
	Volume(ctx context.Context) ([]CrawlVolume, error)
	// VolumeSeries returns the accepted output per bucket of decision
	// time since a time, oldest first, empty buckets left out.
	VolumeSeries(ctx context.Context, since time.Time, bucket time.Duration) ([]VolumeBucket, error)
	// Validators returns per-validator reporting since a time, by hotkey.
	Validators(ctx context.Context, since time.Time) ([]ValidatorActivity, error)
	// EventsOf is Events of the given kinds only (all when empty).
	EventsOf(ctx context.Context, before int64, limit int, kinds []string) ([]Event, error)

	// Counts summarises the pool.
	Counts(ctx context.Context) (Counts, error)
	// Events returns recent events, newest first, with ID < before (0: any).
	Events(ctx context.Context, before int64, limit int) ([]Event, error)
	// Miners returns per-hotkey activity of the leases granted since a
	// time (with their decisions and accepted output) and the mean of the
	// hotkey's scores published since then, most active first.
	Miners(ctx context.Context, since time.Time) ([]MinerActivity, error)
	// Completions returns completion counts per bucket since a time.
	Completions(ctx context.Context, since time.Time, bucket time.Duration) ([]Bucket, error)

	Close() error
}

// Decider decides a submission from its reports, oldest first: each vote
// carries the validator and its verdict, and the decider weighs them
// (Service uses package acceptance with the validators' stakes).
type Decider func(votes []acceptance.Vote) (acceptance.Outcome, error)

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
	// MaxUndecided refuses a lease (ErrUndecidedLimit) while the hotkey
	// has this many submissions awaiting a decision (0: no limit).
	MaxUndecided int
	// Throttle refuses a lease (*ThrottledError) to a hotkey whose latest
	// decided submissions were rejected.
	Throttle Throttle
}

// Throttle slows down hotkeys whose submissions keep failing: after After
// consecutive rejected submissions (the newest decisions, accepted ones
// end the run) the hotkey may lease again only Base × 2^(rejections −
// After) after the last rejection, at most Max later. After 0 disables it.
type Throttle struct {
	After     int
	Base, Max time.Duration
}

// Wait is how long after the last rejection a hotkey with n consecutive
// rejections waits (0: not throttled).
func (t Throttle) Wait(n int) time.Duration {
	if t.After <= 0 || n < t.After {
		return 0
	}
	d := t.Base
	for i := t.After; i < n && d < t.Max; i++ {
		d *= 2
	}
	return min(d, t.Max)
}

// Bucket is one point of a time series.
type Bucket struct {
	Start time.Time `json:"start"`
	Count int64     `json:"count"`
}
