package devchain

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/datarefine/refine/chain"
)

const tao = 1_000_000_000

var keyCache = map[string]chain.Signer{}

func key(t testing.TB, name string) chain.Signer {
	t.Helper()
	if k, ok := keyCache[name]; ok {
		return k
	}
	k, err := chain.SignerFromURI("//" + name)
	if err != nil {
		t.Fatal(err)
	}
	keyCache[name] = k
	return k
}

// testHP is a fast subnet: tempo 3, no rate limits, commit-reveal off.
func testHP() chain.Hyperparameters {
	hp := DefaultHyperparameters()
	hp.Tempo = 3
	hp.WeightsRateLimit = 0
	hp.CommitRevealEnabled = false
	hp.MaxRegistrationsPerBlock = 64
	return hp
}

func newChain(t testing.TB, hp chain.Hyperparameters, db string) *Chain {
	t.Helper()
	if db == "" {
		db = ":memory:"
	}
	c, err := New(context.Background(), Options{DB: db, Hyperparameters: &hp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func advance(t testing.TB, c *Chain, n int) {
	t.Helper()
	if err := c.AdvanceBlocks(context.Background(), n); err != nil {
		t.Fatal(err)
	}
}

// register funds coldkey "C-<hot>" and registers hotkey hot with stake.
func register(t testing.TB, c chain.Client, staker chain.Staker, funder func(chain.Signer) error, hot string, stake uint64) uint16 {
	t.Helper()
	ctx := context.Background()
	cold := key(t, "C-"+hot)
	if err := funder(cold); err != nil {
		t.Fatal(err)
	}
	uid, err := c.Register(ctx, cold, 1, key(t, hot).SS58())
	if err != nil {
		t.Fatalf("register %s: %v", hot, err)
	}
	if stake > 0 {
		if err := staker.AddStake(ctx, cold, 1, key(t, hot).SS58(), stake); err != nil {
			t.Fatalf("stake %s: %v", hot, err)
		}
	}
	return uid
}

func fund(c *Chain) func(chain.Signer) error {
	return func(s chain.Signer) error { return c.Faucet(context.Background(), s, 1000*tao) }
}

func wantErr(t *testing.T, name string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: err = %v, want %v", name, err, want)
	} else if !strings.Contains(err.Error(), ":") {
		t.Errorf("%s: error %q carries no detail", name, err)
	}
}

func TestRegistration(t *testing.T) {
	ctx := context.Background()
	hp := testHP()
	hp.MaxRegistrationsPerBlock = 1
	c := newChain(t, hp, "")
	cold := key(t, "Cold")
	_, err := c.Register(ctx, cold, 1, key(t, "H0").SS58())
	wantErr(t, "unfunded coldkey", err, chain.ErrInsufficientBalance)
	if err := c.Faucet(ctx, cold, 10*tao); err != nil {
		t.Fatal(err)
	}
	uid, err := c.Register(ctx, cold, 1, key(t, "H0").SS58())
	if err != nil || uid != 0 {
		t.Fatalf("register: uid %d, err %v", uid, err)
	}
	if bal, _ := c.Balance(ctx, cold.SS58()); bal != 10*tao-hp.Burn {
		t.Errorf("balance after burn = %d, want %d", bal, 10*tao-hp.Burn)
	}
	_, err = c.Register(ctx, cold, 1, key(t, "H1").SS58())
	wantErr(t, "second registration in a block", err, chain.ErrTooManyRegistrations)
	_, err = c.Register(ctx, cold, 1, key(t, "H0").SS58())
	wantErr(t, "already registered", err, chain.ErrAlreadyRegistered)
	_, err = c.Register(ctx, cold, 9, key(t, "H1").SS58())
	wantErr(t, "unknown subnet", err, chain.ErrSubnetNotFound)
	_, err = c.Register(ctx, key(t, "Thief"), 1, key(t, "H0").SS58())
	if err == nil {
		t.Error("a second coldkey registered someone else's hotkey")
	}
	advance(t, c, 1)
	if uid, err := c.Register(ctx, cold, 1, key(t, "H1").SS58()); err != nil || uid != 1 {
		t.Fatalf("register next block: uid %d, err %v", uid, err)
	}
	m, err := c.Metagraph(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Neurons) != 2 || m.Neurons[1].Hotkey != key(t, "H1").SS58() || m.Neurons[1].Coldkey != cold.SS58() ||
		m.Neurons[1].BlockAtRegistration != 1 {
		t.Errorf("metagraph = %+v", m.Neurons)
	}
}

func TestRegistrationReplacesPrunableUID(t *testing.T) {
	ctx := context.Background()
	hp := testHP()
	hp.MaxAllowedUIDs = 3
	hp.ImmunityPeriod = 10
	c := newChain(t, hp, "")
	// A registers at block 0, B and C at block 12: at block 14 only A is past immunity.
	register(t, c, c, fund(c), "A", 0)
	advance(t, c, 12)
	register(t, c, c, fund(c), "B", 0)
	register(t, c, c, fund(c), "C", 0)
	advance(t, c, 2)
	uid, err := c.Register(ctx, key(t, "C-D"), 1, key(t, "D").SS58())
	if err == nil {
		t.Fatal("registered without funds")
	}
	_ = fund(c)(key(t, "C-D"))
	uid, err = c.Register(ctx, key(t, "C-D"), 1, key(t, "D").SS58())
	if err != nil || uid != 0 {
		t.Fatalf("replacement: uid %d err %v, want uid 0 (the only non-immune)", uid, err)
	}
	m, _ := c.Metagraph(ctx, 1)
	if len(m.Neurons) != 3 || m.Neurons[0].Hotkey != key(t, "D").SS58() || m.Neurons[0].BlockAtRegistration != 14 {
		t.Errorf("after replacement: %+v", m.Neurons[0])
	}
	if _, err := m.UID(key(t, "A").SS58()); !errors.Is(err, chain.ErrNotRegistered) {
		t.Error("replaced hotkey still registered")
	}
	// Now every uid is immune: E replaces the immune uid with the lowest
	// emission, then earliest registration, then lowest uid (B, uid 1).
	uid, err = c.Register(ctx, key(t, "C-D"), 1, key(t, "E").SS58())
	if err != nil || uid != 1 {
		t.Fatalf("all immune: uid %d err %v, want 1", uid, err)
	}
}

func TestCommitments(t *testing.T) {
	ctx := context.Background()
	c := newChain(t, testHP(), "")
	register(t, c, c, fund(c), "M", 0)
	advance(t, c, 2) // block 2; netuid 1, tempo 3: epochs at blocks 1, 5, 9, ...
	m := key(t, "M")
	if err := c.Commit(ctx, m, 1, []byte("v1:repo@abc:task1")); err != nil {
		t.Fatal(err)
	}
	got, err := c.Commitment(ctx, 1, m.SS58())
	if err != nil || string(got.Data) != "v1:repo@abc:task1" || got.Block != 2 || got.Hotkey != m.SS58() {
		t.Fatalf("commitment = %+v, %v", got, err)
	}
	_, err = c.Commitment(ctx, 1, key(t, "Nobody").SS58())
	wantErr(t, "no commitment", err, chain.ErrNoCommitment)
	wantErr(t, "unregistered", c.Commit(ctx, key(t, "Nobody"), 1, []byte("x")), chain.ErrNotRegistered)
	wantErr(t, "oversized", c.Commit(ctx, m, 1, make([]byte, MaxBigRawCommitment+1)), chain.ErrCommitmentTooLarge)
	// 512 bytes (BigRaw) are allowed and count 512; small ones count 100.
	if err := c.Commit(ctx, m, 1, make([]byte, MaxBigRawCommitment)); err != nil {
		t.Fatalf("512-byte commitment: %v", err)
	}
	used := uint64(100 + 512)
	for used+100 <= 3100 {
		if err := c.Commit(ctx, m, 1, []byte("x")); err != nil {
			t.Fatalf("commit at %d bytes used: %v", used, err)
		}
		used += 100
	}
	wantErr(t, "over the epoch's space", c.Commit(ctx, m, 1, []byte("x")), chain.ErrRateLimited)
	advance(t, c, 3) // epoch at block 5 resets the budget
	if err := c.Commit(ctx, m, 1, []byte("next epoch")); err != nil {
		t.Fatalf("after epoch: %v", err)
	}
	all, err := c.Commitments(ctx, 1)
	if err != nil || len(all) != 1 || all[0].Block != 5 {
		t.Errorf("commitments = %+v, %v", all, err)
	}
}

// setupValidators registers validators V0..V{v-1} with stake and miners
// M0..M{m-1}, and runs an epoch so that the validators get permits.
func setupValidators(t testing.TB, c *Chain, v, m int) {
	t.Helper()
	for i := 0; i < v; i++ {
		register(t, c, c, fund(c), fmt.Sprintf("V%d", i), uint64(i+1)*100*tao)
	}
	for i := 0; i < m; i++ {
		register(t, c, c, fund(c), fmt.Sprintf("M%d", i), 0)
	}
	advance(t, c, 2) // through the epoch at block 1 (tempo 3, netuid 1)
}

func TestSetWeightsChecks(t *testing.T) {
	ctx := context.Background()
	hp := testHP()
	hp.MinAllowedWeights = 2
	hp.WeightsVersionKey = 5
	hp.WeightsRateLimit = 2
	hp.MaxWeightsLimit = 60000
	hp.MaxAllowedValidators = 2
	c := newChain(t, hp, "")
	setupValidators(t, c, 2, 3)
	v0, m0 := key(t, "V0"), key(t, "M0")
	mg, _ := c.Metagraph(ctx, 1)
	if !mg.Neurons[0].ValidatorPermit || !mg.Neurons[1].ValidatorPermit || mg.Neurons[2].ValidatorPermit {
		t.Fatalf("permits after first epoch: %+v", mg.Neurons)
	}
	ok := func() error { return c.SetWeights(ctx, v0, 1, []uint16{2, 3, 4}, []uint16{10, 20, 30}, 5) }
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"unregistered", c.SetWeights(ctx, key(t, "Nobody"), 1, []uint16{2, 3}, []uint16{1, 1}, 5), chain.ErrNotRegistered},
		{"no permit", c.SetWeights(ctx, m0, 1, []uint16{3, 4}, []uint16{1, 1}, 5), chain.ErrNoPermit},
		{"version key", c.SetWeights(ctx, v0, 1, []uint16{2, 3}, []uint16{1, 1}, 4), chain.ErrVersionKey},
		{"duplicates", c.SetWeights(ctx, v0, 1, []uint16{2, 2}, []uint16{1, 1}, 5), chain.ErrDuplicateUIDs},
		{"unknown uid", c.SetWeights(ctx, v0, 1, []uint16{2, 99}, []uint16{1, 1}, 5), chain.ErrInvalidUID},
		{"too few", c.SetWeights(ctx, v0, 1, []uint16{2}, []uint16{1}, 5), chain.ErrTooFewWeights},
		{"max weight", c.SetWeights(ctx, v0, 1, []uint16{2, 3}, []uint16{1, 1000}, 5), chain.ErrMaxWeightExceeded},
		{"length mismatch", c.SetWeights(ctx, v0, 1, []uint16{2, 3}, []uint16{1}, 5), chain.ErrLengthMismatch},
		{"commit weights while disabled", c.CommitWeights(ctx, v0, 1, [32]byte{1}), chain.ErrCommitRevealDisabled},
	}
	for _, tc := range cases {
		wantErr(t, tc.name, tc.err, tc.want)
	}
	// A miner may set a self-weight without a permit.
	if err := c.SetWeights(ctx, m0, 1, []uint16{2}, []uint16{1}, 5); err != nil {
		t.Errorf("miner self-weight: %v", err)
	}
	if err := c.SetWeights(ctx, v0, 1, []uint16{2, 3, 4}, []uint16{1, 1, 1}, 5); err == nil {
		// 1,1,1 max-upscales to 65535 > 60000
		t.Error("max weight limit not applied after upscaling")
	}
	if err := c.SetWeights(ctx, v0, 1, []uint16{2, 3}, []uint16{65535, 65535}, 5); !errors.Is(err, chain.ErrMaxWeightExceeded) {
		t.Errorf("upscaled max weight: %v", err)
	}
	c.SetHyperparameters(ctx, 1, func() chain.Hyperparameters { h := hp; h.MaxWeightsLimit = 65535; return h }())
	if err := ok(); err != nil {
		t.Fatalf("valid weights: %v", err)
	}
	wantErr(t, "rate limit", ok(), chain.ErrRateLimited)
	advance(t, c, 2)
	if err := ok(); err != nil {
		t.Fatalf("after rate limit: %v", err)
	}
	mg, _ = c.Metagraph(ctx, 1)
	w := mg.Neurons[0].Weights
	if len(w) != 3 || w[2].Value != 65535 || w[0].Value != 21845 || mg.Neurons[0].LastUpdate != 4 {
		t.Errorf("stored weights = %+v (last update %d)", w, mg.Neurons[0].LastUpdate)
	}
	h := hp
	h.CommitRevealEnabled = true
	c.SetHyperparameters(ctx, 1, h)
	wantErr(t, "commit-reveal on", c.SetWeights(ctx, v0, 1, []uint16{2, 3}, []uint16{1, 1}, 5), chain.ErrCommitRevealEnabled)
}

