package web

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/datarefine/refine/taskserver"
)

// A submission's page explains each validator's verdict as the lines a
// miner reads: every check in the order the validator runs them (the
// cheap and decisive ones first, docs/mechanism.md), whether it passed,
// the number measured, the threshold it was held to, and what to do when
// it failed. The verdict is the published score's detail
// (validator/verify.Verdict, with the thresholds the validator used); the
// site only reads and words it.

// verdict is the part of a published score's detail the page reads.
type verdict struct {
	Accepted       *bool   `json:"accepted"`
	Code           string  `json:"code"`
	Reason         string  `json:"reason"`
	Documents      int64   `json:"documents"`
	Tokens         int64   `json:"tokens"`
	MeasuredTokens int64   `json:"measured_tokens"`
	VerifiedTokens float64 `json:"verified_tokens"`
	ElapsedBlocks  uint64  `json:"elapsed_blocks"`
	Quality        float64 `json:"quality"`
	Uniqueness     float64 `json:"uniqueness"`
	Overlap        int64   `json:"overlap"`
	InternalDup    int64   `json:"internal_duplicates"`
	Budget         struct {
		SpanBytes int64 `json:"span_bytes"`
		Download  int64 `json:"download_bytes"`
	} `json:"budget"`
	Provenance struct {
		Checked    int64    `json:"checked"`
		Matched    int64    `json:"matched"`
		Mismatches []string `json:"mismatches"`
	} `json:"provenance"`
	Coverage struct {
		Entries       int64    `json:"entries"`
		Draws         int64    `json:"draws"`
		Sampled       int64    `json:"sampled"`
		ReferenceKept int64    `json:"reference_kept"`
		Found         int64    `json:"found"`
		Absent        int64    `json:"absent"`
		KeptClaims    int64    `json:"kept_claims"`
		Mismatched    int64    `json:"mismatched"`
		Notes         []string `json:"notes"`
	} `json:"coverage"`
	Limits *struct {
		ProvenanceSamples int     `json:"provenance_samples"`
		MaxMismatch       float64 `json:"max_mismatch"`
		MaxInternalDup    float64 `json:"max_internal_duplicates"`
		MaxMissing        float64 `json:"coverage_max_missing"`
	} `json:"limits"`
}

// Check is one line of a verdict.
type Check struct {
	Name string
	// State is "passed", "failed", "not run" (an earlier check failed) or
	// "score" (no threshold: it scales the score).
	State     string
	Measured  string
	Threshold string
	// Advice says what to do about a failure.
	Advice string
	// Examples are the validator's first few findings (mismatched
	// documents, missing records).
	Examples []string
}

// VerdictView is one validator's published verdict, explained.
type VerdictView struct {
	taskserver.Verdict
	Accepted bool
	// Code and Reason say why it rejected (empty when it accepted).
	Code, Reason   string
	Checks         []Check
	VerifiedTokens float64
	Documents      int64
	Tokens         int64
	Quality        float64
	HasQuality     bool
	Raw            string
}

// stage is a check's place in the validator's order, and the rejection
// codes it raises.
type stage struct {
	name   string
	codes  []string
	advice string
}

// stages are the checks in the order the validator runs them
// (validator/verify.Evaluator.Evaluate).
var stages = []stage{
	{"Commitment and lease", []string{"malformed_commitment", "replay", "copy", "no_task", "not_leased", "before_lease", "after_deadline", "not_committed"},
		"Commit your own exact string r1:<repo>@<revision>:<task>:<manifest sha256 prefix> once per lease, after the lease is granted and before it ends; complete the lease with the same string. Another hotkey's commitment string is a copy."},
	{"Files fetched and sealed", []string{"fetch", "too_large", "manifest", "manifest_hash", "integrity"},
		"Publish the revision you commit (it must stay reachable), with submissions/<task>/manifest.json and every file it seals, each matching its sha256 and size, within the task's download budget."},
	{"Format and counts", []string{"schema", "wrong_task", "wrong_hotkey", "records", "index", "counts", "signatures", "internal"},
		"Write FineWeb's columns and the record index with the released pipeline; the index must list every record of the task's WARCs once, the manifest must name this task and your hotkey, and its document and token counts must be the shards' (GPT-2 token_count of each text)."},
	{"Provenance", []string{"provenance"},
		"Every document must be the released pipeline's output of the WARC record records.jsonl cites: run the pipeline unmodified on the task's records."},
	{"Duplicates inside the submission", []string{"duplicates"},
		"Do not pad a submission with repeated or near-duplicate documents: run the pipeline's deduplication."},
	{"Coverage", []string{"coverage"},
		"Process every record of the task's range and list each truthfully in the record index: the documents the reference pipeline keeps must be in the submission."},
	// Uniqueness never rejects: documents repeating earlier accepted work
	// discount the credit (docs/mechanism.md).
	{"Uniqueness against accepted work", nil,
		"Documents already accepted from other submissions earn nothing."},
}

