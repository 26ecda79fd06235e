package subtensor

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/chain/chaintest"
	"golang.org/x/crypto/blake2b"
)

// inclusionNode is a node for the inclusion tests. It serves the recorded
// finney spec-343 runtime (its metadata, and so the extrinsic format and
// the layout of events and errors), checks every submitted extrinsic's
// signature and era, and scripts what a Substrate node does with it, as
// Substrate and subtensor do it: the pool validates it
// (reveal_weights of a hash in no commit: 1010 "Custom error: 16", nothing
// included); otherwise it answers "ready", the next block includes it and
// its System.Events hold its events and outcome (set_commitment of an
// account that may not commit: ExtrinsicFailed with
// Commitments.AccountNotAllowedCommit), and the watcher hears "inBlock"
// with that block's hash, by which time the author has built one more
// block. State (CommitmentOf) is kept per block. What is scripted here and
// not recorded: this sequencing, and the chain's values.
type inclusionNode struct {
	*replayNode
	t    *testing.T
	m    *runtimeMeta
	imu  sync.Mutex
	head uint64
	// by block number
	hashes []string
	xts    [][]string
	events [][]byte
	state  []map[string]string // CommitmentOf key → value, both hex
	// registered accounts may commit
	registered map[[32]byte]bool
	nonces     map[string]uint64
	commitEv   [2]byte // Commitments.Commitment's pallet and variant
	notAllowed []byte  // DispatchError of Commitments.AccountNotAllowedCommit
}

const inherentXt = "0x280402000b"

func newInclusionNode(t *testing.T) *inclusionNode {
	n := &inclusionNode{replayNode: newReplayNode(t), t: t, m: loadMeta(t),
		registered: map[[32]byte]bool{}, nonces: map[string]uint64{}}
	n.serveMetadata(t)
	found := false
	for p := 0; p < 256 && !found; p++ {
		for v := 0; v < 8; v++ {
			if pn, en, _, err := n.m.eventFields(uint8(p), uint8(v)); err == nil && pn == "Commitments" && en == "Commitment" {
				n.commitEv, found = [2]byte{byte(p), byte(v)}, true
				break
			}
		}
	}
	if !found {
		t.Fatal("no Commitments.Commitment event in spec 343")
	}
	p, e, ok := errorIndex(t, n.m, "Commitments", "AccountNotAllowedCommit")
	if !ok {
		t.Fatal("no Commitments.AccountNotAllowedCommit in spec 343")
	}
	n.notAllowed = []byte{3, p, e, 0, 0, 0}
	n.hashes = []string{numberHash(0)}
	n.xts = [][]string{nil}
	n.events = [][]byte{{0}}
	n.state = []map[string]string{{}}
	n.build(10, nil)

	n.handle("chain_getBlockHash", func(p []any, _ func(string, any)) (any, *rpcError) {
		num := uint64(p[0].(float64))
		n.imu.Lock()
		defer n.imu.Unlock()
		if num > n.head {
			return nil, nil
		}
		return n.hashes[num], nil
	})
	n.handle("chain_getHeader", func(p []any, _ func(string, any)) (any, *rpcError) {
		n.imu.Lock()
		defer n.imu.Unlock()
		num := n.head
		if len(p) > 0 && p[0] != nil {
			var ok bool
			if num, ok = n.number(p[0].(string)); !ok {
				return nil, nil
			}
		}
		parent := "0x" + strings.Repeat("00", 32)
		if num > 0 {
			parent = n.hashes[num-1]
		}
		return map[string]any{"number": fmt.Sprintf("0x%x", num), "parentHash": parent}, nil
	})
	n.handle("chain_getFinalizedHead", func([]any, func(string, any)) (any, *rpcError) {
		n.imu.Lock()
		defer n.imu.Unlock()
		return n.hashes[n.head], nil
	})
	n.handle("system_accountNextIndex", func(p []any, _ func(string, any)) (any, *rpcError) {
		n.imu.Lock()
		defer n.imu.Unlock()
		return n.nonces[p[0].(string)], nil
	})
	n.handle("author_unwatchExtrinsic", func([]any, func(string, any)) (any, *rpcError) { return true, nil })
	n.handle("author_submitAndWatchExtrinsic", n.submit)
	n.handle("chain_getBlock", func(p []any, _ func(string, any)) (any, *rpcError) {
		n.imu.Lock()
		defer n.imu.Unlock()
		num, ok := n.number(p[0].(string))
		if !ok {
			return nil, nil
		}
		return map[string]any{"block": map[string]any{"extrinsics": n.xts[num]}}, nil
	})
	n.handle("state_getStorage", func(p []any, _ func(string, any)) (any, *rpcError) {
		n.imu.Lock()
		defer n.imu.Unlock()
		num := n.head
		if len(p) > 1 && p[1] != nil {
			var ok bool
			if num, ok = n.number(p[1].(string)); !ok {
				return nil, &rpcError{Code: 4003, Message: "Client error: UnknownBlock"}
			}
		}
		key := strings.ToLower(p[0].(string))
		if key == eventsKey {
			return hexOf(n.events[num]), nil
		}
		if v, ok := n.state[num][key]; ok {
			return v, nil
		}
		if strings.HasPrefix(key, hexOf(storagePrefix("Commitments", "CommitmentOf"))) {
			return nil, nil
		}
		return nil, &rpcError{Code: -32601, Message: "unexpected storage read " + key}
	})
	n.handle("state_queryStorageAt", func(p []any, _ func(string, any)) (any, *rpcError) {
		n.imu.Lock()
		defer n.imu.Unlock()
		num, ok := n.number(p[1].(string))
		if !ok {
			return nil, &rpcError{Code: 4003, Message: "Client error: UnknownBlock"}
		}
		var changes [][2]any
		for _, k := range p[0].([]any) {
			v, ok := n.state[num][strings.ToLower(k.(string))]
			if ok {
				changes = append(changes, [2]any{k, v})
			} else {
				changes = append(changes, [2]any{k, nil})
			}
		}
		return []any{map[string]any{"block": p[1], "changes": changes}}, nil
	})
	return n
}

