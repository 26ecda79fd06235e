package subtensor

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/wallet"
)

// stateError marks the node's answer for a block whose state it pruned
// (Substrate: "State already discarded for ..."; a non-archive node keeps
// about 256 blocks) with chain.ErrStatePruned.
func stateError(err error) error {
	var re *rpcError
	if errors.As(err, &re) && (strings.Contains(re.Message, "State already discarded") ||
		strings.Contains(string(re.Data), "State already discarded")) {
		return fmt.Errorf("%w: %w", chain.ErrStatePruned, err)
	}
	return err
}

// rawField reads one event field of type id and returns its bytes.
func (m *runtimeMeta) rawField(d *decoder, id int64) []byte {
	start := d.off
	m.skip(d, id, 0)
	if d.err != nil {
		return nil
	}
	return d.b[start:d.off]
}

// commitmentEvent is one Commitments.Commitment { netuid, who } event.
type commitmentEvent struct {
	netuid uint16
	who    [32]byte
	index  int
}

// commitmentEvents returns the Commitments.Commitment events of a block's
// System.Events. The event names the subnet and the account only; the
// commitment itself is in the block's state.
func commitmentEvents(m *runtimeMeta, events []byte) ([]commitmentEvent, error) {
	var out []commitmentEvent
	var bad error
	_, err := walkEvents(m, events, func(r eventPos, d *decoder, fields []int64) int {
		if r.pallet != "Commitments" || r.name != "Commitment" {
			return 0
		}
		if len(fields) != 2 {
			bad = fmt.Errorf("events: record %d: Commitments.Commitment has %d fields, want netuid and who", r.index, len(fields))
			return 0
		}
		netuid, who := m.rawField(d, fields[0]), m.rawField(d, fields[1])
		if d.err == nil && (len(netuid) != 2 || len(who) != 32) {
			bad = fmt.Errorf("events: record %d: Commitments.Commitment fields are %d and %d bytes, want a u16 netuid and a 32-byte account",
				r.index, len(netuid), len(who))
		}
		if d.err == nil && bad == nil {
			ev := commitmentEvent{netuid: binary.LittleEndian.Uint16(netuid), index: r.index}
			copy(ev.who[:], who)
			out = append(out, ev)
		}
		return 2
	})
	if err != nil {
		return nil, err
	}
	if bad != nil {
		return nil, bad
	}
	return out, nil
}

// lastPerAccount keeps netuid's events, one per account at its last event:
// the block's state holds only the account's last commitment of the block.
func lastPerAccount(evs []commitmentEvent, netuid uint16) []commitmentEvent {
	last := map[[32]byte]int{}
	for i, ev := range evs {
		if ev.netuid == netuid {
			last[ev.who] = i
		}
	}
	var out []commitmentEvent
	for i, ev := range evs {
		if ev.netuid == netuid && last[ev.who] == i {
			out = append(out, ev)
		}
	}
	return out
}

// historyWorkers bounds the blocks read at once (each is four or five
// requests on the one websocket).
const historyWorkers = 8

// CommitmentHistory reads the commitments set on netuid in blocks [from,
// to]: each block's System.Events for Commitments.Commitment events, then
// the CommitmentOf values of their accounts in that block's state. Blocks
// are read historyWorkers at a time and the result is in block order; a
// validator scans new blocks every round rather than deep history, which a
// non-archive node has pruned (ErrStatePruned).
func (c *Client) CommitmentHistory(ctx context.Context, netuid uint16, from, to uint64) ([]chain.Commitment, error) {
	if from > to {
		return nil, fmt.Errorf("commitment history: %w: from block %d is after to block %d", chain.ErrInvalidArgument, from, to)
	}
	out := []chain.Commitment{}
	for lo := from; ; lo += historyWorkers {
		hi := to
		if to-lo >= historyWorkers {
			hi = lo + historyWorkers - 1
		}
		batch := make([][]chain.Commitment, hi-lo+1)
		errs := make([]error, len(batch))
		var wg sync.WaitGroup
		for i := range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				batch[i], errs[i] = c.commitmentsInBlock(ctx, netuid, lo+uint64(i))
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				return nil, fmt.Errorf("commitment history of subnet %d: %w", netuid, err)
			}
			out = append(out, batch[i]...)
		}
		if hi == to {
			return out, nil
		}
	}
}

func (c *Client) commitmentsInBlock(ctx context.Context, netuid uint16, number uint64) ([]chain.Commitment, error) {
	hash, err := c.BlockHash(ctx, number)
	if err != nil {
		return nil, err
	}
	var raw *string
	if err := c.call(ctx, &raw, "state_getStorage", hexOf(storagePrefix("System", "Events")), hash); err != nil {
		return nil, fmt.Errorf("events of block %d: %w", number, stateError(err))
	}
	if raw == nil {
		return nil, nil // no events at all
	}
	events, err := decodeHex(*raw)
	if err != nil {
		return nil, fmt.Errorf("events of block %d: %w", number, err)
	}
	// The events were deposited by the runtime that executed the block: the
	// one in its parent's state (a runtime upgrade applies from the next
	// block on).
	var hdr struct {
		ParentHash string `json:"parentHash"`
	}
	if err := c.call(ctx, &hdr, "chain_getHeader", hash); err != nil {
		return nil, fmt.Errorf("header of block %d: %w", number, err)
	}
	meta, _, err := c.metadata(ctx, hdr.ParentHash)
	if err != nil {
		return nil, fmt.Errorf("runtime of block %d: %w", number, err)
	}
	evs, err := commitmentEvents(meta, events)
	if err != nil {
		return nil, fmt.Errorf("block %d: %w", number, err)
	}
	var keys [][]byte
	var whos [][32]byte
	for _, ev := range lastPerAccount(evs, netuid) {
		keys = append(keys, commitmentKey(netuid, ev.who))
		whos = append(whos, ev.who)
	}
	if len(keys) == 0 {
		return nil, nil
	}
	vals, err := c.queryStorage(ctx, keys, hash)
	if err != nil {
		return nil, fmt.Errorf("commitments of block %d: %w", number, stateError(err))
	}
	out := make([]chain.Commitment, 0, len(vals))
	for i, v := range vals {
		if v == nil {
			continue // removed later in the same block (the hotkey was deregistered)
		}
		block, data, err := decodeRegistration(v)
		if err != nil {
			return nil, fmt.Errorf("commitment of %s in block %d: %w", wallet.EncodeSS58(whos[i]), number, err)
		}
		if block != number {
			return nil, fmt.Errorf("commitment of %s: event in block %d, but the state of that block holds a commitment of block %d",
				wallet.EncodeSS58(whos[i]), number, block)
		}
		out = append(out, chain.Commitment{Hotkey: wallet.EncodeSS58(whos[i]), Block: block, Data: data})
	}
	return out, nil
}
