package validator

import (
	"context"
	"fmt"
	"sync"

	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/lm/eval"
)

// LMQuality scores quality with the small language model of lm/eval
// (`refine evaluate`): it trains the protocol's model on the sampled
// documents and measures its loss on held-out reference text. Everything
// is deterministic, so every validator computes the same number.
//
// The loss is mapped to [0, 1] linearly between LossBest (1) and
// LossWorst (0), constants of the protocol measured on real data (see
// docs/evaluate.md): refined FineWeb-like text trains to ≈ 5.27 nats per
// token under protocol refine-eval/1, wrong-language and spam text to
// ≈ 7.2–7.4.
type LMQuality struct {
	ev                  *eval.Evaluator
	mu                  sync.Mutex // an Evaluator is not for concurrent use
	LossBest, LossWorst float64
}

var _ QualityScorer = (*LMQuality)(nil)

// NewLMQuality prepares the evaluator on a reference text (a path or URL).
func NewLMQuality(ctx context.Context, reference string) (*LMQuality, error) {
	ev, err := eval.New(ctx, eval.Options{Protocol: eval.ProtocolV1(), Reference: eval.Asset{Source: reference}})
	if err != nil {
		return nil, fmt.Errorf("quality model: %w", err)
	}
	return &LMQuality{ev: ev, LossBest: 5.0, LossWorst: 7.5}, nil
}

// Quality implements QualityScorer.
func (q *LMQuality) Quality(ctx context.Context, docs []dataset.Doc) (float64, error) {
	if len(docs) == 0 {
		return 0, nil
	}
	texts := make([]string, len(docs))
	for i, d := range docs {
		texts[i] = d.Text
	}
	q.mu.Lock()
	rep, err := q.ev.Evaluate(ctx, texts)
	q.mu.Unlock()
	if err != nil {
		return 0, err
	}
	loss := -rep.Quality
	v := (q.LossWorst - loss) / (q.LossWorst - q.LossBest)
	return min(1, max(0, v)), nil
}
