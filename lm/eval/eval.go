// Package eval judges a dataset by training a small language model on it
// and measuring the model: the validators' dataset-quality score.
//
// A fixed protocol (model shape, seeds, token budget, schedule, vocabulary
// and evaluation data) makes the score a pure function of the dataset, the
// same bits on every validator. See docs/evaluate.md for the measurements
// behind the choices.
package eval

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/datarefine/refine/lm"
)

// Protocol is everything validators must share for their scores to agree.
// Changing any field changes scores: bump Version.
type Protocol struct {
	Version    string
	Model      lm.Config
	Seeds      []uint64 // one training run per seed; the score is the mean
	PoolTokens int      // tokens sampled from the dataset into the training pool
	RefTokens  int      // tokens of the reference text scored
	BenchItems int      // items scored per benchmark (the first ones); 0 = all
	SampleSalt uint64   // salt of the document-order hash
}

// ProtocolV1 is the first protocol, superseded by ProtocolV2 (validators
// and `refine evaluate` use that) and kept as the base of V2 and of the
// tests' cheap configurations: a 2-layer, width-32, 4-head GPT over a
// 2048-token vocabulary, context 64, batch 8, trained for 96 steps (49,152
// tokens) on each of 5 seeds, scored on the first 8,192 tokens of the
// reference text. It separated word-shuffled text by only 1.7σ
// (docs/evaluate.md).
func ProtocolV1() Protocol {
	return Protocol{
		Version: "refine-eval/1",
		Model: lm.Config{
			Vocab: 2048, Ctx: 64, Dim: 32, Heads: 4, Layers: 2, Batch: 8,
			Steps: 96, Warmup: 8,
			LR: 5e-3, WeightDecay: 0.1, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, ClipNorm: 1,
		},
		Seeds:      []uint64{1, 2, 3, 4, 5},
		PoolTokens: 1 << 17,
		RefTokens:  1 << 13,
		BenchItems: 50,
		SampleSalt: 0x7265_6669_6e65_0001,
	}
}

// ProtocolV2 is the validator protocol: the model of refine-eval/1 (a
// 2-layer, width-32, 4-head GPT over a 2048-token vocabulary, context 64,
// batch 8) trained 8× longer, 768 steps (393,216 tokens) on each of 4
// seeds, scored on the first 8,192 tokens of the reference text. Word order
// is the slowest thing a small model learns; at refine-eval/1's 96 steps it
// separated word-shuffled text by only 1.7σ, and the pilots (docs/evaluate.md)
// showed the gap growing with the number of steps much faster than with
// width. TestDiscrimination runs exactly this protocol.
func ProtocolV2() Protocol {
	p := ProtocolV1()
	p.Version = "refine-eval/2"
	p.Model.Steps, p.Model.Warmup = 768, 32
	p.Seeds = []uint64{1, 2, 3, 4}
	return p
}

// Asset names an evaluation file by path or URL.
type Asset struct {
	Source string
	Format string // for reference text: FormatAuto, FormatWikiText, FormatPlain
}

// NamedAsset is a benchmark asset with the name it is reported under.
type NamedAsset struct {
	Name   string
	Source string
}

// Options configures an Evaluator.
type Options struct {
	Protocol   Protocol
	Reference  Asset        // held-out reference text: vocabulary and the scored loss
	Benchmarks []NamedAsset // multiple-choice JSONL; reported, not scored (see docs)
	Opener     Opener       // nil: DefaultOpener
	Logf       func(format string, args ...any)
}

// Evaluator holds the prepared evaluation data; it is safe to reuse but not
// for concurrent calls (it runs the protocol's seeds concurrently itself).
type Evaluator struct {
	proto   Protocol
	tok     *lm.Tokenizer
	vocab   *lm.Vocab
	ref     []int32
	benches []benchData
	logf    func(string, ...any)
}

type benchData struct {
	name  string
	items []lm.Continuation // choices of all questions, flattened
	first []int             // index of each question's first choice in items
	gold  []int
	bytes []int // byte length of each choice's continuation text
}

