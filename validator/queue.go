package validator

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/taskapi"
	"github.com/datarefine/refine/validator/verify"
)

// The validator's work queue, kept in its state so that a restart loses
// nothing: the chain's commitments (scanned block by block, since a
// non-archive node forgets old blocks and the chain keeps only a hotkey's
// latest commitment), the task server's submissions (read in completion
// order), evaluations to retry after a failure on the validator's side
// (with a backoff in blocks, never a cap: only the miner's fault may zero
// the miner), and score reports not yet delivered.

// insertAll runs one statement per item in one transaction.
func insertAll[T any](ctx context.Context, s *state, items []T, q string, args func(T) []any) error {
	if len(items) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, it := range items {
		if _, err := tx.ExecContext(ctx, q, args(it)...); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// addCommits records commitments seen on chain (known ones are ignored).
func (s *state) addCommits(ctx context.Context, cs []chain.Commitment) error {
	return insertAll(ctx, s, cs, `INSERT OR IGNORE INTO chain_commits (hotkey, block, data) VALUES (?, ?, ?)`,
		func(c chain.Commitment) []any { return []any{c.Hotkey, int64(c.Block), string(c.Data)} })
}

// firstCommit is the commitment of data by hotkey that answers a lease
// granted in block from: the earliest at or after it, else the latest
// before it (which the lease check rejects as made before the lease).
func (s *state) firstCommit(ctx context.Context, hotkey, data string, from uint64) (uint64, bool, error) {
	var b int64
	err := s.db.QueryRowContext(ctx, `SELECT block FROM chain_commits WHERE hotkey = ? AND data = ?
		ORDER BY block >= ? DESC, CASE WHEN block >= ? THEN block ELSE -block END LIMIT 1`,
		hotkey, data, int64(from), int64(from)).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return uint64(b), err == nil, err
}

// unevaluatedCommits are the chain commitments with no verdict yet, in
// (block, hotkey) order.
func (s *state) unevaluatedCommits(ctx context.Context) ([]chain.Commitment, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT c.hotkey, c.block, c.data FROM chain_commits c
		WHERE NOT EXISTS (SELECT 1 FROM submissions s WHERE s.hotkey = c.hotkey AND s.block = c.block AND s.data = c.data)
		ORDER BY c.block, c.hotkey`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []chain.Commitment
	for rows.Next() {
		var c chain.Commitment
		var b int64
		var d string
		if err := rows.Scan(&c.Hotkey, &b, &d); err != nil {
			return nil, err
		}
		c.Block, c.Data = uint64(b), []byte(d)
		out = append(out, c)
	}
	return out, rows.Err()
}

// completion is a task server submission the validator has read.
type completion struct {
	LeaseID, TaskID          int64
	Hotkey, Data             string
	GrantedBlock, EndedBlock uint64
}

// addCompletions records submissions read from the task server (known
// ones are ignored).
func (s *state) addCompletions(ctx context.Context, cs []taskapi.Completion) error {
	return insertAll(ctx, s, cs, `INSERT OR IGNORE INTO completions (lease_id, seq, task_id, hotkey, data, granted_block, ended_block)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, func(c taskapi.Completion) []any {
		l := c.Lease
		return []any{l.ID, c.Seq, l.TaskID, l.Hotkey, l.Commitment, int64(l.GrantedBlock), int64(l.EndedBlock)}
	})
}

// openCompletions are the submissions without a verdict, oldest first.
func (s *state) openCompletions(ctx context.Context) ([]completion, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT lease_id, task_id, hotkey, data, granted_block, ended_block FROM completions
		WHERE settled = 0 ORDER BY lease_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []completion
	for rows.Next() {
		var c completion
		var g, e int64
		if err := rows.Scan(&c.LeaseID, &c.TaskID, &c.Hotkey, &c.Data, &g, &e); err != nil {
			return nil, err
		}
		c.GrantedBlock, c.EndedBlock = uint64(g), uint64(e)
		out = append(out, c)
	}
	return out, rows.Err()
}

// settle closes a submission without a verdict of this validator (it
// cannot judge it: its chain scan began after the lease).
func (s *state) settle(ctx context.Context, leaseID int64) error {
	_, err := s.db.ExecContext(ctx, `UPDATE completions SET settled = 1 WHERE lease_id = ?`, leaseID)
	return err
}

// completionOf is the open or settled submission that a chain commitment
// of data by hotkey in block answers: the latest lease granted at or
// before the block.
func (s *state) completionOf(ctx context.Context, hotkey, data string, block uint64) (int64, bool, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, `SELECT lease_id FROM completions WHERE hotkey = ? AND data = ? AND granted_block <= ?
		ORDER BY lease_id DESC LIMIT 1`, hotkey, data, int64(block)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return id, err == nil, err
}

// link makes an evaluated chain commitment the answer to a submission read
// later: the completion is settled and the verdict reported.
func (s *state) link(ctx context.Context, hotkey string, block uint64, data string, leaseID int64) (bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE submissions SET lease_id = ? WHERE hotkey = ? AND block = ? AND data = ? AND lease_id = 0`,
		leaseID, hotkey, int64(block), data)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	var found int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM submissions WHERE hotkey = ? AND block = ? AND data = ?`, hotkey, int64(block), data).Scan(&found); err != nil {
		return false, err
	}
	if found == 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE completions SET settled = 1 WHERE lease_id = ?`, leaseID); err != nil {
		return false, err
	}
	if n > 0 {
		if err := queueReports(ctx, tx); err != nil {
			return false, err
		}
	}
	return true, tx.Commit()
}

// retry records a failed evaluation on the validator's side and when to
// try it again: 1, 2, 4 … up to 64 rounds of evalEvery blocks later.
func (s *state) retry(ctx context.Context, c chain.Commitment, head, evalEvery uint64, cause string) (int, error) {
	var attempts int
	err := s.db.QueryRowContext(ctx, `SELECT attempts FROM retries WHERE hotkey = ? AND block = ? AND data = ?`,
		c.Hotkey, int64(c.Block), string(c.Data)).Scan(&attempts)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	attempts++
	wait := evalEvery << min(attempts-1, 6)
	_, err = s.db.ExecContext(ctx, `INSERT INTO retries (hotkey, block, data, attempts, next_block, last_error) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (hotkey, block, data) DO UPDATE SET attempts = excluded.attempts, next_block = excluded.next_block, last_error = excluded.last_error`,
		c.Hotkey, int64(c.Block), string(c.Data), attempts, int64(head+wait), cause)
	return attempts, err
}

// due reports whether a commitment may be evaluated at head (no retry
// scheduled later).
func (s *state) due(ctx context.Context, c chain.Commitment, head uint64) (bool, error) {
	var next int64
	err := s.db.QueryRowContext(ctx, `SELECT next_block FROM retries WHERE hotkey = ? AND block = ? AND data = ?`,
		c.Hotkey, int64(c.Block), string(c.Data)).Scan(&next)
	if errors.Is(err, sql.ErrNoRows) {
		return true, nil
	}
	return err == nil && uint64(next) <= head, err
}

// Retry is an evaluation waiting to be retried.
type Retry struct {
	Hotkey    string `json:"hotkey"`
	Block     uint64 `json:"block"`
	Data      string `json:"commitment"`
	Attempts  int    `json:"attempts"`
	NextBlock uint64 `json:"next_block"`
	LastError string `json:"last_error"`
}

func (s *state) retries(ctx context.Context) ([]Retry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT hotkey, block, data, attempts, next_block, last_error FROM retries ORDER BY block, hotkey`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Retry
	for rows.Next() {
		var r Retry
		var b, n int64
		if err := rows.Scan(&r.Hotkey, &b, &r.Data, &r.Attempts, &n, &r.LastError); err != nil {
			return nil, err
		}
		r.Block, r.NextBlock = uint64(b), uint64(n)
		out = append(out, r)
	}
	return out, rows.Err()
}

