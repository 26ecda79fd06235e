// Package verify holds the validator's checks of one submission: the lease
// rules, integrity (hashes, schema, ids, hotkey, task), provenance (kept
// documents re-derived from their cited WARC records), coverage (records the
// reference pipeline keeps are present), and duplicates (inside the
// submission and against earlier accepted ones).
//
// Every check is a pure function of its inputs (the fetched files, the task,
// a seed from a block hash) so that two validators reach the same verdict.
// A check that rejects returns a *Failure with a stable Code; the validator
// logs it and scores the submission 0. Nothing here trusts the miner's
// files: sizes, counts and paths are bounded before use.
package verify

import (
	"errors"
	"fmt"
)

// Code names why a submission was rejected. Codes are stable: they are
// stored, reported to the task server and counted in metrics.
type Code string

// Rejection codes.
const (
	CodeMalformed      Code = "malformed_commitment" // commitment does not parse
	CodeReplay         Code = "replay"               // commitment already evaluated
	CodeNoTask         Code = "no_task"              // task unknown to the task server
	CodeNotLeased      Code = "not_leased"           // no lease of this task by this hotkey
	CodeBeforeLease    Code = "before_lease"         // committed before the lease was granted
	CodeAfterDeadline  Code = "after_deadline"       // committed after the lease ended or expired
	CodeFetch          Code = "fetch"                // repo/revision unreachable or missing files
	CodeTooLarge       Code = "too_large"            // over the download limits
	CodeManifest       Code = "manifest"             // missing or unparsable manifest
	CodeManifestHash   Code = "manifest_hash"        // manifest differs from the committed hash
	CodeIntegrity      Code = "integrity"            // a file differs from its manifest hash
	CodeSchema         Code = "schema"               // parquet unreadable or not FineWeb's columns
	CodeWrongTask      Code = "wrong_task"           // manifest/inputs name another task
	CodeWrongHotkey    Code = "wrong_hotkey"         // manifest names another hotkey
	CodeRecords        Code = "records"              // records.jsonl inconsistent with the shards
	CodeCounts         Code = "counts"               // documents/tokens differ from the manifest
	CodeProvenance     Code = "provenance"           // kept documents not derived from their records
	CodeCoverage       Code = "coverage"             // records the reference keeps are missing
	CodeDuplicates     Code = "duplicates"           // padded with (near-)duplicates
	CodeCopy           Code = "copy"                 // another hotkey's commitment string
	CodeSignatures     Code = "signatures"           // a MinHash signature file differs from the texts' signatures
	CodeIndex          Code = "index"                // the record index does not tile the task's WARCs or lies about a record
	CodeInternal       Code = "internal"             // a check panicked (treated as the miner's input)
	CodeValidatorError Code = "validator_error"      // the validator itself failed (not scored, retried)
)

// Failure is a rejection with its code and a human-readable detail.
type Failure struct {
	Code   Code
	Detail string
}

func (f *Failure) Error() string { return string(f.Code) + ": " + f.Detail }

// Fail builds a Failure.
func Fail(code Code, format string, args ...any) *Failure {
	return &Failure{Code: code, Detail: fmt.Sprintf(format, args...)}
}

// AsFailure returns the Failure err wraps, if any.
func AsFailure(err error) (*Failure, bool) {
	var f *Failure
	ok := errors.As(err, &f)
	return f, ok
}

