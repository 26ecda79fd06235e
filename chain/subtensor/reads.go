package subtensor

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/wallet"
)

// keysPageSize is the state_getKeysPaged page size (the Python SDK's).
const keysPageSize = 100

func hexOf(b []byte) string { return "0x" + hex.EncodeToString(b) }

// Block returns the best block.
func (c *Client) Block(ctx context.Context) (chain.Block, error) {
	var hdr struct {
		Number string `json:"number"`
	}
	if err := c.call(ctx, &hdr, "chain_getHeader", nil); err != nil {
		return chain.Block{}, fmt.Errorf("best block: %w", err)
	}
	n, err := strconv.ParseUint(strings.TrimPrefix(hdr.Number, "0x"), 16, 64)
	if err != nil {
		return chain.Block{}, fmt.Errorf("best block: number %q: %w", hdr.Number, err)
	}
	h, err := c.BlockHash(ctx, n)
	if err != nil {
		return chain.Block{}, err
	}
	return chain.Block{Number: n, Hash: h}, nil
}

// BlockHash returns the hash of block number.
func (c *Client) BlockHash(ctx context.Context, number uint64) (string, error) {
	var h *string
	if err := c.call(ctx, &h, "chain_getBlockHash", number); err != nil {
		return "", fmt.Errorf("block hash %d: %w", number, err)
	}
	if h == nil {
		return "", fmt.Errorf("block %d: %w", number, chain.ErrUnknownBlock)
	}
	return *h, nil
}

// stateCall runs a runtime API at blockHash (best when empty) and returns
// the unwrapped result, nil for None.
func (c *Client) stateCall(ctx context.Context, method string, args []byte, blockHash string, optional bool) ([]byte, error) {
	var res string
	params := []any{method, hexOf(args)}
	if blockHash != "" {
		params = append(params, blockHash)
	}
	if err := c.call(ctx, &res, "state_call", params...); err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	b, err := decodeHex(res)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	out, err := runtimeResult(b, optional)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	return out, nil
}

// queryStorage reads keys at blockHash (best when empty) in one round
// trip; absent values are nil.
func (c *Client) queryStorage(ctx context.Context, keys [][]byte, blockHash string) ([][]byte, error) {
	hexKeys := make([]string, len(keys))
	for i, k := range keys {
		hexKeys[i] = hexOf(k)
	}
	var sets []struct {
		Changes [][2]*string `json:"changes"`
	}
	var at any
	if blockHash != "" {
		at = blockHash
	}
	if err := c.call(ctx, &sets, "state_queryStorageAt", hexKeys, at); err != nil {
		return nil, fmt.Errorf("query storage: %w", err)
	}
	byKey := map[string][]byte{}
	for _, s := range sets {
		for _, ch := range s.Changes {
			if ch[0] == nil || ch[1] == nil {
				continue
			}
			v, err := decodeHex(*ch[1])
			if err != nil {
				return nil, fmt.Errorf("query storage: %w", err)
			}
			byKey[strings.ToLower(*ch[0])] = v
		}
	}
	out := make([][]byte, len(keys))
	for i, k := range hexKeys {
		out[i] = byKey[k]
	}
	return out, nil
}

// keysWithPrefix lists every storage key under prefix, a page at a time.
func (c *Client) keysWithPrefix(ctx context.Context, prefix []byte, blockHash string) ([][]byte, error) {
	var all [][]byte
	start := hexOf(prefix)
	var at any
	if blockHash != "" {
		at = blockHash
	}
	for {
		var page []string
		if err := c.call(ctx, &page, "state_getKeysPaged", hexOf(prefix), keysPageSize, start, at); err != nil {
			return nil, fmt.Errorf("storage keys: %w", err)
		}
		for _, k := range page {
			b, err := decodeHex(k)
			if err != nil {
				return nil, fmt.Errorf("storage keys: %w", err)
			}
			if !bytes.HasPrefix(b, prefix) {
				return nil, fmt.Errorf("storage keys: node returned %s outside prefix", k)
			}
			all = append(all, b)
		}
		if len(page) < keysPageSize {
			return all, nil
		}
		start = page[len(page)-1]
	}
}

// mapEntries reads every key and value under prefix.
func (c *Client) mapEntries(ctx context.Context, prefix []byte, blockHash string) (keys, values [][]byte, err error) {
	keys, err = c.keysWithPrefix(ctx, prefix, blockHash)
	if err != nil {
		return nil, nil, err
	}
	for i := 0; i < len(keys); i += keysPageSize {
		page := keys[i:min(i+keysPageSize, len(keys))]
		vals, err := c.queryStorage(ctx, page, blockHash)
		if err != nil {
			return nil, nil, err
		}
		values = append(values, vals...)
	}
	return keys, values, nil
}

