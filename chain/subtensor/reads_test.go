package subtensor

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/internal/shareddata"
)

const (
	mgFile  = "bittensor_metagraph_commitment_subset.json"
	mgBlock = 6852690
	mgHash  = "0xdb13c066e2c63969f140164fb3bfe7a0aaa7b71407fc0fe525d68e57329ef9d0"
)

func acct(t *testing.T, h string) string {
	t.Helper()
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 32 {
		t.Fatalf("bad account %q", h)
	}
	var a [32]byte
	copy(a[:], b)
	return ss58(a)
}

func TestEndpoint(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"finney", "wss://entrypoint-finney.opentensor.ai:443", false},
		{"", "wss://entrypoint-finney.opentensor.ai:443", false},
		{"test", "wss://test.finney.opentensor.ai:443", false},
		{"Local", "ws://127.0.0.1:9944", false},
		{"ws://10.0.0.2:9944", "ws://10.0.0.2:9944", false},
		{"wss://node.example:443", "wss://node.example:443", false},
		{"archive", "", true},
		{"http://127.0.0.1:9944", "", true},
	}
	for _, tc := range tests {
		got, err := Endpoint(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("Endpoint(%q) = %q, %v; want %q (error %v)", tc.in, got, err, tc.want, tc.wantErr)
		}
		if err != nil && !errors.Is(err, chain.ErrInvalidArgument) {
			t.Errorf("Endpoint(%q) error %v is not ErrInvalidArgument", tc.in, err)
		}
	}
}

