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
	"github.com/datarefine/refine/wallet"
)

const tao = 1_000_000_000

var keyCache = map[string]chain.Signer{}

func key(t testing.TB, name string) chain.Signer {
	t.Helper()
	if k, ok := keyCache[name]; ok {
		return k
	}
	k, err := wallet.FromURI("//" + name)
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

func TestRegistrationReplacesPrunableUID(t *testing.T) {
	ctx := context.Background()
	hp := testHP()
	hp.MaxAllowedUIDs = 3
	hp.ImmunityPeriod = 10
	c := newChain(t, hp, "")
	// A registers 12 blocks before B and C: a few blocks later only A is
	// past immunity.
	register(t, c, c, fund(c), "A", 0)
	advance(t, c, 12)
	register(t, c, c, fund(c), "B", 0)
	register(t, c, c, fund(c), "C", 0)
	advance(t, c, 2)
	_, err := c.Register(ctx, key(t, "C-D"), 1, key(t, "D").SS58())
	wantErr(t, "registered without funds", err, chain.ErrInsufficientBalance)
	_ = fund(c)(key(t, "C-D"))
	uid, err := c.Register(ctx, key(t, "C-D"), 1, key(t, "D").SS58())
	if err != nil || uid != 0 {
		t.Fatalf("replacement: uid %d err %v, want uid 0 (the only non-immune)", uid, err)
	}
	head, _ := c.Block(ctx)
	m, _ := c.Metagraph(ctx, 1)
	if len(m.Neurons) != 3 || m.Neurons[0].Hotkey != key(t, "D").SS58() || m.Neurons[0].BlockAtRegistration != head.Number {
		t.Errorf("after replacement at block %d: %+v", head.Number, m.Neurons[0])
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
	untilEpoch(t, c)
}

// untilEpoch advances until subnet 1's epoch index moves and returns the
// block the epoch ran in.
func untilEpoch(t testing.TB, c *Chain) uint64 {
	t.Helper()
	start, err := c.EpochState(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i <= int(start.Tempo); i++ {
		advance(t, c, 1)
		e, _ := c.EpochState(context.Background(), 1)
		if e.Index > start.Index {
			return e.LastEpochBlock
		}
	}
	t.Fatalf("no epoch within a tempo of %+v", start)
	return 0
}

func TestEpochLedgerAndMetagraph(t *testing.T) {
	ctx := context.Background()
	c := newChain(t, testHP(), "")
	setupValidators(t, c, 2, 2) // uids 0,1 validators; 2,3 miners; an epoch just ran
	last, _ := c.EpochState(ctx, 1)
	for i := 0; i < 2; i++ {
		if err := c.SetWeights(ctx, key(t, fmt.Sprintf("V%d", i)), 1, []uint16{2, 3}, []uint16{3, 1}, 0); err != nil {
			t.Fatal(err)
		}
	}
	stakeBefore, _ := c.Metagraph(ctx, 1)
	b := untilEpoch(t, c)
	if b != last.LastEpochBlock+3 {
		t.Fatalf("epoch at block %d, want %d (tempo 3)", b, last.LastEpochBlock+3)
	}
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
	ledger, err := c.Emissions(ctx, 1, b, "")
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
	want := uint64(1_000_000_000 * 3) // EmissionPerBlock × the 3 blocks since the last epoch
	if total > want || want-total > 8 {
		t.Errorf("epoch emitted %d rao, want %d", total, want)
	}
	// M0 has a row for every epoch since it registered, a tempo apart;
	// only this one, after the weights, paid it.
	one, _ := c.Emissions(ctx, 1, 0, key(t, "M0").SS58())
	for i, e := range one {
		if (i > 0 && e.Block != one[i-1].Block+3) || (e.ServerEmission != 0) != (i == len(one)-1) {
			t.Errorf("ledger for M0 = %+v", one)
			break
		}
	}
	if len(one) < 2 || one[len(one)-1].Block != b || one[len(one)-2].Block != last.LastEpochBlock {
		t.Errorf("ledger for M0 = %+v, want its last epochs at %d and %d", one, last.LastEpochBlock, b)
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
	committedAt, _ := c.Block(ctx)
	hash, _ := chain.CommitHash(key(t, "V0").SS58(), 1, []uint16{2}, []uint16{1}, []uint16{1}, 0)
	es, _ := c.EpochState(ctx, 1)
	if err := c.CommitWeights(ctx, key(t, "V0"), 1, hash); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ { // until the reveal is due
		if e, _ := c.EpochState(ctx, 1); e.RevealDue(es.TxEpoch) {
			break
		} else if i > 10 {
			t.Fatalf("reveal of epoch %d never due: %+v", es.TxEpoch, e)
		}
		advance(t, c, 1)
	}
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
	if err != nil || string(cm.Data) != "persist me" || cm.Block != committedAt.Number {
		t.Errorf("commitment after restart = %+v, %v", cm, err)
	}
	// The weights commit survived: revealing it now (in its reveal epoch)
	// works.
	if err := c2.RevealWeights(ctx, key(t, "V0"), 1, []uint16{2}, []uint16{1}, []uint16{1}, 0); err != nil {
		t.Errorf("reveal after restart: %v", err)
	}
	h, _ := c2.Block(ctx)
	if h.Number != head.Number+1 || h.Hash != blockHash(head.Hash, head.Number+1) {
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

func TestAdministration(t *testing.T) {
	ctx := context.Background()
	c := newChain(t, testHP(), "")
	hp := testHP()
	if err := c.CreateSubnet(ctx, 2, hp); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateSubnet(ctx, 2, hp); !errors.Is(err, chain.ErrInvalidArgument) {
		t.Errorf("duplicate subnet: %v", err)
	}
	bad := hp
	bad.LiquidAlphaEnabled = true
	if err := c.SetHyperparameters(ctx, 2, bad); !errors.Is(err, chain.ErrInvalidArgument) {
		t.Errorf("liquid alpha accepted: %v", err)
	}
	if err := c.SetHyperparameters(ctx, 3, hp); !errors.Is(err, chain.ErrSubnetNotFound) {
		t.Errorf("unknown subnet: %v", err)
	}
	if _, err := New(ctx, Options{Hyperparameters: &bad}); err == nil {
		t.Error("New accepted liquid alpha")
	}
	if err := c.Credit(ctx, key(t, "X").SS58(), 5); err != nil {
		t.Fatal(err)
	}
	if b, _ := c.Balance(ctx, key(t, "X").SS58()); b != 5 {
		t.Errorf("balance = %d", b)
	}
	if err := c.Faucet(ctx, key(t, "X"), 1<<62); !errors.Is(err, chain.ErrInvalidArgument) {
		t.Errorf("faucet above limit: %v", err)
	}
}
