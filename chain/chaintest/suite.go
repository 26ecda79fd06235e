// Package chaintest is the conformance suite for chain.Client
// implementations: the rules and rejections every chain must show the
// subnet's roles (registration, commitments, weights, commit-reveal, typed
// errors, and when a call takes effect). The devchain runs it in-process
// and over HTTP; a subtensor client can run it against a local subtensor
// node, and runs the inclusion tests (RunInclusion) against a scripted node
// that replays the recorded runtime.
package chaintest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/wallet"
)

// Harness gives the suite a fresh chain with subnet Netuid configured by hp.
type Harness struct {
	Client chain.Client
	Staker chain.Staker
	Netuid uint16
	// Fund gives a coldkey rao to burn and stake.
	Fund func(ctx context.Context, coldkey chain.Signer, rao uint64) error
	// Advance produces blocks.
	Advance func(ctx context.Context, blocks int) error
	// SetHyperparameters changes the subnet's settings (sudo on a real chain).
	SetHyperparameters func(ctx context.Context, netuid uint16, hp chain.Hyperparameters) error
	// InOneBlock runs calls (chain.Client writes, each made with the
	// context it is given) so that the chain validates them into its pool
	// in this order and includes them in one block, and returns their
	// errors. Nil where a test cannot arrange that: the tests that need it
	// skip those steps.
	InOneBlock func(ctx context.Context, calls ...func(ctx context.Context) error) []error
	// ExtrinsicErrors returns the dispatch errors of a block's failed
	// extrinsics (its System.ExtrinsicFailed events), in block order, as
	// errors that match the chain sentinels.
	ExtrinsicErrors func(ctx context.Context, block uint64) ([]error, error)
}

// NewHarness returns a fresh chain whose subnet uses hp.
type NewHarness func(t *testing.T, hp chain.Hyperparameters) *Harness

// TestHyperparameters are the settings the suite starts from: subtensor's
// defaults made fast (tempo 3) and permissive (no rate limits, commit-reveal
// off, many registrations per block); tests change what they exercise.
func TestHyperparameters(base chain.Hyperparameters) chain.Hyperparameters {
	hp := base
	hp.Tempo = 3
	hp.WeightsRateLimit = 0
	hp.CommitRevealEnabled = false
	hp.MaxRegistrationsPerBlock = 64
	hp.MinAllowedWeights = 1
	hp.MaxWeightsLimit = 65535
	hp.WeightsVersionKey = 0
	return hp
}

// Run runs every conformance test.
func Run(t *testing.T, base chain.Hyperparameters, newHarness NewHarness) {
	tests := []struct {
		name string
		fn   func(*testing.T, chain.Hyperparameters, NewHarness)
	}{
		{"Registration", testRegistration},
		{"Epochs", testEpochs},
		{"Commitments", testCommitments},
		{"CommitmentHistory", testCommitmentHistory},
		{"SetWeightsChecks", testSetWeightsChecks},
		{"CommitReveal", testCommitReveal},
		{"WeightsValidation", testWeightsValidation},
		{"Consensus", testConsensus},
		{"InvalidByExecution", testInvalidByExecution},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, TestHyperparameters(base), newHarness) })
	}
	RunInclusion(t, func(t *testing.T) *InclusionHarness {
		h := newHarness(t, TestHyperparameters(base))
		register(t, h, "Committer", 0)
		return &InclusionHarness{Client: h.Client, Netuid: h.Netuid, Committer: Key(t, "Committer"), Outsider: Key(t, "Outsider"),
			Advance: h.Advance, ExtrinsicErrors: h.ExtrinsicErrors}
	})
}

const tao = 1_000_000_000

var keys = map[string]chain.Signer{}

// Key returns the dev key //name.
func Key(t testing.TB, name string) chain.Signer {
	t.Helper()
	if k, ok := keys[name]; ok {
		return k
	}
	k, err := wallet.FromURI("//" + name)
	if err != nil {
		t.Fatal(err)
	}
	keys[name] = k
	return k
}

