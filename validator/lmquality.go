package validator

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/datarefine/refine/assets"
	"github.com/datarefine/refine/lm/eval"
)

// LMQuality scores quality with the small language model of lm/eval
// (`refine evaluate`) in its relative mode: it trains the protocol's model
// on the miner's sampled documents and, under the same budget and seeds, on
// the reference pipeline's output for the same records, and compares their
// losses on held-out reference text (eval.Evaluator.Compare). Everything is
// deterministic, so every validator computes the same number.
//
// Quality is 1 + Delta/LossScale clipped to [0, 1], where Delta is the
// miner's quality minus the reference output's (minus the difference of
// mean reference losses, nats per token): an honest miner, whose documents
// are the reference output, scores exactly 1 whatever its WARC; a miner whose
// documents train a worse model loses 1/LossScale per nat (LossScale 1: a
// model one nat per token worse scores 0; the gaps of each kind of bad data
// are measured in docs/evaluate.md).
type LMQuality struct {
	ev        *eval.Evaluator
	mu        sync.Mutex // an Evaluator is not for concurrent use
	LossScale float64
}

var _ QualityScorer = (*LMQuality)(nil)

// NewLMQuality prepares the evaluator of the validator protocol
// (eval.ProtocolV2) on a reference text (a path or URL; the registered
// asset assets.EvalReference by default in `refine validator`).
func NewLMQuality(ctx context.Context, reference string) (*LMQuality, error) {
	ev, err := eval.New(ctx, eval.Options{Protocol: eval.ProtocolV2(), Reference: eval.Asset{Source: reference}})
	if err != nil {
		return nil, fmt.Errorf("quality model: %w", err)
	}
	return &LMQuality{ev: ev, LossScale: 1}, nil
}

// Quality implements QualityScorer. A side without documents scores 0: no
// document of the sample was vouched for by the reference.
func (q *LMQuality) Quality(ctx context.Context, miner, reference []string) (float64, error) {
	if len(miner) == 0 || len(reference) == 0 {
		return 0, nil
	}
	// The same documents on both sides (an honest miner, which is every
	// miner accepted when no provenance mismatch is tolerated) sample the
	// same pool and train the same models: Delta is 0 and the quality 1, as
	// Compare would find after training once (about 200 CPU-seconds).
	if slices.Equal(miner, reference) {
		return 1, nil
	}
	q.mu.Lock()
	c, err := q.ev.Compare(ctx, miner, reference)
	q.mu.Unlock()
	if err != nil {
		return 0, fmt.Errorf("quality model: %w", err)
	}
	return min(1, max(0, 1+c.Delta/q.LossScale)), nil
}

// NoReference is the eval reference that selects the stand-in scorer.
const NoReference = "none"

// ChooseQuality picks the quality scorer of a validator: the small model
// on the held-out reference text ref (a path or URL), else on the
// registered reference text of the asset folder assetDir; the stand-in with
// ref NoReference or (with a warning) when the asset folder has no
// reference text.
func ChooseQuality(ctx context.Context, ref, assetDir string, log *slog.Logger) (QualityScorer, error) {
	switch ref {
	case NoReference:
		log.Info("quality: stand-in (--eval-reference none)")
		return StandInQuality{}, nil
	case "":
		p, _, err := assets.Path(assetDir, assets.EvalReference)
		if err != nil {
			log.Warn("quality: no reference text, using the stand-in; get it with `refine assets fetch` or pass --eval-reference", "error", err)
			return StandInQuality{}, nil
		}
		ref = p
	}
	q, err := NewLMQuality(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("validator: %w", err)
	}
	log.Info("quality: small model, relative to the reference pipeline", "protocol", eval.ProtocolV2().Version, "reference", ref)
	return q, nil
}