// Hyperparameters reads a subnet's settings: the hyperparams runtime API
// plus the storage items it lacks (MaxAllowedUids, Burn, BondsPenalty,
// StakeThreshold, Commitments.MaxSpace).
func (c *Client) Hyperparameters(ctx context.Context, netuid uint16) (chain.Hyperparameters, error) {
	res, err := c.stateCall(ctx, "SubnetInfoRuntimeApi_get_subnet_hyperparams", u16LE(netuid), "", true)
	if err != nil {
		return chain.Hyperparameters{}, fmt.Errorf("hyperparameters of %d: %w", netuid, err)
	}
	if res == nil {
		return chain.Hyperparameters{}, fmt.Errorf("hyperparameters of %d: %w", netuid, chain.ErrSubnetNotFound)
	}
	hp, err := decodeHyperparams(res)
	if err != nil {
		return hp, fmt.Errorf("hyperparameters of %d: %w", netuid, err)
	}
	meta, _, err := c.metadata(ctx, "")
	if err != nil {
		return hp, fmt.Errorf("hyperparameters of %d: %w", netuid, err)
	}
	items := []struct {
		pallet, item string
		netuidKey    bool
		set          func([]byte)
	}{
		{"SubtensorModule", "MaxAllowedUids", true, func(b []byte) { hp.MaxAllowedUIDs = binary.LittleEndian.Uint16(b) }},
		{"SubtensorModule", "Burn", true, func(b []byte) { hp.Burn = binary.LittleEndian.Uint64(b) }},
		{"SubtensorModule", "BondsPenalty", true, func(b []byte) { hp.BondsPenalty = binary.LittleEndian.Uint16(b) }},
		{"SubtensorModule", "StakeThreshold", false, func(b []byte) { hp.StakeThreshold = binary.LittleEndian.Uint64(b) }},
		{"Commitments", "MaxSpace", false, func(b []byte) { hp.CommitmentMaxSpace = uint64(binary.LittleEndian.Uint32(b)) }},
	}
	sizes := map[string]int{"MaxAllowedUids": 2, "Burn": 8, "BondsPenalty": 2, "StakeThreshold": 8, "MaxSpace": 4}
	keys := make([][]byte, len(items))
	for i, it := range items {
		keys[i] = storagePrefix(it.pallet, it.item)
		if it.netuidKey {
			keys[i] = append(keys[i], u16LE(netuid)...)
		}
	}
	vals, err := c.queryStorage(ctx, keys, "")
	if err != nil {
		return hp, fmt.Errorf("hyperparameters of %d: %w", netuid, err)
	}
	for i, it := range items {
		v := vals[i]
		if v == nil { // absent: the item's declared default applies
			if v, err = meta.storageDefault(it.pallet, it.item); err != nil {
				return hp, fmt.Errorf("hyperparameters of %d: %w", netuid, err)
			}
		}
		if len(v) != sizes[it.item] {
			return hp, fmt.Errorf("hyperparameters of %d: %s.%s is %d bytes", netuid, it.pallet, it.item, len(v))
		}
		it.set(v)
	}
	return hp, nil
}

// Metagraph reads a subnet's neurons at the best block: NeuronInfoLite for
// each uid, the subnet state for registration blocks and total stake, and
// the Weights and Bonds maps.
func (c *Client) Metagraph(ctx context.Context, netuid uint16) (*chain.Metagraph, error) {
	head, err := c.Block(ctx)
	if err != nil {
		return nil, fmt.Errorf("metagraph %d: %w", netuid, err)
	}
	return c.metagraphAt(ctx, netuid, head)
}

