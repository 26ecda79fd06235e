package chain

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRevealWhenOpen(t *testing.T) {
	ctx := context.Background()
	script := func(errs ...error) (func() error, *int) {
		calls := 0
		return func() error {
			calls++
			if calls <= len(errs) {
				return errs[calls-1]
			}
			return nil
		}, &calls
	}
	// epochs is the chain's tx epoch at each refusal, reveal period 1.
	epochs := func(idx ...uint64) func() (EpochState, error) {
		i := 0
		return func() (EpochState, error) {
			e := EpochState{TxEpoch: idx[min(i, len(idx)-1)], RevealPeriod: 1}
			i++
			return e, nil
		}
	}
	tooEarly := NewInvalidTransaction(TxCommitBlockNotInRevealRange, "")
	tests := []struct {
		name      string
		wait      bool
		errs      []error
		epochs    []uint64
		wantErr   error
		wantCalls int
	}{
		{"accepted at once", true, nil, []uint64{5}, nil, 1},
		{"too early, then accepted", true, []error{tooEarly, tooEarly}, []uint64{5, 5}, nil, 3},
		{"too early without --wait", false, []error{tooEarly}, []uint64{5}, ErrRevealTooEarly, 1},
		// Refused at epochs 5, 6 and 7: a commit made by epoch 5 can be
		// revealed by epoch 6 at the latest, so at 7 it has expired.
		{"refused past the reveal period", true, []error{tooEarly, tooEarly, tooEarly, tooEarly}, []uint64{5, 6, 7}, ErrRevealTooEarly, 3},
		{"other error", true, []error{ErrNoPermit}, []uint64{5}, ErrNoPermit, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reveal, calls := script(tt.errs...)
			err := RevealWhenOpen(ctx, tt.wait, time.Millisecond, reveal, epochs(tt.epochs...))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) || *calls != tt.wantCalls {
				t.Errorf("err %v after %d calls, want %v after %d", err, *calls, tt.wantErr, tt.wantCalls)
			}
		})
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	reveal, _ := script(tooEarly, tooEarly)
	if err := RevealWhenOpen(cctx, true, time.Millisecond, reveal, epochs(5)); !errors.Is(err, ErrRevealTooEarly) {
		t.Errorf("cancelled wait: %v", err)
	}
}
