package verify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/store"
	"github.com/datarefine/refine/submission"
	"github.com/datarefine/refine/taskserver"
)

// Tasks is what an evaluation needs from the task server: a task with its
// lease history.
type Tasks interface {
	Task(ctx context.Context, id int64) (taskserver.TaskResponse, error)
}

// Blocks is what an evaluation needs from the chain: block hashes (the
// sampling seed).
type Blocks interface {
	BlockHash(ctx context.Context, number uint64) (string, error)
}

// History is the validator's memory of earlier submissions.
type History interface {
	// Earlier reports the first evaluated submission with this commitment
	// string (its hotkey and block), if any.
	Earlier(ctx context.Context, data, hotkey string) (other string, block uint64, ok bool, err error)
	// Overlap marks the documents sharing a MinHash band with earlier
	// accepted submissions of the same crawl, as the uniqueness index
	// holds them for a submission committed in block (see the index's
	// pruning rule, docs/mechanism.md), and returns a mark of how far it
	// saw. Check calls it, in parallel with other evaluations; Settle then
	// calls Recent with the mark, which adds the submissions accepted since
	// (earlier ones in the round's order: those accepted later are not yet
	// recorded when Settle runs).
	Overlap(ctx context.Context, crawl string, block uint64, docs []Doc) (hits []bool, mark uint64, err error)
	// Recent marks in hits the documents sharing a band with submissions
	// of the crawl accepted since mark.
	Recent(ctx context.Context, crawl string, block uint64, docs []Doc, mark uint64, hits []bool) error
}

// QualityScorer rates the quality of a submission in [0, 1], relative to
// the reference pipeline: miner holds the sampled documents as the miner
// submitted them, reference the reference pipeline's output for the same
// sampled records (the records it keeps), both with PII replacements folded
// (see CheckProvenance). An honest miner's two sides are equal and score 1;
// a miner whose documents are worse than what the reference makes of the
// same records scores less. Comparing against the same records, rather than
// scoring the documents alone, means a lucky WARC does not make a better
// miner.
//
// Scorers must be deterministic: every validator rates the same documents
// alike, whatever its thread count or timing.
type QualityScorer interface {
	Quality(ctx context.Context, miner, reference []string) (float64, error)
}

// Params are the evaluation's sample sizes, thresholds and bounds
// (validator.Options documents each and gives the defaults).
type Params struct {
	SeedDelay, GraceBlocks      uint64
	ProvenanceSamples           int
	Coverage                    CoverageParams
	MaxMismatch, MaxInternalDup float64
	Budget                      BudgetParams
	Limits                      store.Limits
	FetchTimeout, EvalTimeout   time.Duration
	// WorkDir receives fetched submissions (and downloaded WARC spans)
	// while they are checked.
	WorkDir string
}

// ErrNotReady reports a submission that cannot be evaluated yet (its seed
// block is not on chain): look again later; it is no verdict.
var ErrNotReady = errors.New("not ready for evaluation")

// Evaluator runs every check of one submission, in the order of
// docs/mechanism.md (cheap and decisive checks first).
type Evaluator struct {
	Params
	Reference *Reference
	Store     store.Store
	Tasks     Tasks
	Chain     Blocks
	History   History
	Quality   QualityScorer
}

// Evaluate checks the commitment c: Check, then Settle. It returns the
// verdict's measurements so far, the accepted documents' MinHash bands, the
// task id (0 when the commitment names no known task) and, when the
// submission is rejected or could not be evaluated, an error: a *Failure
// (the miner's fault) or any other error (the validator's side; retry).
func (e *Evaluator) Evaluate(ctx context.Context, c chain.Commitment, log *slog.Logger) (Verdict, [][]uint64, int64, error) {
	return e.Settle(ctx, e.Check(ctx, c, log))
}

// Checked is a submission after every check that does not depend on the
// submissions evaluated before it (Check), with what Settle needs to finish
// it.
type Checked struct {
	Verdict Verdict
	TaskID  int64
	// Crawl is the task's crawl: the uniqueness index's partition.
	Crawl string
	c     chain.Commitment
	docs  []Doc
	err   error
	// hits and mark are the uniqueness lookup Check made (History.Overlap).
	hits []bool
	mark uint64
}

