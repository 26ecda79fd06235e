package devchain

import (
	"context"
	"fmt"

	"github.com/datarefine/refine/chain"
)

// emitEvent appends an event to block's event list, as a runtime deposits
// an event into System.Events: its index is its position in the block.
func emitEvent(ctx context.Context, x execer, block uint64, pallet, name string, netuid uint16, account string, data []byte) error {
	_, err := x.ExecContext(ctx, `INSERT INTO events (block, idx, pallet, name, netuid, account, data)
		SELECT ?, COALESCE(MAX(idx) + 1, 0), ?, ?, ?, ?, ? FROM events WHERE block = ?`,
		block, pallet, name, netuid, account, data, block)
	if err != nil {
		return fmt.Errorf("emit %s.%s event in block %d: %w", pallet, name, block, err)
	}
	return nil
}

// MaxHistoryBlocks bounds one CommitmentHistory request of the HTTP API;
// Client splits longer ranges.
const MaxHistoryBlocks = 10_000

// CommitmentHistory returns the commitments set on netuid in blocks [from,
// to] from the stored Commitments.Commitment events, with subtensor's view
// of them: one per hotkey and block (its last of the block), ordered by
// block and event index.
func (c *Chain) CommitmentHistory(ctx context.Context, netuid uint16, from, to uint64) ([]chain.Commitment, error) {
	if from > to {
		return nil, fmt.Errorf("commitment history: %w: from block %d is after to block %d", chain.ErrInvalidArgument, from, to)
	}
	c.mu.Lock()
	head := c.head.Number
	c.mu.Unlock()
	if to > head {
		return nil, fmt.Errorf("commitment history to block %d: %w: head is %d", to, chain.ErrUnknownBlock, head)
	}
	rows, err := c.db.QueryContext(ctx, `SELECT e.block, e.account, e.data FROM events e
		JOIN (SELECT block, account, MAX(idx) AS idx FROM events
			WHERE netuid = ? AND pallet = 'Commitments' AND name = 'Commitment' AND block BETWEEN ? AND ?
			GROUP BY block, account) last ON e.block = last.block AND e.idx = last.idx
		ORDER BY e.block, e.idx`, netuid, from, to)
	if err != nil {
		return nil, fmt.Errorf("read commitment events: %w", err)
	}
	defer rows.Close()
	out := []chain.Commitment{}
	for rows.Next() {
		var cm chain.Commitment
		if err := rows.Scan(&cm.Block, &cm.Hotkey, &cm.Data); err != nil {
			return nil, fmt.Errorf("read commitment events: %w", err)
		}
		if cm.Data == nil {
			cm.Data = []byte{}
		}
		out = append(out, cm)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read commitment events: %w", err)
	}
	return out, nil
}
