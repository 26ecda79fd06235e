package devchain

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/datarefine/refine/chain"
)

// TestCommitmentHistorySameBlockAndRestart: two commitments of one hotkey in
// one block are one entry (its last, where its last event is), as subtensor
// shows them; the events survive a restart; the HTTP client pages long
// ranges.
func TestCommitmentHistorySameBlockAndRestart(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "chain.db")
	c := newChain(t, testHP(), db)
	register(t, c, c, fund(c), "M0", 0)
	register(t, c, c, fund(c), "M1", 0)
	advance(t, c, 1)
	var calls []func(context.Context) error
	for _, cm := range []struct{ hot, data string }{{"M0", "first"}, {"M1", "other"}, {"M0", "second"}} {
		calls = append(calls, func(ctx context.Context) error { return c.Commit(ctx, key(t, cm.hot), 1, []byte(cm.data)) })
	}
	for i, err := range c.InOneBlock(ctx, calls...) {
		if err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
	}
	b, _ := c.Block(ctx)
	advance(t, c, 1)
	check := func(cl chain.Client) {
		t.Helper()
		got, err := cl.CommitmentHistory(ctx, 1, 0, b.Number+1)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Hotkey != key(t, "M1").SS58() || string(got[1].Data) != "second" || got[1].Block != b.Number {
			t.Errorf("history = %+v", got)
		}
	}
	check(c)
	c.Close()
	c2, err := New(ctx, Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	check(c2)
	// A range longer than one HTTP request.
	advance(t, c2, MaxHistoryBlocks+5)
	_, cl := newServerFor(t, c2)
	check(cl)
	got, err := cl.CommitmentHistory(ctx, 1, 0, MaxHistoryBlocks+b.Number)
	if err != nil || len(got) != 2 {
		t.Errorf("paged history = %+v, %v", got, err)
	}
}
