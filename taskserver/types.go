// Package taskserver hands out the subnet's work: it cuts a crawl into tasks
// (WARC files, or record ranges of them), leases tasks to registered miners
// over an Epistula-signed HTTP API, records every transition with its time
// and chain block, and tells validators and the website who did what.
//
// The rules live in Service; storage is behind the Store interface
// (taskserver/sqlstore implements it on SQLite and PostgreSQL); the HTTP API
// is in api.go and documented in openapi.yaml.
package taskserver

import (
	"errors"
	"fmt"
	"time"
)

// Task is one unit of work: one or more WARC files of a crawl, optionally a
// range of records.
type Task struct {
	ID    int64    `json:"id"`
	Crawl string   `json:"crawl"`
	WARCs []string `json:"warcs"`
	// RecordStart and RecordEnd bound the records to process, [start, end);
	// RecordEnd 0 means to the end of the file.
	RecordStart int64 `json:"record_start"`
	RecordEnd   int64 `json:"record_end"`
	// ByteStart and ByteEnd bound the byte offsets of a range's records,
	// [start, end); ByteEnd 0 means to the end of the file. The planner
	// records them when it cuts ranges (records are numbered by reading
	// the file, offsets are what a submission cites): a document citing an
	// offset outside them is not the task's.
	ByteStart int64     `json:"byte_start,omitempty"`
	ByteEnd   int64     `json:"byte_end,omitempty"`
	State     TaskState `json:"state"`
	CreatedAt time.Time `json:"created_at"`
}

// TaskState is where a task is in its life.
type TaskState string

const (
	TaskPending TaskState = "pending" // in the pool
	TaskLeased  TaskState = "leased"  // one live lease holds it
	// TaskSubmitted: its latest lease was completed with a commitment and
	// validators have not decided on it yet. A completion alone never ends
	// a task: a made-up commitment would otherwise burn it.
	TaskSubmitted TaskState = "submitted"
	// TaskDone: validators holding more than the acceptance share of the
	// reported stake accepted its latest submission (package acceptance).
	TaskDone TaskState = "done"
)

// Lease is a miner's claim on a task.
type Lease struct {
	ID           int64      `json:"id"`
	TaskID       int64      `json:"task_id"`
	Hotkey       string     `json:"hotkey"`
	State        LeaseState `json:"state"`
	GrantedAt    time.Time  `json:"granted_at"`
	GrantedBlock uint64     `json:"granted_block"`
	Deadline     time.Time  `json:"deadline"`   // hard limit for completion
	ExpiresAt    time.Time  `json:"expires_at"` // next heartbeat due (≤ Deadline)
	HeartbeatAt  time.Time  `json:"heartbeat_at"`
	EndedAt      *time.Time `json:"ended_at,omitempty"`
	EndedBlock   uint64     `json:"ended_block,omitempty"`
	// Commitment is the string the miner committed on chain for this task,
	// and CommitBlock the block it says the commitment landed in.
	Commitment  string `json:"commitment,omitempty"`
	CommitBlock uint64 `json:"commit_block,omitempty"`
	// Decision is the validators' verdict on a completed lease's
	// submission (package acceptance): pending until a validator with
	// stake reports, then accepted or rejected (it follows the reports);
	// unverified when no decision came within the submission timeout and
	// the task went back to the pool. Empty for other leases.
	Decision     Decision   `json:"decision,omitempty"`
	DecidedAt    *time.Time `json:"decided_at,omitempty"`
	DecidedBlock uint64     `json:"decided_block,omitempty"`
}

// Decision is what validators decided on a submission.
type Decision string

const (
	DecisionPending    Decision = "pending"
	DecisionAccepted   Decision = "accepted"
	DecisionRejected   Decision = "rejected"
	DecisionUnverified Decision = "unverified"
)

// LeaseState is where a lease is in its life.
type LeaseState string

const (
	LeaseLive      LeaseState = "live"
	LeaseCompleted LeaseState = "completed"
	LeaseExpired   LeaseState = "expired"
	LeaseReleased  LeaseState = "released"
)

// Event is one recorded transition.
type Event struct {
	ID      int64     `json:"id"`
	At      time.Time `json:"at"`
	Block   uint64    `json:"block"`
	Kind    string    `json:"kind"` // leased, heartbeat, completed, released, expired, scored, imported
	TaskID  int64     `json:"task_id,omitempty"`
	LeaseID int64     `json:"lease_id,omitempty"`
	Hotkey  string    `json:"hotkey,omitempty"`
	Detail  string    `json:"detail,omitempty"`
}

// Score is a validator's report on a miner's submission as the public
// sees it: published only once the weights it fed are public (see
// Report), so that nobody can copy a validator's weights before
// commit-reveal shows them.
type Score struct {
	ID        int64  `json:"id"`
	Validator string `json:"validator"`
	Hotkey    string `json:"hotkey"`
	TaskID    int64  `json:"task_id"`
	// LeaseID is the submission (completed lease) scored; 0 for scores
	// published before scores named their lease.
	LeaseID int64 `json:"lease_id,omitempty"`
	// Accepted is the validator's verdict.
	Accepted bool      `json:"accepted"`
	Score    float64   `json:"score"`
	Detail   string    `json:"detail,omitempty"` // JSON breakdown, opaque here
	At       time.Time `json:"at"`
	Block    uint64    `json:"block"`
}

