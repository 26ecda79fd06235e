package verify

import (
	"context"
	"math"
	"testing"

	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/internal/shareddata"
	"github.com/datarefine/refine/process"
)

// TestPaddingAcrossSeeds checks the padding row of the attack table with
// the real draw function: the honest output of a test WARC padded with junk
// rows holding a fifth of the bytes, drawn under 4,000 seeds. A draw that
// lands on junk fails provenance (TestAttackLongJunkRows shows it end to
// end), so the submission passes when no draw lands on junk: the observed
// pass rate is (1 − g)^16, and the attacker's mean reward over seeds — what
// it earns per lease when it cannot choose its seed — is the table's
// multiplier, below an honest miner's 1.
func TestPaddingAcrossSeeds(t *testing.T) {
	warc := shareddata.Path(t, "warc", "real_crawls", "dolma_browsertrix_sample-0000.warc.gz")
	_, assetsDir := testReference(t, nil)
	out := t.TempDir()
	m, err := process.Run(context.Background(), process.Options{Inputs: []string{warc}, Output: out, Workers: 1,
		Steps: process.StepOptions{AssetsDir: assetsDir}})
	if err != nil {
		t.Fatal(err)
	}
	var lengths []int32
	var honest int64
	if err := dataset.ReadAll(out, m, func(_ int, _ int64, d dataset.Doc) error {
		lengths = append(lengths, int32(len(d.Text)))
		honest += int64(len(d.Text))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Junk rows of 1/4 of the honest bytes: a fifth of the total.
	const g = 0.2
	junkRows := len(lengths)
	for range 4 {
		lengths = append(lengths, int32(honest/16))
	}
	var total int64
	for _, n := range lengths {
		total += int64(n)
	}
	gotG := 1 - float64(honest)/float64(total)
	p := DefaultProduction()
	const seeds = 4000
	passed := 0
	for s := range seeds {
		var seed [32]byte
		seed[0], seed[1] = byte(s), byte(s>>8)
		ok := true
		for _, i := range WeightedDraws(seed, lengths, p.Draws) {
			ok = ok && i < junkRows
		}
		if ok {
			passed++
		}
	}
	rate := float64(passed) / seeds
	want := math.Pow(1-gotG, float64(p.Draws))
	if sd := math.Sqrt(want * (1 - want) / seeds); math.Abs(rate-want) > 4*sd {
		t.Errorf("padded submission passes %.4f of seeds, (1−g)^16 = %.4f", rate, want)
	}
	// Its reward when it passes: its tokens over the honest miner's.
	credit := 1 / (1 - tokenShare(p, gotG))
	mean := rate * credit
	t.Logf("g = %.3f: passes %.4f of %d seeds (formula %.4f); mean reward %.3f of honest (table at g = %.2f: %.3f)",
		gotG, rate, seeds, want, mean, g, padding(p, g))
	if mean >= 1 || math.Abs(gotG-g) > 0.01 || math.Abs(mean-padding(p, gotG)) > 0.02 {
		t.Errorf("mean reward %.3f, table %.3f", mean, padding(p, gotG))
	}
}

// TestAttackMultipliers: every attack of the table earns less than an
// honest miner per unit of work, or no more (1), except the documented
// residual that depends on the task server's stale head.
func TestAttackMultipliers(t *testing.T) {
	p := DefaultProduction()
	for _, a := range Attacks {
		m := a.Multiplier(p)
		residual := a.Test == "—"
		if !residual && m > 1 || math.IsNaN(m) || m < 0 {
			t.Errorf("%s: multiplier %.3f", a.Name, m)
		}
	}
	// Zero tolerance is what makes padding unprofitable: with one miss in
	// 16 tolerated, padding 3 % pays.
	loose := p
	loose.MaxMismatch = 0.1
	if maxPadding(loose) <= 1 {
		t.Errorf("tolerant provenance: best padding %.3f", maxPadding(loose))
	}
}