func (c *Client) metagraphAt(ctx context.Context, netuid uint16, at chain.Block) (*chain.Metagraph, error) {
	res, err := c.stateCall(ctx, "NeuronInfoRuntimeApi_get_neurons_lite", u16LE(netuid), at.Hash, false)
	if err != nil {
		return nil, fmt.Errorf("metagraph %d: %w", netuid, err)
	}
	lite, err := decodeNeuronsLite(res)
	if err != nil {
		return nil, fmt.Errorf("metagraph %d: %w", netuid, err)
	}
	res, err = c.stateCall(ctx, "SubnetInfoRuntimeApi_get_subnet_state", u16LE(netuid), at.Hash, true)
	if err != nil {
		return nil, fmt.Errorf("metagraph %d: %w", netuid, err)
	}
	if res == nil {
		return nil, fmt.Errorf("metagraph %d: subnet state: %w", netuid, chain.ErrSubnetNotFound)
	}
	state, err := decodeSubnetState(res)
	if err != nil {
		return nil, fmt.Errorf("metagraph %d: %w", netuid, err)
	}
	weights, err := c.sparseMatrix(ctx, "Weights", netuid, at.Hash)
	if err != nil {
		return nil, fmt.Errorf("metagraph %d: %w", netuid, err)
	}
	bonds, err := c.sparseMatrix(ctx, "Bonds", netuid, at.Hash)
	if err != nil {
		return nil, fmt.Errorf("metagraph %d: %w", netuid, err)
	}
	mg := &chain.Metagraph{Netuid: netuid, Block: at.Number, Neurons: make([]chain.Neuron, 0, len(lite))}
	for _, nl := range lite {
		n := chain.Neuron{
			UID:             nl.uid,
			Hotkey:          wallet.EncodeSS58(nl.hotkey),
			Coldkey:         wallet.EncodeSS58(nl.coldkey),
			Stake:           nl.stake,
			ValidatorPermit: nl.validatorPermit,
			Active:          nl.active,
			Consensus:       nl.consensus,
			Incentive:       nl.incentive,
			Dividends:       nl.dividends,
			ValidatorTrust:  nl.validatorTrust,
			Emission:        nl.emission,
			LastUpdate:      nl.lastUpdate,
			Weights:         weights[nl.uid],
			Bonds:           bonds[nl.uid],
		}
		// The subnet state is indexed by uid; use it only when it agrees
		// on the hotkey, so a registration between the two reads cannot
		// mix two neurons.
		if i := int(nl.uid); i < len(state.hotkeys) && state.hotkeys[i] == nl.hotkey {
			if i < len(state.blockAtRegistration) {
				n.BlockAtRegistration = state.blockAtRegistration[i]
			}
			if i < len(state.totalStake) {
				n.Stake = state.totalStake[i]
			}
		}
		mg.Neurons = append(mg.Neurons, n)
	}
	return mg, nil
}

// sparseMatrix reads the Weights or Bonds rows of a subnet, by uid.
func (c *Client) sparseMatrix(ctx context.Context, item string, netuid uint16, blockHash string) (map[uint16][]chain.WeightEntry, error) {
	prefix := append(storagePrefix("SubtensorModule", item), u16LE(netuid)...)
	keys, vals, err := c.mapEntries(ctx, prefix, blockHash)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", item, err)
	}
	rows := make(map[uint16][]chain.WeightEntry, len(keys))
	for i, k := range keys {
		if len(k) != len(prefix)+2 || vals[i] == nil {
			continue
		}
		row, err := decodeSparse(vals[i])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", item, err)
		}
		if len(row) > 0 {
			rows[binary.LittleEndian.Uint16(k[len(prefix):])] = row
		}
	}
	return rows, nil
}

// Commitment reads hotkey's CommitmentOf entry on netuid.
func (c *Client) Commitment(ctx context.Context, netuid uint16, hotkey string) (chain.Commitment, error) {
	pk, err := chain.PublicKey(hotkey)
	if err != nil {
		return chain.Commitment{}, err
	}
	var res *string
	if err := c.call(ctx, &res, "state_getStorage", hexOf(commitmentKey(netuid, pk))); err != nil {
		return chain.Commitment{}, fmt.Errorf("commitment of %s: %w", hotkey, err)
	}
	if res == nil {
		return chain.Commitment{}, fmt.Errorf("commitment of %s on %d: %w", hotkey, netuid, chain.ErrNoCommitment)
	}
	b, err := decodeHex(*res)
	if err != nil {
		return chain.Commitment{}, fmt.Errorf("commitment of %s: %w", hotkey, err)
	}
	block, data, err := decodeRegistration(b)
	if err != nil {
		return chain.Commitment{}, fmt.Errorf("commitment of %s: %w", hotkey, err)
	}
	return chain.Commitment{Hotkey: hotkey, Block: block, Data: data}, nil
}

// Commitments reads every CommitmentOf entry of netuid.
func (c *Client) Commitments(ctx context.Context, netuid uint16) ([]chain.Commitment, error) {
	prefix := append(storagePrefix("Commitments", "CommitmentOf"), u16LE(netuid)...)
	keys, vals, err := c.mapEntries(ctx, prefix, "")
	if err != nil {
		return nil, fmt.Errorf("commitments of %d: %w", netuid, err)
	}
	var out []chain.Commitment
	for i, k := range keys {
		if len(k) != len(prefix)+8+32 || vals[i] == nil {
			continue // not an (account) key, or removed between the two reads
		}
		var acct [32]byte
		copy(acct[:], k[len(prefix)+8:])
		block, data, err := decodeRegistration(vals[i])
		if err != nil {
			return nil, fmt.Errorf("commitments of %d: %w", netuid, err)
		}
		out = append(out, chain.Commitment{Hotkey: wallet.EncodeSS58(acct), Block: block, Data: data})
	}
	return out, nil
}
