package lm

import (
	"errors"
	"fmt"
	"math"
)

// Config fixes the model shape and the training schedule. Every validator
// must use the same Config (it is part of the protocol version), because
// every field changes the bits of the result.
type Config struct {
	Vocab  int // model vocabulary size (see Vocab): document separator, out-of-vocabulary, frequent GPT-2 tokens
	Ctx    int // context length in tokens
	Dim    int // residual width
	Heads  int // attention heads; Dim % Heads == 0
	Layers int // transformer blocks
	Batch  int // sequences per optimiser step
	Steps  int // optimiser steps; the training token budget is Steps·Batch·Ctx
	Warmup int // linear warm-up steps, then linear decay to zero

	LR          float32 // peak learning rate
	WeightDecay float32 // AdamW decoupled weight decay on matrices
	Beta1       float32
	Beta2       float32
	Eps         float32
	ClipNorm    float32 // global gradient-norm clip; 0 disables
}

// TrainTokens is the number of training tokens the schedule consumes.
func (c Config) TrainTokens() int { return c.Steps * c.Batch * c.Ctx }

// Validate reports a shape the model cannot run.
func (c Config) Validate() error {
	switch {
	case c.Vocab < 3 || c.Ctx < 2 || c.Dim < 4 || c.Heads < 1 || c.Layers < 1 || c.Batch < 1 || c.Steps < 1:
		return fmt.Errorf("lm: config %+v: sizes too small", c)
	case c.Dim%c.Heads != 0:
		return fmt.Errorf("lm: config: dim %d not divisible by heads %d", c.Dim, c.Heads)
	case c.Warmup < 0 || c.Warmup > c.Steps:
		return errors.New("lm: config: warmup outside [0, steps]")
	}
	return nil
}

// tensor is a named range of the flat parameter vector.
type tensor struct{ off, n int }

type layerParams struct {
	ln1g, ln1b, wqkv, wo, ln2g, ln2b, wfc, wproj tensor
}

// Model is a GPT-style decoder: token and position embeddings, pre-LayerNorm
// blocks (causal multi-head attention, ReLU MLP of width 4·Dim), a final
// LayerNorm and an output layer tied to the token embedding. Linear layers
// have no biases. ReLU instead of GELU keeps transcendental functions out of
// the MLP (GELU needs tanh or erf, which would need our own versions too).
type Model struct {
	Cfg    Config
	Params []float32 // all parameters, flat
	Grads  []float32

	wte, wpe   tensor
	layers     []layerParams
	lnfg, lnfb tensor
	decay      []tensor // matrices that get weight decay

	act *activations
}

func newLayout(c Config) (m *Model, total int) {
	m = &Model{Cfg: c}
	alloc := func(n int) tensor { t := tensor{total, n}; total += n; return t }
	d := c.Dim
	m.wte = alloc(c.Vocab * d)
	m.wpe = alloc(c.Ctx * d)
	m.decay = append(m.decay, m.wte, m.wpe)
	for l := 0; l < c.Layers; l++ {
		var p layerParams
		p.ln1g, p.ln1b = alloc(d), alloc(d)
		p.wqkv, p.wo = alloc(d*3*d), alloc(d*d)
		p.ln2g, p.ln2b = alloc(d), alloc(d)
		p.wfc, p.wproj = alloc(d*4*d), alloc(4*d*d)
		m.layers = append(m.layers, p)
		m.decay = append(m.decay, p.wqkv, p.wo, p.wfc, p.wproj)
	}
	m.lnfg, m.lnfb = alloc(d), alloc(d)
	return m, total
}

// NumParams is the parameter count of a model with this config.
func (c Config) NumParams() int { _, n := newLayout(c); return n }

// NewModel initialises a model from seed: weights uniform with standard
// deviation 0.02 (residual output projections scaled by 1/sqrt(2·Layers), as
// in GPT-2), LayerNorm gains 1 and biases 0. Uniform rather than normal
// draws avoid needing a logarithm and a cosine in the initialiser.
func NewModel(c Config, seed uint64) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	m, total := newLayout(c)
	m.Params = make([]float32, total)
	m.Grads = make([]float32, total)
	rng := NewRNG(seed)
	const std = 0.02
	fill := func(t tensor, s float64) {
		a := s * math.Sqrt(3) // uniform(-a, a) has standard deviation s
		for i := range m.view(t) {
			m.Params[t.off+i] = float32((2*rng.Float64() - 1) * a)
		}
	}
	ones := func(t tensor) {
		for i := range m.view(t) {
			m.Params[t.off+i] = 1
		}
	}
	fill(m.wte, std)
	fill(m.wpe, std)
	resid := std / math.Sqrt(2*float64(c.Layers))
	for _, p := range m.layers {
		ones(p.ln1g)
		ones(p.ln2g)
		fill(p.wqkv, std)
		fill(p.wo, resid)
		fill(p.wfc, std)
		fill(p.wproj, resid)
	}
	ones(m.lnfg)
	return m, nil
}

