package chain

import "math"

// EpochState is a subnet's epoch schedule as the chain keeps it in storage
// (subtensor's SubtensorModule.Tempo, LastEpochBlock, PendingEpochAt,
// SubnetEpochIndex and RevealPeriodEpochs; pallets/subtensor/src/lib.rs and
// coinbase/run_coinbase.rs). Time reveals and waits from it, never from a
// formula of the block number: an epoch runs when block − LastEpochBlock ≥
// tempo, or at an owner-triggered (or deferred) PendingEpochAt, and the
// index counts the epochs that ran.
type EpochState struct {
	Netuid uint16 `json:"netuid"`
	// Block is the head the state was read at.
	Block uint64 `json:"block"`
	Tempo uint16 `json:"tempo"`
	// Index is SubnetEpochIndex: the epochs run so far.
	Index uint64 `json:"index"`
	// LastEpochBlock is the block whose epoch slot was last consumed.
	LastEpochBlock uint64 `json:"last_epoch_block"`
	// PendingEpochAt is the block of an owner-triggered or deferred epoch;
	// 0 when none is pending.
	PendingEpochAt uint64 `json:"pending_epoch_at"`
	// RevealPeriod is the commit-reveal period in epochs: a commit made in
	// epoch e is revealed in epoch e + RevealPeriod and expires after it.
	RevealPeriod uint64 `json:"reveal_period"`
	// TxEpoch is the epoch index a transaction sent now is judged by and
	// a commit sent now is tagged with (subtensor's
	// current_epoch_with_lookahead at the block that will include it: an
	// epoch due there runs before its transactions).
	TxEpoch uint64 `json:"tx_epoch"`
}

// EpochDue is subtensor's should_run_epoch (coinbase/run_coinbase.rs at
// spec 425): whether an epoch runs at block. Not modelled: the
// BlocksSinceLastStep > MAX_TEMPO safety net (it fires only after epochs
// were skipped for inconsistent state) and the per-block cap on epochs,
// which defers a due epoch by setting PendingEpochAt to the next block.
func EpochDue(tempo uint16, lastEpochBlock, pendingEpochAt, block uint64) bool {
	if tempo == 0 {
		return false
	}
	if pendingEpochAt > 0 && block >= pendingEpochAt {
		return true
	}
	return block >= lastEpochBlock && block-lastEpochBlock >= uint64(tempo)
}

// NextAutoEpochBlock is the block of the next automatic epoch under the
// stateful scheduler, LastEpochBlock + tempo (subtensor's
// blocks_until_next_auto_epoch counts down to it; trigger_epoch refuses when
// it is closer than the admin freeze window). Meaningless for tempo 0.
func NextAutoEpochBlock(tempo uint16, lastEpochBlock uint64) uint64 {
	return lastEpochBlock + uint64(tempo)
}

// NextEpochBlock is the first block after e.Block at which an epoch is due
// if nothing changes the schedule (get_next_epoch_start_block); 0 when the
// subnet runs no epochs (tempo 0).
func (e EpochState) NextEpochBlock() uint64 {
	if e.Tempo == 0 {
		return 0
	}
	next := NextAutoEpochBlock(e.Tempo, e.LastEpochBlock)
	if e.PendingEpochAt > 0 && e.PendingEpochAt < next {
		next = e.PendingEpochAt
	}
	return max(next, e.Block+1) // an overdue epoch (deferred) runs in the next block
}

// RevealEpoch is the one epoch in which a weights commit tagged with epoch
// commitEpoch may be revealed: commitEpoch + the reveal period (subtensor's
// is_reveal_block_range; after it the commit is expired, is_commit_expired;
// before it, too early).
func RevealEpoch(commitEpoch, revealPeriod uint64) uint64 {
	return commitEpoch + revealPeriod
}

// RevealTooEarly reports whether a commit tagged with epoch commitEpoch is
// still before its reveal epoch for a transaction sent now. Subtensor
// refuses such a reveal with the code it gives an expired one
// (CommitBlockNotInRevealRange); the epoch state tells them apart.
func (e EpochState) RevealTooEarly(commitEpoch uint64) bool {
	return e.TxEpoch < RevealEpoch(commitEpoch, e.RevealPeriod)
}

// RevealDue reports whether a commit tagged with epoch commitEpoch is in
// its reveal epoch for a transaction sent now (is_reveal_block_range).
func (e EpochState) RevealDue(commitEpoch uint64) bool {
	return e.TxEpoch == RevealEpoch(commitEpoch, e.RevealPeriod)
}

// CommitExpired reports whether a commit tagged with epoch commitEpoch can
// no longer be revealed (subtensor's is_commit_expired).
func (e EpochState) CommitExpired(commitEpoch uint64) bool {
	return e.TxEpoch > RevealEpoch(commitEpoch, e.RevealPeriod)
}

// Runtimes before subtensor's stateful scheduler kept no epoch state: an
// epoch ran where a formula of the block number said so. The two functions
// below are that formula, subtensor's own at the last commit before the
// stateful scheduler replaced it (opentensor/subtensor 7e52a408, spec 403,
// the parent of d30a76f3 "Dynamic tempo implementation"):
// blocks_until_next_epoch in pallets/subtensor/src/coinbase/run_coinbase.rs
// and get_epoch_index in pallets/subtensor/src/subnets/weights.rs. They are
// evaluated only where such a runtime is read (the subtensor client's
// EpochState); everything else times epochs from the EpochState.

// LegacyBlocksUntilNextEpoch is blocks_until_next_epoch: tempo − (block +
// netuid + 1) mod (tempo + 1). An epoch ran at block when it is 0 (that
// runtime's should_run_epoch); math.MaxUint64 for tempo 0 (none ever runs).
func LegacyBlocksUntilNextEpoch(netuid, tempo uint16, block uint64) uint64 {
	if tempo == 0 {
		return math.MaxUint64
	}
	return uint64(tempo) - (block+uint64(netuid)+1)%(uint64(tempo)+1)
}

// LegacyEpochIndex is get_epoch_index: (block + netuid + 1) div (tempo + 1).
// It steps up in the block after an epoch ran (the epoch block itself still
// has the old index) and had no look-ahead.
func LegacyEpochIndex(netuid, tempo uint16, block uint64) uint64 {
	return (block + uint64(netuid) + 1) / (uint64(tempo) + 1)
}