// Err is the checks' failure: a *Failure, or the validator's side.
func (ch *Checked) Err() error { return ch.err }

// CheckFailed is the Checked of commitment c whose checks ended with err
// before they could report (e.g. a panic the caller recovered).
func CheckFailed(c chain.Commitment, taskID int64, err error) *Checked {
	return &Checked{c: c, TaskID: taskID, err: err}
}

// Check runs every check of commitment c but those against earlier
// submissions, which depend on the order of evaluation: validators run it
// in parallel, then Settle each result in (block, hotkey) order. Its
// outcome (a failure included) is in the Checked, never nil.
func (e *Evaluator) Check(ctx context.Context, c chain.Commitment, log *slog.Logger) *Checked {
	ch := &Checked{c: c}
	ch.Verdict, ch.docs, ch.TaskID, ch.Crawl, ch.err = e.check(ctx, c, log)
	if ch.err == nil && len(ch.docs) > 0 {
		// The expensive part of uniqueness, against what is recorded now;
		// Settle adds what is recorded before it in order.
		var err error
		if ch.hits, ch.mark, err = e.History.Overlap(ctx, ch.Crawl, c.Block, ch.docs); err != nil {
			ch.err = fmt.Errorf("uniqueness: %w", err)
		}
	}
	return ch
}

// Settle finishes a checked submission against the submissions evaluated
// before it, as the sequential order of docs/mechanism.md has it: first a
// commitment string already evaluated is a replay or a copy (whatever its
// own checks found); then a failed check is the verdict; then the
// documents sharing a MinHash band with earlier accepted ones of the same
// crawl discount it (the uniqueness; it never rejects).
// Settling in (block, hotkey) order, each after the one before was
// recorded, is what makes the earlier commit win whatever order the checks
// ran in.
func (e *Evaluator) Settle(ctx context.Context, ch *Checked) (Verdict, [][]uint64, int64, error) {
	vd, taskID := ch.Verdict, ch.TaskID
	if _, err := submission.Parse(string(ch.c.Data)); err == nil {
		if err := e.earlier(ctx, ch.c); err != nil {
			return vd, nil, taskID, err
		}
	}
	if ch.err != nil {
		return vd, nil, taskID, ch.err
	}
	vd.Uniqueness = 1
	if len(ch.docs) > 0 {
		if err := e.History.Recent(ctx, ch.Crawl, ch.c.Block, ch.docs, ch.mark, ch.hits); err != nil {
			return vd, nil, taskID, fmt.Errorf("uniqueness: %w", err)
		}
		vd.Overlap = 0
		for _, h := range ch.hits {
			if h {
				vd.Overlap++
			}
		}
		// Overlap discounts, never rejects: every document was re-derivable
		// from the task's own records (provenance, coverage, range bounds),
		// so a submission that repeats earlier accepted work can only be an
		// honest miner's task whose pages were crawled before (or a second
		// task over the same records). Rejecting it would zero that miner
		// and send the task back to the pool for the next honest miner to
		// be rejected again; crediting only its new documents pays nothing
		// for the repeats and lets the task be done.
		vd.Uniqueness = 1 - float64(vd.Overlap)/float64(len(ch.docs))
	}
	// Credited volume: the tokens the validator counted, discounted by what
	// the samples could not vouch for. An empty submission of a task whose
	// records the reference drops is accepted with nothing to credit.
	vd.VerifiedTokens = float64(vd.MeasuredTokens) * vd.Provenance.Rate() * min(1, vd.Coverage.Rate()) * vd.Uniqueness
	vd.Accepted = true
	bands := make([][]uint64, 0, len(ch.docs))
	for _, d := range ch.docs {
		if d.Bands != nil {
			bands = append(bands, d.Bands)
		}
	}
	return vd, bands, taskID, nil
}

// earlier refuses a commitment string evaluated before: by the same
// hotkey, a replay; by another (accepted), a copy.
func (e *Evaluator) earlier(ctx context.Context, c chain.Commitment) error {
	hk, blk, ok, err := e.History.Earlier(ctx, string(c.Data), c.Hotkey)
	switch {
	case err != nil:
		return err
	case !ok:
		return nil
	case hk == c.Hotkey:
		return Fail(CodeReplay, "commitment already evaluated (block %d)", blk)
	}
	return Fail(CodeCopy, "commitment first made by %s in block %d", hk, blk)
}

