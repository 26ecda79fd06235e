package chain

import (
	"errors"
	"fmt"
	"math"
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
		commit              uint64
		early, due, expired bool
	}{{4, false, false, true}, {5, false, true, false}, {6, true, false, false}, {7, true, false, false}} {
		if e.RevealTooEarly(tc.commit) != tc.early || e.RevealDue(tc.commit) != tc.due || e.CommitExpired(tc.commit) != tc.expired {
			t.Errorf("commit epoch %d at tx epoch 7, period 2: early %v due %v expired %v",
				tc.commit, e.RevealTooEarly(tc.commit), e.RevealDue(tc.commit), e.CommitExpired(tc.commit))
		}
	}
}

// TestLegacyEpochRule checks the pre-scheduler rule against subtensor's
// definition (run_coinbase.rs and weights.rs at 7e52a408, spec 403).
func TestLegacyEpochRule(t *testing.T) {
	// The table in blocks_until_next_epoch's doc comment: blocks until the
	// first epoch, counted from block 0.
	for _, tc := range []struct {
		tempo, netuid uint16
		want          uint64
	}{{1, 0, 0}, {1, 1, 1}, {2, 0, 1}, {2, 1, 0}, {100, 0, 99}, {100, 1, 98}} {
		if got := LegacyBlocksUntilNextEpoch(tc.netuid, tc.tempo, 0); got != tc.want {
			t.Errorf("tempo %d netuid %d: %d blocks until the first epoch, want %d", tc.tempo, tc.netuid, got, tc.want)
		}
	}
	if LegacyBlocksUntilNextEpoch(1, 0, 12345) != math.MaxUint64 {
		t.Error("tempo 0 runs an epoch")
	}
	// Walking the blocks: an epoch every tempo + 1 blocks, where (block +
	// netuid + 1) mod (tempo + 1) == tempo; the count down falls by one a
	// block and restarts at tempo after an epoch; the index steps up in the
	// block after each epoch and only then.
	for _, netuid := range []uint16{0, 1, 3, 23, 300} {
		for _, tempo := range []uint16{1, 2, 10, 99, 360} {
			epochs, lastEpoch := 0, uint64(0)
			for b := uint64(0); b < 5*(uint64(tempo)+1); b++ {
				until := LegacyBlocksUntilNextEpoch(netuid, tempo, b)
				runs := (b+uint64(netuid)+1)%(uint64(tempo)+1) == uint64(tempo)
				if (until == 0) != runs || until > uint64(tempo) {
					t.Fatalf("netuid %d tempo %d block %d: %d blocks until the next epoch", netuid, tempo, b, until)
				}
				if next := LegacyBlocksUntilNextEpoch(netuid, tempo, b+1); (until == 0 && next != uint64(tempo)) || (until > 0 && next != until-1) {
					t.Fatalf("netuid %d tempo %d block %d: count down %d then %d", netuid, tempo, b, until, next)
				}
				step := LegacyEpochIndex(netuid, tempo, b+1) - LegacyEpochIndex(netuid, tempo, b)
				if (step == 1) != runs || step > 1 {
					t.Fatalf("netuid %d tempo %d block %d: index steps by %d (epoch here: %v)", netuid, tempo, b, step, runs)
				}
				if runs {
					if epochs > 0 && b-lastEpoch != uint64(tempo)+1 {
						t.Fatalf("netuid %d tempo %d: epochs at %d and %d", netuid, tempo, lastEpoch, b)
					}
					epochs, lastEpoch = epochs+1, b
				}
			}
			if epochs < 4 {
				t.Fatalf("netuid %d tempo %d: %d epochs in 5 periods", netuid, tempo, epochs)
			}
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
