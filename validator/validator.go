// Package validator is the subnet's validator (`refine validator`): every
// EvalEvery blocks it reads the miners' commitments, checks each new one
// (lease, integrity, provenance, coverage, duplicates, speed, quality; see
// validator/verify and docs/mechanism.md), scores it (validator/score),
// folds the round's scores into an EMA per uid kept in SQLite, sets weights
// every WeightsEvery blocks (commit-reveal when the subnet has it on) and
// reports every score to the task server.
//
// Determinism: the sampling seed of a submission is the hash of a block
// after its commitment; commitments are evaluated in (block, hotkey) order
// and every iteration is over sorted keys, so two validators with the same
// inputs compute the same verdicts, scores and weights.
//
// Robustness: a submission is untrusted input. Downloads are bounded in
// size and time, every check returns a coded rejection, and a panic inside
// an evaluation is recovered and recorded as a rejection; none stops the
// validator.
package validator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/submission"
	"github.com/datarefine/refine/taskserver"
	"github.com/datarefine/refine/validator/score"
	"github.com/datarefine/refine/validator/verify"
	"github.com/prometheus/client_golang/prometheus"
)

// Validator evaluates submissions and sets weights. Its methods are safe for
// concurrent use; Run and Round serialise on an internal lock.
type Validator struct {
	opts     Options
	state    *state
	ref      *verify.Reference
	metrics  *metrics
	registry *prometheus.Registry
	mu       sync.Mutex // one round or weight setting at a time
	attempts map[string]int
}

// New opens the state and loads the reference pipeline.
func New(opts Options) (*Validator, error) {
	opts = opts.withDefaults()
	switch {
	case opts.Chain == nil:
		return nil, errors.New("validator: no chain")
	case opts.Hotkey == nil:
		return nil, errors.New("validator: no hotkey")
	case opts.Store == nil:
		return nil, errors.New("validator: no dataset store")
	case opts.Tasks == nil:
		return nil, errors.New("validator: no task server")
	}
	ref, err := verify.NewReference(opts.Reference)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.WorkDir, 0o755); err != nil {
		return nil, fmt.Errorf("validator work folder: %w", err)
	}
	st, err := openState(context.Background(), opts.DB)
	if err != nil {
		return nil, err
	}
	v := &Validator{opts: opts, state: st, ref: ref, attempts: map[string]int{}}
	reg := opts.Registerer
	if reg == nil {
		v.registry = prometheus.NewRegistry()
		reg = v.registry
	}
	v.metrics = newMetrics(reg)
	return v, nil
}

// Registry is the private metrics registry (nil when Options.Registerer
// was given).
func (v *Validator) Registry() *prometheus.Registry { return v.registry }

// Close closes the state database.
func (v *Validator) Close() error { return v.state.Close() }

