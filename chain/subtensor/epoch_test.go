package subtensor

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/centrifuge/go-substrate-rpc-client/v4/types"

	"github.com/datarefine/refine/chain"
)

// epochNode serves the recorded finney head (block 6852690, spec 343) and
// answers SubtensorModule storage reads of netuid 1 from values (by item
// name; absent items read as absent, so the metadata's default applies).
// The values are scripted: the recording has no epoch storage of that
// block.
func epochNode(t *testing.T, values map[string][]byte) *replayNode {
	n := newReplayNode(t)
	n.loadScenario(mgFile, "metagraph")
	n.serveMetadata(t)
	serveEpochStorage(n, values)
	return n
}

// serveEpochStorage answers state_queryStorageAt at the recorded head with
// SubtensorModule values of netuid 1 by item name.
func serveEpochStorage(n *replayNode, values map[string][]byte) {
	byKey := map[string][]byte{}
	for name, v := range values {
		key := append(storagePrefix("SubtensorModule", name), u16LE(1)...)
		if name == "RevealPeriodEpochs" {
			key = append(storagePrefix("SubtensorModule", name), twox64Concat(u16LE(1))...)
		}
		byKey[hexOf(key)] = v
	}
	n.handle("state_queryStorageAt", func(p []any, _ func(string, any)) (any, *rpcError) {
		if p[1] != mgHash {
			return nil, &rpcError{Code: -32601, Message: "not at the head"}
		}
		var changes [][2]any
		for _, k := range p[0].([]any) {
			if v, ok := byKey[k.(string)]; ok {
				changes = append(changes, [2]any{k, hexOf(v)})
			} else {
				changes = append(changes, [2]any{k, nil})
			}
		}
		return []any{map[string]any{"block": mgHash, "changes": changes}}, nil
	})
}

func u64LE(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

// TestEpochStateLegacy: spec 343 has no epoch storage; the state follows
// that runtime's rule (epochs where (block + 2) mod 361 == 360 for netuid
// 1, tempo 360).
func TestEpochStateLegacy(t *testing.T) {
	n := epochNode(t, map[string][]byte{"NetworksAdded": {1}, "Tempo": {0x68, 0x01}})
	c := dialReplay(t, n, Options{})
	e, err := c.EpochState(testCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	// 6852692 = 361 × 18982 + 190; the next epoch block is 6852860
	// ((6852860 + 2) mod 361 == 360); RevealPeriodEpochs is absent and
	// reads as spec 343's default, 1.
	want := chain.EpochState{Netuid: 1, Block: mgBlock, Tempo: 360, Index: 18982, LastEpochBlock: 6852860 - 360,
		RevealPeriod: 1, TxEpoch: 18982}
	if e != want {
		t.Errorf("state = %+v\nwant    %+v", e, want)
	}
	if got := e.NextEpochBlock(); got != 6852860 {
		t.Errorf("next epoch block %d", got)
	}
	_, err = dialReplay(t, epochNode(t, map[string][]byte{"Tempo": {0x68, 0x01}}), Options{}).EpochState(testCtx(t), 1)
	if !errors.Is(err, chain.ErrSubnetNotFound) {
		t.Errorf("subnet not added: %v", err)
	}
}

// withEpochStorage returns spec 343's metadata with the three storage items
// of the stateful scheduler added, as subtensor main declares them
// (pallets/subtensor/src/lib.rs at spec 425: u64 maps, ValueQuery, default
// 0). No recorded runtime has them yet.
func withEpochStorage(t *testing.T) *runtimeMeta {
	m, err := parseMetadata(metadataHex(t))
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.pallet("SubtensorModule")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"SubnetEpochIndex", "LastEpochBlock", "PendingEpochAt"} {
		p.Storage.Items = append(p.Storage.Items, types.StorageEntryMetadataV14{Name: types.Text(name), Fallback: make([]byte, 8)})
	}
	return m
}

func TestEpochStateStateful(t *testing.T) {
	const head = mgBlock
	tests := []struct {
		name            string
		last, pending   uint64
		wantTx, wantNxt uint64
	}{
		{"mid-epoch", head - 100, 0, 18990, head - 100 + 360},
		{"due in the next block", head + 1 - 360, 0, 18991, head + 1},
		{"overdue (deferred)", head - 400, 0, 18991, head + 1},
		{"owner-triggered", head - 100, head + 1, 18991, head + 1},
		{"triggered later", head - 100, head + 5, 18990, head + 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vals := map[string][]byte{"NetworksAdded": {1}, "Tempo": {0x68, 0x01}, "RevealPeriodEpochs": u64LE(2),
				"SubnetEpochIndex": u64LE(18990), "LastEpochBlock": u64LE(tc.last)}
			if tc.pending > 0 {
				vals["PendingEpochAt"] = u64LE(tc.pending)
			}
			c := dialReplay(t, epochNode(t, vals), Options{})
			c.meta[343] = withEpochStorage(t)
			e, err := c.EpochState(testCtx(t), 1)
			if err != nil {
				t.Fatal(err)
			}
			if e.Index != 18990 || e.LastEpochBlock != tc.last || e.PendingEpochAt != tc.pending || e.RevealPeriod != 2 ||
				e.TxEpoch != tc.wantTx || e.NextEpochBlock() != tc.wantNxt {
				t.Errorf("state = %+v (next %d); want tx epoch %d, next %d", e, e.NextEpochBlock(), tc.wantTx, tc.wantNxt)
			}
		})
	}
	// A value of the wrong width is an error, not a guess.
	c := dialReplay(t, epochNode(t, map[string][]byte{"NetworksAdded": {1}, "Tempo": {0x68, 0x01}, "SubnetEpochIndex": {1, 2}}), Options{})
	c.meta[343] = withEpochStorage(t)
	if _, err := c.EpochState(testCtx(t), 1); err == nil || !strings.Contains(err.Error(), "SubnetEpochIndex is 2 bytes") {
		t.Errorf("short value: %v", err)
	}
}

