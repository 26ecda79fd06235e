// Package sqlstore implements taskserver.Store on SQLite (modernc.org/sqlite,
// pure Go, WAL) and PostgreSQL (pgx), with one set of SQL statements: both
// accept $N placeholders, RETURNING and partial unique indexes. The few
// differences (identity columns, row locking) are in the dialect.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/datarefine/refine/sqldb"
	"github.com/datarefine/refine/taskserver"
)

type dialect int

const (
	sqlite dialect = iota
	postgres
)

// Store is a taskserver.Store over database/sql.
type Store struct {
	db *sqldb.DB
	d  dialect
	// w runs every transaction that writes. On SQLite it has one
	// connection, which serialises writers without SQLITE_BUSY; readers use
	// r, a pool, concurrently with the writer (WAL).
	w, r *sql.DB

	mu      sync.Mutex
	stmts   map[string]*sql.Stmt // by query, prepared on w
	pending map[string]bool      // queries to prepare
}

var _ taskserver.Store = (*Store)(nil)

// Open opens (creating if needed) the database named by dsn and applies
// migrations: "postgres://…" or "postgresql://…" for PostgreSQL; anything
// else is a SQLite file path (":memory:" is not supported: use a temp file).
func Open(ctx context.Context, dsn string) (*Store, error) {
	db, err := sqldb.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, w: db.W, r: db.R, stmts: map[string]*sql.Stmt{}, pending: map[string]bool{}}
	if db.Postgres {
		s.d = postgres
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database handles.
func (s *Store) Close() error {
	s.mu.Lock()
	for _, st := range s.stmts {
		st.Close()
	}
	s.stmts = map[string]*sql.Stmt{}
	s.mu.Unlock()
	return s.db.Close()
}

// migrationLock is the PostgreSQL advisory lock the task server's
// migrations take.
const migrationLock = 7305423

func (s *Store) migrate(ctx context.Context) error {
	var ms []sqldb.Migration
	for i, m := range migrations(s.d) {
		ms = append(ms, sqldb.Migration{SQL: m})
		if i+1 == 5 {
			ms[i].After = backfill5
		}
	}
	return s.db.Migrate(ctx, "schema_migrations", migrationLock, ms)
}

// tx runs fn in a write transaction. On PostgreSQL a transaction that loses
// a deadlock or serialization race (two replicas expiring the same leases
// in different orders) is retried a few times: fn has no effect outside
// the transaction, so running it again is safe.
func (s *Store) tx(ctx context.Context, fn func(txn) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = s.tx1(ctx, fn); !retryable(err) {
			return err
		}
	}
	return err
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

func (s *Store) tx1(ctx context.Context, fn func(txn) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	err = fn(txn{Tx: tx, s: s})
	if err != nil {
		tx.Rollback()
	} else {
		err = tx.Commit()
	}
	s.mu.Lock()
	queued := len(s.pending) > 0
	s.mu.Unlock()
	if queued {
		s.preparePending(ctx)
	}
	return err
}

// txn is a write transaction whose statements are prepared once and
// reused: parsing SQL was a fifth of the server's CPU on SQLite.
type txn struct {
	*sql.Tx
	s *Store
}

func (t txn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := t.s.stmt(q); st != nil {
		return t.Tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, q, args...)
}

func (t txn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := t.s.stmt(q); st != nil {
		return t.Tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, q, args...)
}

func (t txn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := t.s.stmt(q); st != nil {
		return t.Tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, q, args...)
}

// stmt returns q's prepared statement, or nil the first time, when q is
// queued to be prepared once the transaction is over: preparing on the
// pool inside a transaction would wait for the connection the transaction
// holds (SQLite has one writer connection).
func (s *Store) stmt(q string) *sql.Stmt {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.stmts[q]; ok {
		return st
	}
	s.pending[q] = true
	return nil
}

// preparePending prepares the statements queued by stmt.
func (s *Store) preparePending(ctx context.Context) {
	s.mu.Lock()
	var qs []string
	for q := range s.pending {
		qs = append(qs, q)
	}
	clear(s.pending)
	s.mu.Unlock()
	for _, q := range qs {
		st, err := s.w.PrepareContext(ctx, q)
		if err != nil {
			continue // it runs unprepared, as before
		}
		s.mu.Lock()
		if _, ok := s.stmts[q]; ok {
			st.Close()
		} else {
			s.stmts[q] = st
		}
		s.mu.Unlock()
	}
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func taskKey(t taskserver.NewTask) string {
	return fmt.Sprintf("%s|%s|%d|%d", t.Crawl, strings.Join(t.WARCs, ","), t.RecordStart, t.RecordEnd)
}

func event(ctx context.Context, tx txn, at taskserver.Stamp, kind string, taskID, leaseID int64, hotkey, detail string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO events(at, block, kind, task_id, lease_id, hotkey, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		ms(at.Time), int64(at.Block), kind, nullInt(taskID), nullInt(leaseID), nullStr(hotkey), nullStr(detail))
	return err
}

func nullInt(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

func nullStr(v string) any {
	if v == "" {
		return nil
	}
	return v
}

// AddTasks implements taskserver.Store. Rows go in as multi-row INSERTs
// (a crawl is ~90,000 WARCs); ON CONFLICT skips tasks already there.
func (s *Store) AddTasks(ctx context.Context, tasks []taskserver.NewTask, at taskserver.Stamp) (int, error) {
	added := 0
	const batch = 500 // 4,000 parameters: within both databases' limits
	for i := 0; i < len(tasks); i += batch {
		chunk := tasks[i:min(i+batch, len(tasks))]
		var q strings.Builder
		q.WriteString(`INSERT INTO tasks(task_key, crawl, warcs, record_start, record_end, byte_start, byte_end, state, created_at) VALUES `)
		args := make([]any, 0, 8*len(chunk))
		for j, t := range chunk {
			if j > 0 {
				q.WriteString(", ")
			}
			n := len(args)
			fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, 'pending', $%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8)
			warcs, err := json.Marshal(t.WARCs)
			if err != nil {
				return added, fmt.Errorf("add tasks: %w", err)
			}
			args = append(args, taskKey(t), t.Crawl, string(warcs), t.RecordStart, t.RecordEnd, t.ByteStart, t.ByteEnd, ms(at.Time))
		}
		q.WriteString(` ON CONFLICT (task_key) DO NOTHING`)
		err := s.tx(ctx, func(tx txn) error {
			res, err := tx.Tx.ExecContext(ctx, q.String(), args...) // varies in length: not cached
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			added += int(n)
			return err
		})
		if err != nil {
			return added, fmt.Errorf("add tasks: %w", err)
		}
	}
	if added > 0 {
		err := s.tx(ctx, func(tx txn) error {
			return event(ctx, tx, at, "imported", 0, 0, "", fmt.Sprintf("%d tasks", added))
		})
		if err != nil {
			return added, err
		}
	}
	return added, nil
}

// expire ends live leases past their expiry and returns their tasks to
// the pool. It runs inside every lease transaction, so a grant never sees
// a stale lease.
func (s *Store) expire(ctx context.Context, tx txn, at taskserver.Stamp) (int, error) {
	rows, err := tx.QueryContext(ctx, `UPDATE leases SET state = 'expired', ended_at = $1, ended_block = $2
		WHERE state = 'live' AND expires_at < $1 RETURNING id, task_id, hotkey`, ms(at.Time), int64(at.Block))
	if err != nil {
		return 0, err
	}
	type exp struct {
		id, task int64
		hotkey   string
	}
	var done []exp
	for rows.Next() {
		var e exp
		if err := rows.Scan(&e.id, &e.task, &e.hotkey); err != nil {
			rows.Close()
			return 0, err
		}
		done = append(done, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, e := range done {
		if _, err := tx.ExecContext(ctx, `UPDATE tasks SET state = 'pending' WHERE id = $1 AND state = 'leased'`, e.task); err != nil {
			return 0, err
		}
		if err := event(ctx, tx, at, "expired", e.task, e.id, e.hotkey, ""); err != nil {
			return 0, err
		}
	}
	return len(done), nil
}

// Expire implements taskserver.Store.
func (s *Store) Expire(ctx context.Context, at taskserver.Stamp) (int, error) {
	n := 0
	err := s.tx(ctx, func(tx txn) error {
		var err error
		n, err = s.expire(ctx, tx, at)
		return err
	})
	return n, err
}

// Lease implements taskserver.Store.
func (s *Store) Lease(ctx context.Context, req taskserver.LeaseRequest) (taskserver.Lease, taskserver.Task, error) {
	var lease taskserver.Lease
	var task taskserver.Task
	err := s.tx(ctx, func(tx txn) error {
		if s.d == postgres {
			// Serialise one hotkey's lease requests so the live-lease
			// limit holds across replicas.
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, req.Hotkey); err != nil {
				return err
			}
		}
		if _, err := s.expire(ctx, tx, req.At); err != nil {
			return err
		}
		var live int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM leases WHERE hotkey = $1 AND state = 'live'`, req.Hotkey).Scan(&live); err != nil {
			return err
		}
		if req.MaxLive > 0 && live >= req.MaxLive {
			return fmt.Errorf("%w: %d live leases", taskserver.ErrLeaseLimit, live)
		}
		if err := s.standing(ctx, tx, req); err != nil {
			return err
		}
		q := `SELECT id FROM tasks WHERE state = 'pending' ORDER BY id LIMIT 1`
		if s.d == postgres {
			q += ` FOR UPDATE SKIP LOCKED`
		}
		var id int64
		if err := tx.QueryRowContext(ctx, q).Scan(&id); errors.Is(err, sql.ErrNoRows) {
			return taskserver.ErrNoTask
		} else if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tasks SET state = 'leased' WHERE id = $1`, id); err != nil {
			return err
		}
		// The stamp was taken before this transaction waited for the
		// write lock, so the task's previous lease may have ended "after"
		// it; a lease never starts before its predecessor ended.
		now := req.At.Time
		var prevEnd sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT max(ended_at) FROM leases WHERE task_id = $1`, id).Scan(&prevEnd); err != nil {
			return err
		}
		if prevEnd.Valid && prevEnd.Int64 > ms(now) {
			now = fromMS(prevEnd.Int64)
		}
		deadline := now.Add(req.Duration)
		expires := now.Add(req.TTL)
		if req.TTL <= 0 || expires.After(deadline) {
			expires = deadline
		}
		var leaseID int64
		err := tx.QueryRowContext(ctx, `INSERT INTO leases(task_id, hotkey, state, granted_at, granted_block, deadline, expires_at, heartbeat_at)
			VALUES ($1, $2, 'live', $3, $4, $5, $6, $3) RETURNING id`,
			id, req.Hotkey, ms(now), int64(req.At.Block), ms(deadline), ms(expires)).Scan(&leaseID)
		if err != nil {
			return err
		}
		if err := event(ctx, tx, taskserver.Stamp{Time: now, Block: req.At.Block}, "leased", id, leaseID, req.Hotkey, ""); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO hotkeys(hotkey, first_seen) VALUES ($1, $2) ON CONFLICT (hotkey) DO NOTHING`, req.Hotkey, ms(now)); err != nil {
			return err
		}
		if lease, err = getLease(ctx, tx, leaseID); err != nil {
			return err
		}
		task, err = getTask(ctx, tx, id)
		return err
	})
	return lease, task, err
}

type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

const leaseCols = `id, task_id, hotkey, state, granted_at, granted_block, deadline, expires_at, heartbeat_at, ended_at, ended_block, commitment, commit_block, decision, decided_at, decided_block`

type scanner interface{ Scan(dest ...any) error }

func scanLease(r scanner) (taskserver.Lease, error) {
	var l taskserver.Lease
	var granted, deadline, expires, hb, gblock int64
	var ended, eblock, cblock, decided, dblock sql.NullInt64
	var commitment, decision sql.NullString
	var state string
	err := r.Scan(&l.ID, &l.TaskID, &l.Hotkey, &state, &granted, &gblock, &deadline, &expires, &hb, &ended, &eblock, &commitment, &cblock,
		&decision, &decided, &dblock)
	if err != nil {
		return l, err
	}
	l.Decision, l.DecidedBlock = taskserver.Decision(decision.String), uint64(dblock.Int64)
	if decided.Valid {
		t := fromMS(decided.Int64)
		l.DecidedAt = &t
	}
	l.State = taskserver.LeaseState(state)
	l.GrantedAt, l.GrantedBlock = fromMS(granted), uint64(gblock)
	l.Deadline, l.ExpiresAt, l.HeartbeatAt = fromMS(deadline), fromMS(expires), fromMS(hb)
	if ended.Valid {
		t := fromMS(ended.Int64)
		l.EndedAt = &t
	}
	l.EndedBlock, l.Commitment, l.CommitBlock = uint64(eblock.Int64), commitment.String, uint64(cblock.Int64)
	return l, nil
}

func getLease(ctx context.Context, q querier, id int64) (taskserver.Lease, error) {
	l, err := scanLease(q.QueryRowContext(ctx, `SELECT `+leaseCols+` FROM leases WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return l, fmt.Errorf("lease %d: %w", id, taskserver.ErrNotFound)
	}
	return l, err
}

func getTask(ctx context.Context, q querier, id int64) (taskserver.Task, error) {
	var t taskserver.Task
	var warcs, state string
	var created int64
	err := q.QueryRowContext(ctx, `SELECT id, crawl, warcs, record_start, record_end, byte_start, byte_end, state, created_at FROM tasks WHERE id = $1`, id).
		Scan(&t.ID, &t.Crawl, &warcs, &t.RecordStart, &t.RecordEnd, &t.ByteStart, &t.ByteEnd, &state, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("task %d: %w", id, taskserver.ErrNotFound)
	}
	if err != nil {
		return t, err
	}
	t.State, t.CreatedAt = taskserver.TaskState(state), fromMS(created)
	if err := json.Unmarshal([]byte(warcs), &t.WARCs); err != nil {
		return t, fmt.Errorf("task %d: warcs: %w", id, err)
	}
	return t, nil
}

// ownLiveLease loads a lease for an action by hotkey, after expiring stale
// leases, and checks it is the caller's and live.
func (s *Store) ownLiveLease(ctx context.Context, tx txn, id int64, hotkey string, at taskserver.Stamp) (taskserver.Lease, error) {
	if _, err := s.expire(ctx, tx, at); err != nil {
		return taskserver.Lease{}, err
	}
	l, err := getLease(ctx, tx, id)
	if err != nil {
		return l, err
	}
	if l.Hotkey != hotkey {
		return l, fmt.Errorf("lease %d: %w", id, taskserver.ErrNotHolder)
	}
	return l, nil
}

// Heartbeat implements taskserver.Store.
func (s *Store) Heartbeat(ctx context.Context, id int64, hotkey string, ttl time.Duration, at taskserver.Stamp) (taskserver.Lease, error) {
	var out taskserver.Lease
	err := s.tx(ctx, func(tx txn) error {
		l, err := s.ownLiveLease(ctx, tx, id, hotkey, at)
		if err != nil {
			return err
		}
		if l.State != taskserver.LeaseLive {
			return fmt.Errorf("lease %d is %s: %w", id, l.State, taskserver.ErrLeaseNotLive)
		}
		expires := at.Time.Add(ttl)
		if ttl <= 0 || expires.After(l.Deadline) {
			expires = l.Deadline
		}
		if _, err := tx.ExecContext(ctx, `UPDATE leases SET heartbeat_at = $1, expires_at = $2 WHERE id = $3`, ms(at.Time), ms(expires), id); err != nil {
			return err
		}
		if err := event(ctx, tx, at, "heartbeat", l.TaskID, id, hotkey, ""); err != nil {
			return err
		}
		out, err = getLease(ctx, tx, id)
		return err
	})
	return out, err
}

// Complete implements taskserver.Store.
func (s *Store) Complete(ctx context.Context, id int64, hotkey, commitment string, commitBlock uint64, at taskserver.Stamp) (taskserver.Lease, error) {
	var out taskserver.Lease
	err := s.tx(ctx, func(tx txn) error {
		l, err := s.ownLiveLease(ctx, tx, id, hotkey, at)
		if err != nil {
			return err
		}
		switch l.State {
		case taskserver.LeaseCompleted:
			if l.Commitment == commitment {
				out = l
				return nil
			}
			return fmt.Errorf("lease %d: %w", id, taskserver.ErrConflict)
		case taskserver.LeaseLive:
		default:
			return fmt.Errorf("lease %d is %s: %w", id, l.State, taskserver.ErrLeaseNotLive)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE leases SET state = 'completed', ended_at = $1, ended_block = $2, commitment = $3, commit_block = $4, decision = 'pending' WHERE id = $5`,
			ms(at.Time), int64(at.Block), commitment, int64(commitBlock), id); err != nil {
			return err
		}
		// Submitted, not done: only validators' reports decide the task.
		if _, err := tx.ExecContext(ctx, `UPDATE tasks SET state = 'submitted' WHERE id = $1`, l.TaskID); err != nil {
			return err
		}
		if err := event(ctx, tx, at, "completed", l.TaskID, id, hotkey, commitment); err != nil {
			return err
		}
		out, err = getLease(ctx, tx, id)
		return err
	})
	return out, err
}

