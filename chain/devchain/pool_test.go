package devchain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/datarefine/refine/chain"
)

// TestPoolRefusalLeavesNoTrace: a call the pool refuses (here set_weights
// inside the rate limit, custom code 6) is not recorded anywhere: no block,
// no event, and its nonce is not spent, so the same signed call is taken
// once it is valid, as a Substrate node takes an extrinsic it refused
// earlier while its era lasts.
func TestPoolRefusalLeavesNoTrace(t *testing.T) {
	ctx := context.Background()
	hp := testHP()
	hp.WeightsRateLimit = 3
	c := newChain(t, hp, "")
	setupValidators(t, c, 1, 1)
	advance(t, c, 3)
	v := key(t, "V0")
	if err := c.SetWeights(ctx, v, 1, []uint16{1}, []uint16{1}, 0); err != nil {
		t.Fatal(err)
	}
	head, _ := c.Block(ctx)
	call, err := NewCall(c.Genesis(), MethodSetWeights, 1, v, SetWeightsArgs{UIDs: []uint16{1}, Weights: []uint16{2}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Submit(ctx, call)
	if code, ok := chain.TxCode(err); !ok || code != chain.TxRateLimitExceeded {
		t.Fatalf("inside the rate limit: %v, want custom code 6", err)
	}
	if b, _ := c.Block(ctx); b != head || c.Pending() != 0 {
		t.Fatalf("after the refusal: head %+v (was %+v), %d pending", b, head, c.Pending())
	}
	if _, err := c.Status(ctx, call.Hash(c.Genesis())); !errors.Is(err, chain.ErrTxDropped) {
		t.Errorf("status of the refused call: %v, want unknown", err)
	}
	advance(t, c, 2)
	st, err := c.Submit(ctx, call)
	if err != nil {
		t.Fatalf("the same signed call once valid: %v", err)
	}
	st, err = c.Wait(ctx, st.Hash)
	if err != nil || st.Status != TxInBlock || st.Block != head.Number+3 || st.Index != 0 {
		t.Fatalf("included: %+v, %v", st, err)
	}
	for b := head.Number + 1; b < st.Block; b++ {
		if evs, _ := c.Events(ctx, b); len(evs) != 0 {
			t.Errorf("block %d has events %+v", b, evs)
		}
	}
	if _, err := c.Submit(ctx, call); !errors.Is(err, chain.ErrReplay) {
		t.Errorf("the included call again: %v, want a replay", err)
	}
}

// TestEventsAndReceipts: a block's events in deposit order, each with the
// index of the call that deposited it; a failed call has only its
// ExtrinsicFailed; receipts are read back from the block after a restart.
func TestEventsAndReceipts(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "chain.db")
	c := newChain(t, testHP(), db)
	cold, hot := key(t, "C-E"), key(t, "E")
	if err := c.Faucet(ctx, cold, 10*tao); err != nil {
		t.Fatal(err)
	}
	var hashes []string
	submit := func(method string, signer chain.Signer, args any) {
		call, err := NewCall(c.Genesis(), method, 1, signer, args, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		st, err := c.Submit(ctx, call)
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		hashes = append(hashes, st.Hash)
	}
	release := c.HoldBlocks()
	submit(MethodRegister, cold, RegisterArgs{Hotkey: hot.SS58()})
	submit(MethodCommit, key(t, "Nobody"), CommitArgs{Data: []byte("not registered")})
	submit(MethodCommit, hot, CommitArgs{Data: []byte("mine")})
	release()
	st, err := c.Wait(ctx, hashes[0]) // builds the block: nobody else does
	if err != nil || st.UID == nil || *st.UID != 0 {
		t.Fatalf("register: %+v, %v", st, err)
	}
	b := st.Block
	evs, err := c.Events(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i, ev := range evs {
		if ev.Index != i || ev.Block != b || ev.Extrinsic == nil {
			t.Errorf("event %d: %+v", i, ev)
			continue
		}
		got = append(got, fmt.Sprintf("%d:%s.%s", *ev.Extrinsic, ev.Pallet, ev.Name))
	}
	want := "[0:SubtensorModule.NeuronRegistered 0:System.ExtrinsicSuccess 1:System.ExtrinsicFailed 2:Commitments.Commitment 2:System.ExtrinsicSuccess]"
	if fmt.Sprint(got) != want {
		t.Fatalf("events of block %d:\n%v\nwant\n%s", b, got, want)
	}
	if evs[0].UID == nil || *evs[0].UID != 0 || evs[0].Account != hot.SS58() || string(evs[3].Data) != "mine" {
		t.Errorf("event fields: %+v %+v", evs[0], evs[3])
	}
	if fails := ExtrinsicErrors(evs); len(fails) != 1 || !errors.Is(fails[0], chain.ErrNotRegistered) {
		t.Errorf("failures = %v", fails)
	}
	_, err = c.Wait(ctx, hashes[1])
	wantErr(t, "unregistered commit", err, chain.ErrNotRegistered)
	if _, err := c.Events(ctx, b+1); !errors.Is(err, chain.ErrUnknownBlock) {
		t.Errorf("events past the head: %v", err)
	}

	c.Close()
	c2 := newChain(t, testHP(), db)
	for i, h := range hashes {
		st, err := c2.Status(ctx, h)
		if err != nil || st.Status != TxInBlock || st.Block != b || st.Index != i || (i == 1) != (st.Error != nil) {
			t.Errorf("receipt %d after restart: %+v, %v", i, st, err)
		}
	}
	if st, _ := c2.Status(ctx, hashes[0]); st.UID == nil || *st.UID != 0 {
		t.Errorf("register's receipt lost its uid: %+v", st)
	}
	_, err = c2.Wait(ctx, hashes[1])
	wantErr(t, "unregistered commit's receipt", err, chain.ErrNotRegistered)
	_, cl := newServerFor(t, c2)
	remote, err := cl.Events(ctx, b)
	rj, _ := json.Marshal(remote)
	ej, _ := json.Marshal(evs)
	if err != nil || string(rj) != string(ej) {
		t.Errorf("events over HTTP:\n%s, %v\nin-process\n%s", rj, err, ej)
	}
}

// TestStaleCallDropped: a call that waits in the pool past its timestamp
// window (a transaction past its mortality) is dropped when a block is
// built, not included, and its nonce stays unspent.
func TestStaleCallDropped(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	hp := testHP()
	c, err := New(ctx, Options{Hyperparameters: &hp, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	register(t, c, c, fund(c), "M0", 0)
	release := c.HoldBlocks()
	call, _ := NewCall(c.Genesis(), MethodCommit, 1, key(t, "M0"), CommitArgs{Data: []byte("late")}, clock())
	st, err := c.Submit(ctx, call)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	advance(t, c, 1)
	release()
	st, err = c.Wait(ctx, st.Hash)
	wantErr(t, "stale call", err, chain.ErrTxDropped)
	if st.Status != TxInvalid || st.Error == nil || st.Error.Code != "tx_dropped" {
		t.Errorf("status = %+v", st)
	}
	if _, err := c.Commitment(ctx, 1, key(t, "M0").SS58()); !errors.Is(err, chain.ErrNoCommitment) {
		t.Errorf("the stale commit took effect: %v", err)
	}
	// Dropped calls are banned for a while, as a Substrate pool bans them.
	mu.Lock()
	now = time.UnixMilli(call.Timestamp)
	mu.Unlock()
	_, err = c.Submit(ctx, call)
	wantErr(t, "the dropped call again", err, chain.ErrReplay)
}

// TestCloseDropsPending: calls still in the pool when the chain stops are
// dropped; their submitters do not wait forever.
func TestCloseDropsPending(t *testing.T) {
	ctx := context.Background()
	c, err := New(ctx, Options{Hyperparameters: new(testHP())})
	if err != nil {
		t.Fatal(err)
	}
	c.HoldBlocks()
	errc := make(chan error, 1)
	go func() { errc <- c.Faucet(ctx, key(t, "X"), 1) }()
	for c.Pending() == 0 {
		time.Sleep(time.Millisecond)
	}
	c.Close()
	select {
	case err := <-errc:
		wantErr(t, "call pending at close", err, chain.ErrTxDropped)
	case <-time.After(10 * time.Second):
		t.Fatal("the submitter still waits after Close")
	}
}

// TestTimerModeInclusion: with a block time, a writer waits for the next
// block the timer produces, and its effects belong to that block, over
// HTTP too.
func TestTimerModeInclusion(t *testing.T) {
	ctx := context.Background()
	hp := testHP()
	c, err := New(ctx, Options{Hyperparameters: &hp, BlockTime: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, cl := newServerFor(t, c)
	funder := func(s chain.Signer) error { return cl.Faucet(ctx, s, 1000*tao) }
	register(t, cl, cl, funder, "M0", 0)
	for i := 0; i < 3; i++ {
		head, _ := cl.Block(ctx)
		data := fmt.Sprintf("commit %d", i)
		if err := cl.Commit(ctx, key(t, "M0"), 1, []byte(data)); err != nil {
			t.Fatal(err)
		}
		after, _ := cl.Block(ctx)
		cm, err := cl.Commitment(ctx, 1, key(t, "M0").SS58())
		if err != nil || string(cm.Data) != data || cm.Block <= head.Number || cm.Block > after.Number {
			t.Errorf("commitment %+v, %v; head %d at submission, %d after", cm, err, head.Number, after.Number)
		}
	}
}

// TestHeadHistoryFinal: what a reader sees of the head block is final. A
// reader that scans up to the head and a writer that commits right after
// cannot race: the commitment lands in a later block, which the next scan
// reads (the reason a validator stayed a block behind the head is gone).
func TestHeadHistoryFinal(t *testing.T) {
	ctx := context.Background()
	hp := testHP()
	c, err := New(ctx, Options{Hyperparameters: &hp, BlockTime: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, cl := newServerFor(t, c)
	register(t, cl, cl, func(s chain.Signer) error { return cl.Faucet(ctx, s, 1000*tao) }, "M0", 0)
	var scanned uint64
	seen := 0
	for i := 0; i < 5; i++ {
		head, _ := cl.Block(ctx)
		at, err := cl.CommitmentHistory(ctx, 1, head.Number, head.Number)
		if err != nil {
			t.Fatal(err)
		}
		evs, _ := cl.Events(ctx, head.Number)
		if err := cl.Commit(ctx, key(t, "M0"), 1, []byte(fmt.Sprintf("c%d", i))); err != nil {
			t.Fatal(err)
		}
		again, _ := cl.CommitmentHistory(ctx, 1, head.Number, head.Number)
		evs2, _ := cl.Events(ctx, head.Number)
		if fmt.Sprint(at) != fmt.Sprint(again) || len(evs) != len(evs2) {
			t.Fatalf("head block %d changed after it was read: %v then %v", head.Number, at, again)
		}
		// A scan from the last scanned block + 1 to the head sees every
		// commitment exactly once.
		now, _ := cl.Block(ctx)
		got, err := cl.CommitmentHistory(ctx, 1, scanned+1, now.Number)
		if err != nil {
			t.Fatal(err)
		}
		seen += len(got)
		scanned = now.Number
	}
	if seen != 5 {
		t.Errorf("scans up to the head saw %d of 5 commitments", seen)
	}
}
