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
	// Overlap counts the documents sharing a MinHash band with earlier
	// accepted submissions.
	Overlap(ctx context.Context, docs []Doc) (int, error)
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
	SeedDelay, GraceBlocks                  uint64
	ProvenanceSamples                       int
	Coverage                                CoverageParams
	MaxMismatch, MaxInternalDup, MaxOverlap float64
	Budget                                  BudgetParams
	Limits                                  store.Limits
	FetchTimeout, EvalTimeout               time.Duration
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

// Evaluate checks the commitment c. It returns the verdict's measurements
// so far, the accepted documents' MinHash bands, the task id (0 when the
// commitment names no known task) and, when the submission is rejected or
// could not be evaluated, an error: a *Failure (the miner's fault) or any
// other error (the validator's side; retry).
func (e *Evaluator) Evaluate(ctx context.Context, c chain.Commitment, log *slog.Logger) (Verdict, [][]uint64, int64, error) {
	vd := Verdict{Limits: Limits{ProvenanceSamples: e.ProvenanceSamples, MaxMismatch: e.MaxMismatch, MaxInternalDup: e.MaxInternalDup, MaxOverlap: e.MaxOverlap}}
	data := string(c.Data)
	cm, err := submission.Parse(data)
	if err != nil {
		return vd, nil, 0, Fail(CodeMalformed, "%v", err)
	}
	if hk, blk, ok, err := e.History.Earlier(ctx, data, c.Hotkey); err != nil {
		return vd, nil, 0, err
	} else if ok {
		if hk == c.Hotkey {
			return vd, nil, 0, Fail(CodeReplay, "commitment already evaluated (block %d)", blk)
		}
		return vd, nil, 0, Fail(CodeCopy, "commitment first made by %s in block %d", hk, blk)
	}
	tr, err := e.Tasks.Task(ctx, cm.TaskID)
	if errors.Is(err, taskserver.ErrNotFound) {
		return vd, nil, 0, Fail(CodeNoTask, "task %d unknown to the task server", cm.TaskID)
	}
	if err != nil {
		return vd, nil, 0, fmt.Errorf("task %d: %w", cm.TaskID, err)
	}
	taskID := tr.Task.ID
	lease, err := CheckLease(c.Hotkey, data, c.Block, tr.Leases, e.GraceBlocks)
	if err != nil {
		return vd, nil, taskID, err
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
			return vd, nil, taskID, fmt.Errorf("seed block %d: %w", seedBlock, ErrNotReady)
		}
		return vd, nil, taskID, fmt.Errorf("seed block %d: %w", seedBlock, err)
	}
	seed := Seed(seedHash, data)

	// The work this submission may cost, from its task alone.
	span, err := e.Reference.SpanBytes(ctx, tr.Task)
	if err != nil {
		return vd, nil, taskID, fmt.Errorf("task %d size: %w", taskID, err)
	}
	vd.Budget = TaskBudget(tr.Task, span, e.Budget)

	dir, err := os.MkdirTemp(e.WorkDir, "submission-*")
	if err != nil {
		return vd, nil, taskID, err
	}
	defer os.RemoveAll(dir)
	// Only the submission's manifest and the files it seals are fetched
	// (the revision holds the miner's earlier submissions too). A failure
	// that is not the miner's fault (the store down or rate-limited past
	// its retries, a timeout) is the validator's: retried, never scored.
	fctx, cancel := context.WithTimeout(ctx, e.FetchTimeout)
	_, err = submission.Fetch(fctx, e.Store, cm, dir, vd.Budget.FetchLimits(e.Limits))
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return vd, nil, taskID, ctx.Err()
		}
		if f, ok := submission.AsFault(err); ok {
			switch f.Kind {
			case submission.TooLarge:
				return vd, nil, taskID, Fail(CodeTooLarge, "%v", err)
			case submission.ManifestHash:
				return vd, nil, taskID, Fail(CodeManifestHash, "%v", err)
			case submission.NoManifest:
				return vd, nil, taskID, Fail(CodeFetch, "%v", err)
			case submission.BadManifest:
				return vd, nil, taskID, Fail(CodeManifest, "%v", err)
			case submission.MissingFile, submission.FileMismatch:
				return vd, nil, taskID, Fail(CodeIntegrity, "%v", err)
			}
		}
		return vd, nil, taskID, fmt.Errorf("fetch: %w", err)
	}
	m, _, err := CheckManifest(dir, cm, c.Hotkey, tr.Task)
	if err != nil {
		return vd, nil, taskID, err
	}
	vd.Documents, vd.Tokens = m.Documents, m.Tokens
	ectx, cancel := context.WithTimeout(ctx, e.EvalTimeout)
	defer cancel()
	// A failure that is not a coded rejection (a WARC host down, the
	// evaluation's time out) is the validator's side: retried, never the
	// miner's zero. What a submission can cost is bounded by its budget,
	// not by the timeout.
	fail := func(err error) (Verdict, [][]uint64, int64, error) {
		if ctx.Err() != nil {
			return vd, nil, taskID, ctx.Err()
		}
		return vd, nil, taskID, err
	}

	// Cheap checks of every row, then the drawn rows re-derived, before
	// any whole-submission work.
	sub, err := OpenSubmission(ectx, dir, m, tr.Task, ReadOptions{
		Signer: e.Reference.Signer(), Budget: vd.Budget, Seed: seed, Draws: e.ProvenanceSamples,
	})
	if err != nil {
		return fail(err)
	}
	vd.Provenance, err = CheckProvenance(ectx, e.Reference, sub)
	if err != nil {
		return fail(fmt.Errorf("provenance: %w", err))
	}
	if bad := vd.Provenance.Checked - vd.Provenance.Matched; float64(bad) > e.MaxMismatch*float64(vd.Provenance.Checked) {
		return vd, nil, taskID, Fail(CodeProvenance, "%d of %d drawn documents not derived from their records: %v", bad, vd.Provenance.Checked, vd.Provenance.Mismatches)
	}

	// Every row: tokens, signatures, duplicates.
	if err := sub.ReadAll(ectx); err != nil {
		return fail(err)
	}
	vd.MeasuredTokens = sub.MeasuredTokens
	vd.InternalDuplicates = sub.InternalDuplicates
	if float64(sub.InternalDuplicates) > e.MaxInternalDup*float64(len(sub.Docs)) {
		return vd, nil, taskID, Fail(CodeDuplicates, "%d of %d documents duplicate another of the submission", sub.InternalDuplicates, len(sub.Docs))
	}

	vd.Coverage, err = CheckCoverage(ectx, e.Reference, tr.Task, sub, seed, e.Coverage, e.WorkDir)
	if err != nil {
		return fail(fmt.Errorf("coverage: %w", err))
	}
	if !vd.Coverage.Passed() {
		return vd, nil, taskID, Fail(CodeCoverage, "%d of %d sampled records the reference keeps are missing (at most %d allowed): %v",
			vd.Coverage.ReferenceKept-vd.Coverage.Found, vd.Coverage.ReferenceKept, vd.Coverage.Allowed, vd.Coverage.Missing)
	}

	vd.Uniqueness = 1
	if len(sub.Docs) > 0 {
		vd.Overlap, err = e.History.Overlap(ctx, sub.Docs)
		if err != nil {
			return vd, nil, taskID, fmt.Errorf("uniqueness: %w", err)
		}
		vd.Uniqueness = 1 - float64(vd.Overlap)/float64(len(sub.Docs))
		if float64(vd.Overlap) > e.MaxOverlap*float64(len(sub.Docs)) {
			return vd, nil, taskID, Fail(CodeCopy, "%d of %d documents near-duplicate earlier accepted submissions", vd.Overlap, len(sub.Docs))
		}
	}

	// Relative quality: the drawn documents against the reference
	// pipeline's output for the same records (collected by CheckProvenance).
	vd.Quality, err = e.Quality.Quality(ectx, vd.Provenance.MinerTexts, vd.Provenance.ReferenceTexts)
	if err != nil {
		return fail(fmt.Errorf("quality: %w", err))
	}
	// Credited volume: the tokens the validator counted, discounted by what
	// the samples could not vouch for. An empty submission of a task whose
	// records the reference drops is accepted with nothing to credit.
	vd.VerifiedTokens = float64(vd.MeasuredTokens) * vd.Provenance.Rate() * min(1, vd.Coverage.Rate()) * vd.Uniqueness
	vd.Accepted = true
	bands := make([][]uint64, 0, len(sub.Docs))
	for _, d := range sub.Docs {
		if d.Bands != nil {
			bands = append(bands, d.Bands)
		}
	}
	log.Debug("submission checked", "documents", len(sub.Docs), "seed_block", seedBlock)
	return vd, bands, taskID, nil
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
