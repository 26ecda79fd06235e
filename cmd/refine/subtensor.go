package main

import (
	"context"
	"fmt"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/chain/dial"
)

// dialChain connects to the chain a flag names (chain/dial); the returned
// function closes the connection.
func dialChain(ctx context.Context, flag, spec string) (chain.Client, func() error, error) {
	c, closeChain, err := dial.Chain(ctx, spec)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", flag, spec, err)
	}
	return c, closeChain, nil
}