func numberHash(n uint64) string {
	h := blake2b.Sum256(binary.LittleEndian.AppendUint64([]byte("inclusion node"), n))
	return hexOf(h[:])
}

func (n *inclusionNode) number(hash string) (uint64, bool) {
	for i, h := range n.hashes {
		if strings.EqualFold(h, hash) {
			return uint64(i), true
		}
	}
	return 0, false
}

// build appends k blocks; the first includes xt (after the timestamp
// inherent) with its events, and the state changes in set. Called with imu
// held.
func (n *inclusionNode) build(k int, xt *builtXt) {
	for i := 0; i < k; i++ {
		num := n.head + 1
		state := map[string]string{}
		for key, v := range n.state[n.head] {
			state[key] = v
		}
		xts := []string{inherentXt}
		recs := [][]byte{eventRecord(applyPhase(0), 0, 0, dispatchInfo())}
		if i == 0 && xt != nil {
			xts = append(xts, xt.hex)
			recs = append(recs, xt.events...)
			for key, v := range xt.set {
				state[key] = v
			}
		}
		n.hashes = append(n.hashes, numberHash(num))
		n.xts = append(n.xts, xts)
		n.events = append(n.events, concat(appendCompact(nil, uint64(len(recs))), concat(recs...)))
		n.state = append(n.state, state)
		n.head = num
	}
}

type builtXt struct {
	hex    string
	events [][]byte
	set    map[string]string
}