// explain turns a published score into its check lines.
func explain(v taskserver.Verdict) VerdictView {
	out := VerdictView{Verdict: v, Accepted: v.Accepted, Raw: v.Detail}
	var d verdict
	if v.Detail == "" || json.Unmarshal([]byte(v.Detail), &d) != nil {
		out.Checks = []Check{{Name: "Verdict", State: state(v.Accepted), Measured: "the validator published no breakdown"}}
		return out
	}
	out.Code, out.Reason = d.Code, d.Reason
	// Tokens as the manifest states them (FineWeb's token_count), as
	// everywhere on the site; the validator's own count is what it
	// credits.
	out.VerifiedTokens, out.Documents, out.Tokens = d.VerifiedTokens, d.Documents, d.Tokens
	if out.Tokens == 0 {
		out.Tokens = d.MeasuredTokens
	}
	failedAt := -1
	if !v.Accepted {
		failedAt = len(stages) // rejected without a known code: no line is blamed
		for i, st := range stages {
			for _, c := range st.codes {
				if c == d.Code {
					failedAt = i
				}
			}
		}
		// Drawn records the index lists kept that are not their documents
		// fail provenance, found by the coverage sample, which runs only
		// after provenance and duplicates passed.
		if d.Code == "provenance" && d.Coverage.Mismatched > 0 {
			failedAt = stageIndex("Coverage")
		}
	}
	pct := func(f float64) string { return trimFloat(100*f) + "%" }
	for i, st := range stages {
		c := Check{Name: st.name, State: "passed"}
		switch {
		case failedAt >= 0 && i == failedAt:
			c.State, c.Advice = "failed", st.advice
			c.Measured = d.Code
			if d.Reason != "" {
				c.Measured += ": " + d.Reason
			}
		case failedAt >= 0 && i > failedAt:
			c.State = "not run"
		}
		if c.State != "failed" {
			switch st.name {
			case "Commitment and lease":
				if c.State == "passed" {
					c.Measured = fmt.Sprintf("committed %d blocks after the lease was granted", d.ElapsedBlocks)
				}
			case "Files fetched and sealed":
				if d.Budget.Download > 0 {
					c.Threshold = "at most " + fmtBytes(d.Budget.Download) + " downloaded"
				}
			case "Format and counts":
				if c.State == "passed" {
					c.Measured = fmt.Sprintf("%s documents, %s tokens as the manifest states", fmtInt(d.Documents), fmtInt(out.Tokens))
				}
			case "Provenance":
				if c.State == "passed" {
					c.Measured = fmt.Sprintf("%d of %d drawn documents re-derived from their WARC records", d.Provenance.Matched, d.Provenance.Checked)
				}
				if d.Limits != nil {
					c.Threshold = "at most " + pct(d.Limits.MaxMismatch) + " may differ"
				}
			case "Duplicates inside the submission":
				if c.State == "passed" {
					c.Measured = fmt.Sprintf("%d of %s documents duplicate another", d.InternalDup, fmtInt(d.Documents))
				}
				if d.Limits != nil {
					c.Threshold = "at most " + pct(d.Limits.MaxInternalDup)
				}
			case "Coverage":
				if d.Coverage.Draws > 0 && c.State == "passed" {
					c.Measured = fmt.Sprintf("%d of %d draws on records the reference keeps found them (%d records of %d re-run)", d.Coverage.Found, d.Coverage.ReferenceKept, d.Coverage.Sampled, d.Coverage.Entries)
				}
				if d.Limits != nil && d.Coverage.Draws > 0 {
					c.Threshold = "at most " + pct(d.Limits.MaxMissing) + " missing"
				}
			case "Uniqueness against accepted work":
				if c.State == "passed" {
					c.State = "score"
					c.Measured = fmt.Sprintf("%d of %s documents near-duplicate earlier accepted work (uniqueness %s)", d.Overlap, fmtInt(d.Documents), pct(d.Uniqueness))
					c.Advice = "Uniqueness scales the credit; it cannot reject."
				}
			}
		}
		if c.State == "failed" {
			switch st.name {
			case "Provenance":
				c.Measured = fmt.Sprintf("%d of %d drawn documents not derived from their records", d.Provenance.Checked-d.Provenance.Matched, d.Provenance.Checked)
				if d.Limits != nil {
					c.Threshold = "at most " + pct(d.Limits.MaxMismatch) + " may differ"
				}
				c.Examples = d.Provenance.Mismatches
			case "Coverage":
				if d.Code == "provenance" {
					c.Measured = fmt.Sprintf("%d of %d drawn records the index lists kept are not their documents", d.Coverage.Mismatched, d.Coverage.KeptClaims)
					if d.Limits != nil {
						c.Threshold = "at most " + pct(d.Limits.MaxMismatch) + " may differ"
					}
				} else {
					c.Measured = fmt.Sprintf("%d of %d draws on records the reference keeps found them missing", d.Coverage.Absent, d.Coverage.ReferenceKept)
					if d.Limits != nil {
						c.Threshold = "at most " + pct(d.Limits.MaxMissing) + " missing"
					}
				}
				c.Examples = d.Coverage.Notes
			}
		}
		out.Checks = append(out.Checks, c)
	}
	if v.Accepted {
		out.Quality, out.HasQuality = d.Quality, true
		out.Checks = append(out.Checks,
			Check{Name: "Quality", State: "score", Measured: trimFloat(d.Quality) + " (1: as good as the reference pipeline's output of the same records)",
				Advice: "Quality scales the score; it cannot reject."},
			Check{Name: "Verified tokens", State: "score", Measured: fmtFloat(d.VerifiedTokens) + " = measured tokens × provenance rate × coverage rate × uniqueness"})
	}
	return out
}

func stageIndex(name string) int {
	for i, st := range stages {
		if st.name == name {
			return i
		}
	}
	panic("web: no check stage " + name)
}

func state(accepted bool) string {
	if accepted {
		return "passed"
	}
	return "failed"
}

func trimFloat(f float64) string {
	s := fmt.Sprintf("%.3f", f)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "" || s == "-0" {
		return "0"
	}
	return s
}
