package devchain

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/chain/chaintest"
)

// TestConformanceInProcess runs the chain.Client conformance suite against
// the in-process chain.
func TestConformanceInProcess(t *testing.T) {
	chaintest.Run(t, DefaultHyperparameters(), func(t *testing.T, hp chain.Hyperparameters) *chaintest.Harness {
		c := newChain(t, hp, "")
		return &chaintest.Harness{
			Client: c, Staker: c, Netuid: 1,
			Fund:               c.Faucet,
			Advance:            c.AdvanceBlocks,
			SetHyperparameters: c.SetHyperparameters,
			InOneBlock:         c.InOneBlock,
			ExtrinsicErrors: func(ctx context.Context, block uint64) ([]error, error) {
				evs, err := c.Events(ctx, block)
				return ExtrinsicErrors(evs), err
			},
		}
	})
}

// TestConformanceHTTP runs the same suite through the HTTP client and server,
// so every rule also holds with signatures and typed errors on the wire.
func TestConformanceHTTP(t *testing.T) {
	chaintest.Run(t, DefaultHyperparameters(), func(t *testing.T, hp chain.Hyperparameters) *chaintest.Harness {
		c := newChain(t, hp, "")
		srv := httptest.NewServer(Handler(c))
		t.Cleanup(srv.Close)
		cl := NewClient(ClientOptions{URL: srv.URL})
		return &chaintest.Harness{
			Client: cl, Staker: cl, Netuid: 1,
			Fund:               cl.Faucet,
			Advance:            c.AdvanceBlocks,
			SetHyperparameters: c.SetHyperparameters,
			InOneBlock:         c.InOneBlock,
			ExtrinsicErrors: func(ctx context.Context, block uint64) ([]error, error) {
				evs, err := cl.Events(ctx, block)
				return ExtrinsicErrors(evs), err
			},
		}
	})
}
