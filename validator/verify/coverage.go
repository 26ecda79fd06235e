package verify

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
)

// CoverageParams shape the coverage check (docs/mechanism.md, "Coverage").
type CoverageParams struct {
	// Drop and Miss set the power: a miner that leaves out a share Drop of
	// what the reference keeps (by the records' bytes) is caught with
	// probability at least 1 − Miss (defaults 0.2 and 0.01).
	Drop, Miss float64
	// Target is how many byte draws landing on records the reference
	// keeps are sought (default CoverageTarget(Drop, Miss): 21).
	Target int
	// MaxRecords bounds the distinct records re-run (default 1,000) and
	// MaxDraws the byte draws (default 4 × MaxRecords).
	MaxRecords, MaxDraws int
	// MaxHops bounds the duplicate links followed from a drawn duplicate
	// to the document kept in its place (default 16).
	MaxHops int
	// MaxMissing is the share of the draws on records the reference keeps
	// that may find the record missing (claimed dropped, or a broken
	// duplicate link) without rejecting (default 0: an honest index has no
	// false claim). The attack table is computed at 0. MaxMismatch is the
	// same for drawn kept records that are not their documents (Evaluate
	// sets it to the validator's MaxMismatch). The sample stops as soon as
	// either is exceeded over Target draws: a liar costs no more.
	MaxMissing, MaxMismatch float64
}

func (p CoverageParams) withDefaults() CoverageParams {
	if p.Drop <= 0 {
		p.Drop = 0.2
	}
	if p.Miss <= 0 {
		p.Miss = 0.01
	}
	if p.Target <= 0 {
		p.Target = CoverageTarget(p.Drop, p.Miss)
	}
	if p.MaxRecords <= 0 {
		p.MaxRecords = 1000
	}
	if p.MaxDraws <= 0 {
		p.MaxDraws = 4 * p.MaxRecords
	}
	if p.MaxHops <= 0 {
		p.MaxHops = 16
	}
	return p
}

// WithDefaults fills the zero fields.
func (p CoverageParams) WithDefaults() CoverageParams { return p.withDefaults() }

// CoverageTarget is the number n of draws on records the reference keeps
// that catches, with probability at least 1 − miss, a miner that left out
// a share drop of them: the smallest n with (1 − drop)^n ≤ miss, computed
// exactly in rationals (binary fractions of the float64 parameters), so
// every validator seeks the same. 0.8^21 = 0.0092: 21 at the defaults.
func CoverageTarget(drop, miss float64) int {
	if drop <= 0 || drop >= 1 || miss <= 0 || miss >= 1 {
		return 1
	}
	q := new(big.Rat).Sub(big.NewRat(1, 1), new(big.Rat).SetFloat64(drop))
	limit := new(big.Rat).SetFloat64(miss)
	p := big.NewRat(1, 1)
	for n := 1; ; n++ {
		p.Mul(p, q)
		if p.Cmp(limit) <= 0 {
			return n
		}
	}
}

// CatchProbability is the probability that the coverage sample catches a
// miner that left out a share d of the bytes of the records the reference
// keeps, when the sample holds n draws on such records: 1 − (1 − d)^n.
func CatchProbability(n int, d float64) float64 { return 1 - math.Pow(1-d, float64(n)) }

// CheckCoverage checks the record index's claims on the records a seeded
// sample draws. Byte positions are drawn uniformly over the bytes the
// index covers (a ChaCha8 stream from the seed), each drawing the record
// that holds it, whose bytes are fetched alone and re-run by the reference
// pipeline — until Target draws landed on records the reference keeps, or
// every record was re-run, or MaxDraws (MaxRecords distinct records) were
// made. Drawing bytes, not entries, means a miner cannot make a record
// less likely to be drawn by how it lists it: merged into a neighbour it
// is drawn as often as its bytes are, and then the entry's bytes are not
// one record.
//
// A drawn record's claim must be what the reference makes of it:
//
//   - kept: the reference keeps it, as the document citing it (id, URL,
//     text modulo PII, token count); else provenance;
//   - dropped by a step: the reference drops it by that step, for that
//     reason; else index — or, when the reference keeps it, coverage: a
//     record the reference keeps is missing;
//   - a near-duplicate: the reference keeps it, and the Dup links lead,
//     each step a MinHash band of the texts before PII formatting shared,
//     to a kept document within MaxHops; else coverage;
//
// The pipeline is deterministic on every machine (extraction is bounded by a
// work budget, not a time limit), so no outcome depends on the miner's
// machine.
//
// An honest miner's claims are all true (the pipeline is deterministic and
// its decoder the miner's own), so a single false claim rejects: the
// kinds above are counted (Coverage.Mismatched, Absent) and rejected by
// Evaluate at the default zero tolerance (MaxMismatch, MaxMissing), the
// others fail here. A miner that left out a share d of the kept bytes
// passes with probability (1 − d)^Target: 0.0092 at d = 20 %.
func CheckCoverage(ctx context.Context, sub *Submission, seed [32]byte, params CoverageParams) (Coverage, error) {
	params = params.withDefaults()
	ix, rs := sub.Index, sub.reruns
	c := Coverage{Entries: ix.Len()}
	docOf := make(map[int]int, len(sub.refs))
	for k, r := range sub.refs {
		docOf[r.Entry] = k
	}
	j := &judge{sub: sub, rs: rs, ix: ix, docOf: docOf, params: params}
	rng := rand.New(rand.NewChaCha8(sha256.Sum256(append([]byte("refine/validator/coverage/v2\x00"), seed[:]...))))
	for ix.Total > 0 && c.ReferenceKept < params.Target && c.Draws < params.MaxDraws &&
		len(rs.done) < ix.Len() && c.Sampled < params.MaxRecords &&
		float64(c.Absent) <= params.MaxMissing*float64(params.Target) && float64(c.Mismatched) <= params.MaxMismatch*float64(params.Target) {
		if err := ctx.Err(); err != nil {
			return c, err
		}
		i := ix.find(int64(rng.Uint64N(uint64(ix.Total))))
		c.Draws++
		if _, ok := rs.done[i]; !ok {
			c.Sampled++
		}
		v, err := j.check(ctx, i)
		if err != nil {
			c.WARCBytes = rs.bytes
			return c, err
		}
		if v.claimedKept {
			c.KeptClaims++
		}
		if v.refKept {
			c.ReferenceKept++
		}
		switch {
		case v.problem != "" && v.claimedKept:
			c.Mismatched++
			c.Notes = note(c.Notes, "%s", v.problem)
		case v.problem != "":
			c.Absent++
			c.Notes = note(c.Notes, "%s", v.problem)
		case v.refKept:
			c.Found++
		}
	}
	c.WARCBytes = rs.bytes
	return c, nil
}

