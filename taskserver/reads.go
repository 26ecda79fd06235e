package taskserver

import (
	"encoding/json"
)

// The public read model: what anyone may read about the subnet's work, as
// the Store aggregates it (in the database, bounded by indexes) and the
// API serves it under /v1 for the website, explorers and the dataset
// build. Every number that needs the validators' verdicts comes from
// published scores only: a report counts here once its validator released
// it (see Report), never before.

// VerdictCounts reads the counts a validator's verdict (a report's JSON
// detail, validator/verify.Verdict) states for a submission: its
// documents and tokens. Tokens are FineWeb's token_count, the GPT-2 count
// of each text before PII replacement, as the manifest states them (tokens)
// and the validator checked them against the shards, row by row: the same
// definition as the published dataset's and its card's. Verdicts without
// that claim give the validator's own count of the published texts
// (measured_tokens). ok is false when the detail states no documents, or
// counts beyond MaxVerdictCount.
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
	if *v.Documents > MaxVerdictCount || tokens > MaxVerdictCount {
		return 0, 0, false
	}
	return *v.Documents, max(tokens, 0), true
}

// MaxVerdictCount bounds the documents and tokens a verdict may state for
// one submission (2^36, some 69 billion: no task holds that many). A
// count beyond it is no claim: the database sums the counts of every
// accepted submission, and a validator stating counts near 2^63 for two of
// them would overflow those sums and fail every public read of the volume.
const MaxVerdictCount = 1 << 36
