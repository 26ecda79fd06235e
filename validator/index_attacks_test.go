package validator

import (
	"testing"

	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/validator/verify"
)

// TestIndexLies (issue 19): the record index is a list of claims, every
// field of every entry. Each subtest is a miner whose index lies in one
// way, played against a real validator at the production parameters (the
// coverage sample seeking 21 draws on kept records) on the test WARC (48
// records, 12 kept): the lie is caught and the liar earns less than the
// honest miner of the same task. Lies about the index's shape (skipped,
// overlapping or misstated bytes, a record listed kept without its
// document, a record split in two) are caught on the whole index, before
// any record is fetched; lies about a record's outcome or extent (merged
// records, false reasons, false duplicates, hidden kept records) when the
// sample draws the record — made here on enough of the bytes that every
// seed draws them (TestCoverageDropAcrossSeeds measures the rate).
func TestIndexLies(t *testing.T) {
	A := warcA(t)
	honest := alone(t, "Honest", func(e *env) { e.honest("Honest", "c", A, 0, 0) })
	// lie plays a miner whose honest output's index is changed by edit (and
	// whose documents by docs, when set).
	lie := func(t *testing.T, docs func([]dataset.Doc, []dataset.RecordRef) ([]dataset.Doc, []dataset.RecordRef),
		edit func([]dataset.IndexEntry) []dataset.IndexEntry) Record {
		return alone(t, "Liar", func(e *env) {
			e.submit("Liar", "c", A, 0, 0, "", func(dir string, m *dataset.Manifest) {
				if docs != nil {
					rewrite(t, dir, m, docs)
				}
				if edit != nil {
					editIndex(t, dir, m, edit)
				}
			})
		})
	}
	// keepOnly drops every document but the first n.
	keepOnly := func(n int) func([]dataset.Doc, []dataset.RecordRef) ([]dataset.Doc, []dataset.RecordRef) {
		return func(d []dataset.Doc, r []dataset.RecordRef) ([]dataset.Doc, []dataset.RecordRef) { return d[:n], r[:n] }
	}
	firstKept := func(e []dataset.IndexEntry) int {
		for i := range e {
			if e[i].Kept {
				return i
			}
		}
		t.Fatal("no kept entry")
		return 0
	}
	t.Run("skip", func(t *testing.T) {
		r := lie(t, nil, func(e []dataset.IndexEntry) []dataset.IndexEntry {
			return append(e[:3:3], e[4:]...) // record 3's bytes unlisted
		})
		earnsLess(t, r, honest, verify.CodeIndex, false)
	})
	t.Run("overlap", func(t *testing.T) {
		r := lie(t, nil, func(e []dataset.IndexEntry) []dataset.IndexEntry {
			e[3].Offset, e[3].Length = e[3].Offset-100, e[3].Length+100
			return e
		})
		earnsLess(t, r, honest, verify.CodeIndex, false)
	})
	t.Run("length", func(t *testing.T) {
		r := lie(t, nil, func(e []dataset.IndexEntry) []dataset.IndexEntry {
			e[3].Length += 50
			return e
		})
		earnsLess(t, r, honest, verify.CodeIndex, false)
	})
	t.Run("kept", func(t *testing.T) {
		// A dropped record listed kept, no document citing it.
		r := lie(t, nil, func(e []dataset.IndexEntry) []dataset.IndexEntry {
			e[0] = dataset.IndexEntry{Offset: e[0].Offset, Length: e[0].Length, Kept: true}
			return e
		})
		earnsLess(t, r, honest, verify.CodeIndex, false)
	})
	t.Run("split", func(t *testing.T) {
		// A kept record hidden as a truncated record plus its tail.
		r := lie(t, keepOnly(11), func(e []dataset.IndexEntry) []dataset.IndexEntry {
			for i := len(e) - 1; i >= 0; i-- {
				if e[i].Step == "fineweb_qual" && e[i].Reason == "line_punct_ratio" { // the hidden record
					half := e[i].Length / 2
					head := dataset.IndexEntry{Offset: e[i].Offset, Length: half, Step: "reader", Reason: "truncated_record"}
					tail := dataset.IndexEntry{Offset: e[i].Offset + half, Length: e[i].Length - half, Step: "reader", Reason: "not_response"}
					return append(e[:i:i], append([]dataset.IndexEntry{head, tail}, e[i+1:]...)...)
				}
			}
			return e
		})
		earnsLess(t, r, honest, verify.CodeIndex, false)
	})
	t.Run("merge", func(t *testing.T) {
		// All kept records but the first hidden inside the entries before
		// them (their documents dropped).
		r := lie(t, keepOnly(1), func(e []dataset.IndexEntry) []dataset.IndexEntry {
			out := e[:1:1]
			for _, x := range e[1:] {
				if x.Step == "fineweb_qual" && x.Reason == "line_punct_ratio" {
					out[len(out)-1].Length += x.Length
					continue
				}
				out = append(out, x)
			}
			return out
		})
		earnsLess(t, r, honest, verify.CodeIndex, false)
	})
	t.Run("reason", func(t *testing.T) {
		// Every record a quality filter drops claimed dropped by another.
		r := lie(t, nil, func(e []dataset.IndexEntry) []dataset.IndexEntry {
			for i := range e {
				if !e[i].Kept && e[i].Step != "reader" {
					e[i].Step, e[i].Reason = "c4", "curly_bracket"
				}
			}
			return e
		})
		earnsLess(t, r, honest, verify.CodeIndex, false)
	})
	t.Run("hidden", func(t *testing.T) {
		// All kept records but the first claimed dropped by the language
		// filter: records the reference keeps, missing.
		r := lie(t, keepOnly(1), func(e []dataset.IndexEntry) []dataset.IndexEntry {
			for i := range e {
				if e[i].Step == "fineweb_qual" && e[i].Reason == "line_punct_ratio" {
					e[i].Step, e[i].Reason = "language", "low_en_score"
				}
			}
			return e
		})
		earnsLess(t, r, honest, verify.CodeCoverage, false)
	})
	t.Run("dup", func(t *testing.T) {
		// All kept records but the first claimed near-duplicates of it.
		r := lie(t, keepOnly(1), func(e []dataset.IndexEntry) []dataset.IndexEntry {
			k := int64(firstKept(e))
			for i := range e {
				if e[i].Step == "fineweb_qual" && e[i].Reason == "line_punct_ratio" {
					e[i].Step, e[i].Reason, e[i].Dup = "dedup", "duplicate", &k
				}
			}
			return e
		})
		earnsLess(t, r, honest, verify.CodeCoverage, false)
	})
	t.Run("timeouts", func(t *testing.T) {
		// Kept records claimed timed out in extraction: extraction has a
		// work budget, not a time limit, so no honest run says "timeout";
		// the reference keeps the record: missing.
		r := lie(t, keepOnly(1), func(e []dataset.IndexEntry) []dataset.IndexEntry {
			for i := range e {
				if e[i].Step == "fineweb_qual" && e[i].Reason == "line_punct_ratio" {
					e[i].Step, e[i].Reason = "extract", "timeout"
				}
			}
			return e
		})
		earnsLess(t, r, honest, verify.CodeCoverage, false)
	})
}
