package chain

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Head is the part of a Client that waiting by chain time reads.
type Head interface {
	Block(ctx context.Context) (Block, error)
	BlockHash(ctx context.Context, number uint64) (string, error)
	EpochState(ctx context.Context, netuid uint16) (EpochState, error)
}

// WaitForBlock returns the head once it is at least target, asking every
// poll and retrying failed requests (a chain that is not up yet) until ctx
// ends, so that scripts can sequence calls by chain time instead of by
// sleeping.
func WaitForBlock(ctx context.Context, c Head, target uint64, poll time.Duration) (Block, error) {
	t := time.NewTicker(poll)
	defer t.Stop()
	var last error
	for {
		b, err := c.Block(ctx)
		if err == nil && b.Number >= target {
			return b, nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return Block{}, fmt.Errorf("wait for block %d: %w (last error: %v)", target, ctx.Err(), last)
			}
			return Block{}, fmt.Errorf("wait for block %d: %w", target, ctx.Err())
		case <-t.C:
		}
	}
}

// WaitForEpochs waits until subnet netuid has run n more epochs than when
// called, and returns the block at which the last one ran. It counts the
// epochs the chain runs (its epoch index) rather than predicting their
// blocks: owner triggers and deferrals move them.
func WaitForEpochs(ctx context.Context, c Head, netuid uint16, n uint64, poll time.Duration) (Block, error) {
	start, err := c.EpochState(ctx, netuid)
	if err != nil {
		return Block{}, fmt.Errorf("subnet %d epoch state: %w", netuid, err)
	}
	if start.Tempo == 0 {
		return Block{}, fmt.Errorf("subnet %d has tempo 0: it runs no epochs", netuid)
	}
	return WaitForEpoch(ctx, c, netuid, start.Index+n, poll)
}

// WaitForEpoch returns the block at which subnet netuid's epoch index has
// reached index, retrying failed requests until ctx ends.
func WaitForEpoch(ctx context.Context, c Head, netuid uint16, index uint64, poll time.Duration) (Block, error) {
	t := time.NewTicker(poll)
	defer t.Stop()
	var last error
	for {
		e, err := c.EpochState(ctx, netuid)
		if err == nil && e.Index >= index {
			h, err := c.BlockHash(ctx, e.Block)
			if err == nil {
				return Block{Number: e.Block, Hash: h}, nil
			}
			last = err
		} else if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return Block{}, fmt.Errorf("wait for epoch %d of subnet %d: %w (last error: %v)", index, netuid, ctx.Err(), last)
			}
			return Block{}, fmt.Errorf("wait for epoch %d of subnet %d: %w", index, netuid, ctx.Err())
		case <-t.C:
		}
	}
}

// RevealWhenOpen runs reveal, and with wait again every poll while the
// chain refuses it as outside its reveal epoch. Subtensor refuses a reveal
// that is too early and one of an expired commit alike (custom error 17),
// so the wait is bounded by the chain's epoch index: the commit was made by
// the epoch of the first refusal, e0, so its reveal epoch is at most e0 +
// the reveal period; once the index passes that, it has expired. A script
// cannot time the reveal from outside as reliably: "wait for the next
// epoch" started just after a boundary waits one epoch too many.
func RevealWhenOpen(ctx context.Context, wait bool, poll time.Duration, reveal func() error, epoch func() (EpochState, error)) error {
	var first *EpochState
	for {
		err := reveal()
		if !wait || !errors.Is(err, ErrRevealTooEarly) {
			return err
		}
		e, eerr := epoch()
		if eerr != nil {
			return fmt.Errorf("%w (epoch state: %v)", err, eerr)
		}
		if first == nil {
			first = &e
		} else if e.CommitExpired(first.TxEpoch) {
			return fmt.Errorf("%w: the commit expired (epoch %d is past epoch %d + the reveal period %d)",
				err, e.TxEpoch, first.TxEpoch, e.RevealPeriod)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (stopped waiting: %v)", err, ctx.Err())
		case <-time.After(poll):
		}
	}
}