// New loads the reference text and benchmarks and builds the vocabulary.
func New(ctx context.Context, opts Options) (*Evaluator, error) {
	p := opts.Protocol
	if err := p.Model.Validate(); err != nil {
		return nil, err
	}
	if len(p.Seeds) == 0 || p.PoolTokens < 1 || p.RefTokens < 2 {
		return nil, errors.New("eval: protocol needs seeds, a pool and reference tokens")
	}
	if opts.Reference.Source == "" {
		return nil, errors.New("eval: no reference text")
	}
	op := opts.Opener
	if op == nil {
		op = DefaultOpener{}
	}
	e := &Evaluator{proto: p, logf: opts.Logf}
	if e.logf == nil {
		e.logf = func(string, ...any) {}
	}
	tok, err := lm.GPT2()
	if err != nil {
		return nil, err
	}
	e.tok = tok
	raw, err := readAsset(ctx, op, opts.Reference.Source)
	if err != nil {
		return nil, err
	}
	refDocs := tok.EncodeAll(ReferenceDocs(string(raw), opts.Reference.Format))
	if e.vocab, err = lm.BuildVocab(refDocs, p.Model.Vocab); err != nil {
		return nil, err
	}
	for _, d := range refDocs {
		e.ref = append(e.ref, lm.DocSep)
		e.ref = e.vocab.Map(e.ref, d)
		if len(e.ref) >= p.RefTokens {
			break
		}
	}
	if len(e.ref) > p.RefTokens {
		e.ref = e.ref[:p.RefTokens]
	}
	e.logf("reference: %d docs, vocabulary covers %.1f%% of its tokens, %d tokens scored",
		len(refDocs), 100*e.vocab.Coverage(refDocs), len(e.ref))
	for _, b := range opts.Benchmarks {
		data, err := readAsset(ctx, op, b.Source)
		if err != nil {
			return nil, err
		}
		items, err := ParseBenchmark(data)
		if err != nil {
			return nil, fmt.Errorf("eval: benchmark %s: %w", b.Name, err)
		}
		if p.BenchItems > 0 && len(items) > p.BenchItems {
			items = items[:p.BenchItems]
		}
		e.benches = append(e.benches, e.prepareBench(b.Name, items))
	}
	return e, nil
}

func (e *Evaluator) prepareBench(name string, items []Item) benchData {
	bd := benchData{name: name}
	for _, it := range items {
		bd.first = append(bd.first, len(bd.items))
		bd.gold = append(bd.gold, it.Gold)
		ctx := e.vocab.Map(nil, e.tok.Encode(it.Query))
		for _, ch := range it.Choices {
			cont := continuationText(it.Query, ch)
			bd.items = append(bd.items, lm.Continuation{Context: ctx, Continuation: e.vocab.Map(nil, e.tok.Encode(cont))})
			bd.bytes = append(bd.bytes, max(1, len(cont)))
		}
	}
	bd.first = append(bd.first, len(bd.items))
	return bd
}

// Stat is a mean and sample standard deviation over seeds.
type Stat struct {
	Mean float64 `json:"mean"`
	SD   float64 `json:"sd"`
}

func stat(xs []float64) Stat {
	var s Stat
	for _, x := range xs {
		s.Mean += x
	}
	s.Mean /= float64(len(xs))
	if len(xs) > 1 {
		var v float64
		for _, x := range xs {
			v += (x - s.Mean) * (x - s.Mean)
		}
		s.SD = math.Sqrt(v / float64(len(xs)-1))
	}
	return s
}

// SeedResult is one training run.
type SeedResult struct {
	Seed        uint64             `json:"seed"`
	TrainLoss   float64            `json:"train_loss"`
	RefLoss     float64            `json:"ref_loss"`
	RefAccuracy float64            `json:"ref_accuracy"`
	Benchmarks  map[string]float64 `json:"benchmarks,omitempty"`
}

// Report is the evaluation of one dataset.
type Report struct {
	Protocol    string          `json:"protocol"`
	Documents   int             `json:"documents"`
	PoolDocs    int             `json:"pool_documents"`
	PoolTokens  int             `json:"pool_tokens"`
	PoolOOV     float64         `json:"pool_oov_fraction"`
	TrainTokens int             `json:"train_tokens_per_seed"`
	Seeds       []SeedResult    `json:"seeds"`
	RefLoss     Stat            `json:"ref_loss"`     // nats per token on the reference text
	RefAccuracy Stat            `json:"ref_accuracy"` // top-1 next-token accuracy (reported, not scored)
	Benchmarks  map[string]Stat `json:"benchmarks,omitempty"`
	// Quality is the score, higher is better: minus the mean reference loss.
	Quality   float64 `json:"quality"`
	QualitySD float64 `json:"quality_sd"`
	Seconds   float64 `json:"seconds"`
}