func TestCommitReveal(t *testing.T) {
	ctx := context.Background()
	hp := testHP()
	hp.CommitRevealEnabled = true
	c := newChain(t, hp, "")
	setupValidators(t, c, 1, 2) // block 2, epoch index 1
	v := key(t, "V0")
	uids, vals, salt := []uint16{1, 2}, []uint16{100, 300}, []uint16{42, 7}
	hash, err := chain.CommitHash(v.SS58(), 1, uids, vals, salt, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, "reveal without commit", c.RevealWeights(ctx, v, 1, uids, vals, salt, 0), chain.ErrNoWeightsCommit)
	if err := c.CommitWeights(ctx, v, 1, hash); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "commit from unregistered", c.CommitWeights(ctx, key(t, "Nobody"), 1, hash), chain.ErrNotRegistered)
	wantErr(t, "reveal in the commit epoch", c.RevealWeights(ctx, v, 1, uids, vals, salt, 0), chain.ErrRevealTooEarly)
	advance(t, c, 3) // epoch at block 5
	wantErr(t, "wrong salt", c.RevealWeights(ctx, v, 1, uids, vals, []uint16{1}, 0), chain.ErrRevealMismatch)
	if err := c.RevealWeights(ctx, v, 1, uids, vals, salt, 0); err != nil {
		t.Fatalf("reveal: %v", err)
	}
	mg, _ := c.Metagraph(ctx, 1)
	if w := mg.Neurons[0].Weights; len(w) != 2 || w[1].Value != 65535 || w[0].Value != 21845 {
		t.Errorf("revealed weights = %+v", w)
	}
	if mg.Neurons[0].LastUpdate != 2 {
		t.Errorf("last update = %d, want the commit block 2", mg.Neurons[0].LastUpdate)
	}
	// A commit left unrevealed past its reveal epoch expires.
	if err := c.CommitWeights(ctx, v, 1, hash); err != nil {
		t.Fatal(err)
	}
	advance(t, c, 8) // two more epochs
	wantErr(t, "expired", c.RevealWeights(ctx, v, 1, uids, vals, salt, 0), chain.ErrCommitExpired)
}

