package devchain

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/datarefine/refine/chain"
	"golang.org/x/crypto/blake2b"
)

// eventRow is an event a block deposits.
type eventRow struct {
	pallet, name string
	netuid       uint16
	account      string
	data         []byte
}

// Event is one event of a block, in the order the runtime deposited it
// (subtensor's System.Events of that block). The devchain deposits
// Commitments.Commitment (Data: the commitment, which subtensor's event
// leaves to the block's state), SubtensorModule.NeuronRegistered (UID) and,
// for every included call, System.ExtrinsicSuccess or
// System.ExtrinsicFailed (Error: the dispatch error).
type Event struct {
	Block uint64 `json:"block"`
	Index int    `json:"index"`
	// Extrinsic is the phase: the index of the call that deposited it in
	// the block (ApplyExtrinsic), nil for the block's initialisation.
	Extrinsic *int       `json:"extrinsic,omitempty"`
	Pallet    string     `json:"pallet"`
	Name      string     `json:"name"`
	Netuid    uint16     `json:"netuid"`
	Account   string     `json:"account"`
	Data      []byte     `json:"data,omitempty"`
	UID       *uint16    `json:"uid,omitempty"`
	Error     *ErrorInfo `json:"error,omitempty"`
}

// emitEvent appends an event to block's event list, as a runtime deposits
// an event into System.Events: its index is its position in the block;
// extrinsic is the call that deposits it.
func emitEvent(ctx context.Context, x execer, block uint64, extrinsic *int, ev eventRow) error {
	_, err := x.ExecContext(ctx, `INSERT INTO events (block, idx, extrinsic, pallet, name, netuid, account, data)
		SELECT ?, COALESCE(MAX(idx) + 1, 0), ?, ?, ?, ?, ?, ? FROM events WHERE block = ?`,
		block, extrinsic, ev.pallet, ev.name, ev.netuid, ev.account, ev.data, block)
	if err != nil {
		return fmt.Errorf("emit %s.%s event in block %d: %w", ev.pallet, ev.name, block, err)
	}
	return nil
}

func uidData(uid uint16) []byte { return []byte(strconv.Itoa(int(uid))) }

func hashHex(b []byte) string {
	h := blake2b.Sum256(b)
	return "0x" + hex.EncodeToString(h[:])
}

// Events returns a produced block's events; ErrUnknownBlock past the head.
// A block's events are final once it exists.
func (c *Chain) Events(ctx context.Context, block uint64) ([]Event, error) {
	c.mu.Lock()
	head := c.head.Number
	c.mu.Unlock()
	if block > head {
		return nil, fmt.Errorf("events of block %d: %w: head is %d", block, chain.ErrUnknownBlock, head)
	}
	rows, err := c.db.QueryContext(ctx, `SELECT idx, extrinsic, pallet, name, netuid, account, data FROM events
		WHERE block = ? ORDER BY idx`, block)
	if err != nil {
		return nil, fmt.Errorf("read events of block %d: %w", block, err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		ev := Event{Block: block}
		var xt sql.NullInt64
		if err := rows.Scan(&ev.Index, &xt, &ev.Pallet, &ev.Name, &ev.Netuid, &ev.Account, &ev.Data); err != nil {
			return nil, fmt.Errorf("read events of block %d: %w", block, err)
		}
		if xt.Valid {
			i := int(xt.Int64)
			ev.Extrinsic = &i
		}
		switch ev.Pallet + "." + ev.Name {
		case "SubtensorModule.NeuronRegistered":
			if uid, err := strconv.ParseUint(string(ev.Data), 10, 16); err == nil {
				u := uint16(uid)
				ev.UID = &u
			}
			ev.Data = nil
		case "System.ExtrinsicFailed":
			var info ErrorInfo
			if err := json.Unmarshal(ev.Data, &info); err != nil {
				return nil, fmt.Errorf("event %d of block %d: %w", ev.Index, block, err)
			}
			ev.Error, ev.Data = &info, nil
		}
		out = append(out, ev)
	}
	return out, rows.Err()
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
