package chaintest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/datarefine/refine/chain"
)

// InclusionHarness is what the inclusion tests need from a chain: a client,
// a hotkey registered on Netuid and one that is not.
type InclusionHarness struct {
	Client    chain.Client
	Netuid    uint16
	Committer chain.Signer // registered on Netuid
	Outsider  chain.Signer // not registered anywhere
	// Advance produces blocks.
	Advance func(ctx context.Context, blocks int) error
	// ExtrinsicErrors: see Harness.ExtrinsicErrors (required here).
	ExtrinsicErrors func(ctx context.Context, block uint64) ([]error, error)
}

// RunInclusion runs the tests of when a call takes effect, as on
// subtensor: a signed call is validated into the transaction pool when it
// is submitted (a refusal comes back then and leaves no trace) and runs
// when the next block is built; its effects and events belong to that
// block, a call that fails there leaves its System.ExtrinsicFailed event,
// and a writer that waits for inclusion returns once that block exists.
// A block's events never change once it exists.
func RunInclusion(t *testing.T, newHarness func(t *testing.T) *InclusionHarness) {
	t.Run("CommitLandsAfterHead", func(t *testing.T) { testCommitLandsAfterHead(t, newHarness(t)) })
	t.Run("BlockEventsFinal", func(t *testing.T) { testBlockEventsFinal(t, newHarness(t)) })
	t.Run("PoolRefusalLeavesNoTrace", func(t *testing.T) { testPoolRefusalNoTrace(t, newHarness(t)) })
	t.Run("FailureInBlock", func(t *testing.T) { testFailureInBlock(t, newHarness(t)) })
}

func head(t *testing.T, c chain.Client) uint64 {
	t.Helper()
	b, err := c.Block(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return b.Number
}

// commitAfter commits data and checks where it landed: in a block after
// the head seen before submitting, which exists when Commit returns; it
// returns that block.
func commitAfter(t *testing.T, h *InclusionHarness, data string) uint64 {
	t.Helper()
	ctx := context.Background()
	before := head(t, h.Client)
	if err := h.Client.Commit(ctx, h.Committer, h.Netuid, []byte(data)); err != nil {
		t.Fatalf("commit %q: %v", data, err)
	}
	after := head(t, h.Client)
	cm, err := h.Client.Commitment(ctx, h.Netuid, h.Committer.SS58())
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case string(cm.Data) != data:
		t.Fatalf("commitment %q after committing %q", cm.Data, data)
	case cm.Block <= before:
		t.Fatalf("commitment stamped with block %d; the head was %d when it was submitted: a call runs in a later block", cm.Block, before)
	case cm.Block > after:
		t.Fatalf("commitment in block %d, but Commit returned at head %d: a writer that waits returns once its block exists", cm.Block, after)
	}
	return cm.Block
}

func history(t *testing.T, h *InclusionHarness, from, to uint64) []chain.Commitment {
	t.Helper()
	got, err := h.Client.CommitmentHistory(context.Background(), h.Netuid, from, to)
	if err != nil {
		t.Fatalf("history [%d, %d]: %v", from, to, err)
	}
	return got
}

func testCommitLandsAfterHead(t *testing.T, h *InclusionHarness) {
	before := head(t, h.Client)
	b := commitAfter(t, h, "r1:inclusion@1:1:aa")
	want := chain.Commitment{Hotkey: h.Committer.SS58(), Block: b, Data: []byte("r1:inclusion@1:1:aa")}
	if got := history(t, h, b, b); fmt.Sprint(got) != fmt.Sprint([]chain.Commitment{want}) {
		t.Errorf("history of block %d = %+v, want %+v", b, got, want)
	}
	// The head seen at submission holds nothing of it.
	if got := history(t, h, before, before); len(got) != 0 {
		t.Errorf("history of the head %d at submission = %+v", before, got)
	}
}

func testBlockEventsFinal(t *testing.T, h *InclusionHarness) {
	ctx := context.Background()
	b := commitAfter(t, h, "r1:final@1:1:aa")
	first := history(t, h, b, b)
	hash, err := h.Client.BlockHash(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	// A second commitment of the same hotkey lands in a later block and
	// leaves block b as it was read.
	b2 := commitAfter(t, h, "r1:final@2:2:bb")
	if b2 <= b {
		t.Fatalf("second commitment in block %d, the first in %d", b2, b)
	}
	if again := history(t, h, b, b); fmt.Sprint(again) != fmt.Sprint(first) {
		t.Errorf("block %d's commitments changed after a later block: %+v, then %+v", b, first, again)
	}
	if h2, err := h.Client.BlockHash(ctx, b); err != nil || h2 != hash {
		t.Errorf("block %d hash %s, then %s (%v)", b, hash, h2, err)
	}
	if got := history(t, h, b2, b2); len(got) != 1 || string(got[0].Data) != "r1:final@2:2:bb" {
		t.Errorf("history of block %d = %+v", b2, got)
	}
}

// failures returns the dispatch errors in blocks (from, to].
func failures(t *testing.T, h *InclusionHarness, from, to uint64) map[uint64][]error {
	t.Helper()
	out := map[uint64][]error{}
	for b := from + 1; b <= to; b++ {
		errs, err := h.ExtrinsicErrors(context.Background(), b)
		if err != nil {
			t.Fatalf("failures of block %d: %v", b, err)
		}
		if len(errs) > 0 {
			out[b] = errs
		}
	}
	return out
}

// testPoolRefusalNoTrace: a reveal of a hash in no commit is refused by the
// transaction extension (custom code 16) when it is submitted: nothing is
// included, no block records it.
func testPoolRefusalNoTrace(t *testing.T, h *InclusionHarness) {
	ctx := context.Background()
	before := head(t, h.Client)
	err := h.Client.RevealWeights(ctx, h.Committer, h.Netuid, []uint16{0}, []uint16{1}, []uint16{7}, 0)
	WantTx(t, "reveal of no commit", err, chain.TxCommitNotFound, chain.ErrNoWeightsCommit)
	if err := h.Advance(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if f := failures(t, h, before, head(t, h.Client)); len(f) != 0 {
		t.Errorf("the refused call left failures in blocks: %v", f)
	}
}

// testFailureInBlock: a commitment from a hotkey that is not registered
// passes the pool (no extension checks it) and fails in its block
// (Commitments.AccountNotAllowedCommit); the writer gets that dispatch
// error once the block exists, and the block records it.
func testFailureInBlock(t *testing.T, h *InclusionHarness) {
	ctx := context.Background()
	before := head(t, h.Client)
	err := h.Client.Commit(ctx, h.Outsider, h.Netuid, []byte("r1:outsider@1:1:aa"))
	WantErr(t, "commit of an unregistered hotkey", err, chain.ErrNotRegistered)
	if code, ok := chain.TxCode(err); ok {
		t.Errorf("refused by the pool with code %d; subtensor includes it and fails it in dispatch", code)
	}
	after := head(t, h.Client)
	f := failures(t, h, before, after)
	var found []uint64
	for b, errs := range f {
		for _, e := range errs {
			if errors.Is(e, chain.ErrNotRegistered) {
				found = append(found, b)
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("failures in blocks (%d, %d] = %v; want the commit's one ExtrinsicFailed", before, after, f)
	}
	if _, err := h.Client.Commitment(ctx, h.Netuid, h.Outsider.SS58()); !errors.Is(err, chain.ErrNoCommitment) {
		t.Errorf("commitment of the outsider: %v", err)
	}
	if got := history(t, h, found[0], found[0]); len(got) != 0 {
		t.Errorf("history of the failed commit's block = %+v", got)
	}
}