// maxDetailBytes keeps a report's detail within the task server's limit
// (8 KiB by default).
const maxDetailBytes = 6 << 10

// queueReports queues the reports of applied submissions that answer a
// task server submission and were not queued yet.
func queueReports(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, hotkey, block, data, task_id, lease_id, accepted, score, verdict, round FROM submissions
		WHERE applied = 1 AND lease_id > 0 AND reported = 0 ORDER BY id`)
	if err != nil {
		return err
	}
	type queued struct {
		id   int64
		body []byte
	}
	var qs []queued
	for rows.Next() {
		var id, blk, taskID, leaseID, round int64
		var hk, data, vj string
		var accepted bool
		var sc float64
		if err := rows.Scan(&id, &hk, &blk, &data, &taskID, &leaseID, &accepted, &sc, &vj, &round); err != nil {
			rows.Close()
			return err
		}
		var vd verify.Verdict
		if err := json.Unmarshal([]byte(vj), &vd); err != nil {
			rows.Close()
			return fmt.Errorf("stored verdict %d: %w", id, err)
		}
		detail, err := reportDetail(Report{Commitment: data, Block: uint64(blk), Verdict: vd})
		if err != nil {
			rows.Close()
			return err
		}
		body, err := json.Marshal(taskapi.ScoreBody{LeaseID: leaseID, Hotkey: hk, TaskID: taskID, Commitment: data,
			Accepted: accepted, Score: sc, Detail: detail, WeightsRound: round})
		if err != nil {
			rows.Close()
			return err
		}
		qs = append(qs, queued{id, body})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, q := range qs {
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO outbox (submission, body) VALUES (?, ?)`, q.id, string(q.body)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE submissions SET reported = 1 WHERE id = ?`, q.id); err != nil {
			return err
		}
	}
	return nil
}

// reportDetail is the verdict as the report's detail, shortened to fit:
// first the lists of examples go, then the reason is cut.
func reportDetail(r Report) (json.RawMessage, error) {
	b, err := json.Marshal(r)
	if err != nil || len(b) <= maxDetailBytes {
		return b, err
	}
	r.Provenance.Mismatches, r.Coverage.Notes = nil, nil
	if b, err = json.Marshal(r); err != nil || len(b) <= maxDetailBytes {
		return b, err
	}
	if len(r.Reason) > 1024 {
		r.Reason = strings.ToValidUTF8(r.Reason[:1024], "") + "…"
	}
	return json.Marshal(r)
}

// outboxed is a report waiting to be delivered.
type outboxed struct {
	submission int64
	body       taskapi.ScoreBody
}

func (s *state) outbox(ctx context.Context) ([]outboxed, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT submission, body FROM outbox ORDER BY submission`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []outboxed
	for rows.Next() {
		var o outboxed
		var b string
		if err := rows.Scan(&o.submission, &b); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(b), &o.body); err != nil {
			return nil, fmt.Errorf("queued report %d: %w", o.submission, err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

func (s *state) delivered(ctx context.Context, submission int64) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM outbox WHERE submission = ?`, submission)
	return err
}

// feeds records which weight setting round a committed weights hash
// carries, so its reveal can release the scores that fed it.
func (s *state) addFeed(ctx context.Context, hash string, round uint64) error {
	_, err := s.db.ExecContext(ctx, `INSERT OR REPLACE INTO weight_feeds (hash, round) VALUES (?, ?)`, hash, int64(round))
	return err
}

func (s *state) feed(ctx context.Context, hash string) (uint64, bool, error) {
	var r int64
	err := s.db.QueryRowContext(ctx, `SELECT round FROM weight_feeds WHERE hash = ?`, hash).Scan(&r)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	_, err = s.db.ExecContext(ctx, `DELETE FROM weight_feeds WHERE hash = ?`, hash)
	return uint64(r), true, err
}
