package lm

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// RNG is SplitMix64: tiny, fully specified, and identical on every platform,
// unlike a library generator whose algorithm could change between releases.
type RNG struct{ s uint64 }

// NewRNG seeds a generator.
func NewRNG(seed uint64) *RNG { return &RNG{s: seed} }

// Uint64 returns the next 64 random bits.
func (r *RNG) Uint64() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Float64 is uniform in [0, 1) with 53 random bits.
func (r *RNG) Float64() float64 { return float64(r.Uint64()>>11) / (1 << 53) }

// Intn is uniform in [0, n) (n > 0); the tiny modulo bias is irrelevant here
// and keeps the result a pure function of the state.
func (r *RNG) Intn(n int) int { return int(r.Uint64() % uint64(n)) }

// TrainStats summarises a training run.
type TrainStats struct {
	Tokens    int     // training tokens consumed
	FirstLoss float64 // training loss of the first batch
	LastLoss  float64 // mean training loss over the last 10% of steps
}

// Train trains a fresh model from seed on windows drawn from pool (token
// ids of the model vocabulary, documents separated by 0). Windows of Ctx+1
// tokens start at positions drawn uniformly from the pool, so a pool smaller
// than the budget is simply revisited; the budget is fixed by cfg.
func Train(ctx context.Context, cfg Config, seed uint64, pool []int32) (*Model, TrainStats, error) {
	var st TrainStats
	m, err := NewModel(cfg, seed)
	if err != nil {
		return nil, st, err
	}
	if len(pool) == 0 {
		return nil, st, errors.New("lm: train: empty token pool")
	}
	for _, t := range pool {
		if t < 0 || int(t) >= cfg.Vocab {
			return nil, st, fmt.Errorf("lm: train: token %d outside vocabulary of %d", t, cfg.Vocab)
		}
	}
	for len(pool) < cfg.Ctx+1 { // tiny pools: repeat so a window fits
		pool = append(pool[:len(pool):len(pool)], pool...)
	}
	opt := newAdamW(m)
	rng := NewRNG(seed ^ 0x5eed_da7a_5eed_da7a)
	T := cfg.Ctx
	tokens := make([]int32, cfg.Batch*T)
	targets := make([]int32, cfg.Batch*T)
	tail := max(1, cfg.Steps/10)
	var tailSum float64
	for step := 0; step < cfg.Steps; step++ {
		if err := ctx.Err(); err != nil {
			return nil, st, fmt.Errorf("lm: train: step %d: %w", step, err)
		}
		for b := 0; b < cfg.Batch; b++ {
			s := rng.Intn(len(pool) - T)
			copy(tokens[b*T:(b+1)*T], pool[s:s+T])
			copy(targets[b*T:(b+1)*T], pool[s+1:s+T+1])
		}
		loss := m.step(tokens, targets, opt, step)
		if step == 0 {
			st.FirstLoss = loss
		}
		if step >= cfg.Steps-tail {
			tailSum += loss
		}
		st.Tokens += cfg.Batch * T
	}
	st.LastLoss = tailSum / float64(tail)
	return m, st, nil
}

// adamW holds the optimiser state. Bias-correction powers are kept by
// repeated multiplication in float64, which is exact to specify (no pow).
type adamW struct {
	m, v       []float32
	pow1, pow2 float64
	decay      []bool // per parameter: weight decay applies
}

func newAdamW(m *Model) *adamW {
	o := &adamW{m: make([]float32, len(m.Params)), v: make([]float32, len(m.Params)), pow1: 1, pow2: 1}
	o.decay = make([]bool, len(m.Params))
	for _, t := range m.decay {
		for i := t.off; i < t.off+t.n; i++ {
			o.decay[i] = true
		}
	}
	return o
}

// lrAt is the schedule: linear warm-up, then linear decay to zero. Linear
// decay needs no cosine (which we would have to implement) and trains as
// well as cosine at this scale.
func (c Config) lrAt(step int) float32 {
	if step < c.Warmup {
		return float32(float64(c.LR) * float64(step+1) / float64(c.Warmup))
	}
	return float32(float64(c.LR) * float64(c.Steps-step) / float64(c.Steps-c.Warmup+1))
}