// Pool samples the training pool of a dataset: documents in the order of a
// salted FNV-1a hash of their text (a fixed pseudo-random order that does
// not depend on file order), tokenised and separated by DocSep until
// PoolTokens. Identical documents hash alike and stay adjacent, so a
// dataset of duplicates yields a pool of that one document.
func (e *Evaluator) Pool(docs []string) (pool []int32, used int, oov float64) {
	type keyed struct {
		h uint64
		i int
	}
	keys := make([]keyed, 0, len(docs))
	for i, d := range docs {
		if d == "" {
			continue
		}
		h := fnv.New64a()
		var salt [8]byte
		for b := range salt {
			salt[b] = byte(e.proto.SampleSalt >> (8 * b))
		}
		h.Write(salt[:])
		h.Write([]byte(d))
		keys = append(keys, keyed{h.Sum64(), i})
	}
	sort.Slice(keys, func(a, b int) bool {
		if keys[a].h != keys[b].h {
			return keys[a].h < keys[b].h
		}
		return keys[a].i < keys[b].i
	})
	const batch = 64
	var nOOV int
	for start := 0; start < len(keys) && len(pool) < e.proto.PoolTokens; start += batch {
		texts := make([]string, 0, batch)
		for _, k := range keys[start:min(start+batch, len(keys))] {
			texts = append(texts, docs[k.i])
		}
		for _, ids := range e.tok.EncodeAll(texts) {
			if len(pool) >= e.proto.PoolTokens {
				break
			}
			used++
			pool = append(pool, lm.DocSep)
			n := len(pool)
			pool = e.vocab.Map(pool, ids)
			for _, t := range pool[n:] {
				if t == lm.OOV {
					nOOV++
				}
			}
		}
	}
	if len(pool) > e.proto.PoolTokens {
		pool = pool[:e.proto.PoolTokens]
	}
	if len(pool) > 0 {
		oov = float64(nOOV) / float64(len(pool))
	}
	return pool, used, oov
}

// Evaluate trains one model per protocol seed on the dataset's documents
// and measures them.
func (e *Evaluator) Evaluate(ctx context.Context, docs []string) (*Report, error) {
	start := time.Now()
	pool, used, oov := e.Pool(docs)
	return e.evaluatePool(ctx, start, len(docs), pool, used, oov)
}

func (e *Evaluator) evaluatePool(ctx context.Context, start time.Time, docs int, pool []int32, used int, oov float64) (*Report, error) {
	if len(pool) < 2 {
		return nil, errors.New("eval: dataset has no text")
	}
	r := &Report{Protocol: e.proto.Version, Documents: docs, PoolDocs: used, PoolTokens: len(pool),
		PoolOOV: oov, TrainTokens: e.proto.Model.TrainTokens()}
	// The seeds train concurrently (at most GOMAXPROCS at a time): a model
	// this small keeps only about 1.2 cores busy, and each run is a pure
	// function of (config, seed, pool), so running them side by side changes
	// no bit; the results are gathered in seed order.
	seeds := e.proto.Seeds
	results := make([]SeedResult, len(seeds))
	errs := make([]error, len(seeds))
	sem := make(chan struct{}, max(1, min(len(seeds), runtime.GOMAXPROCS(0))))
	var wg sync.WaitGroup
	for i, seed := range seeds {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i], errs[i] = e.runSeed(ctx, seed, pool)
		}()
	}
	wg.Wait()
	var losses, accs []float64
	benchAcc := map[string][]float64{}
	for i, sr := range results {
		if errs[i] != nil {
			return nil, errs[i]
		}
		e.logf("seed %d: train loss %.4f, reference loss %.4f, accuracy %.4f", sr.Seed, sr.TrainLoss, sr.RefLoss, sr.RefAccuracy)
		for _, b := range e.benches {
			benchAcc[b.name] = append(benchAcc[b.name], sr.Benchmarks[b.name])
		}
		r.Seeds = append(r.Seeds, sr)
		losses = append(losses, sr.RefLoss)
		accs = append(accs, sr.RefAccuracy)
	}
	r.RefLoss, r.RefAccuracy = stat(losses), stat(accs)
	if len(benchAcc) > 0 {
		r.Benchmarks = map[string]Stat{}
		for k, v := range benchAcc {
			r.Benchmarks[k] = stat(v)
		}
	}
	r.Quality, r.QualitySD = -r.RefLoss.Mean, r.RefLoss.SD
	r.Seconds = time.Since(start).Seconds()
	return r, nil
}