// WantErr fails unless err wraps want and carries detail beyond it.
func WantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	switch {
	case !errors.Is(err, want):
		t.Errorf("%s: err = %v, want %v", what, err, want)
	case err.Error() == want.Error() || !strings.Contains(err.Error(), ":"):
		t.Errorf("%s: error %q carries no detail", what, err)
	}
}

// register funds the coldkey "C-<hot>", registers hotkey //hot and stakes.
func register(t *testing.T, h *Harness, hot string, stake uint64) uint16 {
	t.Helper()
	ctx := context.Background()
	cold := Key(t, "C-"+hot)
	if err := h.Fund(ctx, cold, stake+10*tao); err != nil {
		t.Fatal(err)
	}
	uid, err := h.Client.Register(ctx, cold, h.Netuid, Key(t, hot).SS58())
	if err != nil {
		t.Fatalf("register %s: %v", hot, err)
	}
	if stake > 0 {
		if err := h.Staker.AddStake(ctx, cold, h.Netuid, Key(t, hot).SS58(), stake); err != nil {
			t.Fatalf("stake %s: %v", hot, err)
		}
	}
	return uid
}

func block(t *testing.T, h *Harness) uint64 {
	t.Helper()
	b, err := h.Client.Block(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return b.Number
}

func advance(t *testing.T, h *Harness, n int) {
	t.Helper()
	if err := h.Advance(context.Background(), n); err != nil {
		t.Fatal(err)
	}
}

// epochState reads the subnet's epoch state.
func epochState(t *testing.T, h *Harness) chain.EpochState {
	t.Helper()
	e, err := h.Client.EpochState(context.Background(), h.Netuid)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// nextEpoch advances until the chain's epoch index moves (just past the
// next epoch), reading the schedule from the chain, never from a formula.
func nextEpoch(t *testing.T, h *Harness, tempo uint16) {
	t.Helper()
	start := epochState(t, h)
	for i := 0; i <= int(tempo)+1; i++ {
		advance(t, h, 1)
		if epochState(t, h).Index > start.Index {
			return
		}
	}
	t.Fatalf("no epoch within a tempo of block %d (state %+v)", start.Block, start)
}

// WantTx fails unless err is the refusal of a transaction at validation
// with subtensor's custom code (chain.InvalidTransaction) that also
// matches want.
func WantTx(t testing.TB, what string, err error, code uint8, want error) {
	t.Helper()
	WantErr(t, what, err, want)
	if got, ok := chain.TxCode(err); !ok || got != code {
		t.Errorf("%s: err = %v, want a transaction refused with custom code %d", what, err, code)
	}
}

// setup registers validators V0.. (with stake) and miners M0.., then runs
// an epoch so that validators hold permits.
func setup(t *testing.T, h *Harness, hp chain.Hyperparameters, validators, miners int) {
	t.Helper()
	for i := 0; i < validators; i++ {
		register(t, h, fmt.Sprintf("V%d", i), uint64(i+1)*100*tao)
	}
	for i := 0; i < miners; i++ {
		register(t, h, fmt.Sprintf("M%d", i), 0)
	}
	nextEpoch(t, h, hp.Tempo)
	advance(t, h, 1)
}

func testRegistration(t *testing.T, hp chain.Hyperparameters, newHarness NewHarness) {
	ctx := context.Background()
	hp.MaxRegistrationsPerBlock = 1
	h := newHarness(t, hp)
	cold := Key(t, "Cold")
	_, err := h.Client.Register(ctx, cold, h.Netuid, Key(t, "H0").SS58())
	WantErr(t, "unfunded coldkey", err, chain.ErrInsufficientBalance)
	if err := h.Fund(ctx, cold, 10*tao); err != nil {
		t.Fatal(err)
	}
	head := block(t, h)
	uid, err := h.Client.Register(ctx, cold, h.Netuid, Key(t, "H0").SS58())
	if err != nil || uid != 0 {
		t.Fatalf("register: uid %d, err %v", uid, err)
	}
	regBlock := block(t, h) // the call returns once its block exists
	if regBlock <= head {
		t.Errorf("registered in block %d, the head at submission was %d", regBlock, head)
	}
	// MaxRegistrationsPerBlock counts the registrations of the block that
	// includes them: the second of one block fails there, in dispatch.
	if h.InOneBlock != nil {
		errs := h.InOneBlock(ctx,
			func(ctx context.Context) error {
				_, err := h.Client.Register(ctx, cold, h.Netuid, Key(t, "H1").SS58())
				return err
			},
			func(ctx context.Context) error {
				_, err := h.Client.Register(ctx, cold, h.Netuid, Key(t, "H2").SS58())
				return err
			})
		if errs[0] != nil {
			t.Fatalf("first registration of the block: %v", errs[0])
		}
		WantErr(t, "second registration in a block", errs[1], chain.ErrTooManyRegistrations)
		if _, ok := chain.TxCode(errs[1]); ok {
			t.Errorf("second registration in a block refused by the pool (%v); subtensor refuses it in dispatch", errs[1])
		}
	} else if _, err := h.Client.Register(ctx, cold, h.Netuid, Key(t, "H1").SS58()); err != nil {
		t.Fatalf("register H1: %v", err)
	}
	_, err = h.Client.Register(ctx, cold, h.Netuid, Key(t, "H0").SS58())
	WantErr(t, "already registered", err, chain.ErrAlreadyRegistered)
	_, err = h.Client.Register(ctx, cold, h.Netuid+100, Key(t, "H2").SS58())
	WantErr(t, "unknown subnet", err, chain.ErrSubnetNotFound)
	before := block(t, h)
	if uid, err := h.Client.Register(ctx, cold, h.Netuid, Key(t, "H2").SS58()); err != nil || uid != 2 {
		t.Fatalf("register in a later block: uid %d, err %v", uid, err)
	}
	m, err := h.Client.Metagraph(ctx, h.Netuid)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Neurons) != 3 || m.Neurons[0].Hotkey != Key(t, "H0").SS58() || m.Neurons[1].Coldkey != cold.SS58() ||
		m.Neurons[0].BlockAtRegistration != regBlock || m.Neurons[2].BlockAtRegistration <= before {
		t.Errorf("metagraph = %+v", m.Neurons)
	}
	if uid, err := m.UID(Key(t, "H1").SS58()); err != nil || uid != 1 {
		t.Errorf("Metagraph.UID = %d, %v", uid, err)
	}
	hpGot, err := h.Client.Hyperparameters(ctx, h.Netuid)
	if err != nil || hpGot.Tempo != hp.Tempo || hpGot.MaxRegistrationsPerBlock != 1 {
		t.Errorf("hyperparameters = %+v, %v", hpGot, err)
	}
	_, err = h.Client.Hyperparameters(ctx, h.Netuid+100)
	WantErr(t, "hyperparameters of unknown subnet", err, chain.ErrSubnetNotFound)
}

func testCommitments(t *testing.T, hp chain.Hyperparameters, newHarness NewHarness) {
	ctx := context.Background()
	// Every commit waits for its own block: an epoch must outlast the
	// dozen of them that fill the space (tempo 3 would reset it first).
	hp.Tempo = 40
	h := newHarness(t, hp)
	register(t, h, "M", 0)
	nextEpoch(t, h, hp.Tempo)
	advance(t, h, 1)
	m := Key(t, "M")
	head := block(t, h)
	if err := h.Client.Commit(ctx, m, h.Netuid, []byte("v1:repo@abc:task1")); err != nil {
		t.Fatal(err)
	}
	got, err := h.Client.Commitment(ctx, h.Netuid, m.SS58())
	if err != nil || string(got.Data) != "v1:repo@abc:task1" || got.Block <= head || got.Block > block(t, h) || got.Hotkey != m.SS58() {
		t.Fatalf("commitment = %+v, %v (head %d at submission)", got, err, head)
	}
	_, err = h.Client.Commitment(ctx, h.Netuid, Key(t, "Nobody").SS58())
	WantErr(t, "no commitment", err, chain.ErrNoCommitment)
	WantErr(t, "unregistered", h.Client.Commit(ctx, Key(t, "Nobody"), h.Netuid, []byte("x")), chain.ErrNotRegistered)
	WantErr(t, "oversized", h.Client.Commit(ctx, m, h.Netuid, make([]byte, 513)), chain.ErrCommitmentTooLarge)
	// 512 bytes (BigRaw) are allowed and count 512; small ones count 100.
	if err := h.Client.Commit(ctx, m, h.Netuid, make([]byte, 512)); err != nil {
		t.Fatalf("512-byte commitment: %v", err)
	}
	used := uint64(100 + 512)
	for used+100 <= hp.CommitmentMaxSpace {
		if err := h.Client.Commit(ctx, m, h.Netuid, []byte("x")); err != nil {
			t.Fatalf("commit with %d bytes used: %v", used, err)
		}
		used += 100
	}
	WantErr(t, "over the epoch's space", h.Client.Commit(ctx, m, h.Netuid, []byte("x")), chain.ErrRateLimited)
	nextEpoch(t, h, hp.Tempo) // a new epoch resets the budget
	head = block(t, h)
	if err := h.Client.Commit(ctx, m, h.Netuid, []byte("next epoch")); err != nil {
		t.Fatalf("after epoch: %v", err)
	}
	all, err := h.Client.Commitments(ctx, h.Netuid)
	if err != nil || len(all) != 1 || string(all[0].Data) != "next epoch" || all[0].Block <= head {
		t.Errorf("commitments = %+v, %v (head %d at submission)", all, err, head)
	}
}

// testCommitmentHistory: an overwritten commitment is still in the
// history, in block order, with only the asked subnet's.
func testCommitmentHistory(t *testing.T, hp chain.Hyperparameters, newHarness NewHarness) {
	ctx := context.Background()
	h := newHarness(t, hp)
	register(t, h, "M", 0)
	register(t, h, "N", 0)
	advance(t, h, 1)
	m, n := Key(t, "M"), Key(t, "N")
	start := block(t, h)
	commit := func(k chain.Signer, data string) uint64 {
		t.Helper()
		if err := h.Client.Commit(ctx, k, h.Netuid, []byte(data)); err != nil {
			t.Fatalf("commit %q: %v", data, err)
		}
		return block(t, h)
	}
	b1 := commit(m, "r1:m@1:1:aa")
	b1n := commit(n, "r1:n@1:2:bb")
	advance(t, h, 2)
	b2 := commit(m, "r1:m@2:3:cc") // overwrites the first
	advance(t, h, 1)
	end := block(t, h)
	if got, err := h.Client.Commitment(ctx, h.Netuid, m.SS58()); err != nil || string(got.Data) != "r1:m@2:3:cc" {
		t.Fatalf("current commitment = %+v, %v", got, err)
	}
	got, err := h.Client.CommitmentHistory(ctx, h.Netuid, start, end)
	if err != nil {
		t.Fatal(err)
	}
	want := []chain.Commitment{
		{Hotkey: m.SS58(), Block: b1, Data: []byte("r1:m@1:1:aa")},
		{Hotkey: n.SS58(), Block: b1n, Data: []byte("r1:n@1:2:bb")},
		{Hotkey: m.SS58(), Block: b2, Data: []byte("r1:m@2:3:cc")},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("history [%d, %d] =\n%+v\nwant\n%+v", start, end, got, want)
	}
	if got, err := h.Client.CommitmentHistory(ctx, h.Netuid, b2, b2); err != nil || len(got) != 1 || string(got[0].Data) != "r1:m@2:3:cc" {
		t.Errorf("history of block %d = %+v, %v", b2, got, err)
	}
	if got, err := h.Client.CommitmentHistory(ctx, h.Netuid, b2+1, end); err != nil || len(got) != 0 {
		t.Errorf("history of blocks without commitments = %+v, %v", got, err)
	}
	if got, err := h.Client.CommitmentHistory(ctx, h.Netuid+1, start, end); err != nil || len(got) != 0 {
		t.Errorf("history of another subnet = %+v, %v", got, err)
	}
	_, err = h.Client.CommitmentHistory(ctx, h.Netuid, end, end+5)
	WantErr(t, "history past the head", err, chain.ErrUnknownBlock)
	_, err = h.Client.CommitmentHistory(ctx, h.Netuid, end, start)
	WantErr(t, "from after to", err, chain.ErrInvalidArgument)
}

func testSetWeightsChecks(t *testing.T, hp chain.Hyperparameters, newHarness NewHarness) {
	ctx := context.Background()
	hp.MinAllowedWeights = 2
	hp.WeightsVersionKey = 5
	hp.WeightsRateLimit = 2
	hp.MaxWeightsLimit = 60000
	hp.MaxAllowedValidators = 2
	h := newHarness(t, hp)
	setup(t, h, hp, 2, 3)
	v0, m0 := Key(t, "V0"), Key(t, "M0")
	mg, _ := h.Client.Metagraph(ctx, h.Netuid)
	if !mg.Neurons[0].ValidatorPermit || !mg.Neurons[1].ValidatorPermit || mg.Neurons[2].ValidatorPermit {
		t.Fatalf("permits after an epoch: %+v", mg.Neurons)
	}
	set := func(k chain.Signer, uids, w []uint16, vk uint64) error {
		return h.Client.SetWeights(ctx, k, h.Netuid, uids, w, vk)
	}
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"unregistered", set(Key(t, "Nobody"), []uint16{2, 3}, []uint16{1, 1}, 5), chain.ErrNotRegistered},
		{"no permit", set(m0, []uint16{3, 4}, []uint16{1, 1}, 5), chain.ErrNoPermit},
		{"version key", set(v0, []uint16{2, 3}, []uint16{1, 1}, 4), chain.ErrVersionKey},
		{"duplicates", set(v0, []uint16{2, 2}, []uint16{1, 1}, 5), chain.ErrDuplicateUIDs},
		{"unknown uid", set(v0, []uint16{2, 99}, []uint16{1, 1}, 5), chain.ErrInvalidUID},
		{"too few", set(v0, []uint16{2}, []uint16{1}, 5), chain.ErrTooFewWeights},
		{"max weight after upscaling", set(v0, []uint16{2, 3}, []uint16{1, 1}, 5), chain.ErrMaxWeightExceeded},
		{"length mismatch", set(v0, []uint16{2, 3}, []uint16{1}, 5), chain.ErrLengthMismatch},
		{"commit weights while disabled", h.Client.CommitWeights(ctx, v0, h.Netuid, [32]byte{1}), chain.ErrCommitRevealDisabled},
	} {
		WantErr(t, tc.name, tc.err, tc.want)
	}
	// Validation looks for the commit before dispatch would see that
	// commit-reveal is off (guards/check_weights.rs).
	WantTx(t, "reveal weights while disabled", h.Client.RevealWeights(ctx, v0, h.Netuid, []uint16{2}, []uint16{1}, []uint16{1}, 5),
		chain.TxCommitNotFound, chain.ErrNoWeightsCommit)
	// A miner may set a self-weight without a permit.
	if err := set(m0, []uint16{2}, []uint16{1}, 5); err != nil {
		t.Errorf("miner self-weight: %v", err)
	}
	hp.MaxWeightsLimit = 65535
	if err := h.SetHyperparameters(ctx, h.Netuid, hp); err != nil {
		t.Fatal(err)
	}
	ok := func() error { return set(v0, []uint16{2, 3, 4}, []uint16{10, 20, 30}, 5) }
	if err := ok(); err != nil {
		t.Fatalf("valid weights: %v", err)
	}
	at := block(t, h) // the block that included them
	// The pool validates a call for the next block: at + 1 is inside the
	// limit of 2 blocks, at + 2 is not.
	WantTx(t, "rate limit", ok(), chain.TxRateLimitExceeded, chain.ErrRateLimited)
	advance(t, h, 1)
	if err := ok(); err != nil {
		t.Fatalf("after the rate limit: %v", err)
	}
	mg, _ = h.Client.Metagraph(ctx, h.Netuid)
	w := mg.Neurons[0].Weights
	if len(w) != 3 || w[2].Value != 65535 || w[0].Value != 21845 || mg.Neurons[0].LastUpdate != at+2 {
		t.Errorf("stored weights = %+v (last update %d, want %d)", w, mg.Neurons[0].LastUpdate, at+2)
	}
	hp.CommitRevealEnabled = true
	if err := h.SetHyperparameters(ctx, h.Netuid, hp); err != nil {
		t.Fatal(err)
	}
	WantErr(t, "commit-reveal on", set(v0, []uint16{2, 3}, []uint16{1, 1}, 5), chain.ErrCommitRevealEnabled)
}

