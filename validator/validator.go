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
	"sync"
	"sync/atomic"
	"time"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/validator/score"
	"github.com/datarefine/refine/validator/verify"
	"github.com/prometheus/client_golang/prometheus"
)

// Validator evaluates submissions and sets weights. Its methods are safe for
// concurrent use: rounds run one at a time, weight settings and reveals one
// at a time, and the two apart (see loop.go).
type Validator struct {
	opts     Options
	state    *state
	ref      *verify.Reference
	eval     *verify.Evaluator
	metrics  *metrics
	registry *prometheus.Registry
	mu       sync.Mutex // one weight setting or reveal at a time
	roundMu  sync.Mutex // one evaluation round at a time
	// applyMu keeps rounds from being applied while weights are set, so
	// that a weight setting holds exactly the scores stamped before it.
	applyMu sync.Mutex
	// feeding is the weight setting round being set; reportsSince says
	// reports were delivered since the last release.
	feeding      atomic.Uint64
	reportsSince atomic.Bool
	// recent holds the bands of the submissions accepted in the current
	// round, for the uniqueness of those checked before they were recorded.
	recent *recentBands
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
	v := &Validator{opts: opts, state: st, ref: ref, recent: &recentBands{}}
	// Weight calls go through a wrapper that notes which weights became
	// public, so that the scores behind them can be published.
	v.opts.Chain = publishingChain{Client: opts.Chain, v: v}
	opts = v.opts
	v.eval = &verify.Evaluator{
		Params:    opts.EvalParams(),
		Reference: ref, Store: opts.Store, Tasks: opts.Tasks, Chain: opts.Chain,
		History: history{st, opts.Uniqueness, v.recent}, Quality: opts.Quality,
	}
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

// Report is the detail of a score report sent to the task server.
//
// The verdict's fields are inlined, so readers of reports (the website)
// find accepted, documents, tokens, verified_tokens and quality at the top.
type Report struct {
	Commitment string `json:"commitment"`
	Block      uint64 `json:"block"`
	verify.Verdict
}

// outcome is one candidate's evaluation: checked by checkOne, then
// settled (settleOne) into its verdict (with a rejection's code), the
// accepted documents' bands, its task and the task's crawl.
type outcome struct {
	verdict verify.Verdict
	bands   [][]uint64
	taskID  int64
	crawl   string
	checked *verify.Checked
	elapsed time.Duration
}

// checkOne runs the checks of one commitment that do not depend on the
// submissions evaluated before it (verify.Evaluator.Check: the checks
// pipeline of docs/mechanism.md but uniqueness). It never panics: a panic
// is recorded as the miner's input (internal). Safe to run in parallel.
func (v *Validator) checkOne(ctx context.Context, c chain.Commitment, log *slog.Logger) (o outcome) {
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			log.Error("panic while checking a submission", "panic", p, "stack", string(debug.Stack()))
			o.checked = verify.CheckFailed(c, 0, verify.Fail(verify.CodeInternal, "check panicked: %v", p))
		}
		o.elapsed = time.Since(start)
	}()
	o.checked = v.eval.Check(ctx, c, log)
	return o
}

// settleOne finishes a checked commitment against the submissions recorded
// before it (verify.Evaluator.Settle: replays, copies, uniqueness). Rounds
// settle their candidates one at a time, in (block, hotkey) order, each
// after the one before was recorded: so the earlier commit wins whatever
// order the checks finished in.
func (v *Validator) settleOne(ctx context.Context, o outcome, log *slog.Logger) (out outcome) {
	out = o
	defer func() {
		if p := recover(); p != nil {
			log.Error("panic while settling a submission", "panic", p, "stack", string(debug.Stack()))
			out.verdict, out.bands = verify.Verdict{Code: verify.CodeInternal, Reason: fmt.Sprintf("settle panicked: %v", p)}, nil
		}
	}()
	ch := o.checked
	out.taskID, out.crawl = ch.TaskID, ch.Crawl
	vd, bands, _, err := v.eval.Settle(ctx, ch)
	if err != nil {
		out.verdict, out.bands = failed(vd, err), nil
		return out
	}
	out.verdict, out.bands = vd, bands
	return out
}

// failed is the verdict of an evaluation that ended with err: a rejection
// with the failure's code, the validator's own error, or not ready.
func failed(vd verify.Verdict, err error) verify.Verdict {
	if errors.Is(err, verify.ErrNotReady) {
		return verify.Verdict{Code: codeNotReady}
	}
	f, ok := verify.AsFailure(err)
	if !ok {
		f = &verify.Failure{Code: verify.CodeValidatorError, Detail: err.Error()}
	}
	vd.Accepted, vd.Code, vd.Reason = false, f.Code, f.Detail
	vd.VerifiedTokens = 0
	return vd
}

// codeNotReady marks an evaluation that could not start yet; it is never
// recorded.
const codeNotReady verify.Code = "not_ready"

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

// history gives the evaluation the validator's memory of earlier
// submissions.
type history struct {
	s      *state
	uniq   UniquenessParams
	recent *recentBands
}

func (h history) Earlier(ctx context.Context, data, hotkey string) (string, uint64, bool, error) {
	return h.s.earlier(ctx, data, hotkey)
}

func (h history) Overlap(ctx context.Context, crawl string, block uint64, docs []verify.Doc) ([]bool, uint64, error) {
	mark := h.recent.mark()
	hits, err := h.s.overlap(ctx, h.uniq, crawl, block, docs)
	return hits, mark, err
}

func (h history) Recent(_ context.Context, crawl string, block uint64, docs []verify.Doc, mark uint64, hits []bool) error {
	h.recent.match(h.uniq, crawl, block, docs, mark, hits)
	return nil
}

func sortedUIDs(m map[uint16]string) []uint16 {
	out := make([]uint16, 0, len(m))
	for uid := range m {
		out = append(out, uid)
	}
	slices.Sort(out)
	return out
}