// runSeed trains and measures one model.
func (e *Evaluator) runSeed(ctx context.Context, seed uint64, pool []int32) (SeedResult, error) {
	m, st, err := lm.Train(ctx, e.proto.Model, seed, pool)
	if err != nil {
		return SeedResult{}, fmt.Errorf("eval: train seed %d: %w", seed, err)
	}
	res, err := m.Evaluate(ctx, e.ref)
	if err != nil {
		return SeedResult{}, fmt.Errorf("eval: seed %d: reference: %w", seed, err)
	}
	sr := SeedResult{Seed: seed, TrainLoss: st.LastLoss, RefLoss: res.Loss, RefAccuracy: res.Accuracy}
	for _, b := range e.benches {
		acc, err := e.scoreBench(ctx, m, b)
		if err != nil {
			return SeedResult{}, fmt.Errorf("eval: seed %d: benchmark %s: %w", seed, b.name, err)
		}
		if sr.Benchmarks == nil {
			sr.Benchmarks = map[string]float64{}
		}
		sr.Benchmarks[b.name] = acc
	}
	return sr, nil
}

// scoreBench returns the accuracy of choosing, per question, the choice
// with the highest log-likelihood per byte of continuation (acc_norm).
func (e *Evaluator) scoreBench(ctx context.Context, m *lm.Model, b benchData) (float64, error) {
	lp, err := m.LogProbs(ctx, b.items)
	if err != nil {
		return 0, err
	}
	right := 0
	for q := range b.gold {
		best, arg := math.Inf(-1), -1
		for i := b.first[q]; i < b.first[q+1]; i++ {
			if s := lp[i] / float64(b.bytes[i]); s > best {
				best, arg = s, i-b.first[q]
			}
		}
		if arg == b.gold[q] {
			right++
		}
	}
	return float64(right) / float64(len(b.gold)), nil
}

// Comparison is a relative evaluation of dataset A against dataset B under
// the same protocol (same budget, same seeds, paired by seed).
type Comparison struct {
	A, B *Report
	// Delta is A's quality minus B's; positive means A is better.
	Delta float64 `json:"delta"`
	// DeltaSD is the standard deviation of the per-seed differences, and Z
	// is Delta divided by it (0 when it is 0): how many seed-to-seed
	// standard deviations separate the two.
	DeltaSD float64 `json:"delta_sd"`
	Z       float64 `json:"z"`
}

// Compare evaluates two datasets under the same protocol. The validator
// uses it with a miner's documents as A and the reference pipeline's output
// for the same sampled records as B, so the score measures the refinement,
// not the luck of the WARC drawn.
//
// When both datasets sample to the same training pool (an honest miner's
// documents are the reference output), the two evaluations would be the
// same bits, so the models are trained once and Delta is exactly 0.
func (e *Evaluator) Compare(ctx context.Context, a, b []string) (*Comparison, error) {
	start := time.Now()
	pa, usedA, oovA := e.Pool(a)
	ra, err := e.evaluatePool(ctx, start, len(a), pa, usedA, oovA)
	if err != nil {
		return nil, fmt.Errorf("eval: dataset A: %w", err)
	}
	start = time.Now()
	pb, usedB, oovB := e.Pool(b)
	var rb *Report
	if slices.Equal(pa, pb) {
		c := *ra
		c.Documents, c.PoolDocs, c.Seconds = len(b), usedB, time.Since(start).Seconds()
		rb = &c
	} else if rb, err = e.evaluatePool(ctx, start, len(b), pb, usedB, oovB); err != nil {
		return nil, fmt.Errorf("eval: dataset B: %w", err)
	}
	return compareReports(ra, rb), nil
}

func compareReports(ra, rb *Report) *Comparison {
	c := &Comparison{A: ra, B: rb, Delta: ra.Quality - rb.Quality}
	diffs := make([]float64, len(ra.Seeds))
	for i := range diffs {
		diffs[i] = rb.Seeds[i].RefLoss - ra.Seeds[i].RefLoss
	}
	c.DeltaSD = stat(diffs).SD
	if c.DeltaSD > 0 {
		c.Z = c.Delta / c.DeltaSD
	}
	return c
}

// Protocol returns the evaluator's protocol.
func (e *Evaluator) Protocol() Protocol { return e.proto }
