package validator

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/internal/shareddata"
	"github.com/datarefine/refine/lm"
	"github.com/datarefine/refine/lm/eval"
)

// goldenTexts returns up to n refined (kept, English) documents of the
// golden trafilatura run and up to n German pages (unfiltered text).
func goldenTexts(t testing.TB, n int) (refined, german []string) {
	t.Helper()
	f, err := os.Open(shareddata.Path(t, "golden", "golden_trafilatura_eval.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var row struct {
			Seq   string `json:"sequential_result_with_lang"`
			Final string `json:"final_text"`
			Text  string `json:"extracted_text"`
			Lang  string `json:"lid_top1_label"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatal(err)
		}
		switch {
		case row.Seq == "kept" && len(refined) < n:
			refined = append(refined, row.Final)
		case row.Lang == "de" && row.Text != "" && len(german) < n:
			german = append(german, row.Text)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return refined, german
}

// shuffleWords permutes the words of each document with a fixed seed.
func shuffleWords(docs []string, seed uint64) []string {
	rng := lm.NewRNG(seed)
	out := make([]string, len(docs))
	for i, d := range docs {
		w := strings.Fields(d)
		for j := len(w) - 1; j > 0; j-- {
			k := rng.Intn(j + 1)
			w[j], w[k] = w[k], w[j]
		}
		out[i] = strings.Join(w, " ")
	}
	return out
}

// TestLMQualityRelative: under the validator protocol, a miner whose
// documents are the reference output scores exactly 1, and one whose
// documents are the reference output word-shuffled scores lower. (Padding
// with junk is TestRelativeQualityInValidator's case; each case here costs
// two full evaluations.)
func TestLMQualityRelative(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the small model")
	}
	refined, _ := goldenTexts(t, 40)
	q, err := NewLMQuality(context.Background(), shareddata.Path(t, "reference_text", "wikitext-2-raw", "wiki.test.raw"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	shuffled, err := q.Quality(ctx, shuffleWords(refined, 5), refined)
	if err != nil {
		t.Fatal(err)
	}
	// The honest case trains nothing: the two sides are the same.
	honest, err := q.Quality(ctx, refined, refined)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("quality: honest %.4f, word-shuffled %.4f", honest, shuffled)
	if honest != 1 {
		t.Errorf("honest miner (its documents are the reference output): quality %v, want 1", honest)
	}
	if !(shuffled < honest) {
		t.Errorf("word-shuffled %.4f should score below honest %.4f", shuffled, honest)
	}
	if empty, _ := q.Quality(ctx, refined, nil); empty != 0 {
		t.Errorf("no reference output: quality %v, want 0", empty)
	}
}

// TestLMQualitySameSides: the same documents on both sides score 1 without
// training (the evaluator here has no model: training would panic).
func TestLMQualitySameSides(t *testing.T) {
	q := &LMQuality{LossScale: 1}
	docs := []string{"one document", "another"}
	if got, err := q.Quality(context.Background(), docs, slices.Clone(docs)); err != nil || got != 1 {
		t.Fatalf("same sides: %v, %v", got, err)
	}
}

// TestRelativeQualityInValidator runs the validator on real submissions and
// checks the wiring of the relative score: the quality scorer sees the
// sampled documents against the reference pipeline's output for the same
// records, so an honest miner scores exactly 1 and a miner whose documents
// were replaced by foreign text (junk) scores lower. (The validator here tolerates
// any provenance mismatch and missing record, so that the second
// submission reaches the quality score; by default it is rejected first. A short protocol keeps the test cheap:
// the full protocol's discrimination is TestLMQualityRelative's and
// lm/eval's.)
func TestRelativeQualityInValidator(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the small model")
	}
	p := eval.ProtocolV2()
	p.Model.Steps, p.Model.Warmup, p.Seeds = 48, 4, []uint64{1, 2}
	ev, err := eval.New(context.Background(), eval.Options{Protocol: p,
		Reference: eval.Asset{Source: shareddata.Path(t, "reference_text", "wikitext-2-raw", "wiki.test.raw")}})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingQuality{inner: &LMQuality{ev: ev, LossScale: 1}}
	_, german := goldenTexts(t, 200)

	e := newEnv(t, false)
	A, B := warcA(t), warcB(t)
	for _, n := range []string{"Honest", "Foreign"} {
		e.register(n, 0)
	}
	e.honest("Honest", "c-honest", A, 0, 24)
	e.submit("Foreign", "c-foreign", B, 0, 0, "", func(dir string, m *dataset.Manifest) {
		rewrite(t, dir, m, func(docs []dataset.Doc, refs []dataset.RecordRef) ([]dataset.Doc, []dataset.RecordRef) {
			for i := range docs {
				docs[i].Text = german[i%len(german)]
				docs[i].TokenCount = countTokens(t, docs[i].Text)
			}
			return docs, refs
		})
	})
	opts := e.options(filepath.Join(t.TempDir(), "v.db"))
	opts.Quality, opts.MaxMismatch, opts.CoverageMaxMissing = rec, 1, 1
	v, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	recs, err := v.Round(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := byHotkey(recs)
	h, f := got[key(t, "Honest").SS58()], got[key(t, "Foreign").SS58()]
	t.Logf("honest: %s quality %.4f; foreign: %s quality %.4f", describe(h), h.Verdict.Quality, describe(f), f.Verdict.Quality)
	if !h.Verdict.Accepted || h.Verdict.Quality != 1 {
		t.Errorf("honest miner: %s, quality %v, want accepted with quality 1", describe(h), h.Verdict.Quality)
	}
	if !f.Verdict.Accepted || !(f.Verdict.Quality < 1) {
		t.Errorf("foreign-text miner: %s, quality %v, want accepted (tolerant validator) with quality < 1", describe(f), f.Verdict.Quality)
	}
	if len(rec.calls) != 2 {
		t.Fatalf("%d quality calls, want 2", len(rec.calls))
	}
	for _, c := range rec.calls {
		if len(c.miner) == 0 || len(c.reference) == 0 {
			t.Errorf("quality called with %d miner and %d reference documents", len(c.miner), len(c.reference))
		}
	}
}

type qualityCall struct{ miner, reference []string }

// recordingQuality records what the validator passes to its scorer.
type recordingQuality struct {
	inner QualityScorer
	calls []qualityCall
}

func (r *recordingQuality) Quality(ctx context.Context, miner, reference []string) (float64, error) {
	r.calls = append(r.calls, qualityCall{miner, reference})
	return r.inner.Quality(ctx, miner, reference)
}
