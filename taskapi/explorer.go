package taskapi

import (
	"time"

	"github.com/datarefine/refine/acceptance"
	"github.com/datarefine/refine/chain"
)

// ChainInfo is a neuron's standing on chain, from the cached metagraph:
// proportions in [0, 1], amounts in rao (1 α = 1e9 rao). UID is -1 for a
// hotkey that is not registered.
type ChainInfo struct {
	UID             int     `json:"uid"`
	Stake           uint64  `json:"stake"`
	ValidatorPermit bool    `json:"validator_permit"`
	Incentive       float64 `json:"incentive"`
	Dividends       float64 `json:"dividends"`
	ValidatorTrust  float64 `json:"validator_trust"`
	Consensus       float64 `json:"consensus"`
	// Emission is the last epoch's emission.
	Emission uint64 `json:"emission"`
}

// MinerRow is a miner's activity and standing.
type MinerRow struct {
	MinerActivity
	ChainInfo
	// Active: it held or heartbeated a lease within ActiveWindow.
	Active bool `json:"active"`
}

// ValidatorRow is a validator's reporting and standing.
type ValidatorRow struct {
	ValidatorActivity
	ChainInfo
	// Agreement is ValidatorActivity.Agreement: the share of its
	// published verdicts on decided submissions that were the decision.
	Agreement float64 `json:"agreement"`
	// Active: it reported within ActiveWindow.
	Active bool `json:"active"`
}

// ValidatorsResponse lists validators.
type ValidatorsResponse struct {
	Since          time.Time      `json:"since"`
	MetagraphBlock uint64         `json:"metagraph_block"`
	Validators     []ValidatorRow `json:"validators"`
}

// MinerDetail is one miner: its row, newest leases and published scores.
type MinerDetail struct {
	Miner  MinerRow `json:"miner"`
	Leases []Lease  `json:"leases"`
	Scores []Score  `json:"scores"`
}

// ScoredSubmission is a published score with the decision on the
// submission it scored.
type ScoredSubmission struct {
	Score
	Decision Decision `json:"decision,omitempty"`
}

// ValidatorDetail is one validator: its row and newest published scores.
type ValidatorDetail struct {
	Validator ValidatorRow       `json:"validator"`
	Scores    []ScoredSubmission `json:"scores"`
}

// TaskHistory is a task, its leases (oldest first) and the published
// scores of its submissions.
type TaskHistory struct {
	Task   Task    `json:"task"`
	Leases []Lease `json:"leases"`
	Scores []Score `json:"scores"`
}

// SubmissionView is one submission (a completed lease): its commitment,
// the decision, every published verdict with its validator's standing,
// who else reported (verdict not published yet), and the acceptance rule
// applied to the published verdicts.
type SubmissionView struct {
	Lease Lease `json:"lease"`
	Task  Task  `json:"task"`
	// Repo, Revision and ManifestPrefix are the commitment's parts.
	Repo           string `json:"repo"`
	Revision       string `json:"revision"`
	ManifestPrefix string `json:"manifest_sha256_prefix"`
	// Verdicts are the published scores, one per validator.
	Verdicts []Verdict `json:"verdicts"`
	// Unpublished are the validators whose reports are not released yet.
	Unpublished []ReportStatus `json:"unpublished"`
	// Tally is the acceptance rule (AcceptanceShare) over the published
	// verdicts with the validators' current stakes; Decision (on the
	// lease) is the task server's, made as reports arrived.
	Tally acceptance.Decision `json:"tally"`
}

// Verdict is one validator's published score on a submission.
type Verdict struct {
	Score
	UID   int    `json:"uid"`
	Stake uint64 `json:"stake"`
	// Agrees says whether the verdict is the decision (absent while the
	// submission is undecided).
	Agrees *bool `json:"agrees,omitempty"`
}

// VolumeResponse is the accepted output per bucket of decision time.
type VolumeResponse struct {
	BucketSeconds float64        `json:"bucket_s"`
	Buckets       []VolumeBucket `json:"buckets"`
}

// MetagraphResponse is the subnet's neurons as the task server last read
// them (without weights and bonds).
type MetagraphResponse struct {
	Netuid  uint16         `json:"netuid"`
	Block   uint64         `json:"block"`
	Neurons []chain.Neuron `json:"neurons"`
}

