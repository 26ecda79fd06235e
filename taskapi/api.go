package taskapi

import (
	"encoding/json"
	"time"
)

// ErrorBody is the one error envelope of the API.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// LeaseResponse is the answer to /v1/lease.
type LeaseResponse struct {
	Lease Lease `json:"lease"`
	Task  Task  `json:"task"`
	// HeartbeatTTLSeconds is how long the lease lives without a heartbeat.
	HeartbeatTTLSeconds float64 `json:"heartbeat_ttl_s"`
}

// LeaseBody is the body of heartbeat and release.
type LeaseBody struct {
	LeaseID int64 `json:"lease_id"`
}

// CompleteBody is the body of complete.
type CompleteBody struct {
	LeaseID     int64  `json:"lease_id"`
	Commitment  string `json:"commitment"`
	CommitBlock uint64 `json:"commit_block,omitempty"`
}

// LeaseResult wraps one lease.
type LeaseResult struct {
	Lease Lease `json:"lease"`
}

// TaskResponse is a task with its lease history.
type TaskResponse struct {
	Task   Task    `json:"task"`
	Leases []Lease `json:"leases"`
}

// LeasesResponse lists leases.
type LeasesResponse struct {
	Leases []Lease `json:"leases"`
}

// ScoreBody is a validator's report on one submission: the completed
// lease it names, with the lease's task, hotkey and commitment.
type ScoreBody struct {
	LeaseID    int64           `json:"lease_id"`
	Hotkey     string          `json:"hotkey"`
	TaskID     int64           `json:"task_id"`
	Commitment string          `json:"commitment"`
	Accepted   bool            `json:"accepted"`
	Score      float64         `json:"score"`
	Detail     json.RawMessage `json:"detail,omitempty"`
	// WeightsRound is the validator's count of weight settings before the
	// one this score feeds (see ReleaseBody).
	WeightsRound int64 `json:"weights_round"`
}

// ReportResponse is the stored report and the submission's state after it.
type ReportResponse struct {
	Report Report `json:"report"`
	Lease  Lease  `json:"lease"`
}

// ReleaseBody publishes the caller's reports that fed weight settings up
// to round Through, once those weights are public (revealed, or set
// without commit-reveal).
type ReleaseBody struct {
	Through int64 `json:"through"`
}

// ReleaseResponse says how many reports were published.
type ReleaseResponse struct {
	Released int `json:"released"`
}

// SubmissionsResponse is a page of submissions in completion order; Next
// is the Seq to pass as after for the next page.
type SubmissionsResponse struct {
	Submissions []Completion `json:"submissions"`
	Next        int64        `json:"next"`
}

// Stats is the overview the website shows.
type Stats struct {
	Counts           Counts  `json:"counts"`
	HeadBlock        uint64  `json:"head_block"`
	Registered       int     `json:"registered_hotkeys"`
	ActiveMiners     int     `json:"active_miners"` // leased in the last hour
	CompletedLastH   int64   `json:"completed_last_hour"`
	TasksPerMinute   float64 `json:"tasks_per_minute"` // over the last hour
	LeaseDurationS   float64 `json:"lease_duration_s"`
	HeartbeatTTLS    float64 `json:"heartbeat_ttl_s"`
	MaxLeasesPerHkey int     `json:"max_leases_per_hotkey"`
	// Accepted is the output validators accepted (see Volume), Crawls
	// each crawl's tasks and accepted output.
	Accepted Volume        `json:"accepted"`
	Crawls   []CrawlVolume `json:"crawls"`
	// CompletedLastDay counts completions in the last 24 hours.
	CompletedLastDay int64 `json:"completed_last_day"`
	// MetagraphBlock is the block of the metagraph the chain numbers come
	// from; Permits the neurons with a validator permit, and
	// ActiveValidators the validators that reported within ActiveWindow.
	MetagraphBlock   uint64 `json:"metagraph_block"`
	Permits          int    `json:"validator_permits"`
	ActiveValidators int    `json:"active_validators"`
	// Validators are the registered validators (permit holders that
	// reported or never leased: on a small subnet miners hold permits
	// too) and the active ones.
	Validators int `json:"validators"`
}

// Identity names the server, so that clients sign for it.
type Identity struct {
	// Hotkey is the server's hotkey: signed requests must name it in
	// Epistula-Signed-For.
	Hotkey string `json:"hotkey"`
}

// EventsResponse is a page of recent activity.
type EventsResponse struct {
	Events []Event `json:"events"`
}

// MinersResponse lists miners: every hotkey that leased since a time and
// every registered neuron without a validator permit, with its activity
// since then and its standing on chain.
type MinersResponse struct {
	Since          time.Time  `json:"since"`
	MetagraphBlock uint64     `json:"metagraph_block"`
	Miners         []MinerRow `json:"miners"`
}

// ThroughputResponse is completions per bucket.
type ThroughputResponse struct {
	BucketSeconds float64  `json:"bucket_s"`
	Buckets       []Bucket `json:"buckets"`
}

// ScoresResponse lists validators' reports.
type ScoresResponse struct {
	Scores []Score `json:"scores"`
}

// AcceptedResponse is a page of accepted submissions by lease id; Next is
// the lease id to pass as after for the next page. AcceptanceShare is the
// share of the acceptance rule this server decides with (package
// acceptance), which a dataset build records.
type AcceptedResponse struct {
	Submissions     []AcceptedSubmission `json:"submissions"`
	Next            int64                `json:"next"`
	AcceptanceShare float64              `json:"acceptance_share"`
}

// Bucket is one point of a time series.
type Bucket struct {
	Start time.Time `json:"start"`
	Count int64     `json:"count"`
}
