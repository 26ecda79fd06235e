package devchain

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/datarefine/refine/chain"
)

func epochState(t *testing.T, c *Chain, netuid uint16) chain.EpochState {
	t.Helper()
	e, err := c.EpochState(context.Background(), netuid)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestEpochSchedule: subtensor's stateful schedule (coinbase/run_coinbase.rs
// should_run_epoch, subnets/subnet.rs init_new_network, tempo_control.rs):
// a subnet created at block b starts at LastEpochBlock = b − netuid mod
// tempo; an epoch runs when block − LastEpochBlock ≥ tempo; a new tempo
// restarts the cycle; an owner trigger runs one AdminFreezeWindow blocks
// later and the schedule continues from it.
func TestEpochSchedule(t *testing.T) {
	ctx := context.Background()
	hp := testHP()
	hp.Tempo = 4
	c := newChain(t, hp, "")
	advance(t, c, 10)
	if err := c.CreateSubnet(ctx, 3, hp); err != nil {
		t.Fatal(err)
	}
	e := epochState(t, c, 3)
	if e.LastEpochBlock != 10-3%4 || e.Index != 0 || e.NextEpochBlock() != 11 {
		t.Fatalf("new subnet at block 10: %+v (next %d)", e, e.NextEpochBlock())
	}
	var ran []uint64
	for i := 0; i < 9; i++ {
		advance(t, c, 1)
		if got := epochState(t, c, 3); got.Index > e.Index {
			ran = append(ran, got.Block)
			e = got
		}
	}
	if len(ran) != 3 || ran[0] != 11 || ran[1] != 15 || ran[2] != 19 {
		t.Errorf("epochs of subnet 3 ran at %v, want 11 15 19", ran)
	}
	// A new tempo restarts the cycle at the current block (set_tempo).
	hp.Tempo = 6
	if err := c.SetHyperparameters(ctx, 3, hp); err != nil {
		t.Fatal(err)
	}
	if e := epochState(t, c, 3); e.LastEpochBlock != 19 || e.NextEpochBlock() != 25 {
		t.Errorf("after the tempo change at block 19: %+v", e)
	}
	advance(t, c, 1) // block 20
	// An owner trigger fires AdminFreezeWindow blocks later, only with
	// commit-reveal off, only one at a time, not when the automatic epoch
	// comes sooner.
	if err := c.TriggerEpoch(ctx, 3); !errors.Is(err, chain.ErrInvalidArgument) {
		t.Errorf("trigger with the epoch at 25 imminent: %v", err)
	}
	hp.Tempo = 30
	if err := c.SetHyperparameters(ctx, 3, hp); err != nil {
		t.Fatal(err)
	}
	hp.CommitRevealEnabled = true
	if err := c.SetHyperparameters(ctx, 3, hp); err != nil {
		t.Fatal(err)
	}
	if err := c.TriggerEpoch(ctx, 3); !errors.Is(err, chain.ErrInvalidArgument) {
		t.Errorf("trigger with commit-reveal on: %v", err)
	}
	hp.CommitRevealEnabled = false
	if err := c.SetHyperparameters(ctx, 3, hp); err != nil {
		t.Fatal(err)
	}
	if err := c.TriggerEpoch(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if err := c.TriggerEpoch(ctx, 3); !errors.Is(err, chain.ErrInvalidArgument) {
		t.Errorf("second trigger: %v", err)
	}
	e = epochState(t, c, 3)
	if e.PendingEpochAt != 20+AdminFreezeWindow || e.NextEpochBlock() != 30 {
		t.Fatalf("after the trigger at block 20: %+v", e)
	}
	advance(t, c, AdminFreezeWindow)
	got := epochState(t, c, 3)
	if got.Index != e.Index+1 || got.LastEpochBlock != 30 || got.PendingEpochAt != 0 || got.NextEpochBlock() != 60 {
		t.Errorf("after the triggered epoch: %+v", got)
	}
	ledger, err := c.Emissions(ctx, 3, 30, "")
	if err != nil || len(ledger) != 0 {
		t.Errorf("ledger of an empty subnet: %+v, %v", ledger, err)
	}
}

// TestMigrateOldDatabase: a chain database written before the epoch
// schedule had PendingEpochAt, and before events had a phase, opens and
// gains the columns; its events are read as they were.
func TestMigrateOldDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE subnets (
		netuid INTEGER PRIMARY KEY, hyperparameters TEXT NOT NULL,
		epoch_index INTEGER NOT NULL, last_epoch_block INTEGER NOT NULL,
		regs_block INTEGER NOT NULL, regs_count INTEGER NOT NULL);
		CREATE TABLE events (
		block INTEGER NOT NULL, idx INTEGER NOT NULL, pallet TEXT NOT NULL, name TEXT NOT NULL,
		netuid INTEGER NOT NULL, account TEXT NOT NULL, data BLOB,
		PRIMARY KEY (block, idx));
		INSERT INTO events VALUES (0, 0, 'Commitments', 'Commitment', 1, 'old', X'6f6c64');`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	c := newChain(t, testHP(), path)
	advance(t, c, 4)
	if e := epochState(t, c, 1); e.Index != 1 || e.LastEpochBlock != 3 {
		t.Errorf("epoch state = %+v", e)
	}
	ctx := context.Background()
	if h, err := c.CommitmentHistory(ctx, 1, 0, 4); err != nil || len(h) != 1 || string(h[0].Data) != "old" {
		t.Errorf("old history = %+v, %v", h, err)
	}
	if evs, err := c.Events(ctx, 0); err != nil || len(evs) != 1 || evs[0].Extrinsic != nil {
		t.Errorf("old events = %+v, %v", evs, err)
	}
}