// step runs one optimiser step on a full batch and returns its mean loss.
func (m *Model) step(tokens, targets []int32, opt *adamW, step int) float64 {
	c := m.Cfg
	clear(m.Grads)
	sum, n := m.forward(tokens, targets, c.Batch, true)
	m.backward(tokens, c.Batch)

	scale := float32(1)
	if c.ClipNorm > 0 {
		var ss float64 // serial sum: one fixed order
		for _, g := range m.Grads {
			ss += float64(g) * float64(g)
		}
		if norm := math.Sqrt(ss); norm > float64(c.ClipNorm) {
			scale = float32(float64(c.ClipNorm) / norm)
		}
	}
	opt.pow1 *= float64(c.Beta1)
	opt.pow2 *= float64(c.Beta2)
	lr := c.lrAt(step)
	bc1 := float32(1 - opt.pow1)
	bc2 := float32(1 - opt.pow2)
	b1, b2, eps, wd := c.Beta1, c.Beta2, c.Eps, c.WeightDecay
	const chunk = 4096
	parallelFor(chunks(len(m.Params), chunk), func(ch int) {
		for i := ch * chunk; i < min((ch+1)*chunk, len(m.Params)); i++ {
			g := float32(m.Grads[i] * scale)
			mi := float32(b1*opt.m[i]) + float32((1-b1)*g)
			vi := float32(b2*opt.v[i]) + float32(float32((1-b2)*g)*g)
			opt.m[i], opt.v[i] = mi, vi
			u := (mi / bc1) / (sqrt32(vi/bc2) + eps)
			if opt.decay[i] {
				u += float32(wd * m.Params[i])
			}
			m.Params[i] -= float32(lr * u)
		}
	})
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// EvalResult is the loss and top-1 accuracy over scored tokens.
type EvalResult struct {
	Loss     float64 // mean negative log-likelihood, nats per token
	Accuracy float64 // top-1 next-token accuracy
	Tokens   int
}

// Evaluate scores text (model token ids) as consecutive, non-overlapping
// windows of Ctx+1 tokens; the last partial window is scored too.
func (m *Model) Evaluate(ctx context.Context, text []int32) (EvalResult, error) {
	c := m.Cfg
	T := c.Ctx
	var res EvalResult
	var sum float64
	var hits int
	tokens := make([]int32, c.Batch*T)
	targets := make([]int32, c.Batch*T)
	pos := 0
	for pos+1 < len(text) {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("lm: evaluate: %w", err)
		}
		nseq := 0
		for nseq < c.Batch && pos+1 < len(text) {
			n := min(T, len(text)-1-pos)
			tk, tg := tokens[nseq*T:(nseq+1)*T], targets[nseq*T:(nseq+1)*T]
			copy(tk, text[pos:pos+n])
			copy(tg, text[pos+1:pos+1+n])
			for i := n; i < T; i++ {
				tk[i], tg[i] = 0, -1
			}
			pos += n
			nseq++
		}
		s, cnt := m.forward(tokens, targets, nseq, false)
		sum += s
		res.Tokens += cnt
		for r := 0; r < nseq*T; r++ {
			if targets[r] < 0 {
				continue
			}
			if m.act.rowHit[r] {
				hits++
			}
		}
	}
	if res.Tokens > 0 {
		res.Loss = sum / float64(res.Tokens)
		res.Accuracy = float64(hits) / float64(res.Tokens)
	}
	return res, nil
}

// Continuation is a context followed by a continuation to score.
type Continuation struct {
	Context, Continuation []int32
}

// LogProbs returns, for each item, the summed log-probability of the
// continuation given the context. Long items keep the continuation (at most
// Ctx tokens) and as much of the context's end as fits.
func (m *Model) LogProbs(ctx context.Context, items []Continuation) ([]float64, error) {
	c := m.Cfg
	T := c.Ctx
	out := make([]float64, len(items))
	tokens := make([]int32, c.Batch*T)
	targets := make([]int32, c.Batch*T)
	for start := 0; start < len(items); start += c.Batch {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("lm: log-probs: %w", err)
		}
		nseq := min(c.Batch, len(items)-start)
		for b := 0; b < nseq; b++ {
			it := items[start+b]
			cont := it.Continuation
			if len(cont) > T {
				cont = cont[:T]
			}
			cx := it.Context
			if len(cx) == 0 {
				cx = []int32{0} // condition on a document start
			}
			if len(cx)+len(cont) > T+1 {
				cx = cx[len(cx)-(T+1-len(cont)):]
			}
			seq := append(append([]int32{}, cx...), cont...)
			tk, tg := tokens[b*T:(b+1)*T], targets[b*T:(b+1)*T]
			for i := 0; i < T; i++ {
				tk[i], tg[i] = 0, -1
				if i+1 < len(seq) {
					tk[i] = seq[i]
					if i+1 >= len(cx) {
						tg[i] = seq[i+1]
					}
				}
			}
		}
		m.forward(tokens, targets, nseq, false)
		for b := 0; b < nseq; b++ {
			var s float64
			for r := b * T; r < (b+1)*T; r++ {
				if targets[r] >= 0 {
					s -= float64(m.act.rowLoss[r])
				}
			}
			out[start+b] = s
		}
	}
	return out, nil
}
