package devnet

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/datarefine/refine/process"
	"github.com/datarefine/refine/taskserver/client"
	"github.com/datarefine/refine/validator"
	"github.com/datarefine/refine/validator/verify"
	"github.com/datarefine/refine/web"

	"github.com/datarefine/refine/store"
	"github.com/datarefine/refine/taskserver"
)

// refined totals the miners' completed submissions.
func (n *network) refined(ctx context.Context) (docs, tokens int64) {
	for _, m := range n.minerRuns {
		d, t := m.Totals()
		docs += d
		tokens += t
	}
	return docs, tokens
}

// done reports whether the run's work is complete: every task done and
// scored by every validator, every validator's weights set after that, and
// one Yuma epoch past that point, so the weights have paid out.
func (n *network) done(ctx context.Context, s *Summary) bool {
	if s.TasksDone < s.Tasks {
		n.scoredAt = 0
		return false
	}
	if n.scoredAt == 0 {
		scores, err := n.tasks.Scores(ctx, "", 100000)
		if err != nil {
			return false
		}
		scored := map[int64]map[string]bool{}
		for _, sc := range scores {
			if scored[sc.TaskID] == nil {
				scored[sc.TaskID] = map[string]bool{}
			}
			scored[sc.TaskID][sc.Validator] = true
		}
		for id := int64(1); id <= s.Tasks; id++ {
			if len(scored[id]) < len(n.validators) {
				return false
			}
		}
		n.scoredAt = s.Blocks
	}
	if n.weightsAt == 0 {
		mg, err := n.chain.Metagraph(ctx, Netuid)
		if err != nil {
			return false
		}
		for _, v := range n.validators {
			nn, ok := neuronOf(mg, v.key.SS58())
			if !ok || nn.LastUpdate <= n.scoredAt || len(nn.Weights) == 0 {
				return false
			}
			n.weightsAt = max(n.weightsAt, nn.LastUpdate)
		}
	}
	// The payout is seen on chain: every miner the validators scored above
	// zero has incentive. (With commit-reveal, weights count from their
	// reveal an epoch after the commit.) If no miner earned anything, two
	// epochs after the weights is as long as a payout can take.
	paid, earners := true, 0
	for _, m := range s.Miners {
		if m.Score > 0 {
			earners++
			paid = paid && m.Incentive > 0
		}
	}
	// And every validator's weights have paid it: scores are published
	// only once the weights they fed are revealed, so the last reports
	// come with weights that the next epoch pays out.
	for _, v := range s.Validators {
		paid = paid && v.Dividends > 0
	}
	if earners == 0 {
		return s.Blocks > n.weightsAt+2*uint64(n.opts.Tempo)+1
	}
	return paid
}

// website serves the site, with the task server's API for every request
// the site does not route (its API lives under /v1/site). The site reads
// the API through its handler, as a remote site reads it over HTTP.
func (n *network) website(ctx context.Context, api *taskserver.API) (http.Handler, error) {
	site, err := web.New(ctx, web.Options{
		API: client.New(client.Options{Handler: api}), DB: filepath.Join(n.opts.Dir, "web.db"),
		OwnerHotkey: n.owner.SS58(), Fallback: api, RefreshEvery: 2 * time.Second, HistoryEvery: uint64(n.opts.Tempo),
		// The miners publish to a local store: no Hub page to link.
		RevisionURL: func(repo, revision string) string { return "" },
		Logger:      n.opts.Log.With("role", "web"),
	})
	if err != nil {
		return nil, fmt.Errorf("website: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); site.Run(ctx) }()
	n.stopSite = func() {
		cancel()
		<-done
		site.Close()
	}
	return site, nil
}

// startValidators runs the validators, each with its own state database,
// talking to the task server over signed HTTP like an external validator.
func (n *network) startValidators(ctx context.Context, wg *sync.WaitGroup, errc chan<- error, st store.Store) error {
	for _, v := range n.validators {
		val, err := validator.New(validator.Options{
			Chain: n.chain, Netuid: Netuid, Hotkey: v.key, Store: st,
			Tasks:     client.New(client.Options{URL: n.url, Signer: v.key}),
			DB:        filepath.Join(n.opts.Dir, v.name+".db"),
			WorkDir:   filepath.Join(n.opts.Dir, "work", v.name),
			Reference: verify.ReferenceOptions{Steps: process.StepOptions{AssetsDir: n.opts.AssetsDir}, Resolve: verify.MirrorResolver("", n.opts.BaseURL)},
			// A devnet's blocks are fast: evaluate often, set weights
			// every few blocks, and allow for the task server's cached
			// chain head lagging by a few blocks.
			EvalEvery: 2, WeightsEvery: uint64(max(4, n.opts.Tempo/2)), GraceBlocks: 40,
			PollInterval: n.opts.BlockTime,
			Log:          n.opts.Log.With("role", v.name),
		})
		if err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
		n.validatorRuns = append(n.validatorRuns, val)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer val.Close()
			if err := val.Run(ctx); err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("%s: %w", v.name, err)
			}
		}()
	}
	return nil
}
