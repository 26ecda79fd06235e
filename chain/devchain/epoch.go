package devchain

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/datarefine/refine/chain/yuma"
)

// runEpoch runs Yuma consensus on s (a copy the caller installs after the
// transaction commits), credits emission to the hotkeys' stake and appends
// the emission ledger.
func (c *Chain) runEpoch(ctx context.Context, tx *sql.Tx, s *subnet, block uint64) error {
	n := len(s.Neurons)
	// The slot is consumed whatever the epoch does (run_coinbase's
	// drain_pending): the index advances, the schedule restarts here and a
	// pending trigger is cleared. Emission accrues per block since the last
	// epoch (PendingServerEmission and friends are drained at the epoch).
	blocks := block - min(s.LastEpochBlock, block)
	lastRun := s.LastEpochBlock
	if s.EpochIndex == 0 {
		lastRun = 0 // no epoch has run: yuma uses block − tempo
	}
	defer func() {
		s.EpochIndex++
		s.LastEpochBlock = block
		s.PendingEpochAt = 0
	}()
	if n == 0 {
		cp := *s
		cp.EpochIndex++
		cp.LastEpochBlock = block
		cp.PendingEpochAt = 0
		return saveSubnet(ctx, tx, &cp)
	}
	hp := s.HP
	in := &yuma.Input{
		N:                    n,
		CurrentBlock:         block,
		Tempo:                uint64(hp.Tempo),
		ActivityCutoff:       uint64(hp.ActivityCutoff),
		LastUpdate:           make([]uint64, n),
		BlockAtRegistration:  make([]uint64, n),
		Stake:                make([]uint64, n),
		StakeThreshold:       hp.StakeThreshold,
		ValidatorPermit:      make([]bool, n),
		MaxAllowedValidators: int(hp.MaxAllowedValidators),
		OwnerUID:             -1,
		Weights:              make([][]yuma.Weight, n),
		Bonds:                make([][]yuma.Weight, n),
		Kappa:                hp.Kappa,
		BondsPenalty:         hp.BondsPenalty,
		BondsMovingAverage:   hp.BondsMovingAverage,
		LastEpochBlock:       lastRun,
		Emission:             c.opts.EmissionPerBlock * blocks,
	}
	for uid, nr := range s.Neurons {
		in.LastUpdate[uid] = nr.LastUpdate
		in.BlockAtRegistration[uid] = nr.BlockAtRegistration
		in.Stake[uid] = s.Stake[nr.Hotkey]
		in.ValidatorPermit[uid] = nr.Permit
		in.Weights[uid] = nr.Weights
		in.Bonds[uid] = nr.Bonds
	}
	if hp.CommitRevealEnabled {
		// The epoch sees the epoch index it is about to complete (subtensor's lookahead).
		cur := s.EpochIndex + 1
		in.CommitBlocks = make([]uint64, n)
		for uid, nr := range s.Neurons {
			in.CommitBlocks[uid] = yuma.NoCommit
			for _, wc := range s.WeightCommits[nr.Hotkey] {
				if cur <= wc.Epoch+hp.RevealPeriodEpochs { // earliest unexpired commit
					in.CommitBlocks[uid] = wc.CommitBlock
					break
				}
			}
		}
	}
	out := yuma.Epoch(in)

	for uid, nr := range s.Neurons {
		nr.Active = out.Active[uid]
		nr.Permit = out.ValidatorPermit[uid]
		nr.StakeWeight = out.StakeWeight[uid]
		nr.Consensus = out.Consensus[uid]
		nr.Incentive = out.Incentive[uid]
		nr.Dividends = out.Dividends[uid]
		nr.Trust = out.ValidatorTrust[uid]
		nr.Emission = out.Emission[uid]
		if out.BondsSet[uid] {
			nr.Bonds = out.Bonds[uid]
		}
		if err := saveNeuron(ctx, tx, s.Netuid, uint16(uid), nr); err != nil {
			return err
		}
		reward := out.ServerEmission[uid] + out.ValidatorEmission[uid]
		if reward > 0 {
			s.Stake[nr.Hotkey] += reward
			if err := saveStake(ctx, tx, s.Netuid, nr.Hotkey, s.Stake[nr.Hotkey]); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO ledger (netuid, block, epoch, uid, hotkey, incentive,
			dividends, server_emission, validator_emission) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			s.Netuid, block, s.EpochIndex, uid, nr.Hotkey, out.Incentive[uid], out.Dividends[uid],
			int64(out.ServerEmission[uid]), int64(out.ValidatorEmission[uid])); err != nil {
			return fmt.Errorf("write ledger: %w", err)
		}
	}
	cp := *s
	cp.EpochIndex++
	cp.LastEpochBlock = block
	cp.PendingEpochAt = 0
	return saveSubnet(ctx, tx, &cp)
}