// Verdict is everything a validator learnt about one submission. It is
// stored as JSON, reported to the task server and fed to the score.
type Verdict struct {
	Accepted bool   `json:"accepted"`
	Code     Code   `json:"code,omitempty"`
	Reason   string `json:"reason,omitempty"`

	Documents int64 `json:"documents"`
	// Tokens is what the manifest claims; MeasuredTokens what the
	// validator counted on the texts (GPT-2), the only count credited.
	Tokens         int64 `json:"tokens"`
	MeasuredTokens int64 `json:"measured_tokens"`
	// Budget is the work the submission was allowed to cost.
	Budget Budget `json:"budget"`

	Provenance Provenance `json:"provenance"`
	Coverage   Coverage   `json:"coverage"`
	// InternalDuplicates counts documents sharing a MinHash band or their
	// exact text with an earlier document of the same submission.
	InternalDuplicates int `json:"internal_duplicates"`
	// Overlap counts documents sharing a MinHash band with an earlier
	// accepted submission; Uniqueness is 1 − Overlap/Documents.
	Overlap    int     `json:"overlap"`
	Uniqueness float64 `json:"uniqueness"`
	// VerifiedTokens are the tokens credited: MeasuredTokens × provenance
	// match rate × coverage rate × Uniqueness.
	VerifiedTokens float64 `json:"verified_tokens"`
	ElapsedBlocks  uint64  `json:"elapsed_blocks"`
	Quality        float64 `json:"quality"`
	// Limits are the thresholds the checks held the submission to, so
	// that a reader of the verdict (the website) can say how far it was
	// from failing each.
	Limits Limits `json:"limits"`
}

// Limits are an evaluation's thresholds (Params): at most MaxMismatch of
// the drawn documents (and of the drawn records the index lists kept) may
// fail provenance, MaxInternalDup of the documents duplicate another of the
// submission, MaxMissing of the coverage draws on records the reference
// keeps find them missing. Overlap with earlier accepted work has no
// threshold: it discounts the credit and never rejects.
type Limits struct {
	ProvenanceSamples int     `json:"provenance_samples"`
	MaxMismatch       float64 `json:"max_mismatch"`
	MaxInternalDup    float64 `json:"max_internal_duplicates"`
	MaxMissing        float64 `json:"coverage_max_missing"`
}

// Provenance is the outcome of re-deriving sampled documents.
type Provenance struct {
	Checked    int      `json:"checked"`
	Matched    int      `json:"matched"`
	Mismatches []string `json:"mismatches,omitempty"` // first few, for the log

	// The relative quality score's two sides (not stored): MinerTexts are
	// the checked documents as submitted, ReferenceTexts the reference
	// pipeline's output for the same cited records where it keeps them;
	// PII replacements folded in both (FoldPII), in sample order.
	MinerTexts     []string `json:"-"`
	ReferenceTexts []string `json:"-"`
}

// Coverage is the outcome of checking the record index: the whole index's
// counts, and the sample of records drawn and re-run (CheckCoverage).
type Coverage struct {
	Entries       int `json:"entries"`        // records the index lists
	Draws         int `json:"draws"`          // byte positions drawn
	Sampled       int `json:"sampled"`        // distinct records they drew
	ReferenceKept int `json:"reference_kept"` // draws on records the reference keeps
	Found         int `json:"found"`          // of those, present (kept, or a verified duplicate)
	Absent        int `json:"absent"`         // of those, missing: claimed dropped, or a broken duplicate link
	// KeptClaims counts the draws on records the index lists kept, and
	// Mismatched those whose record is not their document.
	KeptClaims int `json:"kept_claims"`
	Mismatched int `json:"mismatched"`
	// WARCBytes is the WARC bytes read to check the submission (coverage
	// and provenance draws).
	WARCBytes int64    `json:"warc_bytes"`
	Notes     []string `json:"notes,omitempty"` // the first few problems
}

// Rate is Found/ReferenceKept, 1 when no draw landed on a record the
// reference keeps: below 1 only where missing records are tolerated
// (MaxMissing), which the credit then discounts.
func (c Coverage) Rate() float64 {
	if c.ReferenceKept == 0 {
		return 1
	}
	return float64(c.Found) / float64(c.ReferenceKept)
}

// Rate is Matched/Checked, 1 when nothing was checked.
func (p Provenance) Rate() float64 {
	if p.Checked == 0 {
		return 1
	}
	return float64(p.Matched) / float64(p.Checked)
}

// mismatchNote appends a note to a bounded list.
func note(list []string, format string, args ...any) []string {
	if len(list) >= 5 {
		return list
	}
	return append(list, fmt.Sprintf(format, args...))
}
