package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/chain/devchain"
	"github.com/datarefine/refine/chain/subtensor"
)

// dialChain connects to the chain a --chain flag names: a devchain's
// http(s) URL, or subtensor (finney, test, local, ws://…, wss://…). The
// returned function closes the connection.
func dialChain(ctx context.Context, spec string) (chain.Client, func() error, error) {
	if strings.HasPrefix(spec, "http://") || strings.HasPrefix(spec, "https://") {
		return devchain.NewClient(devchain.ClientOptions{URL: spec}), func() error { return nil }, nil
	}
	c, err := subtensor.New(ctx, subtensor.Options{Network: spec})
	if err != nil {
		return nil, nil, fmt.Errorf("--chain %s: %w", spec, err)
	}
	return c, c.Close, nil
}

// dialLedger returns the emission ledger of the chain a --chain flag names:
// the devchain keeps one, subtensor does not (nil).
func dialLedger(spec string) chain.Ledger {
	if strings.HasPrefix(spec, "http://") || strings.HasPrefix(spec, "https://") {
		return devchain.NewClient(devchain.ClientOptions{URL: spec})
	}
	return nil
}

// subtensorClient connects to a subtensor network (--network).
func subtensorClient(ctx context.Context, network string) (chain.Client, error) {
	c, err := subtensor.New(ctx, subtensor.Options{Network: network})
	if err != nil {
		return nil, fmt.Errorf("--network %s: %w", network, err)
	}
	return c, nil
}
