package main

import (
	"context"
	"fmt"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/chain/subtensor"
)

// subtensorClient connects to a subtensor network (finney, test, local or
// a ws:// endpoint) for the life of the process.
func subtensorClient(ctx context.Context, network string) (chain.Client, error) {
	c, err := subtensor.New(ctx, subtensor.Options{Network: network})
	if err != nil {
		return nil, fmt.Errorf("--network %s: %w", network, err)
	}
	return c, nil
}