// Report is a validator's signed report on one submission (a completed
// lease). It decides the task (package acceptance) at once, and stays
// private until the validator releases it (ReleaseReports), when it is
// published as a Score.
type Report struct {
	ID        int64  `json:"id"`
	Validator string `json:"validator"`
	LeaseID   int64  `json:"lease_id"`
	TaskID    int64  `json:"task_id"`
	Hotkey    string `json:"hotkey"`
	// Commitment must be the lease's: a report is about one submission.
	Commitment string  `json:"commitment"`
	Accepted   bool    `json:"accepted"`
	Score      float64 `json:"score"`
	Detail     string  `json:"detail,omitempty"` // JSON breakdown, opaque here
	// WeightsRound is the validator's count of the weight settings before
	// the one this score feeds; ReleaseReports publishes the reports up to
	// a round once that round's weights are public.
	WeightsRound int64     `json:"weights_round"`
	Released     bool      `json:"released"`
	At           time.Time `json:"at"`
	Block        uint64    `json:"block"`
}

// Completion is a completed lease in completion order: Seq (the id of its
// completion event) orders completions, so a validator reads every
// submission exactly by paging on it.
type Completion struct {
	Seq   int64 `json:"seq"`
	Lease Lease `json:"lease"`
}

// AcceptedSubmission is a submission the validators accepted: what the
// dataset build needs to fetch it.
type AcceptedSubmission struct {
	LeaseID      int64     `json:"lease_id"`
	TaskID       int64     `json:"task_id"`
	Hotkey       string    `json:"hotkey"`
	Commitment   string    `json:"commitment"`
	CommitBlock  uint64    `json:"commit_block"`
	DecidedAt    time.Time `json:"decided_at"`
	DecidedBlock uint64    `json:"decided_block"`
}

// Counts summarise the task pool.
type Counts struct {
	Tasks      int64 `json:"tasks"`
	Pending    int64 `json:"pending"`
	Leased     int64 `json:"leased"`
	Submitted  int64 `json:"submitted"`
	Done       int64 `json:"done"`
	LiveLeases int64 `json:"live_leases"`
	Miners     int64 `json:"miners"` // distinct hotkeys that ever leased
}

// MinerActivity is one miner's record.
type MinerActivity struct {
	Hotkey     string    `json:"hotkey"`
	Leases     int64     `json:"leases"`
	Completed  int64     `json:"completed"`
	Expired    int64     `json:"expired"`
	Live       int64     `json:"live"`
	LastSeen   time.Time `json:"last_seen"`
	AvgSeconds float64   `json:"avg_seconds"` // mean lease-to-completion time
	// The validators' decisions on its submissions (completed leases):
	// accepted, rejected, and still pending.
	Accepted int64 `json:"accepted"`
	Rejected int64 `json:"rejected"`
	Pending  int64 `json:"pending"`
	// Documents and Tokens are its accepted output (see Volume).
	Documents int64 `json:"documents"`
	Tokens    int64 `json:"tokens"`
	// Score is the mean of its published scores, Scores how many.
	Score  float64 `json:"score"`
	Scores int64   `json:"scores"`
}

// Errors of the lease rules; the API maps each to a status and code.
var (
	ErrNoTask        = errors.New("no task available")
	ErrLeaseLimit    = errors.New("concurrent lease limit reached")
	ErrNotFound      = errors.New("not found")
	ErrNotHolder     = errors.New("lease belongs to another hotkey")
	ErrLeaseNotLive  = errors.New("lease is not live")
	ErrConflict      = errors.New("lease already completed with another commitment")
	ErrBadCommitment = errors.New("bad commitment")
	// ErrThrottled: the hotkey's recent submissions were rejected; it may
	// lease again later (see *ThrottledError).
	ErrThrottled = errors.New("hotkey throttled after rejected submissions")
	// ErrUndecidedLimit: the hotkey has too many submissions awaiting a
	// decision to lease more.
	ErrUndecidedLimit = errors.New("too many submissions awaiting a decision")
	// ErrNotSubmission: a report names no completed lease of that task,
	// hotkey and commitment.
	ErrNotSubmission = errors.New("no such submission")
	// ErrChainUnavailable: the chain head could not be read where a
	// transition must be stamped with the current block (a completion);
	// transient, the client retries.
	ErrChainUnavailable = errors.New("chain head unavailable")
)

// ThrottledError says until when a throttled hotkey must wait.
type ThrottledError struct {
	Rejections int // consecutive rejected submissions
	Until      time.Time
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("%v: %d consecutive rejections; lease again after %s", ErrThrottled, e.Rejections, e.Until.UTC().Format(time.RFC3339))
}

// Is matches ErrThrottled.
func (e *ThrottledError) Is(target error) bool { return target == ErrThrottled }
