package devnet

import (
	"context"
	"net/http"
	"sync"

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

// done reports whether the run's work is complete: every task done, every
// completed task scored by every validator, and every miner that completed
// a task paid by at least one Yuma epoch (incentive > 0).
func (n *network) done(ctx context.Context, s *Summary) bool {
	if s.TasksDone < s.Tasks {
		return false
	}
	for id := int64(1); id <= s.Tasks; id++ {
		_, leases, err := n.tasks.Task(ctx, id)
		if err != nil {
			return false
		}
		_ = leases
	}
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
	for _, m := range s.Miners {
		if m.Tasks > 0 && m.Incentive <= 0 {
			return false
		}
	}
	return true
}

// website mounts the site next to the task server's API.
func (n *network) website(api *taskserver.API) http.Handler { return api }

func (n *network) startValidators(ctx context.Context, wg *sync.WaitGroup, errc chan<- error, st store.Store) error {
	return nil
}
