// Package dial connects to the chain a --chain flag names: the devchain
// over HTTP (its http:// or https:// URL, from `refine chain`), or subtensor
// (finney, test, local, or a ws:// or wss:// endpoint). Every command that
// talks to a chain selects the backend here, so the flag means one thing
// everywhere.
package dial

import (
	"context"
	"fmt"
	"strings"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/chain/devchain"
	"github.com/datarefine/refine/chain/subtensor"
)

// Usage describes the accepted values, for flag help and errors.
const Usage = "a devchain URL (http://…, from 'refine chain'), or subtensor: finney, test, local, ws://…, wss://…"

// IsDevchain reports whether spec names a devchain (an http(s) URL).
func IsDevchain(spec string) bool {
	return strings.HasPrefix(spec, "http://") || strings.HasPrefix(spec, "https://")
}

// Chain connects to the chain spec names. The returned function closes the
// connection (a subtensor websocket; nothing for the devchain's HTTP).
func Chain(ctx context.Context, spec string) (chain.Client, func() error, error) {
	if spec == "" {
		return nil, nil, fmt.Errorf("no chain: want %s", Usage)
	}
	if IsDevchain(spec) {
		return devchain.NewClient(devchain.ClientOptions{URL: spec}), func() error { return nil }, nil
	}
	c, err := subtensor.New(ctx, subtensor.Options{Network: spec})
	if err != nil {
		return nil, nil, err
	}
	return c, c.Close, nil
}

// Ledger returns the emission ledger of the chain spec names: the devchain
// keeps one, subtensor does not (nil).
func Ledger(spec string) chain.Ledger {
	if IsDevchain(spec) {
		return devchain.NewClient(devchain.ClientOptions{URL: spec})
	}
	return nil
}