func testCommitReveal(t *testing.T, hp chain.Hyperparameters, newHarness NewHarness) {
	ctx := context.Background()
	hp.CommitRevealEnabled = true
	hp.RevealPeriodEpochs = 1
	h := newHarness(t, hp)
	setup(t, h, hp, 1, 2)
	v := Key(t, "V0")
	uids, vals, salt := []uint16{1, 2}, []uint16{100, 300}, []uint16{42, 7}
	hash, err := chain.CommitHash(v.SS58(), h.Netuid, uids, vals, salt, 0)
	if err != nil {
		t.Fatal(err)
	}
	reveal := func(salt []uint16) error { return h.Client.RevealWeights(ctx, v, h.Netuid, uids, vals, salt, 0) }
	WantErr(t, "set_weights with commit-reveal on", h.Client.SetWeights(ctx, v, h.Netuid, uids, vals, 0), chain.ErrCommitRevealEnabled)
	WantTx(t, "reveal without commit", reveal(salt), chain.TxCommitNotFound, chain.ErrNoWeightsCommit)
	// The epoch a commit is tagged with is the one the chain judges a
	// transaction sent now by (read before sending, as a validator does).
	e := epochState(t, h)
	if e.RevealPeriod != 1 || e.RevealDue(e.TxEpoch) || e.CommitExpired(e.TxEpoch) {
		t.Errorf("epoch state before the commit: %+v", e)
	}
	commitEpoch := e.TxEpoch
	if err := h.Client.CommitWeights(ctx, v, h.Netuid, hash); err != nil {
		t.Fatal(err)
	}
	committed := block(t, h)
	if committed != e.Block+1 {
		// A chain with its own block time may include it later, in an
		// epoch this test cannot know.
		t.Skipf("commit included in block %d, not in the next block %d", committed, e.Block+1)
	}
	WantErr(t, "commit from unregistered", h.Client.CommitWeights(ctx, Key(t, "Nobody"), h.Netuid, hash), chain.ErrNotRegistered)
	WantTx(t, "reveal in the commit epoch", reveal(salt), chain.TxCommitBlockNotInRevealRange, chain.ErrRevealTooEarly)
	nextEpoch(t, h, hp.Tempo)
	if e := epochState(t, h); !e.RevealDue(commitEpoch) {
		t.Errorf("reveal not due after an epoch: commit epoch %d, state %+v", commitEpoch, e)
	}
	// A wrong salt hashes to no commit: refused at validation, as subtensor.
	WantTx(t, "wrong salt", reveal([]uint16{1}), chain.TxCommitNotFound, chain.ErrNoWeightsCommit)
	if err := reveal(salt); err != nil {
		t.Fatalf("reveal: %v", err)
	}
	mg, _ := h.Client.Metagraph(ctx, h.Netuid)
	if w := mg.Neurons[0].Weights; len(w) != 2 || w[1].Value != 65535 || w[0].Value != 21845 {
		t.Errorf("revealed weights = %+v", w)
	}
	if mg.Neurons[0].LastUpdate != committed {
		t.Errorf("last update = %d, want the commit block %d", mg.Neurons[0].LastUpdate, committed)
	}
	// A commit left unrevealed past its reveal epoch is refused with the
	// same code 17 as a reveal that is too early, while it stays queued;
	// the epoch state tells the two apart.
	commitEpoch = epochState(t, h).TxEpoch
	if err := h.Client.CommitWeights(ctx, v, h.Netuid, hash); err != nil {
		t.Fatal(err)
	}
	nextEpoch(t, h, hp.Tempo)
	nextEpoch(t, h, hp.Tempo)
	if e := epochState(t, h); !e.CommitExpired(commitEpoch) {
		t.Errorf("commit of epoch %d not expired: %+v", commitEpoch, e)
	}
	WantTx(t, "expired, still queued", reveal(salt), chain.TxCommitBlockNotInRevealRange, chain.ErrRevealTooEarly)
	// The next commit drops expired commits from the queue: then the old
	// reveal finds nothing.
	other, err := chain.CommitHash(v.SS58(), h.Netuid, uids, vals, []uint16{9}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Client.CommitWeights(ctx, v, h.Netuid, other); err != nil {
		t.Fatal(err)
	}
	WantTx(t, "expired and dropped", reveal(salt), chain.TxCommitNotFound, chain.ErrNoWeightsCommit)
}

// testWeightsValidation: weights calls below the stake threshold are
// refused at validation with code 1, before any other check.
func testWeightsValidation(t *testing.T, hp chain.Hyperparameters, newHarness NewHarness) {
	ctx := context.Background()
	hp.StakeThreshold = 50 * tao
	hp.CommitRevealEnabled = true
	h := newHarness(t, hp)
	setup(t, h, hp, 1, 1) // V0 has 100 TAO staked, M0 none
	m := Key(t, "M0")
	WantTx(t, "commit below the stake threshold", h.Client.CommitWeights(ctx, m, h.Netuid, [32]byte{1}),
		chain.TxStakeAmountTooLow, chain.ErrNotEnoughStake)
	WantTx(t, "reveal below the stake threshold", h.Client.RevealWeights(ctx, m, h.Netuid, []uint16{0}, []uint16{1}, []uint16{1}, 0),
		chain.TxStakeAmountTooLow, chain.ErrNotEnoughStake)
	WantTx(t, "unregistered hotkey, no stake", h.Client.CommitWeights(ctx, Key(t, "Nobody"), h.Netuid, [32]byte{1}),
		chain.TxStakeAmountTooLow, chain.ErrNotEnoughStake)
	if err := h.Client.CommitWeights(ctx, Key(t, "V0"), h.Netuid, [32]byte{1}); err != nil {
		t.Errorf("commit above the threshold: %v", err)
	}
	hp.CommitRevealEnabled = false
	if err := h.SetHyperparameters(ctx, h.Netuid, hp); err != nil {
		t.Fatal(err)
	}
	WantTx(t, "set_weights below the stake threshold", h.Client.SetWeights(ctx, m, h.Netuid, []uint16{1}, []uint16{1}, 0),
		chain.TxStakeAmountTooLow, chain.ErrNotEnoughStake)
}

// testEpochs: epochs run every tempo blocks from the chain's
// LastEpochBlock, the index counts them, and the state says when the next
// one runs.
func testEpochs(t *testing.T, hp chain.Hyperparameters, newHarness NewHarness) {
	ctx := context.Background()
	h := newHarness(t, hp)
	e := epochState(t, h)
	if e.Tempo != hp.Tempo || e.Netuid != h.Netuid || e.Block != block(t, h) || e.RevealPeriod != hp.RevealPeriodEpochs {
		t.Fatalf("epoch state = %+v", e)
	}
	for i := 0; i < 3; i++ {
		next := e.NextEpochBlock()
		if next <= e.Block || next > e.Block+uint64(hp.Tempo) {
			t.Fatalf("next epoch block %d from %+v", next, e)
		}
		advance(t, h, int(next-e.Block-1))
		if got := epochState(t, h); got.Index != e.Index {
			t.Fatalf("epoch ran before block %d: %+v", next, got)
		}
		advance(t, h, 1)
		got := epochState(t, h)
		if got.Index != e.Index+1 || got.LastEpochBlock != next || got.Block != next {
			t.Fatalf("after block %d: %+v, want index %d", next, got, e.Index+1)
		}
		if i > 0 && got.LastEpochBlock-e.LastEpochBlock != uint64(hp.Tempo) {
			t.Errorf("epochs %d blocks apart, tempo %d", got.LastEpochBlock-e.LastEpochBlock, hp.Tempo)
		}
		e = got
	}
	_, err := h.Client.EpochState(ctx, h.Netuid+100)
	WantErr(t, "epoch state of an unknown subnet", err, chain.ErrSubnetNotFound)
}

// testConsensus checks the direction of an epoch's results, not subtensor's
// exact numbers (chain/yuma's tests do that).
func testConsensus(t *testing.T, hp chain.Hyperparameters, newHarness NewHarness) {
	ctx := context.Background()
	h := newHarness(t, hp)
	setup(t, h, hp, 2, 2) // uids 0, 1 validators; 2, 3 miners
	for i := 0; i < 2; i++ {
		if err := h.Client.SetWeights(ctx, Key(t, fmt.Sprintf("V%d", i)), h.Netuid, []uint16{2, 3}, []uint16{3, 1}, 0); err != nil {
			t.Fatal(err)
		}
	}
	nextEpoch(t, h, hp.Tempo)
	mg, err := h.Client.Metagraph(ctx, h.Netuid)
	if err != nil {
		t.Fatal(err)
	}
	n := mg.Neurons
	if n[2].Incentive <= n[3].Incentive || n[3].Incentive == 0 || n[0].Incentive != 0 {
		t.Errorf("incentive = %d %d %d %d", n[0].Incentive, n[1].Incentive, n[2].Incentive, n[3].Incentive)
	}
	if n[0].Dividends == 0 || n[1].Dividends <= n[0].Dividends || n[2].Dividends != 0 {
		t.Errorf("dividends = %d %d %d", n[0].Dividends, n[1].Dividends, n[2].Dividends)
	}
	if n[0].ValidatorTrust == 0 || n[2].Consensus == 0 || len(n[0].Bonds) != 2 || !n[0].Active || n[2].Emission == 0 {
		t.Errorf("trust/consensus/bonds/emission: %+v / %+v", n[0], n[2])
	}
}

// testInvalidByExecution: the pool validates each call against the head's
// state; a call that a call before it in the same block made invalid is
// dropped when the block is built (Substrate's block builder skips it and
// the pool reports it "invalid"), not included and not failed.
func testInvalidByExecution(t *testing.T, hp chain.Hyperparameters, newHarness NewHarness) {
	ctx := context.Background()
	hp.CommitRevealEnabled = true
	hp.WeightsRateLimit = 5
	h := newHarness(t, hp)
	if h.InOneBlock == nil {
		t.Skip("the harness cannot put two calls in one block")
	}
	setup(t, h, hp, 1, 1)
	advance(t, h, int(hp.WeightsRateLimit)) // registration counts as an update
	v := Key(t, "V0")
	head := block(t, h)
	errs := h.InOneBlock(ctx,
		func(ctx context.Context) error { return h.Client.CommitWeights(ctx, v, h.Netuid, [32]byte{1}) },
		func(ctx context.Context) error { return h.Client.CommitWeights(ctx, v, h.Netuid, [32]byte{2}) })
	if errs[0] != nil {
		t.Fatalf("first commit: %v", errs[0])
	}
	WantErr(t, "second commit of the block (rate limit)", errs[1], chain.ErrTxDropped)
	if _, ok := chain.TxCode(errs[1]); ok {
		t.Errorf("the dropped call carries a custom code (%v): a watcher of subtensor's pool only learns it is invalid", errs[1])
	}
	if b := block(t, h); b != head+1 {
		t.Fatalf("head %d, want the one block %d", b, head+1)
	}
	if h.ExtrinsicErrors != nil {
		if fails, err := h.ExtrinsicErrors(ctx, head+1); err != nil || len(fails) != 0 {
			t.Errorf("failures in block %d = %v, %v; the dropped call must leave none", head+1, fails, err)
		}
	}
	mg, err := h.Client.Metagraph(ctx, h.Netuid)
	if err != nil || mg.Neurons[0].LastUpdate != head+1 {
		t.Errorf("validator last update = %+v, %v; want the first commit's block %d", mg.Neurons[0], err, head+1)
	}
}
