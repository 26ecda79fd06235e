package main

import (
	"context"
	"fmt"

	"github.com/datarefine/refine/chain"
)

// subtensorClient connects to a subtensor network.
func subtensorClient(ctx context.Context, network string) (chain.Client, error) {
	return nil, fmt.Errorf("--network %s: the subtensor client is not wired yet", network)
}