// check is Check's work: it returns the verdict so far, the documents
// (for Settle), the task id and its crawl.
func (e *Evaluator) check(ctx context.Context, c chain.Commitment, log *slog.Logger) (Verdict, []Doc, int64, string, error) {
	vd := Verdict{Limits: Limits{ProvenanceSamples: e.ProvenanceSamples, MaxMismatch: e.MaxMismatch, MaxInternalDup: e.MaxInternalDup, MaxMissing: e.Coverage.MaxMissing}}
	data := string(c.Data)
	cm, err := submission.Parse(data)
	if err != nil {
		return vd, nil, 0, "", Fail(CodeMalformed, "%v", err)
	}
	if err := e.earlier(ctx, c); err != nil {
		return vd, nil, 0, "", err
	}
	tr, err := e.Tasks.Task(ctx, cm.TaskID)
	if errors.Is(err, taskserver.ErrNotFound) {
		return vd, nil, 0, "", Fail(CodeNoTask, "task %d unknown to the task server", cm.TaskID)
	}
	if err != nil {
		return vd, nil, 0, "", fmt.Errorf("task %d: %w", cm.TaskID, err)
	}
	taskID, crawl := tr.Task.ID, tr.Task.Crawl
	lease, err := CheckLease(c.Hotkey, data, c.Block, tr.Leases, e.GraceBlocks)
	if err != nil {
		return vd, nil, taskID, crawl, err
	}
	vd.ElapsedBlocks = c.Block - lease.GrantedBlock

	// The seed is the hash of a block after the lease's completion, which
	// the task server records once: before it the miner cannot know the
	// seed, after it the miner cannot change what it submitted (a lease
	// completes once). Committing and completing again to try another seed
	// needs another lease of the task.
	seedBlock := SeedBlock(lease, c.Block, e.SeedDelay)
	seedHash, err := e.Chain.BlockHash(ctx, seedBlock)
	if err != nil {
		if errors.Is(err, chain.ErrUnknownBlock) {
			return vd, nil, taskID, crawl, fmt.Errorf("seed block %d: %w", seedBlock, ErrNotReady)
		}
		return vd, nil, taskID, crawl, fmt.Errorf("seed block %d: %w", seedBlock, err)
	}
	seed := Seed(seedHash, data)

	// The work this submission may cost, from its task alone; and the
	// bytes its record index must tile.
	sizes, err := e.Reference.WARCSizes(ctx, tr.Task)
	if err != nil {
		return vd, nil, taskID, crawl, fmt.Errorf("task %d size: %w", taskID, err)
	}
	spans := TaskSpans(tr.Task, sizes)
	vd.Budget = TaskBudget(tr.Task, SpanBytes(spans), e.Budget)

	dir, err := os.MkdirTemp(e.WorkDir, "submission-*")
	if err != nil {
		return vd, nil, taskID, crawl, err
	}
	defer os.RemoveAll(dir)
	// Only the submission's manifest and the files it seals are fetched
	// (the revision holds the miner's earlier submissions too). A failure
	// that is not the miner's fault (the store down or rate-limited past
	// its retries, a timeout) is the validator's: retried, never scored.
	fctx, cancel := context.WithTimeout(ctx, e.FetchTimeout)
	fetched, err := submission.Fetch(fctx, e.Store, cm, dir, vd.Budget.FetchLimits(e.Limits))
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return vd, nil, taskID, crawl, ctx.Err()
		}
		if f, ok := submission.AsFault(err); ok {
			switch f.Kind {
			case submission.TooLarge:
				return vd, nil, taskID, crawl, Fail(CodeTooLarge, "%v", err)
			case submission.ManifestHash:
				return vd, nil, taskID, crawl, Fail(CodeManifestHash, "%v", err)
			case submission.NoManifest:
				return vd, nil, taskID, crawl, Fail(CodeFetch, "%v", err)
			case submission.BadManifest:
				return vd, nil, taskID, crawl, Fail(CodeManifest, "%v", err)
			case submission.MissingFile, submission.FileMismatch:
				return vd, nil, taskID, crawl, Fail(CodeIntegrity, "%v", err)
			}
		}
		return vd, nil, taskID, crawl, fmt.Errorf("fetch: %w", err)
	}
	m := fetched.Manifest
	if err := CheckManifest(m, cm, c.Hotkey, tr.Task); err != nil {
		return vd, nil, taskID, crawl, err
	}
	vd.Documents, vd.Tokens = m.Documents, m.Tokens
	ectx, cancel := context.WithTimeout(ctx, e.EvalTimeout)
	defer cancel()
	// A failure that is not a coded rejection (a WARC host down, the
	// evaluation's time out) is the validator's side: retried, never the
	// miner's zero. What a submission can cost is bounded by its budget,
	// not by the timeout.
	fail := func(err error) (Verdict, []Doc, int64, string, error) {
		if ctx.Err() != nil {
			return vd, nil, taskID, crawl, ctx.Err()
		}
		return vd, nil, taskID, crawl, err
	}

	// Cheap checks of every row, then the drawn rows re-derived, before
	// any whole-submission work.
	sub, err := OpenSubmission(ectx, dir, m, tr.Task, ReadOptions{
		Reference: e.Reference, Spans: spans, Budget: vd.Budget, Seed: seed, Draws: e.ProvenanceSamples,
	})
	if err != nil {
		return fail(err)
	}
	vd.Provenance, err = CheckProvenance(ectx, e.Reference, sub)
	if err != nil {
		return fail(fmt.Errorf("provenance: %w", err))
	}
	if bad := vd.Provenance.Checked - vd.Provenance.Matched; float64(bad) > e.MaxMismatch*float64(vd.Provenance.Checked) {
		return vd, nil, taskID, crawl, Fail(CodeProvenance, "%d of %d drawn documents not derived from their records: %v", bad, vd.Provenance.Checked, vd.Provenance.Mismatches)
	}

	// Every row: tokens, signatures, duplicates.
	if err := sub.ReadAll(ectx); err != nil {
		return fail(err)
	}
	vd.MeasuredTokens = sub.MeasuredTokens
	vd.InternalDuplicates = sub.InternalDuplicates
	if float64(sub.InternalDuplicates) > e.MaxInternalDup*float64(len(sub.Docs)) {
		return vd, nil, taskID, crawl, Fail(CodeDuplicates, "%d of %d documents duplicate another of the submission", sub.InternalDuplicates, len(sub.Docs))
	}

	cov := e.Coverage
	cov.MaxMismatch = e.MaxMismatch
	vd.Coverage, err = CheckCoverage(ectx, sub, seed, cov)
	if err != nil {
		return fail(fmt.Errorf("coverage: %w", err))
	}
	if cv := vd.Coverage; float64(cv.Mismatched) > e.MaxMismatch*float64(cv.KeptClaims) {
		return vd, nil, taskID, crawl, Fail(CodeProvenance, "%d of %d drawn kept records are not their documents: %v", cv.Mismatched, cv.KeptClaims, cv.Notes)
	}
	if cv := vd.Coverage; float64(cv.Absent) > e.Coverage.MaxMissing*float64(cv.ReferenceKept) {
		return vd, nil, taskID, crawl, Fail(CodeCoverage, "%d of %d drawn records the reference keeps are missing: %v", cv.Absent, cv.ReferenceKept, cv.Notes)
	}

	// Relative quality: the drawn documents against the reference
	// pipeline's output for the same records (collected by CheckProvenance).
	vd.Quality, err = e.Quality.Quality(ectx, vd.Provenance.MinerTexts, vd.Provenance.ReferenceTexts)
	if err != nil {
		return fail(fmt.Errorf("quality: %w", err))
	}
	log.Debug("submission checked", "documents", len(sub.Docs), "seed_block", seedBlock, "warc_bytes", vd.Coverage.WARCBytes)
	return vd, sub.Docs, taskID, crawl, nil
}

// SeedBlock is the block whose hash seeds a submission's samples: delay
// blocks after the block the task server recorded the lease's completion in
// (after the commitment's block for a lease recorded without one).
func SeedBlock(lease taskserver.Lease, commitBlock, delay uint64) uint64 {
	if lease.EndedBlock > 0 {
		return lease.EndedBlock + delay
	}
	return commitBlock + delay
}