func TestBlock(t *testing.T) {
	n := newReplayNode(t)
	n.loadScenario(mgFile, "metagraph")
	c := dialReplay(t, n, Options{})
	ctx := testCtx(t)
	b, err := c.Block(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if b.Number != mgBlock || b.Hash != mgHash {
		t.Errorf("Block = %+v, want %d %s", b, mgBlock, mgHash)
	}
	// A dropped connection is dialled again on the next call.
	n.drop()
	deadline := time.Now().Add(5 * time.Second)
	closed := func() bool {
		c.connMu.Lock()
		defer c.connMu.Unlock()
		return c.ws.isClosed()
	}
	for !closed() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if b2, err := c.Block(ctx); err != nil || b2 != b {
		t.Errorf("Block after reconnect = %+v, %v", b2, err)
	}
	// Not recorded: how a node answers a block it does not have.
	n.handle("chain_getBlockHash", func([]any, func(string, any)) (any, *rpcError) { return nil, nil })
	if _, err := c.BlockHash(ctx, 1<<40); !errors.Is(err, chain.ErrUnknownBlock) {
		t.Errorf("BlockHash(unknown) = %v, want ErrUnknownBlock", err)
	}
}

// TestMetagraph decodes finney netuid 1 at block 6852690 (spec 343) from the
// recorded get_neurons_lite and get_subnet_state responses. The expected
// values were computed with a separate Python decoder of the same bytes.
func TestMetagraph(t *testing.T) {
	n := newReplayNode(t)
	n.loadScenario(mgFile, "metagraph")
	// The Weights and Bonds maps were not recorded at this block: serve
	// them empty (TestSparseMatrix covers them with recorded data).
	n.handle("state_getKeysPaged", func([]any, func(string, any)) (any, *rpcError) { return []string{}, nil })
	c := dialReplay(t, n, Options{})
	mg, err := c.Metagraph(testCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if mg.Netuid != 1 || mg.Block != mgBlock || len(mg.Neurons) != 1024 {
		t.Fatalf("metagraph netuid %d block %d with %d neurons, want 1 %d 1024", mg.Netuid, mg.Block, len(mg.Neurons), mgBlock)
	}
	permits, active := 0, 0
	for i, nr := range mg.Neurons {
		if int(nr.UID) != i {
			t.Fatalf("neuron %d has uid %d", i, nr.UID)
		}
		if nr.ValidatorPermit {
			permits++
		}
		if nr.Active {
			active++
		}
	}
	if permits != 12 || active != 10 {
		t.Errorf("permits %d active %d, want 12 and 10", permits, active)
	}
	n0 := mg.Neurons[0]
	want0 := chain.Neuron{
		UID:                 0,
		Hotkey:              acct(t, "4a7a6cf22af0de8f0c3566ceb47c255da605cf9243f6c1a6433cc782fa610166"),
		Coldkey:             acct(t, "74762d04a38847530ae54f185efda75989c6cb66eab33295ee5401af6e2ac035"),
		Stake:               2557172316,
		LastUpdate:          2543521,
		BlockAtRegistration: 6575900,
	}
	if n0.UID != want0.UID || n0.Hotkey != want0.Hotkey || n0.Coldkey != want0.Coldkey || n0.Stake != want0.Stake ||
		n0.LastUpdate != want0.LastUpdate || n0.BlockAtRegistration != want0.BlockAtRegistration {
		t.Errorf("neuron 0 = %+v, want %+v", n0, want0)
	}
	if got := mg.Neurons[1023]; got.Hotkey != acct(t, "fc8e1b65007f7fe0323b8a155ad1febc80e4a695a101d31c1c49fc671bc0352a") || got.BlockAtRegistration != 6729250 {
		t.Errorf("neuron 1023 = %+v", got)
	}
	if got := mg.Neurons[395]; got.Incentive != 65535 {
		t.Errorf("neuron 395 incentive %d, want 65535", got.Incentive)
	}
	if got := mg.Neurons[630]; got.Dividends != 24926 || got.ValidatorTrust != 65535 || got.Stake != 645173460056565 {
		t.Errorf("neuron 630 dividends %d vtrust %d stake %d, want 24926 65535 645173460056565", got.Dividends, got.ValidatorTrust, got.Stake)
	}
	if uid, err := mg.UID(want0.Hotkey); err != nil || uid != 0 {
		t.Errorf("UID(hotkey 0) = %d, %v", uid, err)
	}

	// Not recorded: a netuid that does not exist (empty Vec, then None).
	n.handle("state_call", func([]any, func(string, any)) (any, *rpcError) { return "0x00", nil })
	if _, err := c.Metagraph(testCtx(t), 77); !errors.Is(err, chain.ErrSubnetNotFound) {
		t.Errorf("Metagraph(absent) = %v, want ErrSubnetNotFound", err)
	}
}

// TestSparseMatrix reads the recorded finney Weights and Bonds maps of
// netuid 23 (paged keys, then values).
func TestSparseMatrix(t *testing.T) {
	tests := []struct {
		scenario, item, block string
		check                 func(*testing.T, map[uint16][]chain.WeightEntry)
		queries               int // state_queryStorageAt calls expected
	}{
		{"weights", "Weights", "0x1b3f85dc8c83cada6d1782c955973a509a37c62af3d6ba29f5fd816aee37eb3b",
			func(t *testing.T, m map[uint16][]chain.WeightEntry) {
				if len(m) != 1 || len(m[10]) != 1 || m[10][0] != (chain.WeightEntry{UID: 10, Value: 65535}) {
					t.Errorf("weights = %v, want uid 10 → [{10 65535}]", m)
				}
			}, 1},
		{"bonds", "Bonds", "0xba206b08f55118c21e6e243702052edcecd48e89d951fa05213adde358473da0",
			func(t *testing.T, m map[uint16][]chain.WeightEntry) {
				// 19 rows recorded, all empty vectors (0x00).
				if len(m) != 0 {
					t.Errorf("bonds = %v, want none", m)
				}
			}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.item, func(t *testing.T) {
			n := newReplayNode(t)
			n.loadScenario("bittensor_integration_websocket_data.json", tc.scenario)
			c := dialReplay(t, n, Options{})
			m, err := c.sparseMatrix(testCtx(t), tc.item, 23, tc.block)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, m)
			queries := 0
			for _, call := range n.calls {
				if strings.HasPrefix(call, "state_queryStorageAt ") {
					queries++
				}
			}
			if queries != tc.queries {
				t.Errorf("%d value queries, want %d", queries, tc.queries)
			}
		})
	}
}

// TestHyperparameters reads finney netuid 23's recorded hyperparams (a
// legacy Vec<u8>-wrapped result); expectations decoded by hand from the hex.
func TestHyperparameters(t *testing.T) {
	n := newReplayNode(t)
	n.loadScenario("bittensor_integration_websocket_data.json", "get_subnet_hyperparameters")
	n.serveMetadata(t)
	// The extra storage items were not recorded: the node answers "absent"
	// and the metadata's defaults apply.
	n.handle("state_queryStorageAt", func([]any, func(string, any)) (any, *rpcError) { return []any{}, nil })
	c := dialReplay(t, n, Options{})
	hp, err := c.Hyperparameters(testCtx(t), 23)
	if err != nil {
		t.Fatal(err)
	}
	want := chain.Hyperparameters{
		Tempo: 1000, Kappa: 32767, ImmunityPeriod: 5000, ActivityCutoff: 5000, MaxAllowedUIDs: hp.MaxAllowedUIDs,
		MaxAllowedValidators: 64, MinAllowedWeights: 1, MaxWeightsLimit: 65535, WeightsRateLimit: 100,
		WeightsVersionKey: 0, CommitRevealEnabled: false, RevealPeriodEpochs: 1, BondsMovingAverage: 900000,
		LiquidAlphaEnabled: false, MaxRegistrationsPerBlock: 1,
		Burn: hp.Burn, BondsPenalty: hp.BondsPenalty, StakeThreshold: hp.StakeThreshold, CommitmentMaxSpace: hp.CommitmentMaxSpace,
	}
	if hp != want {
		t.Errorf("hyperparameters\n got %+v\nwant %+v", hp, want)
	}
	// Defaults from the spec-343 metadata.
	if hp.MaxAllowedUIDs == 0 || hp.Burn == 0 || hp.CommitmentMaxSpace == 0 {
		t.Errorf("storage defaults not applied: %+v", hp)
	}
	t.Logf("metadata defaults: max uids %d, burn %d, bonds penalty %d, stake threshold %d, commitment space %d",
		hp.MaxAllowedUIDs, hp.Burn, hp.BondsPenalty, hp.StakeThreshold, hp.CommitmentMaxSpace)

	n.handle("state_call", func([]any, func(string, any)) (any, *rpcError) { return "0x00", nil })
	n.mu.Lock()
	n.recorded = map[string]json.RawMessage{}
	n.mu.Unlock()
	if _, err := c.Hyperparameters(testCtx(t), 99); !errors.Is(err, chain.ErrSubnetNotFound) {
		t.Errorf("Hyperparameters(absent) = %v, want ErrSubnetNotFound", err)
	}
}

// turbobtFixture returns the recorded localnet result of one turbobt test.
func turbobtFixture(t *testing.T, test, method string) (result, storageKey string) {
	t.Helper()
	raw, err := os.ReadFile(shareddata.Path(t, "chain", "rpc", "turbobt_localnet_fixtures.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fx []struct {
		Test, Method, Result string
		StorageKey           string `json:"storage_key"`
	}
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	for _, f := range fx {
		if f.Test == test && f.Method == method {
			return f.Result, f.StorageKey
		}
	}
	t.Fatalf("no turbobt fixture %s %s", test, method)
	return "", ""
}

func TestDecodeHyperparamsLocalnet(t *testing.T) {
	for _, tc := range []struct {
		test string
		cr   bool
	}{{"test_get_subnet_hyperparams", false}, {"test_get_subnet_hyperparams_v2", true}} {
		res, _ := turbobtFixture(t, tc.test, "state_call")
		b, _ := decodeHex(res)
		inner, err := runtimeResult(b, true)
		if err != nil {
			t.Fatal(err)
		}
		hp, err := decodeHyperparams(inner)
		if err != nil {
			t.Fatal(err)
		}
		if hp.Tempo != 100 || hp.ImmunityPeriod != 4096 || hp.Kappa != 32767 || hp.MaxAllowedValidators != 64 ||
			hp.BondsMovingAverage != 900000 || hp.WeightsRateLimit != 100 || hp.CommitRevealEnabled != tc.cr || hp.RevealPeriodEpochs != 1 {
			t.Errorf("%s: %+v", tc.test, hp)
		}
	}
}

type commitmentValue struct {
	Hotkey  string `json:"hotkey"`
	Hex     string `json:"commitmentof_value_hex"`
	Decoded struct {
		Block uint64 `json:"block"`
	} `json:"decoded"`
	Fields []map[string]string `json:"fields_utf8"`
}

// TestCommitment serves the two real finney CommitmentOf values of netuid 1
// under the keys the client computes, and an absent one.
func TestCommitment(t *testing.T) {
	raw, err := os.ReadFile(shareddata.Path(t, "chain", "rpc", "finney_commitmentof_values_netuid1_block6852690.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Prefix string            `json:"storage_prefix"`
		Values []commitmentValue `json:"values"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Values) != 2 {
		t.Fatalf("%d values", len(file.Values))
	}
	n := newReplayNode(t)
	for _, v := range file.Values {
		pk, _ := hex.DecodeString(v.Hotkey[2:])
		// The key layout the file documents: prefix ++ netuid ++ twox64(acct) ++ acct.
		var a [32]byte
		copy(a[:], pk)
		n.record("state_getStorage", []any{hexOf(commitmentKey(1, a))}, v.Hex)
	}
	n.handle("state_getStorage", func([]any, func(string, any)) (any, *rpcError) { return nil, nil })
	c := dialReplay(t, n, Options{})
	ctx := testCtx(t)
	for _, v := range file.Values {
		hk := acct(t, v.Hotkey[2:])
		got, err := c.Commitment(ctx, 1, hk)
		if err != nil {
			t.Fatal(err)
		}
		var text string
		for _, s := range v.Fields[0] {
			text = s
		}
		if got.Hotkey != hk || got.Block != v.Decoded.Block || string(got.Data) != text {
			t.Errorf("Commitment(%s) = %d %q, want %d %q", hk, got.Block, got.Data, v.Decoded.Block, text)
		}
	}
	alice := chainKey(t, "Alice").SS58()
	if _, err := c.Commitment(ctx, 1, alice); !errors.Is(err, chain.ErrNoCommitment) {
		t.Errorf("Commitment(absent) = %v, want ErrNoCommitment", err)
	}
}

// TestCommitmentKey checks the storage key against one a Python client
// sent to finney (CommitmentOf(23, 0x4af7…)).
func TestCommitmentKey(t *testing.T) {
	var a [32]byte
	b, _ := hex.DecodeString("4af7598952f87683204a2a0c2266f941a74899bd69b0ce56e42a82820f689446")
	copy(a[:], b)
	want := "0xca407206ec1ab726b2636c4b145ac287419a60ae8b01e6dcaebd7317e43c69bf1700915e602fd97dd63a4af7598952f87683204a2a0c2266f941a74899bd69b0ce56e42a82820f689446"
	if got := hexOf(commitmentKey(23, a)); got != want {
		t.Errorf("key\n got %s\nwant %s", got, want)
	}
}

// TestCommitmentsLocalnet lists commitments through paged keys with the
// localnet value turbobt recorded for CommitmentOf(2, Alice).
func TestCommitmentsLocalnet(t *testing.T) {
	res, key := turbobtFixture(t, "test_get_commitments", "state_queryStorageAt")
	alice := chainKey(t, "Alice")
	pk, _ := chain.PublicKey(alice.SS58())
	if got := hexOf(commitmentKey(2, pk)); got != key {
		t.Fatalf("key %s, recorded %s", got, key)
	}
	n := newReplayNode(t)
	// Only the value was recorded; the key listing is scripted to return it.
	n.handle("state_getKeysPaged", func(p []any, _ func(string, any)) (any, *rpcError) {
		if p[2] == p[0] { // first page
			return []string{key}, nil
		}
		return []string{}, nil
	})
	n.record("state_queryStorageAt", []any{[]any{key}}, []any{map[string]any{"block": "0x00", "changes": [][]string{{key, res}}}})
	c := dialReplay(t, n, Options{})
	got, err := c.Commitments(testCtx(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Hotkey != alice.SS58() || got[0].Block != 272 || !bytes.Equal(got[0].Data, []byte{0, 1, 2, 3}) {
		t.Errorf("Commitments = %+v", got)
	}
}

func TestDecodeRegistrationData(t *testing.T) {
	big := bytes.Repeat([]byte{7}, 300)
	tests := []struct {
		name string
		data []byte
	}{{"empty", []byte{}}, {"raw128", bytes.Repeat([]byte{1}, 128)}, {"bigraw", big}}
	for _, tc := range tests {
		enc, err := encodeData(tc.data)
		if err != nil {
			t.Fatal(err)
		}
		reg := append(make([]byte, 8), 0x10, 0, 0, 0, 4) // deposit, block 16, 1 field
		reg = append(reg, enc...)
		block, data, err := decodeRegistration(reg)
		if err != nil || block != 16 || !bytes.Equal(data, tc.data) {
			t.Errorf("%s: %d %x %v", tc.name, block, data, err)
		}
	}
	if _, err := encodeData(make([]byte, 513)); !errors.Is(err, chain.ErrCommitmentTooLarge) {
		t.Errorf("513 bytes: %v", err)
	}
	if _, _, err := decodeRegistration([]byte{0, 1}); err == nil {
		t.Error("short registration decoded")
	}
}