// Payout is one hotkey's reward in one epoch (or its total).
type Payout struct {
	Block             uint64  `json:"block,omitempty"`
	Epoch             uint64  `json:"epoch,omitempty"`
	UID               uint16  `json:"uid"`
	Hotkey            string  `json:"hotkey"`
	Incentive         float64 `json:"incentive"`
	Dividends         float64 `json:"dividends"`
	ServerEmission    uint64  `json:"server_emission"`
	ValidatorEmission uint64  `json:"validator_emission"`
	Total             uint64  `json:"total"` // rao
}

// PayoutsResponse is the payout ledger: Source "ledger" when the chain
// keeps every epoch's rewards (the devchain), else "metagraph": the last
// epoch's emission of every neuron at the metagraph's block (subtensor
// keeps no history). Entries are newest first, at most limit; Totals sum
// every entry read, per hotkey, largest first.
type PayoutsResponse struct {
	Source  string   `json:"source"`
	Block   uint64   `json:"block"`
	Entries []Payout `json:"entries"`
	Totals  []Payout `json:"totals"`
}

// EventKinds are the kinds of events, for documentation and the site's
// filter: every transition the store records.
var EventKinds = []string{"imported", "leased", "heartbeat", "completed", "released", "expired", "scored", "accepted", "rejected", "reopened"}

// Volume is the output the validators accepted: the documents and tokens
// (FineWeb's token_count, see VerdictCounts) of accepted submissions,
// before cross-submission deduplication (the dataset build removes
// duplicates between submissions; its summary has the deduplicated
// numbers).
type Volume struct {
	// Submissions is the number of accepted submissions; Counted how many
	// of them have a published (released) report with their counts, which
	// Documents and Tokens sum.
	Submissions int64 `json:"submissions"`
	Counted     int64 `json:"counted"`
	Documents   int64 `json:"documents"`
	Tokens      int64 `json:"tokens"`
}

// Add adds v's numbers to o.
func (o *Volume) Add(v Volume) {
	o.Submissions += v.Submissions
	o.Counted += v.Counted
	o.Documents += v.Documents
	o.Tokens += v.Tokens
}

// CrawlVolume is one crawl's tasks and accepted output.
type CrawlVolume struct {
	Crawl string `json:"crawl"`
	// Tasks is every task of the crawl; Done, Submitted, Leased and
	// Pending split them by state.
	Tasks     int64 `json:"tasks"`
	Done      int64 `json:"done"`
	Submitted int64 `json:"submitted"`
	Leased    int64 `json:"leased"`
	Pending   int64 `json:"pending"`
	Volume
}

// VolumeBucket is the accepted output decided in one bucket of time.
type VolumeBucket struct {
	Start time.Time `json:"start"`
	Volume
}

// ValidatorActivity is one validator's reporting.
type ValidatorActivity struct {
	Hotkey string `json:"hotkey"`
	// Reports it made (published or not: who reported is public, what
	// only once released); Released of them are published.
	Reports  int64 `json:"reports"`
	Released int64 `json:"released"`
	// Of the released: Accepts are accepting verdicts; Decided those on
	// submissions the network decided (accepted or rejected), and Agreed
	// those whose verdict was the network's decision.
	Accepts    int64     `json:"accepts"`
	Decided    int64     `json:"decided"`
	Agreed     int64     `json:"agreed"`
	LastReport time.Time `json:"last_report,omitzero"`
}

// Agreement is the share of its decided verdicts that matched the
// network's decision (0 when none was decided yet).
func (v ValidatorActivity) Agreement() float64 {
	if v.Decided == 0 {
		return 0
	}
	return float64(v.Agreed) / float64(v.Decided)
}

// ScoreQuery selects published scores: by miner hotkey, validator,
// submission (lease) or task (zero values: any), newest first, at most
// Limit.
type ScoreQuery struct {
	Hotkey    string
	Validator string
	LeaseID   int64
	TaskID    int64
	Limit     int
}

// ReportStatus says that a validator reported on a submission and whether
// its report is published yet (not what it says).
type ReportStatus struct {
	Validator string    `json:"validator"`
	Released  bool      `json:"released"`
	At        time.Time `json:"at"`
	Block     uint64    `json:"block"`
}
