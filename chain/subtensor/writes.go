package subtensor

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/datarefine/refine/chain"
)

// Register burns the registration cost from coldkey and registers hotkey
// (SubtensorModule.burned_register), then reads its uid at the block that
// included the extrinsic.
func (c *Client) Register(ctx context.Context, coldkey chain.Signer, netuid uint16, hotkey string) (uint16, error) {
	hk, err := chain.PublicKey(hotkey)
	if err != nil {
		return 0, err
	}
	block, err := c.submit(ctx, coldkey, func(m *runtimeMeta) ([]byte, error) {
		ci, err := m.callIndex("SubtensorModule", "burned_register")
		return callBurnedRegister(ci, netuid, hk), err
	})
	if err != nil {
		return 0, fmt.Errorf("register %s on %d: %w", hotkey, netuid, err)
	}
	key := append(storagePrefix("SubtensorModule", "Uids"), u16LE(netuid)...)
	key = append(key, blake2_128Concat(hk[:])...)
	var res *string
	if err := c.call(ctx, &res, "state_getStorage", hexOf(key), block); err != nil {
		return 0, fmt.Errorf("register %s on %d: read uid: %w", hotkey, netuid, err)
	}
	if res == nil {
		return 0, fmt.Errorf("register %s on %d: no uid after registration: %w", hotkey, netuid, chain.ErrNotRegistered)
	}
	b, err := decodeHex(*res)
	if err != nil || len(b) != 2 {
		return 0, fmt.Errorf("register %s on %d: bad uid value %q", hotkey, netuid, *res)
	}
	return binary.LittleEndian.Uint16(b), nil
}

// Commit sets hotkey's commitment (Commitments.set_commitment with one Raw
// or BigRaw field).
func (c *Client) Commit(ctx context.Context, hotkey chain.Signer, netuid uint16, data []byte) error {
	if _, err := encodeData(data); err != nil {
		return err
	}
	_, err := c.submit(ctx, hotkey, func(m *runtimeMeta) ([]byte, error) {
		ci, err := m.callIndex("Commitments", "set_commitment")
		if err != nil {
			return nil, err
		}
		if len(data) > 128 && !m.hasVariant("pallet_commitments::types::Data", "BigRaw", dataBigRaw) {
			return nil, fmt.Errorf("%w: %d bytes and this runtime has no BigRaw commitments", chain.ErrCommitmentTooLarge, len(data))
		}
		return callSetCommitment(ci, netuid, data)
	})
	if err != nil {
		return fmt.Errorf("commit on %d: %w", netuid, err)
	}
	return nil
}

// SetWeights sets hotkey's weights (SubtensorModule.set_weights).
func (c *Client) SetWeights(ctx context.Context, hotkey chain.Signer, netuid uint16, uids, weights []uint16, versionKey uint64) error {
	if len(uids) != len(weights) {
		return fmt.Errorf("set weights: %w: %d uids, %d weights", chain.ErrLengthMismatch, len(uids), len(weights))
	}
	_, err := c.submit(ctx, hotkey, func(m *runtimeMeta) ([]byte, error) {
		ci, err := m.callIndex("SubtensorModule", "set_weights")
		return callSetWeights(ci, netuid, uids, weights, versionKey), err
	})
	if err != nil {
		return fmt.Errorf("set weights on %d: %w", netuid, err)
	}
	return nil
}

// CommitWeights commits a CommitHash (SubtensorModule.commit_weights).
func (c *Client) CommitWeights(ctx context.Context, hotkey chain.Signer, netuid uint16, hash [32]byte) error {
	_, err := c.submit(ctx, hotkey, func(m *runtimeMeta) ([]byte, error) {
		ci, err := m.callIndex("SubtensorModule", "commit_weights")
		return callCommitWeights(ci, netuid, hash), err
	})
	if err != nil {
		return fmt.Errorf("commit weights on %d: %w", netuid, err)
	}
	return nil
}

// RevealWeights reveals committed weights (SubtensorModule.reveal_weights).
func (c *Client) RevealWeights(ctx context.Context, hotkey chain.Signer, netuid uint16, uids, weights, salt []uint16, versionKey uint64) error {
	if len(uids) != len(weights) {
		return fmt.Errorf("reveal weights: %w: %d uids, %d weights", chain.ErrLengthMismatch, len(uids), len(weights))
	}
	_, err := c.submit(ctx, hotkey, func(m *runtimeMeta) ([]byte, error) {
		ci, err := m.callIndex("SubtensorModule", "reveal_weights")
		return callRevealWeights(ci, netuid, uids, weights, salt, versionKey), err
	})
	if err != nil {
		return fmt.Errorf("reveal weights on %d: %w", netuid, err)
	}
	return nil
}

// AddStake stakes amount rao from coldkey to hotkey on netuid
// (SubtensorModule.add_stake).
func (c *Client) AddStake(ctx context.Context, coldkey chain.Signer, netuid uint16, hotkey string, amount uint64) error {
	hk, err := chain.PublicKey(hotkey)
	if err != nil {
		return err
	}
	_, err = c.submit(ctx, coldkey, func(m *runtimeMeta) ([]byte, error) {
		ci, err := m.callIndex("SubtensorModule", "add_stake")
		return callAddStake(ci, hk, netuid, amount), err
	})
	if err != nil {
		return fmt.Errorf("add stake to %s on %d: %w", hotkey, netuid, err)
	}
	return nil
}
