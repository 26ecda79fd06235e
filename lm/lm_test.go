package lm

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"runtime"
	"sort"
	"testing"
)

func tinyConfig() Config {
	return Config{Vocab: 13, Ctx: 6, Dim: 8, Heads: 2, Layers: 2, Batch: 3, Steps: 20, Warmup: 2,
		LR: 1e-2, WeightDecay: 0.1, Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, ClipNorm: 1}
}

func TestExpLog(t *testing.T) {
	for _, x := range []float32{-87, -20, -3.3, -1, -0.1, 0, 1e-7, 0.5, 1, 2.7, 10, 50, 88} {
		got, want := float64(Exp(x)), math.Exp(float64(x))
		if math.Abs(got-want) > 1e-6*want {
			t.Errorf("Exp(%g) = %g, want %g", x, got, want)
		}
	}
	for _, x := range []float64{1e-30, 1e-5, 0.3, 0.7071, 1, 1.5, 2, 10, 1e5, 1e30} {
		if got, want := Log(x), math.Log(x); math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
			t.Errorf("Log(%g) = %.17g, want %.17g", x, got, want)
		}
	}
	if Exp(-100) != 0 || !math.IsInf(float64(Exp(100)), 1) || !math.IsInf(Log(0), -1) {
		t.Error("Exp/Log edge cases wrong")
	}
}

// TestGradientCheck compares the analytic gradient of about 40 parameters
// of every tensor with the central finite difference of the loss.
var gradSeed uint64 = 3

