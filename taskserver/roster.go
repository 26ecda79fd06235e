package taskserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/datarefine/refine/chain"
)

// Chain is the part of chain.Client the task server uses; chain.Client
// (devchain or subtensor) satisfies it, tests may inject their own.
type Chain interface {
	Block(ctx context.Context) (chain.Block, error)
	Metagraph(ctx context.Context, netuid uint16) (*chain.Metagraph, error)
}

// Roster caches the subnet's metagraph and the chain head, so that
// authorising a request or stamping a lease never waits on the chain.
// Refresh reloads both; Run refreshes on a schedule.
type Roster struct {
	chain  Chain
	netuid uint16
	log    *slog.Logger

	mu        sync.RWMutex
	neurons   map[string]chain.Neuron
	head      uint64
	refreshed time.Time
	// mgBlock is the block the metagraph was read at.
	mgBlock uint64
}

// NewRoster returns an empty roster of netuid on c; call Refresh before use.
func NewRoster(c Chain, netuid uint16, log *slog.Logger) *Roster {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Roster{chain: c, netuid: netuid, log: log, neurons: map[string]chain.Neuron{}}
}

// Refresh reloads the metagraph and the head block.
func (r *Roster) Refresh(ctx context.Context) error {
	mg, err := r.chain.Metagraph(ctx, r.netuid)
	if err != nil {
		return fmt.Errorf("metagraph of subnet %d: %w", r.netuid, err)
	}
	b, err := r.chain.Block(ctx)
	if err != nil {
		return fmt.Errorf("chain head: %w", err)
	}
	neurons := make(map[string]chain.Neuron, len(mg.Neurons))
	for _, n := range mg.Neurons {
		neurons[n.Hotkey] = n
	}
	r.mu.Lock()
	r.neurons, r.refreshed, r.mgBlock = neurons, time.Now(), mg.Block
	if b.Number > r.head {
		r.head = b.Number
	}
	r.mu.Unlock()
	return nil
}

// RefreshBlock reloads only the head block (cheap; run more often).
func (r *Roster) RefreshBlock(ctx context.Context) error {
	b, err := r.chain.Block(ctx)
	if err != nil {
		return fmt.Errorf("chain head: %w", err)
	}
	r.mu.Lock()
	if b.Number > r.head {
		r.head = b.Number
	}
	r.mu.Unlock()
	return nil
}

// Run refreshes the metagraph every metagraphEvery and the head every
// blockEvery until ctx ends. Failures are logged and the cache kept: a
// chain outage must not lock registered miners out.
func (r *Roster) Run(ctx context.Context, metagraphEvery, blockEvery time.Duration) {
	mt := time.NewTicker(metagraphEvery)
	bt := time.NewTicker(blockEvery)
	defer mt.Stop()
	defer bt.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-mt.C:
			if err := r.Refresh(ctx); err != nil && ctx.Err() == nil {
				r.log.Warn("metagraph refresh failed; keeping the cached one", "err", err)
			}
		case <-bt.C:
			if err := r.RefreshBlock(ctx); err != nil && ctx.Err() == nil {
				r.log.Warn("chain head refresh failed", "err", err)
			}
		}
	}
}

// Head is the last seen chain block number.
func (r *Roster) Head() uint64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.head
}

// Size is the number of registered hotkeys.
func (r *Roster) Size() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.neurons)
}

// Netuid is the roster's subnet.
func (r *Roster) Netuid() uint16 { return r.netuid }

// Metagraph returns the cached neurons by uid, without weights and bonds,
// and the block they were read at.
func (r *Roster) Metagraph() (block uint64, neurons []chain.Neuron) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	neurons = make([]chain.Neuron, 0, len(r.neurons))
	for _, n := range r.neurons {
		n.Weights, n.Bonds = nil, nil
		neurons = append(neurons, n)
	}
	sort.Slice(neurons, func(i, j int) bool { return neurons[i].UID < neurons[j].UID })
	return r.mgBlock, neurons
}

// Neuron returns hotkey's neuron, if registered.
func (r *Roster) Neuron(hotkey string) (chain.Neuron, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	n, ok := r.neurons[hotkey]
	return n, ok
}

// Errors of authorisation.
var (
	ErrNotRegistered = errors.New("hotkey is not registered on the subnet")
	ErrNoPermit      = errors.New("hotkey has no validator permit")
)

// Role is what a route requires of its caller.
type Role int

const (
	RoleMiner     Role = iota // registered on the subnet
	RoleValidator             // registered with a validator permit
)

// Authorize checks that hotkey may act in role.
func (r *Roster) Authorize(hotkey string, role Role) error {
	n, ok := r.Neuron(hotkey)
	if !ok {
		return fmt.Errorf("%s: %w", hotkey, ErrNotRegistered)
	}
	if role == RoleValidator && !n.ValidatorPermit {
		return fmt.Errorf("%s (uid %d): %w", hotkey, n.UID, ErrNoPermit)
	}
	return nil
}