// Release implements taskserver.Store.
func (s *Store) Release(ctx context.Context, id int64, hotkey string, at taskserver.Stamp) (taskserver.Lease, error) {
	var out taskserver.Lease
	err := s.tx(ctx, func(tx txn) error {
		l, err := s.ownLiveLease(ctx, tx, id, hotkey, at)
		if err != nil {
			return err
		}
		if l.State != taskserver.LeaseLive {
			return fmt.Errorf("lease %d is %s: %w", id, l.State, taskserver.ErrLeaseNotLive)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE leases SET state = 'released', ended_at = $1, ended_block = $2 WHERE id = $3`, ms(at.Time), int64(at.Block), id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tasks SET state = 'pending' WHERE id = $1`, l.TaskID); err != nil {
			return err
		}
		if err := event(ctx, tx, at, "released", l.TaskID, id, hotkey, ""); err != nil {
			return err
		}
		out, err = getLease(ctx, tx, id)
		return err
	})
	return out, err
}

// GetLease implements taskserver.Store.
func (s *Store) GetLease(ctx context.Context, id int64) (taskserver.Lease, error) {
	return getLease(ctx, s.r, id)
}

// Task implements taskserver.Store.
func (s *Store) Task(ctx context.Context, id int64) (taskserver.Task, []taskserver.Lease, error) {
	t, err := getTask(ctx, s.r, id)
	if err != nil {
		return t, nil, err
	}
	ls, err := s.leases(ctx, `SELECT `+leaseCols+` FROM leases WHERE task_id = $1 ORDER BY id`, id)
	return t, ls, err
}