func (n *inclusionNode) submit(p []any, notify func(string, any)) (any, *rpcError) {
	n.imu.Lock()
	defer n.imu.Unlock()
	raw, err := decodeHex(p[0].(string))
	if err != nil {
		return nil, &rpcError{Code: 1002, Message: err.Error()}
	}
	px := parseExtrinsic(n.t, raw)
	var genesis, birth [32]byte
	hash32(n.hashes[0], &genesis)
	hash32(n.hashes[n.head], &birth)
	if string(px.era) != string(mortalEra(64, n.head)) || px.nonce != n.nonces[ss58(px.signer)] {
		n.t.Errorf("era %x nonce %d at head %d", px.era, px.nonce, n.head)
	}
	if err := chain.Verify(ss58(px.signer), payloadFor(px, 343, 1, genesis, birth), px.sig); err != nil {
		return nil, &rpcError{Code: 1010, Message: "Invalid Transaction", Data: json.RawMessage(`"Transaction has a bad signature"`)}
	}
	reveal, _ := n.m.callIndex("SubtensorModule", "reveal_weights")
	commit, _ := n.m.callIndex("Commitments", "set_commitment")
	var ci [2]byte
	copy(ci[:], px.call)
	var set map[string]string
	var evs [][]byte
	switch ci {
	case reveal:
		// CheckWeights::check_reveal finds no commit with this hash.
		return nil, &rpcError{Code: 1010, Message: "Invalid Transaction", Data: json.RawMessage(`"Custom error: 16"`)}
	case commit:
		netuid := binary.LittleEndian.Uint16(px.call[2:4])
		if n.registered[px.signer] {
			// Registration { deposit, block, info } with the call's info.
			v := binary.LittleEndian.AppendUint64(nil, 0)
			v = binary.LittleEndian.AppendUint32(v, uint32(n.head+1))
			set = map[string]string{strings.ToLower(hexOf(commitmentKey(netuid, px.signer))): hexOf(append(v, px.call[4:]...))}
			evs = [][]byte{
				eventRecord(applyPhase(1), n.commitEv[0], n.commitEv[1], concat(u16LE(netuid), px.signer[:])),
				eventRecord(applyPhase(1), 0, 0, dispatchInfo()),
			}
		} else {
			evs = [][]byte{eventRecord(applyPhase(1), 0, 1, concat(n.notAllowed, dispatchInfo()))}
		}
	default:
		n.t.Errorf("unexpected call %x", ci)
		return nil, &rpcError{Code: 1010, Message: "Invalid Transaction", Data: json.RawMessage(`"Custom error: 255"`)}
	}
	n.nonces[ss58(px.signer)]++
	n.build(1, &builtXt{hex: p[0].(string), events: evs, set: set})
	included := n.hashes[n.head]
	n.build(1, nil) // the author is a block further when the watcher hears
	notify("sub-1", "ready")
	notify("sub-1", map[string]any{"inBlock": included})
	return "sub-1", nil
}

// extrinsicErrors reads a block's failed extrinsics' dispatch errors with
// the client, from the block's System.Events.
func extrinsicErrors(c *Client) func(ctx context.Context, block uint64) ([]error, error) {
	return func(ctx context.Context, block uint64) ([]error, error) {
		hash, err := c.BlockHash(ctx, block)
		if err != nil {
			return nil, err
		}
		var raw *string
		if err := c.call(ctx, &raw, "state_getStorage", eventsKey, hash); err != nil || raw == nil {
			return nil, fmt.Errorf("events of %d: %v", block, err)
		}
		events, err := decodeHex(*raw)
		if err != nil {
			return nil, err
		}
		meta, _, err := c.metadata(ctx, hash)
		if err != nil {
			return nil, err
		}
		outcomes, _, err := eventOutcomes(meta, events)
		if err != nil {
			return nil, err
		}
		var idx []uint32
		for i, o := range outcomes {
			if o != nil {
				idx = append(idx, i)
			}
		}
		sort.Slice(idx, func(a, b int) bool { return idx[a] < idx[b] })
		var out []error
		for _, i := range idx {
			out = append(out, outcomes[i])
		}
		return out, nil
	}
}

// TestInclusionConformance runs chaintest's inclusion tests against the
// client talking to the scripted node: the client waits for the including
// block (not the pool's "ready"), reads the outcome from that block (the
// head has moved on), and maps a pool refusal and a dispatch failure as
// the devchain does.
func TestInclusionConformance(t *testing.T) {
	chaintest.RunInclusion(t, func(t *testing.T) *chaintest.InclusionHarness {
		n := newInclusionNode(t)
		committer := chainKey(t, "Committer")
		pk, err := chain.PublicKey(committer.SS58())
		if err != nil {
			t.Fatal(err)
		}
		n.registered[pk] = true
		c := dialReplay(t, n.replayNode, Options{})
		return &chaintest.InclusionHarness{
			Client: c, Netuid: 7, Committer: committer, Outsider: chainKey(t, "Outsider"),
			Advance: func(ctx context.Context, k int) error {
				n.imu.Lock()
				defer n.imu.Unlock()
				n.build(k, nil)
				return nil
			},
			ExtrinsicErrors: extrinsicErrors(c),
		}
	})
}