func (m *Model) view(t tensor) []float32  { return m.Params[t.off : t.off+t.n] }
func (m *Model) gview(t tensor) []float32 { return m.Grads[t.off : t.off+t.n] }

// layerActs holds what one block's backward pass needs from its forward pass.
type layerActs struct {
	xin          []float32 // block input (residual stream)
	ln1, ln1Mean []float32
	ln1Rstd      []float32
	qkv          []float32 // R×3d
	att          []float32 // per sequence and head: Ctx×Ctx probabilities
	y            []float32 // attention output before projection, R×d
	x1           []float32 // residual after attention
	ln2, ln2Mean []float32
	ln2Rstd      []float32
	fc           []float32 // R×4d before ReLU
	fcAct        []float32 // after ReLU
}

type activations struct {
	rows                 int // capacity in rows (Batch·Ctx)
	layers               []layerActs
	xf                   []float32 // final residual
	lnf, lnfMean, lnfRst []float32
	logits               []float32 // R×V, holds dlogits after the loss
	rowLoss              []float32
	rowHit               []bool
	// scratch for backward
	dx, dx1, dtmp, dqkv, dy, dfc []float32
	datt                         []float32
	scratch                      []float32 // transposed weights for matNT
}

func (m *Model) ensureActs() *activations {
	if m.act != nil {
		return m.act
	}
	c := m.Cfg
	R, d, V, T := c.Batch*c.Ctx, c.Dim, c.Vocab, c.Ctx
	f := func(n int) []float32 { return make([]float32, n) }
	a := &activations{rows: R}
	for range m.layers {
		a.layers = append(a.layers, layerActs{
			xin: f(R * d), ln1: f(R * d), ln1Mean: f(R), ln1Rstd: f(R),
			qkv: f(R * 3 * d), att: f(c.Batch * c.Heads * T * T), y: f(R * d), x1: f(R * d),
			ln2: f(R * d), ln2Mean: f(R), ln2Rstd: f(R), fc: f(R * 4 * d), fcAct: f(R * 4 * d),
		})
	}
	a.xf, a.lnf, a.lnfMean, a.lnfRst = f(R*d), f(R*d), f(R), f(R)
	a.logits, a.rowLoss, a.rowHit = f(R*V), f(R), make([]bool, R)
	a.dx, a.dx1, a.dtmp, a.dqkv, a.dy, a.dfc = f(R*d), f(R*d), f(R*d), f(R*3*d), f(R*d), f(R*4*d)
	a.datt = f(c.Batch * c.Heads * T * T)
	a.scratch = f(max(V*d, 4*d*d))
	m.act = a
	return a
}

const lnEps = 1e-5

// layerNorm normalises each row of x (R×d) into out, saving mean and 1/std.
func layerNorm(out, mean, rstd, x, g, b []float32, R, d int) {
	parallelFor(chunks(R, rowChunk), func(c int) {
		for r := c * rowChunk; r < min((c+1)*rowChunk, R); r++ {
			xr := x[r*d : r*d+d]
			var s float32
			for _, v := range xr {
				s += v
			}
			mu := s / float32(d)
			var vs float32
			for _, v := range xr {
				dv := v - mu
				vs += float32(dv * dv)
			}
			rs := 1 / sqrt32(vs/float32(d)+lnEps)
			mean[r], rstd[r] = mu, rs
			o := out[r*d : r*d+d]
			for i, v := range xr {
				o[i] = float32(float32((v-mu)*rs)*g[i]) + b[i]
			}
		}
	})
}

// layerNormBack adds the input gradient to dx and the parameter gradients to
// dg, db. Parameter gradients sum over rows, so they are reduced serially.
func layerNormBack(dx, dout, x, mean, rstd, g, dg, db []float32, R, d int) {
	parallelFor(chunks(R, rowChunk), func(c int) {
		for r := c * rowChunk; r < min((c+1)*rowChunk, R); r++ {
			xr, dr, dxr := x[r*d:r*d+d], dout[r*d:r*d+d], dx[r*d:r*d+d]
			mu, rs := mean[r], rstd[r]
			var sdy, sdyx float32
			for i := range xr {
				xh := float32((xr[i] - mu) * rs)
				dxh := float32(dr[i] * g[i])
				sdy += dxh
				sdyx += float32(dxh * xh)
			}
			mdy, mdyx := sdy/float32(d), sdyx/float32(d)
			for i := range xr {
				xh := float32((xr[i] - mu) * rs)
				dxh := float32(dr[i] * g[i])
				dxr[i] += float32(rs * (dxh - mdy - float32(xh*mdyx)))
			}
		}
	})
	parallelFor(chunks(d, 32), func(c int) {
		for i := c * 32; i < min((c+1)*32, d); i++ {
			var sg, sb float32
			for r := 0; r < R; r++ {
				xh := float32((x[r*d+i] - mean[r]) * rstd[r])
				sg += float32(dout[r*d+i] * xh)
				sb += dout[r*d+i]
			}
			dg[i] += sg
			db[i] += sb
		}
	})
}