// verdict is what a drawn record's check found: whether the index claims
// it kept and the reference keeps it, and a problem — a kept record that
// is not its document (claimedKept), or one the reference keeps that the
// submission lacks. Other false claims are *Failures.
type verdict struct {
	claimedKept, refKept bool
	problem              string
}

// judge checks drawn records' claims.
type judge struct {
	sub    *Submission
	rs     *reruns
	ix     *Index
	docOf  map[int]int // kept entry → document
	params CoverageParams
}

func (j *judge) where(i int) string {
	e := j.ix.Entry(i)
	return fmt.Sprintf("%s@%d", j.sub.task.WARCs[e.WARC], e.Offset)
}

// check judges entry i's claim against the reference. A false claim
// other than a kept record that differs or a missing one is a *Failure;
// other errors are the validator's side.
func (j *judge) check(ctx context.Context, i int) (verdict, error) {
	e := j.ix.Entry(i)
	r, err := j.rs.get(ctx, i)
	if err != nil {
		return verdict{}, err
	}
	v := verdict{claimedKept: e.Kept, refKept: r.kept}
	switch {
	case e.Kept:
		v.problem = j.sameDocument(i, r)
	case e.Step == stepDedup:
		if !r.kept {
			return v, Fail(CodeIndex, "entry %d (%s) is claimed a near-duplicate; the reference drops it (%s)", i, j.where(i), r.outcome())
		}
		v.problem, err = j.duplicate(ctx, i, r)
	case r.kept:
		v.problem = fmt.Sprintf("entry %d (%s), which the reference keeps, is claimed dropped by %s", i, j.where(i), claim(e))
	case r.step != e.Step || r.reason != e.Reason:
		return v, Fail(CodeIndex, "entry %d (%s) is claimed dropped by %s; the reference drops it by %s", i, j.where(i), claim(e), r.outcome())
	}
	return v, err
}

// sameDocument says how kept entry i's record differs from the document
// that cites it ("" when the reference keeps it as that document).
func (j *judge) sameDocument(i int, r *rerun) string {
	d := j.sub.Docs[j.docOf[i]]
	switch {
	case !r.kept:
		return fmt.Sprintf("entry %d (%s) is document %s; the reference drops it (%s)", i, j.where(i), d.ID, r.outcome())
	case r.id != d.ID || r.url != d.URL:
		return fmt.Sprintf("entry %d (%s) is record %s (%s); its document is %s (%s)", i, j.where(i), r.id, r.url, d.ID, d.URL)
	case r.foldedHash != d.FoldedHash:
		return fmt.Sprintf("document %s: text differs from the reference's", d.ID)
	case r.tokens != d.Claimed:
		return fmt.Sprintf("document %s: %d tokens, the reference %d", d.ID, d.Claimed, r.tokens)
	}
	return ""
}

// duplicate follows a drawn near-duplicate's Dup links to a kept document:
// every step must be a record the reference keeps whose text (before PII
// formatting, as the miner's deduplication compared) shares a MinHash band
// with the previous one's. It returns why the record is missing ("" when
// the links hold); a link to a record the reference drops is a *Failure.
func (j *judge) duplicate(ctx context.Context, i int, r *rerun) (string, error) {
	cur, bands := i, r.bands
	for range j.params.MaxHops {
		next := int(j.ix.dups[cur])
		e := j.ix.Entry(next)
		var nb []uint64
		if d, ok := j.docOf[next]; ok && !j.sub.Docs[d].PIIReplaced {
			// Its published text is the text the miner compared.
			nb = j.sub.Docs[d].Bands
		} else {
			rn, err := j.rs.get(ctx, next)
			if err != nil {
				return "", err
			}
			if !rn.kept {
				return "", Fail(CodeIndex, "entry %d (%s), on the duplicate path of entry %d, is one the reference drops (%s)", next, j.where(next), i, rn.outcome())
			}
			nb = rn.bands
		}
		if !shareBand(bands, nb) {
			return fmt.Sprintf("entry %d (%s), which the reference keeps, is claimed a near-duplicate through entry %d, whose text shares no MinHash band with entry %d's", i, j.where(i), next, cur), nil
		}
		if e.Kept {
			return "", nil
		}
		cur, bands = next, nb
	}
	return fmt.Sprintf("entry %d (%s), which the reference keeps, is claimed a near-duplicate; no kept document within %d links", i, j.where(i), j.params.MaxHops), nil
}

// shareBand reports whether two documents' MinHash bands share a value at
// the same band.
func shareBand(a, b []uint64) bool {
	for k := range min(len(a), len(b)) {
		if a[k] == b[k] {
			return true
		}
	}
	return false
}
