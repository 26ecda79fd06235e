package validator

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/datarefine/refine/chain"
	dto "github.com/prometheus/client_model/go"
)

func TestRevealPlan(t *testing.T) {
	e := chain.EpochState{TxEpoch: 10, RevealPeriod: 2}
	for c, want := range map[uint64]revealAction{11: revealWait, 9: revealWait, 8: revealTry, 7: revealTry, 6: revealDrop, 0: revealDrop} {
		if got := revealPlan(e, c); got != want {
			t.Errorf("commit epoch %d at tx epoch 10, period 2: %v, want %v", c, got, want)
		}
	}
	outside := chain.NewInvalidTransaction(chain.TxCommitBlockNotInRevealRange, "")
	for _, tc := range []struct {
		c    uint64
		err  error
		want revealAction
	}{
		{8, outside, revealWait}, // 10 = 8 + 2: tagged 9, too early
		{7, outside, revealDrop}, // 10 > 7 + 2: expired
		{8, chain.NewInvalidTransaction(chain.TxCommitNotFound, ""), revealDrop},
		{8, fmt.Errorf("reveal: %w", chain.ErrCommitExpired), revealDrop},
		{8, chain.NewInvalidTransaction(chain.TxRateLimitExceeded, ""), revealWait},
		{8, errors.New("connection reset"), revealWait},
	} {
		if got := revealRefused(e, tc.c, tc.err); got != tc.want {
			t.Errorf("commit epoch %d refused with %v: %v, want %v", tc.c, tc.err, got, tc.want)
		}
	}
}

// weightsEnv is a validator on a commit-reveal subnet (tempo 3, reveal
// period 1) of the devchain, which refuses reveals as subtensor does, with
// an EMA for one miner so that SetWeights commits.
func weightsEnv(t *testing.T) (*env, *Validator) {
	e := newEnv(t, true)
	e.register("M", 0)
	v := e.validator(":memory:")
	if _, err := v.state.db.ExecContext(e.ctx, `INSERT INTO ema (uid, hotkey, value, block) VALUES (?, ?, 1, 0)`,
		e.uids["M"], key(t, "M").SS58()); err != nil {
		t.Fatal(err)
	}
	return e, v
}

