package subtensor

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/datarefine/refine/chain"
)

// hasStorage reports whether the runtime declares pallet.item.
func (m *runtimeMeta) hasStorage(pallet, item string) bool {
	_, err := m.storageDefault(pallet, item)
	return err == nil
}

// EpochState reads the subnet's epoch schedule at the best block from
// SubtensorModule storage: Tempo, RevealPeriodEpochs and, on runtimes with
// the stateful scheduler (SubnetEpochIndex in the metadata; subtensor main
// since spec ~420), LastEpochBlock, PendingEpochAt and SubnetEpochIndex.
//
// Older runtimes kept no such state: they ran an epoch where (block + netuid
// + 1) mod (tempo + 1) == tempo and numbered epochs (block + netuid + 1)
// div (tempo + 1) (their blocks_until_next_epoch and get_epoch_index:
// chain.LegacyBlocksUntilNextEpoch, chain.LegacyEpochIndex). There the
// state is what subtensor's migrate_dynamic_tempo would seed from that rule
// (LastEpochBlock = next epoch block − tempo), Index is that runtime's
// get_epoch_index of the head and TxEpoch of the next block (it had no
// look-ahead). This is the only place the old rule is used.
func (c *Client) EpochState(ctx context.Context, netuid uint16) (chain.EpochState, error) {
	head, err := c.Block(ctx)
	if err != nil {
		return chain.EpochState{}, fmt.Errorf("epoch state of %d: %w", netuid, err)
	}
	meta, _, err := c.metadata(ctx, head.Hash)
	if err != nil {
		return chain.EpochState{}, fmt.Errorf("epoch state of %d: %w", netuid, err)
	}
	stateful := meta.hasStorage("SubtensorModule", "SubnetEpochIndex")
	type item struct {
		name string
		key  []byte
		size int
	}
	identity := func(name string, size int) item {
		return item{name, append(storagePrefix("SubtensorModule", name), u16LE(netuid)...), size}
	}
	items := []item{
		identity("NetworksAdded", 1),
		identity("Tempo", 2),
		{"RevealPeriodEpochs", append(storagePrefix("SubtensorModule", "RevealPeriodEpochs"), twox64Concat(u16LE(netuid))...), 8},
	}
	if stateful {
		items = append(items, identity("SubnetEpochIndex", 8), identity("LastEpochBlock", 8), identity("PendingEpochAt", 8))
	}
	keys := make([][]byte, len(items))
	for i, it := range items {
		keys[i] = it.key
	}
	vals, err := c.queryStorage(ctx, keys, head.Hash)
	if err != nil {
		return chain.EpochState{}, fmt.Errorf("epoch state of %d: %w", netuid, err)
	}
	got := map[string]uint64{}
	for i, it := range items {
		v := vals[i]
		if v == nil {
			if v, err = meta.storageDefault("SubtensorModule", it.name); err != nil {
				return chain.EpochState{}, fmt.Errorf("epoch state of %d: %w", netuid, err)
			}
		}
		if len(v) != it.size {
			return chain.EpochState{}, fmt.Errorf("epoch state of %d: SubtensorModule.%s is %d bytes, want %d", netuid, it.name, len(v), it.size)
		}
		var buf [8]byte
		copy(buf[:], v)
		got[it.name] = binary.LittleEndian.Uint64(buf[:])
	}
	if got["NetworksAdded"] != 1 {
		return chain.EpochState{}, fmt.Errorf("epoch state of %d: %w", netuid, chain.ErrSubnetNotFound)
	}
	e := chain.EpochState{Netuid: netuid, Block: head.Number, Tempo: uint16(got["Tempo"]), RevealPeriod: got["RevealPeriodEpochs"]}
	if stateful {
		e.Index, e.LastEpochBlock, e.PendingEpochAt = got["SubnetEpochIndex"], got["LastEpochBlock"], got["PendingEpochAt"]
		e.TxEpoch = e.Index
		// The transaction is judged in the next block, after its
		// epoch if one is due (current_epoch_with_lookahead).
		if chain.EpochDue(e.Tempo, e.LastEpochBlock, e.PendingEpochAt, head.Number+1) {
			e.TxEpoch++
		}
		return e, nil
	}
	if e.Tempo == 0 {
		return e, nil // no epochs
	}
	// Seeded as the migration would at the start of the next block, so
	// that EpochDue and NextEpochBlock give that runtime's next epoch.
	tempo, next := uint64(e.Tempo), head.Number+1
	nextEpoch := next + chain.LegacyBlocksUntilNextEpoch(netuid, e.Tempo, next)
	e.Index = chain.LegacyEpochIndex(netuid, e.Tempo, head.Number)
	e.LastEpochBlock = nextEpoch - min(tempo, nextEpoch)
	e.TxEpoch = chain.LegacyEpochIndex(netuid, e.Tempo, next)
	return e, nil
}
