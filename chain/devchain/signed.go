package devchain

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/chain/yuma"
)

// caller signs and submits a call and waits until it is in a block, as a
// client that waits for inclusion does; Chain submits in-process, Client
// over HTTP. The call's error is its refusal by the pool, its dispatch
// error in its block, or chain.ErrTxDropped.
type caller interface {
	call(ctx context.Context, method string, netuid uint16, signer chain.Signer, args any) (CallResult, error)
}

// The chain.Client mutating methods, written once over caller.

func doRegister(ctx context.Context, c caller, coldkey chain.Signer, netuid uint16, hotkey string) (uint16, error) {
	res, err := c.call(ctx, MethodRegister, netuid, coldkey, RegisterArgs{Hotkey: hotkey})
	if err != nil {
		return 0, err
	}
	if res.UID == nil {
		return 0, fmt.Errorf("register %s: no uid in result", hotkey)
	}
	return *res.UID, nil
}

func doAddStake(ctx context.Context, c caller, coldkey chain.Signer, netuid uint16, hotkey string, amount uint64) error {
	_, err := c.call(ctx, MethodAddStake, netuid, coldkey, StakeArgs{Hotkey: hotkey, Amount: amount})
	return err
}

func doCommit(ctx context.Context, c caller, hotkey chain.Signer, netuid uint16, data []byte) error {
	_, err := c.call(ctx, MethodCommit, netuid, hotkey, CommitArgs{Data: data})
	return err
}

func doSetWeights(ctx context.Context, c caller, hotkey chain.Signer, netuid uint16, uids, weights []uint16, versionKey uint64) error {
	_, err := c.call(ctx, MethodSetWeights, netuid, hotkey, SetWeightsArgs{UIDs: uids, Weights: weights, VersionKey: versionKey})
	return err
}

func doCommitWeights(ctx context.Context, c caller, hotkey chain.Signer, netuid uint16, hash [32]byte) error {
	_, err := c.call(ctx, MethodCommitWeights, netuid, hotkey, CommitWeightsArgs{Hash: "0x" + hex.EncodeToString(hash[:])})
	return err
}

func doRevealWeights(ctx context.Context, c caller, hotkey chain.Signer, netuid uint16, uids, weights, salt []uint16, versionKey uint64) error {
	_, err := c.call(ctx, MethodRevealWeights, netuid, hotkey, SetWeightsArgs{UIDs: uids, Weights: weights, Salt: salt, VersionKey: versionKey})
	return err
}

func (c *Chain) call(ctx context.Context, method string, netuid uint16, signer chain.Signer, args any) (CallResult, error) {
	call, err := NewCall(c.genesis, method, netuid, signer, args, c.opts.Now())
	if err != nil {
		return CallResult{}, err
	}
	st, err := c.submitAndWait(ctx, call)
	return resultOf(st), err
}

// Register implements chain.Client.
func (c *Chain) Register(ctx context.Context, coldkey chain.Signer, netuid uint16, hotkey string) (uint16, error) {
	return doRegister(ctx, c, coldkey, netuid, hotkey)
}

// AddStake implements chain.Staker.
func (c *Chain) AddStake(ctx context.Context, coldkey chain.Signer, netuid uint16, hotkey string, amount uint64) error {
	return doAddStake(ctx, c, coldkey, netuid, hotkey, amount)
}

// Commit implements chain.Client.
func (c *Chain) Commit(ctx context.Context, hotkey chain.Signer, netuid uint16, data []byte) error {
	return doCommit(ctx, c, hotkey, netuid, data)
}

// SetWeights implements chain.Client.
func (c *Chain) SetWeights(ctx context.Context, hotkey chain.Signer, netuid uint16, uids, weights []uint16, versionKey uint64) error {
	return doSetWeights(ctx, c, hotkey, netuid, uids, weights, versionKey)
}

// CommitWeights implements chain.Client.
func (c *Chain) CommitWeights(ctx context.Context, hotkey chain.Signer, netuid uint16, hash [32]byte) error {
	return doCommitWeights(ctx, c, hotkey, netuid, hash)
}

// RevealWeights implements chain.Client.
func (c *Chain) RevealWeights(ctx context.Context, hotkey chain.Signer, netuid uint16, uids, weights, salt []uint16, versionKey uint64) error {
	return doRevealWeights(ctx, c, hotkey, netuid, uids, weights, salt, versionKey)
}

func entries(w []yuma.Weight) []chain.WeightEntry {
	if len(w) == 0 {
		return nil
	}
	out := make([]chain.WeightEntry, len(w))
	for i, e := range w {
		out[i] = chain.WeightEntry{UID: e.UID, Value: e.Value}
	}
	return out
}
