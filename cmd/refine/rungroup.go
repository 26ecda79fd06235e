package main

import (
	"context"

	"golang.org/x/sync/errgroup"
)

// runGroup runs a command's work and the helpers that live as long as it
// (a metrics listener, a status line), and returns only when every one of
// them has returned: when the work returns, or any of them fails, the
// others' context is cancelled and they are waited for. It returns the
// first error.
func runGroup(ctx context.Context, work func(context.Context) error, helpers ...func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, ctx := errgroup.WithContext(ctx)
	for _, h := range helpers {
		if h != nil {
			g.Go(func() error { return h(ctx) })
		}
	}
	g.Go(func() error {
		defer cancel()
		return work(ctx)
	})
	return g.Wait()
}
