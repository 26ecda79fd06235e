package subtensor

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/internal/shareddata"
)

// Two real finney blocks (spec 393) whose System.Events, block hashes and
// headers were recorded from the finney archive node (async-substrate-
// interface's test data): 7959608 holds five Commitments.Commitment events
// on netuid 89, 7959635 one on netuid 123.
const (
	asiFile      = "asi_release2_integration_websocket_data.json"
	histBlockA   = 7959608
	histBlockB   = 7959635
	histHeadNext = histBlockB + 1
)

// histAccountsA are the accounts of block 7959608's commitment events, in
// event order (decoded from the recording).
var histAccountsA = []string{
	"205ccdaeb9c357ecbfa6b7264d0f15e598f9bbe45f912b03b5c9ef789e9d565c",
	"0202684e79f5f9cd6b84f6f093c1db41de5eb3da9a84f7bfa0cf7b446728a802",
	"0c9c78cd9e6b52ca3df5232fa403ac2206c12176169652a23c522e510190f263",
	"e27dfcc356f61355c7e3ff27e0a60fd2ec937722af9c51ad1a297958cd23a277",
	"8a8c046f391bdfdac36601214bc168f4cb50babcb2c0bf86d2e18f1ccc1c9832",
}

// registration encodes a CommitmentOf value: Registration { deposit u64,
// block u32, info: CommitmentInfo { fields: [Raw(data)] } }.
func registration(t *testing.T, block uint32, data string) string {
	t.Helper()
	f, err := encodeData([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	b := binary.LittleEndian.AppendUint64(nil, 0)
	b = binary.LittleEndian.AppendUint32(b, block)
	return hexOf(concat(b, appendCompact(nil, 1), f))
}

// historyNode replays the recorded blocks. What was not recorded is
// scripted and said so: the CommitmentOf values at those blocks (the
// recording has only the events, which name the account but carry no data)
// are registrations made here, values[account hex] = data; the runtime of
// both blocks is the recorded spec-393 V15 metadata (a real
// Metadata_metadata_at_version(15) answer of the finney archive node).
type historyNode struct {
	*replayNode
	values map[string]string
	block  map[string]uint32 // registration block override, by account hex
}

func newHistoryNode(t *testing.T) *historyNode {
	n := newReplayNode(t)
	h := &historyNode{replayNode: n, values: map[string]string{}, block: map[string]uint32{}}
	raw, err := os.ReadFile(shareddata.Path(t, "chain", "rpc", asiFile))
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]map[string]map[string]struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(raw, &all); err != nil {
		t.Fatal(err)
	}
	hashes := map[string]uint64{}
	for _, sc := range []string{"test_same_events", "test_get_events_proper_decoding"} {
		for method, byParams := range all[sc] {
			for p, r := range byParams {
				var params []any
				if err := json.Unmarshal([]byte(p), &params); err != nil {
					t.Fatal(err)
				}
				switch method {
				case "state_getStorageAt": // the Python SDK's name for state_getStorage
					n.record("state_getStorage", params, r.Result)
				case "chain_getBlockHash":
					var h string
					json.Unmarshal(r.Result, &h)
					hashes[strings.ToLower(h)] = uint64(params[0].(float64))
					n.record(method, params, r.Result)
				case "chain_getHeader", "state_getRuntimeVersion":
					n.record(method, params, r.Result)
				}
			}
		}
	}
	if len(hashes) != 2 {
		t.Fatalf("recorded block hashes: %v", hashes)
	}
	n.handle("chain_getBlockHash", func(p []any, _ func(string, any)) (any, *rpcError) {
		if uint64(p[0].(float64)) >= histHeadNext {
			return nil, nil // past the head
		}
		return nil, &rpcError{Code: -32601, Message: "not recorded"}
	})
	metaRaw, err := os.ReadFile(shareddata.Path(t, "chain", "metadata", "finney_spec393_metadataAtVersion15_option.hex"))
	if err != nil {
		t.Fatal(err)
	}
	meta := strings.TrimSpace(string(metaRaw))
	n.handle("state_call", func(p []any, _ func(string, any)) (any, *rpcError) {
		if p[0] == "Metadata_metadata_at_version" && p[1] == "0x0f000000" {
			return meta, nil
		}
		return nil, &rpcError{Code: -32601, Message: "not recorded"}
	})
	n.handle("state_queryStorageAt", func(p []any, _ func(string, any)) (any, *rpcError) {
		number, ok := hashes[strings.ToLower(p[1].(string))]
		if !ok {
			return nil, &rpcError{Code: -32601, Message: "unknown block"}
		}
		var changes [][2]any
		for _, k := range p[0].([]any) {
			key := k.(string)
			acct := key[len(key)-64:]
			n.mu.Lock()
			data, ok := h.values[acct]
			blk, over := h.block[acct]
			n.mu.Unlock()
			if !over {
				blk = uint32(number)
			}
			if ok {
				changes = append(changes, [2]any{key, registration(t, blk, data)})
			} else {
				changes = append(changes, [2]any{key, nil})
			}
		}
		return []any{map[string]any{"block": p[1], "changes": changes}}, nil
	})
	return h
}

func TestCommitmentHistoryReplay(t *testing.T) {
	h := newHistoryNode(t)
	for i, a := range histAccountsA {
		h.values[a] = fmt.Sprintf("r1:miner%d/data@rev:%d:abc", i, i)
	}
	c := dialReplay(t, h.replayNode, Options{})
	ctx := testCtx(t)

	got, err := c.CommitmentHistory(ctx, 89, histBlockA, histBlockA)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(histAccountsA) {
		t.Fatalf("%d commitments, want %d: %+v", len(got), len(histAccountsA), got)
	}
	for i, cm := range got {
		if cm.Hotkey != acct(t, histAccountsA[i]) || cm.Block != histBlockA || string(cm.Data) != h.values[histAccountsA[i]] {
			t.Errorf("commitment %d = %s %d %q", i, cm.Hotkey, cm.Block, cm.Data)
		}
	}
	// The events name their subnet: netuid 123's one event is in the
	// later block only.
	h.values["362dd6f6be0731a5b5797ca028b1d3f25bce1257da3dbafc642b41713686ec63"] = "sn123"
	if got, err := c.CommitmentHistory(ctx, 123, histBlockA, histBlockA); err != nil || len(got) != 0 {
		t.Errorf("netuid 123 in block %d: %+v, %v", histBlockA, got, err)
	}
	got, err = c.CommitmentHistory(ctx, 123, histBlockB, histBlockB)
	if err != nil || len(got) != 1 || string(got[0].Data) != "sn123" || got[0].Block != histBlockB {
		t.Errorf("netuid 123 in block %d: %+v, %v", histBlockB, got, err)
	}

	_, err = c.CommitmentHistory(ctx, 89, histBlockB, histHeadNext)
	if !errors.Is(err, chain.ErrUnknownBlock) {
		t.Errorf("past the head: %v, want ErrUnknownBlock", err)
	}
	_, err = c.CommitmentHistory(ctx, 89, histBlockB, histBlockA)
	if !errors.Is(err, chain.ErrInvalidArgument) {
		t.Errorf("from after to: %v", err)
	}
	// State that disagrees with the event is an error, not a silent guess.
	h.block[histAccountsA[2]] = histBlockA - 5
	if _, err := c.CommitmentHistory(ctx, 89, histBlockA, histBlockA); err == nil || !strings.Contains(err.Error(), "holds a commitment of block") {
		t.Errorf("stale state: %v", err)
	}
	delete(h.block, histAccountsA[2])
	// An account whose commitment is gone from the block's state (removed
	// later in the block) is left out.
	delete(h.values, histAccountsA[0])
	if got, err := c.CommitmentHistory(ctx, 89, histBlockA, histBlockA); err != nil || len(got) != 4 {
		t.Errorf("with one commitment removed: %d, %v", len(got), err)
	}
}

// TestCommitmentHistoryPruned: a non-archive node answers reads of blocks
// older than its pruning window with Substrate's "State already discarded"
// error (message as reported in paritytech/polkadot#477 and
// polkadot-js/api#2629).
func TestCommitmentHistoryPruned(t *testing.T) {
	h := newHistoryNode(t)
	h.handle("state_getStorage", func(p []any, _ func(string, any)) (any, *rpcError) {
		return nil, &rpcError{Code: -32603, Message: "Unknown error occurred",
			Data: json.RawMessage(fmt.Sprintf(`"Client(UnknownBlock(\"State already discarded for Hash(%s)\"))"`, p[1]))}
	})
	h.mu.Lock()
	for k := range h.recorded {
		if strings.HasPrefix(k, "state_getStorage ") {
			delete(h.recorded, k)
		}
	}
	h.mu.Unlock()
	c := dialReplay(t, h.replayNode, Options{})
	_, err := c.CommitmentHistory(testCtx(t), 89, histBlockA, histBlockA)
	if !errors.Is(err, chain.ErrStatePruned) {
		t.Errorf("pruned block: %v, want ErrStatePruned", err)
	}
}

// TestCommitmentEventsSameAccount: an account that commits twice in a
// block is one entry, at its last event (the state holds only the last).
func TestCommitmentEventsSameAccount(t *testing.T) {
	m := metaFromV15(t, "finney_spec393_metadataV15.scale")
	var pallet, variant uint8
	found := false
	for p := 0; p < 256 && !found; p++ {
		for v := 0; v < 8; v++ {
			if pn, en, _, err := m.eventFields(uint8(p), uint8(v)); err == nil && pn == "Commitments" && en == "Commitment" {
				pallet, variant, found = uint8(p), uint8(v), true
				break
			}
		}
	}
	if !found {
		t.Fatal("no Commitments.Commitment event in spec 393")
	}
	ev := func(netuid uint16, who byte) []byte {
		return eventRecord(applyPhase(1), pallet, variant, concat(binary.LittleEndian.AppendUint16(nil, netuid), make([]byte, 31), []byte{who}))
	}
	events := concat([]byte{4 << 2}, ev(7, 1), ev(7, 2), ev(8, 1), ev(7, 1))
	evs, err := commitmentEvents(m, events)
	if err != nil || len(evs) != 4 {
		t.Fatalf("events = %+v, %v", evs, err)
	}
	if evs[2].netuid != 8 || evs[3].who[31] != 1 || evs[3].index != 3 {
		t.Errorf("decoded = %+v", evs)
	}
	kept := lastPerAccount(evs, 7)
	if len(kept) != 2 || kept[0].who[31] != 2 || kept[1].who[31] != 1 || kept[1].index != 3 {
		t.Errorf("netuid 7, last per account = %+v", kept)
	}
}