func (e *env) epochState() chain.EpochState {
	s, err := e.chain.EpochState(e.ctx, 1)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// untilEpochs advances until the chain's epoch index has grown by n.
func (e *env) untilEpochs(n uint64) {
	start := e.epochState().Index
	for i := 0; e.epochState().Index < start+n; i++ {
		if i > 100 {
			e.t.Fatal("no epochs")
		}
		e.advance(1)
	}
}

func pending(t testing.TB, v *Validator) []weightCommit {
	t.Helper()
	p, err := v.state.weightCommits(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func revealedWeights(e *env) []chain.WeightEntry {
	mg, err := e.chain.Metagraph(e.ctx, 1)
	if err != nil {
		e.t.Fatal(err)
	}
	return mg.Neurons[e.uids["Validator"]].Weights
}

func weightsCount(v *Validator, kind, result string) float64 {
	var m dto.Metric
	if err := v.metrics.weights.WithLabelValues(kind, result).Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// TestRevealOnTime: a commit is not revealed (nor dropped) before its reveal
// epoch, however often the validator ticks, and is revealed in it.
func TestRevealOnTime(t *testing.T) {
	e, v := weightsEnv(t)
	if err := v.SetWeights(e.ctx); err != nil {
		t.Fatal(err)
	}
	p := pending(t, v)
	if len(p) != 1 || p[0].Epoch == nil || *p[0].Epoch != e.epochState().TxEpoch {
		t.Fatalf("pending = %+v, epoch state %+v", p, e.epochState())
	}
	for i := 0; i < 3; i++ {
		if err := v.reveal(e.ctx); err != nil {
			t.Fatal(err)
		}
	}
	if len(pending(t, v)) != 1 || weightsCount(v, "reveal", "error") != 0 || weightsCount(v, "reveal", "ok") != 0 {
		t.Fatalf("before its epoch: pending %d, reveals tried %v", len(pending(t, v)), weightsCount(v, "reveal", "error"))
	}
	e.untilEpochs(1)
	if err := v.reveal(e.ctx); err != nil {
		t.Fatal(err)
	}
	if w := revealedWeights(e); len(pending(t, v)) != 0 || len(w) != 1 || w[0].UID != e.uids["M"] {
		t.Fatalf("in its epoch: pending %d, weights %+v; logs:\n%s", len(pending(t, v)), w, e.logs.String())
	}
}

// TestRevealTooEarlyRetried: a commit that landed an epoch later than the
// validator recorded (sent just before an epoch boundary) is refused by the
// chain as outside its reveal epoch (custom code 17) when the validator
// first tries; it is kept and revealed an epoch later.
func TestRevealTooEarlyRetried(t *testing.T) {
	e, v := weightsEnv(t)
	if err := v.SetWeights(e.ctx); err != nil {
		t.Fatal(err)
	}
	c := pending(t, v)[0]
	if err := v.state.setWeightCommitEpoch(e.ctx, c.ID, *c.Epoch-1); err != nil {
		t.Fatal(err)
	}
	if err := v.reveal(e.ctx); err != nil {
		t.Fatal(err)
	}
	if len(pending(t, v)) != 1 || weightsCount(v, "reveal", "error") != 1 {
		t.Fatalf("after a refusal as too early: pending %d, refused %v; logs:\n%s", len(pending(t, v)), weightsCount(v, "reveal", "error"), e.logs.String())
	}
	e.untilEpochs(1)
	if err := v.reveal(e.ctx); err != nil {
		t.Fatal(err)
	}
	if len(pending(t, v)) != 0 || len(revealedWeights(e)) != 1 {
		t.Fatalf("an epoch later: pending %d, weights %+v; logs:\n%s", len(pending(t, v)), revealedWeights(e), e.logs.String())
	}
}

// TestRevealExpired: a commit whose reveal epoch passed (the validator was
// down) is refused with the same code 17 while the chain still queues it;
// the chain's epoch index shows it expired and the validator drops it.
// Further past, it is dropped without a try; one the chain already dropped
// (code 16) is dropped too. A later commit is unaffected.
func TestRevealExpired(t *testing.T) {
	e, v := weightsEnv(t)
	if err := v.SetWeights(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.untilEpochs(2) // its reveal epoch came and went
	if err := v.reveal(e.ctx); err != nil {
		t.Fatal(err)
	}
	if len(pending(t, v)) != 0 || weightsCount(v, "reveal", "error") != 1 || weightsCount(v, "drop", "ok") != 1 {
		t.Fatalf("expired, still queued on chain: pending %d, refused %v, dropped %v; logs:\n%s",
			len(pending(t, v)), weightsCount(v, "reveal", "error"), weightsCount(v, "drop", "ok"), e.logs.String())
	}
	if len(revealedWeights(e)) != 0 {
		t.Fatal("an expired commit was revealed")
	}

	// Long expired: dropped without sending anything.
	if err := v.SetWeights(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.untilEpochs(3)
	if err := v.reveal(e.ctx); err != nil {
		t.Fatal(err)
	}
	if len(pending(t, v)) != 0 || weightsCount(v, "reveal", "error") != 1 || weightsCount(v, "drop", "ok") != 2 {
		t.Fatalf("long expired: pending %d, refused %v, dropped %v", len(pending(t, v)), weightsCount(v, "reveal", "error"), weightsCount(v, "drop", "ok"))
	}

	// Expired and then dropped by the chain when the next commit was
	// made: refused as not found (16), dropped; the new one is revealed
	// in its epoch.
	if err := v.SetWeights(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.untilEpochs(2)
	if err := v.SetWeights(e.ctx); err != nil {
		t.Fatal(err)
	}
	if err := v.reveal(e.ctx); err != nil {
		t.Fatal(err)
	}
	if p := pending(t, v); len(p) != 1 || weightsCount(v, "drop", "ok") != 3 {
		t.Fatalf("after the chain dropped the old commit: pending %+v, dropped %v; logs:\n%s", p, weightsCount(v, "drop", "ok"), e.logs.String())
	}
	e.untilEpochs(1)
	if err := v.reveal(e.ctx); err != nil {
		t.Fatal(err)
	}
	if len(pending(t, v)) != 0 || len(revealedWeights(e)) != 1 {
		t.Fatalf("the new commit: pending %d, weights %+v", len(pending(t, v)), revealedWeights(e))
	}
}

// TestRevealOldStateRow: a commit recorded before commits carried their
// epoch gets the current epoch (a late estimate) and is kept, not dropped.
func TestRevealOldStateRow(t *testing.T) {
	e, v := weightsEnv(t)
	if err := v.SetWeights(e.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := v.state.db.ExecContext(e.ctx, `UPDATE weight_commits SET epoch = NULL`); err != nil {
		t.Fatal(err)
	}
	e.untilEpochs(1)
	if err := v.reveal(e.ctx); err != nil {
		t.Fatal(err)
	}
	p := pending(t, v)
	if len(p) != 1 || p[0].Epoch == nil || *p[0].Epoch != e.epochState().TxEpoch {
		t.Fatalf("old row: %+v", p)
	}
}
