package sqlstore

import (
	"context"
	"fmt"
)

// invariants are queries that return one row per violation of the lease
// rules; Check runs them all. They hold after any crash, because every
// transition is one transaction.
var invariants = []struct{ name, query string }{
	{"a task has more than one live lease",
		`SELECT task_id, count(*) FROM leases WHERE state = 'live' GROUP BY task_id HAVING count(*) > 1`},
	{"two leases of a task overlap in time",
		`SELECT a.id, b.id FROM leases a JOIN leases b ON a.task_id = b.task_id AND a.id < b.id
		 WHERE a.ended_at IS NULL OR a.ended_at > b.granted_at`},
	{"a done task's latest lease is not an accepted submission",
		`SELECT t.id, 0 FROM tasks t WHERE t.state = 'done' AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.task_id = t.id
		 AND l.id = (SELECT max(id) FROM leases WHERE task_id = t.id) AND l.state = 'completed' AND l.decision = 'accepted')`},
	{"a submitted task's latest lease is not an undecided submission",
		`SELECT t.id, 0 FROM tasks t WHERE t.state = 'submitted' AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.task_id = t.id
		 AND l.id = (SELECT max(id) FROM leases WHERE task_id = t.id) AND l.state = 'completed' AND l.decision = 'pending')`},
	{"a pending task's latest submission was not turned down",
		`SELECT l.id, l.task_id FROM tasks t JOIN leases l ON l.task_id = t.id WHERE t.state = 'pending'
		 AND l.id = (SELECT max(id) FROM leases WHERE task_id = t.id) AND l.state = 'completed' AND l.decision NOT IN ('rejected', 'unverified')`},
	{"a completed lease has no decision",
		`SELECT id, task_id FROM leases WHERE state = 'completed' AND (decision IS NULL OR decision = '')`},
	{"a lease that is not completed has a decision",
		`SELECT id, task_id FROM leases WHERE state <> 'completed' AND decision IS NOT NULL`},
	{"a leased task has no live lease",
		`SELECT t.id, 0 FROM tasks t WHERE t.state = 'leased' AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.task_id = t.id AND l.state = 'live')`},
	{"a live lease's task is not leased",
		`SELECT l.id, l.task_id FROM leases l JOIN tasks t ON t.id = l.task_id WHERE l.state = 'live' AND t.state <> 'leased'`},
	{"a completed lease has no commitment",
		`SELECT id, task_id FROM leases WHERE state = 'completed' AND (commitment IS NULL OR commitment = '')`},
	{"a lease was not recorded as an event",
		`SELECT l.id, l.task_id FROM leases l WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.lease_id = l.id AND e.kind = 'leased')`},
	{"an ended lease has no end event",
		`SELECT l.id, l.task_id FROM leases l WHERE l.state <> 'live' AND NOT EXISTS (SELECT 1 FROM events e WHERE e.lease_id = l.id AND e.kind = l.state)`},
}

// Check verifies the lease rules over the whole database and returns the
// violations found (none on a healthy database).
func (s *Store) Check(ctx context.Context) ([]string, error) {
	var out []string
	for _, inv := range invariants {
		rows, err := s.r.QueryContext(ctx, inv.query)
		if err != nil {
			return out, fmt.Errorf("check %q: %w", inv.name, err)
		}
		for rows.Next() {
			var a, b int64
			if err := rows.Scan(&a, &b); err != nil {
				rows.Close()
				return out, fmt.Errorf("check %q: %w", inv.name, err)
			}
			out = append(out, fmt.Sprintf("%s (%d, %d)", inv.name, a, b))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return out, fmt.Errorf("check %q: %w", inv.name, err)
		}
	}
	return out, nil
}
