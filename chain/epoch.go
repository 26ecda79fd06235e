package chain

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

// NextEpochBlock is the first block after e.Block at which an epoch is due
// if nothing changes the schedule (get_next_epoch_start_block); 0 when the
// subnet runs no epochs (tempo 0).
func (e EpochState) NextEpochBlock() uint64 {
	if e.Tempo == 0 {
		return 0
	}
	next := e.LastEpochBlock + uint64(e.Tempo)
	if e.PendingEpochAt > 0 && e.PendingEpochAt < next {
		next = e.PendingEpochAt
	}
	return max(next, e.Block+1) // an overdue epoch (deferred) runs in the next block
}

// RevealDue reports whether a commit tagged with epoch commitEpoch is in
// its reveal epoch for a transaction sent now.
func (e EpochState) RevealDue(commitEpoch uint64) bool {
	return e.TxEpoch == commitEpoch+e.RevealPeriod
}

// CommitExpired reports whether a commit tagged with epoch commitEpoch can
// no longer be revealed (subtensor's is_commit_expired).
func (e EpochState) CommitExpired(commitEpoch uint64) bool {
	return e.TxEpoch > commitEpoch+e.RevealPeriod
}