// Run evaluates and sets weights on schedule until ctx ends, then returns
// nil. Errors of one round are logged and retried at the next.
func (v *Validator) Run(ctx context.Context) error {
	t := time.NewTicker(v.opts.PollInterval)
	defer t.Stop()
	for {
		if err := v.tick(ctx); err != nil && ctx.Err() == nil {
			v.opts.Log.Error("validator round", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// tick runs whatever is due at the current head.
func (v *Validator) tick(ctx context.Context) error {
	head, err := v.opts.Chain.Block(ctx)
	if err != nil {
		return fmt.Errorf("chain head: %w", err)
	}
	var errs []error
	if err := v.reveal(ctx); err != nil {
		errs = append(errs, err)
	}
	last, err := v.state.meta(ctx, "last_round")
	if err != nil {
		return err
	}
	if last == 0 || head.Number >= last+v.opts.EvalEvery {
		if _, err := v.Round(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	lastW, err := v.state.meta(ctx, "last_weights")
	if err != nil {
		return err
	}
	if head.Number >= lastW+v.opts.WeightsEvery {
		if err := v.SetWeights(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Round evaluates every new commitment, in (block, hotkey) order, and folds
// the round's scores into the EMAs. It returns the records evaluated.
func (v *Validator) Round(ctx context.Context) ([]Record, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	head, err := v.opts.Chain.Block(ctx)
	if err != nil {
		return nil, fmt.Errorf("chain head: %w", err)
	}
	mg, err := v.opts.Chain.Metagraph(ctx, v.opts.Netuid)
	if err != nil {
		return nil, fmt.Errorf("metagraph: %w", err)
	}
	hotkeys := map[uint16]string{}
	uidOf := map[string]uint16{}
	for _, n := range mg.Neurons {
		hotkeys[n.UID] = n.Hotkey
		uidOf[n.Hotkey] = n.UID
	}
	commits, err := v.opts.Chain.Commitments(ctx, v.opts.Netuid)
	if err != nil {
		return nil, fmt.Errorf("commitments: %w", err)
	}
	slices.SortFunc(commits, func(a, b chain.Commitment) int {
		if a.Block != b.Block {
			if a.Block < b.Block {
				return -1
			}
			return 1
		}
		if a.Hotkey < b.Hotkey {
			return -1
		}
		if a.Hotkey > b.Hotkey {
			return 1
		}
		return 0
	})
	var out []Record
	for _, c := range commits {
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		uid, ok := uidOf[c.Hotkey]
		if !ok || c.Block+v.opts.SeedDelay > head.Number {
			continue // deregistered, or its seed block does not exist yet
		}
		data := string(c.Data)
		if seen, err := v.state.seen(ctx, c.Hotkey, c.Block, data); err != nil {
			return out, err
		} else if seen {
			continue
		}
		r, err := v.evaluate(ctx, c, uid, head.Number)
		if err != nil {
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
			return out, err
		}
		if r != nil {
			out = append(out, *r)
		}
	}
	if err := v.state.applyRound(ctx, hotkeys, v.opts.Score.Alpha, head.Number); err != nil {
		return out, fmt.Errorf("apply round: %w", err)
	}
	v.metrics.block.Set(float64(head.Number))
	if emas, err := v.state.emas(ctx); err == nil {
		for _, e := range emas {
			v.metrics.ema.WithLabelValues(strconv.Itoa(int(e.UID))).Set(e.EMA)
		}
	}
	return out, nil
}

// evaluate checks one commitment, records and reports its verdict. It
// returns nil, nil when the evaluation failed on the validator's side and
// will be retried.
func (v *Validator) evaluate(ctx context.Context, c chain.Commitment, uid uint16, head uint64) (*Record, error) {
	start := time.Now()
	data := string(c.Data)
	log := v.opts.Log.With("hotkey", c.Hotkey, "uid", uid, "block", c.Block, "commitment", data)
	rec := Record{Hotkey: c.Hotkey, UID: uid, Block: c.Block, Commitment: data, EvaluatedBlock: head}
	verdict, bands, taskID := v.check(ctx, c, log)
	rec.TaskID = taskID
	if verdict.Code == verify.CodeValidatorError {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		key := fmt.Sprintf("%s/%d/%s", c.Hotkey, c.Block, data)
		v.attempts[key]++
		if v.attempts[key] < v.opts.MaxAttempts {
			log.Warn("evaluation failed on the validator's side; retrying next round", "reason", verdict.Reason, "attempt", v.attempts[key])
			return nil, nil
		}
		delete(v.attempts, key)
	}
	rec.Verdict = verdict
	rec.Score = v.opts.Score.Submission(score.Input{
		Accepted: verdict.Accepted, VerifiedTokens: verdict.VerifiedTokens,
		Quality: verdict.Quality, ElapsedBlocks: verdict.ElapsedBlocks,
	})
	if err := v.state.record(ctx, rec, bands); err != nil {
		return nil, err
	}
	code := "accepted"
	if !verdict.Accepted {
		code = string(verdict.Code)
		log.Warn("submission rejected", "code", verdict.Code, "reason", verdict.Reason)
	} else {
		log.Info("submission accepted", "score", rec.Score, "documents", verdict.Documents,
			"verified_tokens", verdict.VerifiedTokens, "quality", verdict.Quality, "elapsed_blocks", verdict.ElapsedBlocks,
			"provenance", fmt.Sprintf("%d/%d", verdict.Provenance.Matched, verdict.Provenance.Checked),
			"coverage", fmt.Sprintf("%d/%d", verdict.Coverage.Found, verdict.Coverage.ReferenceKept))
	}
	v.metrics.submissions.WithLabelValues(code).Inc()
	v.metrics.evalSeconds.Observe(time.Since(start).Seconds())
	if taskID > 0 {
		if _, err := v.opts.Tasks.ReportScore(ctx, c.Hotkey, taskID, rec.Score, Report{Commitment: data, Block: c.Block, Verdict: verdict}); err != nil {
			log.Warn("score report to the task server failed", "err", err)
		}
	}
	return &rec, nil
}

// Report is the detail of a score report sent to the task server.
//
// The verdict's fields are inlined, so readers of reports (the website)
// find accepted, documents, tokens, verified_tokens and quality at the top.
type Report struct {
	Commitment string `json:"commitment"`
	Block      uint64 `json:"block"`
	verify.Verdict
}

// check runs every check of one commitment and never panics.
func (v *Validator) check(ctx context.Context, c chain.Commitment, log *slog.Logger) (verdict verify.Verdict, bands [][]uint64, taskID int64) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("panic while checking a submission", "panic", p, "stack", string(debug.Stack()))
			verdict = verify.Verdict{Code: verify.CodeInternal, Reason: fmt.Sprintf("check panicked: %v", p)}
			bands = nil
		}
	}()
	verdict, bands, taskID, err := v.checks(ctx, c, log)
	if err != nil {
		f, ok := verify.AsFailure(err)
		if !ok {
			f = &verify.Failure{Code: verify.CodeValidatorError, Detail: err.Error()}
		}
		verdict.Accepted, verdict.Code, verdict.Reason = false, f.Code, f.Detail
		verdict.VerifiedTokens = 0
		bands = nil
	}
	return verdict, bands, taskID
}

// checks is the evaluation pipeline; see docs/mechanism.md for the order
// and its reasons (cheap and decisive checks first).
func (v *Validator) checks(ctx context.Context, c chain.Commitment, log *slog.Logger) (verify.Verdict, [][]uint64, int64, error) {
	var vd verify.Verdict
	data := string(c.Data)
	cm, err := submission.Parse(data)
	if err != nil {
		return vd, nil, 0, verify.Fail(verify.CodeMalformed, "%v", err)
	}
	if hk, blk, ok, err := v.state.earlier(ctx, data, c.Hotkey); err != nil {
		return vd, nil, 0, err
	} else if ok {
		if hk == c.Hotkey {
			return vd, nil, 0, verify.Fail(verify.CodeReplay, "commitment already evaluated (block %d)", blk)
		}
		return vd, nil, 0, verify.Fail(verify.CodeCopy, "commitment first made by %s in block %d", hk, blk)
	}
	tr, err := v.opts.Tasks.Task(ctx, cm.TaskID)
	if errors.Is(err, taskserver.ErrNotFound) {
		return vd, nil, 0, verify.Fail(verify.CodeNoTask, "task %d unknown to the task server", cm.TaskID)
	}
	if err != nil {
		return vd, nil, 0, fmt.Errorf("task %d: %w", cm.TaskID, err)
	}
	taskID := tr.Task.ID
	lease, err := verify.CheckLease(c.Hotkey, data, c.Block, tr.Leases, v.opts.GraceBlocks)
	if err != nil {
		return vd, nil, taskID, err
	}
	vd.ElapsedBlocks = c.Block - lease.GrantedBlock

	seedHash, err := v.opts.Chain.BlockHash(ctx, c.Block+v.opts.SeedDelay)
	if err != nil {
		return vd, nil, taskID, fmt.Errorf("seed block %d: %w", c.Block+v.opts.SeedDelay, err)
	}
	seed := verify.Seed(seedHash, data)

	dir, err := os.MkdirTemp(v.opts.WorkDir, "submission-*")
	if err != nil {
		return vd, nil, taskID, err
	}
	defer os.RemoveAll(dir)
	// Only the submission's manifest and the files it seals are fetched
	// (the revision holds the miner's earlier submissions too). A failure
	// that is not the miner's fault (the store down or rate-limited past
	// its retries, a timeout) is the validator's: retried, never scored.
	fctx, cancel := context.WithTimeout(ctx, v.opts.FetchTimeout)
	_, err = submission.Fetch(fctx, v.opts.Store, cm, dir, v.opts.Limits)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return vd, nil, taskID, ctx.Err()
		}
		if f, ok := submission.AsFault(err); ok {
			switch f.Kind {
			case submission.TooLarge:
				return vd, nil, taskID, verify.Fail(verify.CodeTooLarge, "%v", err)
			case submission.ManifestHash:
				return vd, nil, taskID, verify.Fail(verify.CodeManifestHash, "%v", err)
			case submission.NoManifest:
				return vd, nil, taskID, verify.Fail(verify.CodeFetch, "%v", err)
			case submission.BadManifest:
				return vd, nil, taskID, verify.Fail(verify.CodeManifest, "%v", err)
			case submission.MissingFile, submission.FileMismatch:
				return vd, nil, taskID, verify.Fail(verify.CodeIntegrity, "%v", err)
			}
		}
		return vd, nil, taskID, fmt.Errorf("fetch: %w", err)
	}
	m, _, err := verify.CheckManifest(dir, cm, c.Hotkey, tr.Task)
	if err != nil {
		return vd, nil, taskID, err
	}
	vd.Documents, vd.Tokens = m.Documents, m.Tokens
	ectx, cancel := context.WithTimeout(ctx, v.opts.EvalTimeout)
	defer cancel()

	sample := verify.SampleIndices(seed, int(min(m.Documents, v.opts.MaxDocuments)), v.opts.ProvenanceSamples)
	sub, err := verify.ReadSubmission(dir, m, tr.Task, verify.ReadOptions{
		Signer: v.ref.Signer(), Sample: sample, MaxDocuments: v.opts.MaxDocuments, MaxUncompressedBytes: v.opts.MaxUncompressedBytes,
	})
	if err != nil {
		return vd, nil, taskID, err
	}
	vd.InternalDuplicates = sub.InternalDuplicates
	if float64(sub.InternalDuplicates) > v.opts.MaxInternalDup*float64(len(sub.Docs)) {
		return vd, nil, taskID, verify.Fail(verify.CodeDuplicates, "%d of %d documents duplicate another of the submission", sub.InternalDuplicates, len(sub.Docs))
	}
	if len(sub.Docs) == 0 {
		return vd, nil, taskID, verify.Fail(verify.CodeCoverage, "the submission holds no documents")
	}

	vd.Provenance, err = verify.CheckProvenance(ectx, v.ref, sub, sample)
	if err != nil {
		return vd, nil, taskID, fmt.Errorf("provenance: %w", err)
	}
	if bad := vd.Provenance.Checked - vd.Provenance.Matched; float64(bad) > v.opts.MaxMismatch*float64(vd.Provenance.Checked) {
		return vd, nil, taskID, verify.Fail(verify.CodeProvenance, "%d of %d sampled documents not derived from their records: %v", bad, vd.Provenance.Checked, vd.Provenance.Mismatches)
	}
	vd.Coverage, err = verify.CheckCoverage(ectx, v.ref, tr.Task, sub, seed, v.opts.CoverageSamples)
	if err != nil {
		return vd, nil, taskID, fmt.Errorf("coverage: %w", err)
	}
	if vd.Coverage.Rate() < v.opts.MinCoverage {
		return vd, nil, taskID, verify.Fail(verify.CodeCoverage, "%d of %d sampled records the reference keeps are present: missing %v", vd.Coverage.Found, vd.Coverage.ReferenceKept, vd.Coverage.Missing)
	}

	vd.Overlap, err = v.state.overlap(ctx, sub.Docs)
	if err != nil {
		return vd, nil, taskID, fmt.Errorf("uniqueness: %w", err)
	}
	vd.Uniqueness = 1 - float64(vd.Overlap)/float64(len(sub.Docs))
	if float64(vd.Overlap) > v.opts.MaxOverlap*float64(len(sub.Docs)) {
		return vd, nil, taskID, verify.Fail(verify.CodeCopy, "%d of %d documents near-duplicate earlier accepted submissions", vd.Overlap, len(sub.Docs))
	}

	// Relative quality: the sampled documents against the reference
	// pipeline's output for the same records (collected by CheckProvenance).
	vd.Quality, err = v.opts.Quality.Quality(ectx, vd.Provenance.MinerTexts, vd.Provenance.ReferenceTexts)
	if err != nil {
		return vd, nil, taskID, fmt.Errorf("quality: %w", err)
	}
	vd.VerifiedTokens = float64(vd.Tokens) * vd.Provenance.Rate() * min(1, vd.Coverage.Rate()) * vd.Uniqueness
	vd.Accepted = true
	bands := make([][]uint64, 0, len(sub.Docs))
	for _, d := range sub.Docs {
		if d.Bands != nil {
			bands = append(bands, d.Bands)
		}
	}
	log.Debug("submission checked", "documents", len(sub.Docs), "seed_block", c.Block+v.opts.SeedDelay)
	return vd, bands, taskID, nil
}

// Scores returns every uid's EMA and normalised weight, by uid.
func (v *Validator) Scores(ctx context.Context) ([]UIDScore, error) {
	emas, err := v.state.emas(ctx)
	if err != nil {
		return nil, err
	}
	vals := make([]float64, len(emas))
	for i, e := range emas {
		vals[i] = e.EMA
	}
	for i, w := range score.Normalize(vals) {
		emas[i].Weight = w
	}
	return emas, nil
}

// Records returns the evaluated submissions of hotkey ("" for all), in
// evaluation order, with their verdicts.
func (v *Validator) Records(ctx context.Context, hotkey string) ([]Record, error) {
	return v.state.records(ctx, hotkey)
}

func sortedUIDs(m map[uint16]string) []uint16 {
	out := make([]uint16, 0, len(m))
	for uid := range m {
		out = append(out, uid)
	}
	slices.Sort(out)
	return out
}