// TestMetadataSources: the client reads V15 through
// Metadata_metadata_at_version and falls back to state_getMetadata (V14)
// when the runtime lacks the API; both recorded spec-343 blobs give the
// same pallets, calls and storage defaults.
func TestMetadataSources(t *testing.T) {
	var seen [][2]byte
	var exts []int
	for _, v15 := range []bool{true, false} {
		n := newReplayNode(t)
		n.loadScenario(mgFile, "metagraph")
		n.serveMetadata(t)
		if !v15 {
			n.handle("state_call", func([]any, func(string, any)) (any, *rpcError) {
				return nil, &rpcError{Code: -32000, Message: "Client error: Execution failed: Exported method Metadata_metadata_at_version is not found"}
			})
		}
		c := dialReplay(t, n, Options{})
		m, _, err := c.metadata(testCtx(t), mgHash)
		if err != nil {
			t.Fatal(err)
		}
		ci, err := m.callIndex("SubtensorModule", "reveal_weights")
		def, derr := m.storageDefault("SubtensorModule", "RevealPeriodEpochs")
		if err != nil || derr != nil || len(def) != 8 || def[0] != 1 || len(m.extensions) == 0 {
			t.Errorf("V15 %v: reveal_weights %v %v, RevealPeriodEpochs default %x %v, %d extensions", v15, ci, err, def, derr, len(m.extensions))
		}
		seen, exts = append(seen, ci), append(exts, len(m.extensions))
	}
	if seen[0] != seen[1] || exts[0] != exts[1] {
		t.Errorf("V15 and V14 disagree: call indices %v, extensions %v", seen, exts)
	}
}

// TestExpiredRevealReplay: the subtensor client gives a validator what it
// needs to tell an expired commit from an early one, as the devchain does
// (chaintest CommitReveal): the pool refuses the reveal of a commit of
// epoch 18988 with code 17 both at epoch 18989 (too early for a commit
// tagged one later) and at 18990 (expired); the epoch state read from
// storage says which.
func TestExpiredRevealReplay(t *testing.T) {
	alice := chainKey(t, "Alice")
	for _, tc := range []struct {
		index        uint64
		due, expired bool
	}{{18988, false, false}, {18989, true, false}, {18990, false, true}} {
		f := newFakeChain(t)
		serveEpochStorage(f.replayNode, map[string][]byte{"NetworksAdded": {1}, "Tempo": {0x68, 0x01},
			"SubnetEpochIndex": u64LE(tc.index), "LastEpochBlock": u64LE(mgBlock - 100)})
		f.reject = &rpcError{Code: 1010, Message: "Invalid Transaction", Data: json.RawMessage(`"Custom error: 17"`)}
		c := dialReplay(t, f.replayNode, Options{})
		c.meta[343] = withEpochStorage(t)
		e, err := c.EpochState(testCtx(t), 1)
		if err != nil {
			t.Fatal(err)
		}
		err = c.RevealWeights(testCtx(t), alice, 1, []uint16{1}, []uint16{65535}, []uint16{7}, 0)
		if code, ok := chain.TxCode(err); !ok || code != 17 || !errors.Is(err, chain.ErrRevealTooEarly) {
			t.Errorf("epoch %d: reveal refused with %v", tc.index, err)
		}
		if e.RevealDue(18988) != tc.due || e.CommitExpired(18988) != tc.expired {
			t.Errorf("epoch %d: commit of 18988 due %v expired %v, want %v %v", tc.index, e.RevealDue(18988), e.CommitExpired(18988), tc.due, tc.expired)
		}
	}
}