func TestGradientCheck(t *testing.T) {
	cfg := tinyConfig()
	m, err := NewModel(cfg, 7)
	if err != nil {
		t.Fatal(err)
	}
	rng := NewRNG(gradSeed)
	// Larger weights than the init so every path carries a visible gradient.
	for i := range m.Params {
		m.Params[i] += float32((rng.Float64()*2 - 1) * 0.1)
	}
	// Sharper attention, so the query and key gradients are not negligible.
	for _, p := range m.layers {
		for i := range m.view(p.wqkv) {
			m.Params[p.wqkv.off+i] *= 5
		}
	}
	n := cfg.Batch * cfg.Ctx
	tokens, targets := make([]int32, n), make([]int32, n)
	for i := range tokens {
		tokens[i] = int32(rng.Intn(cfg.Vocab))
		targets[i] = int32(rng.Intn(cfg.Vocab))
	}
	targets[4] = -1 // ignored position
	// signs records which ReLU units are active: finite differences are only
	// valid where the loss is smooth, so a trial whose step flips a unit is
	// redrawn.
	signs := func() []bool {
		var out []bool
		for _, la := range m.act.layers {
			for _, v := range la.fc[:n*4*cfg.Dim] {
				out = append(out, v > 0)
			}
		}
		return out
	}
	same := func(a, b []bool) bool {
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	loss := func() (float64, []bool) {
		s, c := m.forward(tokens, targets, cfg.Batch, false)
		return s / float64(c), signs()
	}
	clear(m.Grads)
	m.forward(tokens, targets, cfg.Batch, true)
	m.backward(tokens, cfg.Batch)
	grad := append([]float32(nil), m.Grads...)
	base := signs()
	orig := append([]float32(nil), m.Params...)

	tensors := map[string]tensor{"wte": m.wte, "wpe": m.wpe, "lnf.g": m.lnfg, "lnf.b": m.lnfb}
	for l, p := range m.layers {
		for name, tt := range map[string]tensor{"ln1.g": p.ln1g, "ln1.b": p.ln1b, "wqkv": p.wqkv, "wo": p.wo,
			"ln2.g": p.ln2g, "ln2.b": p.ln2b, "wfc": p.wfc, "wproj": p.wproj} {
			tensors[fmt.Sprint(l, ".", name)] = tt
		}
	}
	names := make([]string, 0, len(tensors))
	for name := range tensors {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		tt := tensors[name]
		checked, skipped := 0, 0
		stride := max(1, tt.n/40)
		for i := tt.off; i < tt.off+tt.n; i += stride {
			const h = 1e-3
			m.Params[i] = orig[i] + h
			lp, sp := loss()
			m.Params[i] = orig[i] - h
			lm, sm := loss()
			m.Params[i] = orig[i]
			if !same(sp, base) || !same(sm, base) {
				skipped++
				continue
			}
			checked++
			num := (lp - lm) / (2 * h)
			an := float64(grad[i])
			if math.Abs(num-an) > 0.03*math.Max(math.Abs(num), math.Abs(an))+3e-4 {
				t.Errorf("%s[%d]: analytic %.6g, numeric %.6g", name, i-tt.off, an, num)
			}
		}
		if 4*checked < checked+skipped {
			t.Errorf("%s: %d of %d probes crossed a ReLU kink", name, skipped, checked+skipped)
		}
	}
}

// TestTrainingDeterministic trains the same model under different
// GOMAXPROCS and requires identical bits, and requires the loss to fall.
func TestTrainingDeterministic(t *testing.T) {
	cfg := tinyConfig()
	cfg.Vocab, cfg.Dim, cfg.Ctx, cfg.Batch, cfg.Steps = 40, 16, 20, 4, 60
	pool := make([]int32, 3000)
	for i := range pool { // a learnable sequence: repeating counter with noise
		pool[i] = int32(i % 37)
		if i%11 == 0 {
			pool[i] = 39
		}
	}
	var ref []float32
	var refStats TrainStats
	for _, procs := range []int{1, 2, 3} {
		old := runtime.GOMAXPROCS(procs)
		m, st, err := Train(context.Background(), cfg, 42, pool)
		runtime.GOMAXPROCS(old)
		if err != nil {
			t.Fatal(err)
		}
		if ref == nil {
			ref, refStats = m.Params, st
			if !(st.LastLoss < st.FirstLoss*0.7) {
				t.Errorf("loss did not fall: first %.4f last %.4f", st.FirstLoss, st.LastLoss)
			}
			continue
		}
		if st != refStats {
			t.Errorf("GOMAXPROCS=%d: stats %+v, want %+v", procs, st, refStats)
		}
		for i := range ref {
			if math.Float32bits(ref[i]) != math.Float32bits(m.Params[i]) {
				t.Fatalf("GOMAXPROCS=%d: parameter %d differs: %x vs %x", procs, i, math.Float32bits(m.Params[i]), math.Float32bits(ref[i]))
			}
		}
	}
}

// protocolFingerprint is the FNV-1a hash of the parameters after
// TestProtocolFingerprint's training run. Every build (scalar or
// GOEXPERIMENT=simd) on every machine must reproduce it: a change means
// validators would disagree, so it is a protocol-version change.
const protocolFingerprint = 0x50ca4836f4ed3fac

func TestProtocolFingerprint(t *testing.T) {
	cfg := tinyConfig()
	cfg.Vocab, cfg.Dim, cfg.Ctx, cfg.Batch, cfg.Steps = 50, 16, 16, 4, 10
	pool := make([]int32, 2000)
	rng := NewRNG(11)
	for i := range pool {
		pool[i] = int32(rng.Intn(cfg.Vocab))
	}
	m, _, err := Train(context.Background(), cfg, 5, pool)
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Evaluate(context.Background(), pool[:500])
	if err != nil {
		t.Fatal(err)
	}
	h := fnv.New64a()
	var b [8]byte
	for _, p := range m.Params {
		binary.LittleEndian.PutUint32(b[:4], math.Float32bits(p))
		h.Write(b[:4])
	}
	binary.LittleEndian.PutUint64(b[:], math.Float64bits(res.Loss))
	h.Write(b[:])
	if got := h.Sum64(); got != protocolFingerprint {
		t.Errorf("fingerprint %#x, want %#x (simd kernels: %v)", got, uint64(protocolFingerprint), simdKernels)
	}
}