func TestEpochLedgerAndMetagraph(t *testing.T) {
	ctx := context.Background()
	c := newChain(t, testHP(), "")
	setupValidators(t, c, 2, 2) // uids 0,1 validators; 2,3 miners; block 2
	for i := 0; i < 2; i++ {
		if err := c.SetWeights(ctx, key(t, fmt.Sprintf("V%d", i)), 1, []uint16{2, 3}, []uint16{3, 1}, 0); err != nil {
			t.Fatal(err)
		}
	}
	stakeBefore, _ := c.Metagraph(ctx, 1)
	advance(t, c, 3) // epoch at block 5
	mg, _ := c.Metagraph(ctx, 1)
	n := mg.Neurons
	if n[2].Incentive <= n[3].Incentive || n[3].Incentive == 0 || n[0].Incentive != 0 {
		t.Errorf("incentive = %d %d %d %d", n[0].Incentive, n[1].Incentive, n[2].Incentive, n[3].Incentive)
	}
	if n[0].Dividends == 0 || n[1].Dividends <= n[0].Dividends || n[2].Dividends != 0 {
		t.Errorf("dividends = %d %d %d", n[0].Dividends, n[1].Dividends, n[2].Dividends)
	}
	if n[0].ValidatorTrust == 0 || n[2].Consensus == 0 || len(n[0].Bonds) != 2 || !n[0].Active {
		t.Errorf("trust/consensus/bonds: %+v", n[0])
	}
	ledger, err := c.Emissions(ctx, 1, 5, "")
	if err != nil || len(ledger) != 4 {
		t.Fatalf("ledger = %+v, %v", ledger, err)
	}
	var total uint64
	for i, e := range ledger {
		total += e.ServerEmission + e.ValidatorEmission
		if got := n[i].Stake - stakeBefore.Neurons[i].Stake; got != e.ServerEmission+e.ValidatorEmission {
			t.Errorf("uid %d stake grew by %d, ledger says %d", i, got, e.ServerEmission+e.ValidatorEmission)
		}
	}
	want := uint64(1_000_000_000 * 4) // EmissionPerBlock × (tempo + 1)
	if total > want || want-total > 8 {
		t.Errorf("epoch emitted %d rao, want %d", total, want)
	}
	if one, _ := c.Emissions(ctx, 1, 0, key(t, "M0").SS58()); len(one) != 2 || one[1].ServerEmission == 0 {
		t.Errorf("ledger for M0 = %+v", one) // epochs at blocks 1 and 5
	}
}

