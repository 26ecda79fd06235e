package web

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/datarefine/refine/taskserver"
	"github.com/datarefine/refine/validator/verify"
)

// TestExplainChecks: each rejection is blamed on the check that raised it,
// in the validator's order, with the number and the threshold it was held
// to; uniqueness never fails (it discounts).
func TestExplainChecks(t *testing.T) {
	lim := verify.Limits{ProvenanceSamples: 20, MaxMismatch: 0.05, MaxInternalDup: 0.01, MaxMissing: 0.1}
	cases := []struct {
		name     string
		v        verify.Verdict
		failed   string
		measured string
		limit    string
	}{
		{"copy", verify.Verdict{Code: verify.CodeCopy, Reason: "commitment first made by 5X in block 9"}, "Commitment and lease", "copy: commitment first made", ""},
		{"index", verify.Verdict{Code: verify.CodeIndex, Reason: "the record index skips bytes 10-20"}, "Format and counts", "index: the record index", ""},
		{"kept record not its document", verify.Verdict{Code: verify.CodeProvenance, Provenance: verify.Provenance{Checked: 20, Matched: 20},
			Coverage: verify.Coverage{Draws: 30, KeptClaims: 12, Mismatched: 2, Notes: []string{"record 4: text differs"}}},
			"Coverage", "2 of 12 drawn records the index lists kept are not their documents", "at most 5% may differ"},
		{"missing records", verify.Verdict{Code: verify.CodeCoverage, Provenance: verify.Provenance{Checked: 20, Matched: 20},
			Coverage: verify.Coverage{Draws: 30, ReferenceKept: 21, Found: 15, Absent: 6}},
			"Coverage", "6 of 21 draws on records the reference keeps found them missing", "at most 10% missing"},
		{"provenance", verify.Verdict{Code: verify.CodeProvenance, Provenance: verify.Provenance{Checked: 20, Matched: 17}},
			"Provenance", "3 of 20 drawn documents not derived", "at most 5% may differ"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.v.Limits = lim
			b, err := json.Marshal(tc.v)
			must(t, err)
			view := explain(taskserver.Verdict{Score: taskserver.Score{Accepted: false, Detail: string(b)}})
			seen := false
			for _, c := range view.Checks {
				switch {
				case c.Name == tc.failed:
					seen = true
					if c.State != "failed" || !strings.Contains(c.Measured, tc.measured) || c.Threshold != tc.limit || c.Advice == "" {
						t.Errorf("%s: %+v; want failed, %q, limit %q", c.Name, c, tc.measured, tc.limit)
					}
				case !seen && c.State != "passed":
					t.Errorf("%s before the failed check: %s", c.Name, c.State)
				case seen && c.State != "not run":
					t.Errorf("%s after the failed check: %s", c.Name, c.State)
				}
			}
			if !seen {
				t.Errorf("no line %q", tc.failed)
			}
		})
	}

	// Accepted: uniqueness is a score line, never a threshold.
	b, _ := json.Marshal(verify.Verdict{Accepted: true, Documents: 10, Overlap: 4, Uniqueness: 0.6, Limits: lim})
	for _, c := range explain(taskserver.Verdict{Score: taskserver.Score{Accepted: true, Detail: string(b)}}).Checks {
		if c.Name == "Uniqueness against accepted work" && (c.State != "score" || c.Threshold != "" || !strings.Contains(c.Measured, "4 of 10")) {
			t.Errorf("uniqueness line %+v", c)
		}
	}
}
