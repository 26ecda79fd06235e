package chain

import (
	"errors"
	"fmt"
	"testing"
)

func TestEpochDue(t *testing.T) {
	tests := []struct {
		tempo                uint16
		last, pending, block uint64
		want                 bool
	}{
		{0, 0, 0, 1000, false}, // tempo 0: no epochs
		{0, 0, 5, 1000, false}, // not even triggered ones
		{360, 100, 0, 459, false},
		{360, 100, 0, 460, true}, // block − last ≥ tempo
		{360, 100, 0, 900, true}, // overdue
		{360, 100, 200, 199, false},
		{360, 100, 200, 200, true}, // triggered
		{360, 500, 0, 400, false},  // state ahead of the block asked
	}
	for _, tc := range tests {
		if got := EpochDue(tc.tempo, tc.last, tc.pending, tc.block); got != tc.want {
			t.Errorf("EpochDue(%d, %d, %d, %d) = %v", tc.tempo, tc.last, tc.pending, tc.block, got)
		}
	}
}

func TestEpochStateHelpers(t *testing.T) {
	e := EpochState{Block: 1000, Tempo: 360, Index: 7, LastEpochBlock: 900, RevealPeriod: 2, TxEpoch: 7}
	if got := e.NextEpochBlock(); got != 1260 {
		t.Errorf("next = %d", got)
	}
	e.PendingEpochAt = 1010
	if got := e.NextEpochBlock(); got != 1010 {
		t.Errorf("next with a trigger = %d", got)
	}
	e.PendingEpochAt, e.LastEpochBlock = 0, 500 // overdue
	if got := e.NextEpochBlock(); got != 1001 {
		t.Errorf("next when overdue = %d", got)
	}
	if (EpochState{}).NextEpochBlock() != 0 {
		t.Error("tempo 0 has a next epoch")
	}
	for _, tc := range []struct {
		commit       uint64
		due, expired bool
	}{{4, false, true}, {5, true, false}, {6, false, false}, {7, false, false}} {
		if e.RevealDue(tc.commit) != tc.due || e.CommitExpired(tc.commit) != tc.expired {
			t.Errorf("commit epoch %d at tx epoch 7, period 2: due %v expired %v", tc.commit, e.RevealDue(tc.commit), e.CommitExpired(tc.commit))
		}
	}
}

// TestCustomErrors: every code of subtensor's CustomTransactionError maps to
// a sentinel, codes are unique, and the refusal carries its code.
func TestCustomErrors(t *testing.T) {
	seen := map[uint8]bool{}
	for _, ce := range CustomErrors {
		if seen[ce.Code] || ce.Err == nil || ce.Name == "" {
			t.Errorf("code %d: duplicate or incomplete %+v", ce.Code, ce)
		}
		seen[ce.Code] = true
		err := fmt.Errorf("submit: %w", NewInvalidTransaction(ce.Code, "detail"))
		if code, ok := TxCode(err); !ok || code != ce.Code || !errors.Is(err, ce.Err) || ErrorCode(err) == "internal" {
			t.Errorf("code %d: %v", ce.Code, err)
		}
	}
	for code := 0; code <= 27; code++ {
		if !seen[uint8(code)] {
			t.Errorf("code %d not mapped", code)
		}
	}
	if !seen[255] {
		t.Error("BadRequest (255) not mapped")
	}
	err := NewInvalidTransaction(99, "")
	if err.Unwrap() != nil || err.Name != "Custom(99)" {
		t.Errorf("unknown code: %v", err)
	}
	if !errors.Is(NewInvalidTransaction(17, ""), ErrRevealTooEarly) || !errors.Is(NewInvalidTransaction(16, ""), ErrNoWeightsCommit) {
		t.Error("17 and 16 do not map to the reveal sentinels")
	}
}
