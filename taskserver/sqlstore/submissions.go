package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/datarefine/refine/acceptance"
	"github.com/datarefine/refine/taskserver"
)

// standing refuses a lease to a hotkey that is throttled after rejected
// submissions or has too many undecided ones (see taskserver.Throttle).
func (s *Store) standing(ctx context.Context, tx txn, req taskserver.LeaseRequest) error {
	if req.MaxUndecided > 0 {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM leases WHERE hotkey = $1 AND decision = 'pending'`, req.Hotkey).Scan(&n); err != nil {
			return err
		}
		if n >= req.MaxUndecided {
			return fmt.Errorf("%w: %d submissions await validators' decision", taskserver.ErrUndecidedLimit, n)
		}
	}
	if req.Throttle.After <= 0 {
		return nil
	}
	// The newest decisions, newest first: count the rejections before the
	// first acceptance (an unverified submission is neither).
	rows, err := tx.QueryContext(ctx, `SELECT decision, decided_at FROM leases WHERE hotkey = $1 AND decided_at IS NOT NULL
		ORDER BY decided_at DESC, id DESC LIMIT $2`, req.Hotkey, req.Throttle.After+32)
	if err != nil {
		return err
	}
	defer rows.Close()
	n := 0
	var last int64
	for rows.Next() {
		var d string
		var at int64
		if err := rows.Scan(&d, &at); err != nil {
			return err
		}
		if taskserver.Decision(d) == taskserver.DecisionAccepted {
			break
		}
		if taskserver.Decision(d) == taskserver.DecisionRejected {
			if n == 0 {
				last = at
			}
			n++
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if wait := req.Throttle.Wait(n); wait > 0 {
		until := fromMS(last).Add(wait)
		if req.At.Time.Before(until) {
			return &taskserver.ThrottledError{Rejections: n, Until: until}
		}
	}
	return nil
}

// Submissions implements taskserver.Store.
func (s *Store) Submissions(ctx context.Context, after int64, limit int) ([]taskserver.Completion, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT e.id, `+prefixed("l.", leaseCols)+` FROM events e JOIN leases l ON l.id = e.lease_id
		WHERE e.kind = 'completed' AND e.id > $1 ORDER BY e.id LIMIT $2`, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []taskserver.Completion
	for rows.Next() {
		var c taskserver.Completion
		var seq int64
		l, err := scanLease(prependScanner{rows, &seq})
		if err != nil {
			return nil, err
		}
		c.Seq, c.Lease = seq, l
		out = append(out, c)
	}
	return out, rows.Err()
}

// prependScanner scans a first column into first, the rest as r would.
type prependScanner struct {
	r     scanner
	first *int64
}

func (p prependScanner) Scan(dest ...any) error {
	return p.r.Scan(append([]any{p.first}, dest...)...)
}

func prefixed(prefix, cols string) string {
	out := ""
	start := 0
	for i := 0; i <= len(cols); i++ {
		if i == len(cols) || cols[i] == ',' {
			col := cols[start:i]
			for len(col) > 0 && col[0] == ' ' {
				col = col[1:]
			}
			if out != "" {
				out += ", "
			}
			out += prefix + col
			start = i + 1
		}
	}
	return out
}

const reportCols = `id, validator, lease_id, task_id, hotkey, commitment, accepted, score, detail, weights_round, released, at, block`

func scanReport(r scanner) (taskserver.Report, error) {
	var rp taskserver.Report
	var accepted, released int
	var detail sql.NullString
	var at, block int64
	err := r.Scan(&rp.ID, &rp.Validator, &rp.LeaseID, &rp.TaskID, &rp.Hotkey, &rp.Commitment, &accepted, &rp.Score, &detail,
		&rp.WeightsRound, &released, &at, &block)
	rp.Accepted, rp.Released, rp.Detail = accepted != 0, released != 0, detail.String
	rp.At, rp.Block = fromMS(at), uint64(block)
	return rp, err
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Report implements taskserver.Store.
func (s *Store) Report(ctx context.Context, r taskserver.Report, decide taskserver.Decider, at taskserver.Stamp) (taskserver.Report, taskserver.Lease, error) {
	var out taskserver.Report
	var lease taskserver.Lease
	err := s.tx(ctx, func(tx txn) error {
		q := `SELECT ` + leaseCols + ` FROM leases WHERE id = $1`
		if s.d == postgres {
			// Reports on one submission decide it one at a time, also
			// across replicas.
			q += ` FOR UPDATE`
		}
		l, err := scanLease(tx.QueryRowContext(ctx, q, r.LeaseID))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("lease %d: %w", r.LeaseID, taskserver.ErrNotSubmission)
		}
		if err != nil {
			return err
		}
		if l.State != taskserver.LeaseCompleted || l.TaskID != r.TaskID || l.Hotkey != r.Hotkey || l.Commitment != r.Commitment {
			return fmt.Errorf("lease %d is not a submission of task %d by %s with commitment %q: %w", r.LeaseID, r.TaskID, r.Hotkey, r.Commitment, taskserver.ErrNotSubmission)
		}
		// One report per validator and submission: a retried report gets
		// the first one back and decides nothing anew.
		prev, err := scanReport(tx.QueryRowContext(ctx, `SELECT `+reportCols+` FROM reports WHERE validator = $1 AND lease_id = $2`, r.Validator, r.LeaseID))
		if err == nil {
			out, lease = prev, l
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		r.At, r.Block, r.Released = at.Time, at.Block, false
		if err := tx.QueryRowContext(ctx, `INSERT INTO reports(validator, lease_id, task_id, hotkey, commitment, accepted, score, detail, weights_round, released, at, block)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $11) RETURNING id`,
			r.Validator, r.LeaseID, r.TaskID, r.Hotkey, r.Commitment, boolInt(r.Accepted), r.Score, nullStr(r.Detail), r.WeightsRound,
			ms(at.Time), int64(at.Block)).Scan(&r.ID); err != nil {
			return err
		}
		// The event says who reported, not what: scores stay private
		// until released.
		if err := event(ctx, tx, at, "scored", r.TaskID, r.LeaseID, r.Hotkey, r.Validator); err != nil {
			return err
		}
		out = r
		if lease, err = s.decide(ctx, tx, l, decide, at); err != nil {
			return err
		}
		return nil
	})
	return out, lease, err
}

// decide re-decides lease l from all its reports and moves its task.
func (s *Store) decide(ctx context.Context, tx txn, l taskserver.Lease, decide taskserver.Decider, at taskserver.Stamp) (taskserver.Lease, error) {
	rows, err := tx.QueryContext(ctx, `SELECT validator, accepted FROM reports WHERE lease_id = $1 ORDER BY id`, l.ID)
	if err != nil {
		return l, err
	}
	var votes []acceptance.Vote
	for rows.Next() {
		var v acceptance.Vote
		var acc int
		if err := rows.Scan(&v.Validator, &acc); err != nil {
			rows.Close()
			return l, err
		}
		v.Accepted = acc != 0
		votes = append(votes, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return l, err
	}
	outcome, err := decide(votes)
	if err != nil {
		return l, fmt.Errorf("decide lease %d: %w", l.ID, err)
	}
	d := l.Decision
	switch outcome {
	case acceptance.Accepted:
		d = taskserver.DecisionAccepted
	case acceptance.Rejected:
		d = taskserver.DecisionRejected
	case acceptance.Pending:
		if d != taskserver.DecisionUnverified {
			d = taskserver.DecisionPending
		}
	default:
		return l, fmt.Errorf("decide lease %d: unknown outcome %q", l.ID, outcome)
	}
	if d != l.Decision {
		if _, err := tx.ExecContext(ctx, `UPDATE leases SET decision = $1, decided_at = $2, decided_block = $3 WHERE id = $4`,
			string(d), ms(at.Time), int64(at.Block), l.ID); err != nil {
			return l, err
		}
		if d == taskserver.DecisionAccepted || d == taskserver.DecisionRejected {
			if err := event(ctx, tx, at, string(d), l.TaskID, l.ID, l.Hotkey, ""); err != nil {
				return l, err
			}
		}
	}
	// The task follows its latest lease's submission only.
	var latest int64
	if err := tx.QueryRowContext(ctx, `SELECT max(id) FROM leases WHERE task_id = $1`, l.TaskID).Scan(&latest); err != nil {
		return l, err
	}
	if latest == l.ID {
		state := taskserver.TaskSubmitted
		switch d {
		case taskserver.DecisionAccepted:
			state = taskserver.TaskDone
		case taskserver.DecisionRejected, taskserver.DecisionUnverified:
			state = taskserver.TaskPending
		}
		res, err := tx.ExecContext(ctx, `UPDATE tasks SET state = $1 WHERE id = $2 AND state <> $1`, string(state), l.TaskID)
		if err != nil {
			return l, err
		}
		if n, _ := res.RowsAffected(); n > 0 && state == taskserver.TaskPending {
			if err := event(ctx, tx, at, "reopened", l.TaskID, l.ID, l.Hotkey, "submission "+string(d)); err != nil {
				return l, err
			}
		}
	}
	return getLease(ctx, tx, l.ID)
}

// ReleaseReports implements taskserver.Store.
func (s *Store) ReleaseReports(ctx context.Context, validator string, through int64, at taskserver.Stamp) (int, error) {
	n := 0
	err := s.tx(ctx, func(tx txn) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+reportCols+` FROM reports
			WHERE validator = $1 AND released = 0 AND weights_round <= $2 ORDER BY id`, validator, through)
		if err != nil {
			return err
		}
		var rs []taskserver.Report
		for rows.Next() {
			r, err := scanReport(rows)
			if err != nil {
				rows.Close()
				return err
			}
			rs = append(rs, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range rs {
			if _, err := insertScore(ctx, tx, publish(taskserver.Score{Validator: r.Validator, Hotkey: r.Hotkey, TaskID: r.TaskID,
				LeaseID: r.LeaseID, Accepted: r.Accepted, Score: r.Score, Detail: r.Detail, At: r.At, Block: r.Block})); err != nil {
				return err
			}
			// The detail now lives in the published score.
			if _, err := tx.ExecContext(ctx, `UPDATE reports SET released = 1, detail = NULL WHERE id = $1`, r.ID); err != nil {
				return err
			}
		}
		n = len(rs)
		return nil
	})
	return n, err
}

// Reopen implements taskserver.Store.
func (s *Store) Reopen(ctx context.Context, cutoff time.Time, at taskserver.Stamp) (int, error) {
	n := 0
	err := s.tx(ctx, func(tx txn) error {
		rows, err := tx.QueryContext(ctx, `SELECT l.id, l.task_id, l.hotkey FROM tasks t JOIN leases l ON l.task_id = t.id
			WHERE t.state = 'submitted' AND l.decision = 'pending' AND l.ended_at < $1
			AND l.id = (SELECT max(id) FROM leases WHERE task_id = t.id)`, ms(cutoff))
		if err != nil {
			return err
		}
		type sub struct {
			lease, task int64
			hotkey      string
		}
		var subs []sub
		for rows.Next() {
			var x sub
			if err := rows.Scan(&x.lease, &x.task, &x.hotkey); err != nil {
				rows.Close()
				return err
			}
			subs = append(subs, x)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, x := range subs {
			if _, err := tx.ExecContext(ctx, `UPDATE leases SET decision = 'unverified', decided_at = $1, decided_block = $2 WHERE id = $3`,
				ms(at.Time), int64(at.Block), x.lease); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE tasks SET state = 'pending' WHERE id = $1 AND state = 'submitted'`, x.task); err != nil {
				return err
			}
			if err := event(ctx, tx, at, "reopened", x.task, x.lease, x.hotkey, "no decision in time"); err != nil {
				return err
			}
		}
		n = len(subs)
		return nil
	})
	return n, err
}

// Accepted implements taskserver.Store.
func (s *Store) Accepted(ctx context.Context, after int64, limit int) ([]taskserver.AcceptedSubmission, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, task_id, hotkey, commitment, commit_block, decided_at, decided_block FROM leases
		WHERE decision = 'accepted' AND id > $1 ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []taskserver.AcceptedSubmission
	for rows.Next() {
		var a taskserver.AcceptedSubmission
		var cblock, decided, dblock sql.NullInt64
		if err := rows.Scan(&a.LeaseID, &a.TaskID, &a.Hotkey, &a.Commitment, &cblock, &decided, &dblock); err != nil {
			return nil, err
		}
		a.CommitBlock, a.DecidedAt, a.DecidedBlock = uint64(cblock.Int64), fromMS(decided.Int64), uint64(dblock.Int64)
		out = append(out, a)
	}
	return out, rows.Err()
}