func (s *Store) leases(ctx context.Context, q string, args ...any) ([]taskserver.Lease, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []taskserver.Lease
	for rows.Next() {
		l, err := scanLease(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// Leases implements taskserver.Store.
func (s *Store) Leases(ctx context.Context, hotkey string, limit int) ([]taskserver.Lease, error) {
	return s.leases(ctx, `SELECT `+leaseCols+` FROM leases WHERE hotkey = $1 ORDER BY id DESC LIMIT $2`, hotkey, limit)
}

// AddScore implements taskserver.Store.
func (s *Store) AddScore(ctx context.Context, sc taskserver.Score) (taskserver.Score, error) {
	err := s.tx(ctx, func(tx txn) error {
		var err error
		if sc.ID, err = insertScore(ctx, tx, publish(sc)); err != nil {
			return err
		}
		// The event names the validator, as a report's does.
		return event(ctx, tx, taskserver.Stamp{Time: sc.At, Block: sc.Block}, "scored", sc.TaskID, sc.LeaseID, sc.Hotkey, sc.Validator)
	})
	return sc, err
}

// Scores implements taskserver.Store.
func (s *Store) Scores(ctx context.Context, hotkey string, limit int) ([]taskserver.Score, error) {
	return s.ScoresOf(ctx, taskserver.ScoreQuery{Hotkey: hotkey, Limit: limit})
}

// Counts implements taskserver.Store.
func (s *Store) Counts(ctx context.Context) (taskserver.Counts, error) {
	var c taskserver.Counts
	rows, err := s.r.QueryContext(ctx, `SELECT state, count(*) FROM tasks GROUP BY state`)
	if err != nil {
		return c, err
	}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			rows.Close()
			return c, err
		}
		c.Tasks += n
		switch taskserver.TaskState(st) {
		case taskserver.TaskPending:
			c.Pending = n
		case taskserver.TaskLeased:
			c.Leased = n
		case taskserver.TaskSubmitted:
			c.Submitted = n
		case taskserver.TaskDone:
			c.Done = n
		}
	}
	rows.Close()
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM leases WHERE state = 'live'`).Scan(&c.LiveLeases); err != nil {
		return c, err
	}
	err = s.r.QueryRowContext(ctx, `SELECT count(*) FROM hotkeys`).Scan(&c.Miners)
	return c, err
}

// Events implements taskserver.Store.
func (s *Store) Events(ctx context.Context, before int64, limit int) ([]taskserver.Event, error) {
	return s.EventsOf(ctx, before, limit, nil)
}

// Miners implements taskserver.Store. It reads the leases granted since
// the time by the granted_at index, so its cost follows the window's
// activity, not the table: SQLite, without statistics, would rather scan
// the whole table in hotkey order to save the grouping's sort, so it is
// told which index to use.
func (s *Store) Miners(ctx context.Context, since time.Time) ([]taskserver.MinerActivity, error) {
	from := "leases"
	if s.d == sqlite {
		from = "leases INDEXED BY leases_granted"
	}
	rows, err := s.r.QueryContext(ctx, `SELECT hotkey, count(*),
			sum(CASE WHEN state = 'completed' THEN 1 ELSE 0 END),
			sum(CASE WHEN state = 'expired' THEN 1 ELSE 0 END),
			sum(CASE WHEN state = 'live' THEN 1 ELSE 0 END),
			max(CASE WHEN ended_at IS NULL THEN heartbeat_at WHEN ended_at > heartbeat_at THEN ended_at ELSE heartbeat_at END),
			avg(CASE WHEN state = 'completed' THEN ended_at - granted_at END),
			sum(CASE WHEN decision = 'accepted' THEN 1 ELSE 0 END),
			sum(CASE WHEN decision = 'rejected' THEN 1 ELSE 0 END),
			sum(CASE WHEN decision = 'pending' THEN 1 ELSE 0 END),
			coalesce(sum(CASE WHEN decision = 'accepted' THEN documents END), 0),
			coalesce(sum(CASE WHEN decision = 'accepted' THEN tokens END), 0)
		FROM `+from+` WHERE granted_at >= $1 GROUP BY hotkey ORDER BY count(*) DESC, hotkey`, ms(since))
	if err != nil {
		return nil, err
	}
	var out []taskserver.MinerActivity
	idx := map[string]int{}
	for rows.Next() {
		var m taskserver.MinerActivity
		var last int64
		var avg sql.NullFloat64
		if err := rows.Scan(&m.Hotkey, &m.Leases, &m.Completed, &m.Expired, &m.Live, &last, &avg,
			&m.Accepted, &m.Rejected, &m.Pending, &m.Documents, &m.Tokens); err != nil {
			rows.Close()
			return nil, err
		}
		m.LastSeen, m.AvgSeconds = fromMS(last), avg.Float64/1000
		idx[m.Hotkey] = len(out)
		out = append(out, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = s.r.QueryContext(ctx, `SELECT hotkey, avg(score), count(*) FROM scores WHERE at >= $1 GROUP BY hotkey`, ms(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var hk string
		var mean float64
		var n int64
		if err := rows.Scan(&hk, &mean, &n); err != nil {
			return nil, err
		}
		if i, ok := idx[hk]; ok {
			out[i].Score, out[i].Scores = mean, n
		}
	}
	return out, rows.Err()
}

// Completions implements taskserver.Store.
func (s *Store) Completions(ctx context.Context, since time.Time, bucket time.Duration) ([]taskserver.Bucket, error) {
	b := bucket.Milliseconds()
	if b <= 0 {
		return nil, fmt.Errorf("bucket %s: %w", bucket, errors.New("must be positive"))
	}
	rows, err := s.r.QueryContext(ctx, `SELECT (ended_at / $1) * $1 AS start, count(*) FROM leases
		WHERE state = 'completed' AND ended_at >= $2 GROUP BY start ORDER BY start`, b, ms(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []taskserver.Bucket
	for rows.Next() {
		var start, n int64
		if err := rows.Scan(&start, &n); err != nil {
			return nil, err
		}
		out = append(out, taskserver.Bucket{Start: fromMS(start), Count: n})
	}
	return out, rows.Err()
}
