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
	TaskDone    TaskState = "done"    // completed with a commitment
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
}

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

// Score is a validator's signed report on a miner's submission.
type Score struct {
	ID        int64     `json:"id"`
	Validator string    `json:"validator"`
	Hotkey    string    `json:"hotkey"`
	TaskID    int64     `json:"task_id"`
	Score     float64   `json:"score"`
	Detail    string    `json:"detail,omitempty"` // JSON breakdown, opaque here
	At        time.Time `json:"at"`
	Block     uint64    `json:"block"`
}

// Counts summarise the task pool.
type Counts struct {
	Tasks      int64 `json:"tasks"`
	Pending    int64 `json:"pending"`
	Leased     int64 `json:"leased"`
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
)
