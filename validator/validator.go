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
	v := &Validator{opts: opts, state: st, ref: ref}
	// Weight calls go through a wrapper that notes which weights became
	// public, so that the scores behind them can be published.
	v.opts.Chain = publishingChain{Client: opts.Chain, v: v}
	opts = v.opts
	v.eval = &verify.Evaluator{
		Params:    opts.EvalParams(),
		Reference: ref, Store: opts.Store, Tasks: opts.Tasks, Chain: opts.Chain,
		History: history{st}, Quality: opts.Quality,
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
	if errors.Is(err, verify.ErrNotReady) {
		return verify.Verdict{Code: codeNotReady}, nil, taskID
	}
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

// codeNotReady marks an evaluation that could not start yet; it is never
// recorded.
const codeNotReady verify.Code = "not_ready"

// checks is the evaluation pipeline (verify.Evaluator; see
// docs/mechanism.md for the order and its reasons).
func (v *Validator) checks(ctx context.Context, c chain.Commitment, log *slog.Logger) (verify.Verdict, [][]uint64, int64, error) {
	return v.eval.Evaluate(ctx, c, log)
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

// history gives the evaluation the validator's memory of earlier
// submissions.
type history struct{ s *state }

func (h history) Earlier(ctx context.Context, data, hotkey string) (string, uint64, bool, error) {
	return h.s.earlier(ctx, data, hotkey)
}

func (h history) Overlap(ctx context.Context, docs []verify.Doc) (int, error) {
	return h.s.overlap(ctx, docs)
}

func sortedUIDs(m map[uint16]string) []uint16 {
	out := make([]uint16, 0, len(m))
	for uid := range m {
		out = append(out, uid)
	}
	slices.Sort(out)
	return out
}