func TestRestartPersistence(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "chain.db")
	hp := testHP()
	hp.CommitRevealEnabled = true
	c, err := New(ctx, Options{DB: db, Hyperparameters: &hp})
	if err != nil {
		t.Fatal(err)
	}
	setupValidators(t, c, 2, 2)
	if err := c.Commit(ctx, key(t, "M0"), 1, []byte("persist me")); err != nil {
		t.Fatal(err)
	}
	hash, _ := chain.CommitHash(key(t, "V0").SS58(), 1, []uint16{2}, []uint16{1}, []uint16{1}, 0)
	if err := c.CommitWeights(ctx, key(t, "V0"), 1, hash); err != nil {
		t.Fatal(err)
	}
	advance(t, c, 4)
	before, _ := c.Metagraph(ctx, 1)
	head, _ := c.Block(ctx)
	bal, _ := c.Balance(ctx, key(t, "C-V0").SS58())
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	c2, err := New(ctx, Options{DB: db, Hyperparameters: &hp})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	after, _ := c2.Metagraph(ctx, 1)
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("metagraph changed across restart:\n%v\n%v", before, after)
	}
	if h2, _ := c2.Block(ctx); h2 != head {
		t.Errorf("head %v, want %v", h2, head)
	}
	if b2, _ := c2.Balance(ctx, key(t, "C-V0").SS58()); b2 != bal {
		t.Errorf("balance %d, want %d", b2, bal)
	}
	cm, err := c2.Commitment(ctx, 1, key(t, "M0").SS58())
	if err != nil || string(cm.Data) != "persist me" || cm.Block != 2 {
		t.Errorf("commitment after restart = %+v, %v", cm, err)
	}
	// The weights commit survived: revealing it now (one epoch later) works.
	if err := c2.RevealWeights(ctx, key(t, "V0"), 1, []uint16{2}, []uint16{1}, []uint16{1}, 0); err != nil {
		t.Errorf("reveal after restart: %v", err)
	}
	advance(t, c2, 1)
	h, _ := c2.Block(ctx)
	if h.Hash != blockHash(head.Hash, head.Number+1) {
		t.Error("hash chain broken across restart")
	}
}

func TestDeterministicBlockHashes(t *testing.T) {
	ctx := context.Background()
	mk := func(seed string) []string {
		c, err := New(ctx, Options{Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		advance(t, c, 3)
		var hs []string
		for i := uint64(0); i <= 3; i++ {
			h, err := c.BlockHash(ctx, i)
			if err != nil {
				t.Fatal(err)
			}
			hs = append(hs, h)
		}
		return hs
	}
	a, b, other := mk("s"), mk("s"), mk("t")
	if fmt.Sprint(a) != fmt.Sprint(b) || a[3] == other[3] || a[1] == a[2] || len(a[1]) != 66 {
		t.Errorf("hashes: %v %v %v", a, b, other)
	}
	c := newChain(t, testHP(), "")
	if _, err := c.BlockHash(ctx, 99); !errors.Is(err, chain.ErrUnknownBlock) {
		t.Errorf("unknown block: %v", err)
	}
}

func TestBlockTimer(t *testing.T) {
	c, err := New(context.Background(), Options{BlockTime: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := c.Block(context.Background())
		if b.Number >= 3 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d blocks produced", b.Number)
		}
		time.Sleep(time.Millisecond)
	}
}
