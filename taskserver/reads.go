package taskserver

import (
	"encoding/json"
	"time"
)

// The public read model: what anyone may read about the subnet's work, as
// the Store aggregates it (in the database, bounded by indexes) and the
// API serves it under /v1 for the website, explorers and the dataset
// build. Every number that needs the validators' verdicts comes from
// published scores only: a report counts here once its validator released
// it (see Report), never before.

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

// VerdictCounts reads the counts a validator's verdict (a report's JSON
// detail, validator/verify.Verdict) states for a submission: its
// documents and tokens. Tokens are FineWeb's token_count, the GPT-2 count
// of each text before PII replacement, as the manifest states them (tokens)
// and the validator checked them against the shards, row by row: the same
// definition as the published dataset's and its card's. Verdicts without
// that claim give the validator's own count of the published texts
// (measured_tokens). ok is false when the detail states no documents.
func VerdictCounts(detail string) (documents, tokens int64, ok bool) {
	var v struct {
		Documents      *int64 `json:"documents"`
		Tokens         *int64 `json:"tokens"`
		MeasuredTokens int64  `json:"measured_tokens"`
	}
	if detail == "" || json.Unmarshal([]byte(detail), &v) != nil || v.Documents == nil || *v.Documents < 0 {
		return 0, 0, false
	}
	tokens = v.MeasuredTokens
	if v.Tokens != nil && *v.Tokens > 0 {
		tokens = *v.Tokens
	}
	return *v.Documents, max(tokens, 0), true
}
