package validator

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/datarefine/refine/sqldb"
	"github.com/datarefine/refine/validator/verify"
)

// state is the validator's SQLite database. Everything a restart must not
// lose lives here: which commitments were evaluated (and their verdicts),
// the EMA per uid, the MinHash bands of accepted submissions (for the
// uniqueness check), weight commits awaiting their reveal, the chain's
// commitments seen so far (a non-archive node forgets old blocks), the task
// server's submissions read so far, evaluations to retry (failures on the
// validator's side, with their backoff) and reports not yet delivered.
type state struct {
	db *sql.DB
	// read is a pool of read-only connections for the uniqueness index's
	// lookups, which parallel evaluations make at once (WAL lets readers
	// run beside the one writer); db itself for an in-memory state.
	read *sql.DB
}

// reads is the pool for read-only lookups.
func (s *state) reads() *sql.DB {
	if s.read != nil {
		return s.read
	}
	return s.db
}

const schema = `
CREATE TABLE IF NOT EXISTS submissions (
	id INTEGER PRIMARY KEY,
	hotkey TEXT NOT NULL,
	uid INTEGER NOT NULL,
	block INTEGER NOT NULL,
	data TEXT NOT NULL,
	task_id INTEGER NOT NULL,
	accepted INTEGER NOT NULL,
	code TEXT NOT NULL,
	score REAL NOT NULL,
	verdict TEXT NOT NULL,
	evaluated_block INTEGER NOT NULL,
	applied INTEGER NOT NULL DEFAULT 0,
	UNIQUE (hotkey, block, data)
);
CREATE INDEX IF NOT EXISTS submissions_data ON submissions (data);
CREATE TABLE IF NOT EXISTS ema (
	uid INTEGER PRIMARY KEY,
	hotkey TEXT NOT NULL,
	value REAL NOT NULL,
	block INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
	key TEXT PRIMARY KEY,
	value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS chain_commits (
	hotkey TEXT NOT NULL,
	block INTEGER NOT NULL,
	data TEXT NOT NULL,
	PRIMARY KEY (hotkey, block, data)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS chain_commits_data ON chain_commits (hotkey, data, block);
CREATE TABLE IF NOT EXISTS completions (
	lease_id INTEGER PRIMARY KEY,
	seq INTEGER NOT NULL,
	task_id INTEGER NOT NULL,
	hotkey TEXT NOT NULL,
	data TEXT NOT NULL,
	granted_block INTEGER NOT NULL,
	ended_block INTEGER NOT NULL,
	settled INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS completions_open ON completions (settled, lease_id);
CREATE INDEX IF NOT EXISTS completions_data ON completions (hotkey, data);
CREATE TABLE IF NOT EXISTS retries (
	hotkey TEXT NOT NULL,
	block INTEGER NOT NULL,
	data TEXT NOT NULL,
	attempts INTEGER NOT NULL,
	next_block INTEGER NOT NULL,
	last_error TEXT NOT NULL,
	PRIMARY KEY (hotkey, block, data)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox (
	submission INTEGER PRIMARY KEY,
	body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS weight_feeds (
	hash TEXT PRIMARY KEY,
	round INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS weight_commits (
	id INTEGER PRIMARY KEY,
	block INTEGER NOT NULL,
	epoch INTEGER,
	uids TEXT NOT NULL,
	weights TEXT NOT NULL,
	salt TEXT NOT NULL,
	version INTEGER NOT NULL
);
`

func openState(ctx context.Context, path string) (*state, error) {
	// One writer connection (sqldb's default): SQLite serialises writers
	// anyway, and an in-memory database exists per connection.
	db, err := sqldb.OpenSQLite(path, sqldb.SQLite{Immediate: true})
	if err != nil {
		return nil, fmt.Errorf("open validator state: %w", err)
	}
	if _, err := db.ExecContext(ctx, schema+uniquenessSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("create validator state %s: %w", path, err)
	}
	if err := migrateWeightCommits(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	s := &state{db: db}
	if path != ":memory:" {
		rd, err := sqldb.OpenSQLite(path, sqldb.SQLite{ReadOnly: true, MaxOpen: 8})
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("open validator state: %w", err)
		}
		s.read = rd
	}
	// Columns added after the first release; a state file from before
	// gets them (its submissions had no lease: they were read from chain).
	for _, c := range []struct{ table, column, def string }{
		{"submissions", "lease_id", "INTEGER NOT NULL DEFAULT 0"},
		{"submissions", "round", "INTEGER NOT NULL DEFAULT 0"},
		{"submissions", "reported", "INTEGER NOT NULL DEFAULT 0"},
	} {
		if err := s.addColumn(ctx, c.table, c.column, c.def); err != nil {
			db.Close()
			return nil, fmt.Errorf("upgrade validator state %s: %w", path, err)
		}
	}
	return s, nil
}

// addColumn adds a column unless the table has it.
func (s *state) addColumn(ctx context.Context, table, column, def string) error {
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM pragma_table_info(?)`, table)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return err
		}
		if name == column {
			return nil
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	_, err = s.db.ExecContext(ctx, `ALTER TABLE `+table+` ADD COLUMN `+column+` `+def)
	return err
}

func (s *state) Close() error {
	if s.read != nil {
		s.read.Close()
	}
	return s.db.Close()
}

func (s *state) meta(ctx context.Context, key string) (uint64, error) {
	var v int64
	err := s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return uint64(v), err
}

func (s *state) setMeta(ctx context.Context, key string, v uint64) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, int64(v))
	return err
}

// earlier returns an earlier evaluation of the same commitment string:
// by the same hotkey (any verdict: a replay), else an accepted one by another
// hotkey (a copy). A rejected evaluation by another hotkey does not count, so
// a copier that commits the owner's string first cannot make it a "copy".
func (s *state) earlier(ctx context.Context, data, hotkey string) (other string, block uint64, ok bool, err error) {
	var b int64
	err = s.db.QueryRowContext(ctx, `SELECT hotkey, block FROM submissions WHERE data = ? AND (hotkey = ? OR accepted = 1)
		ORDER BY hotkey = ? DESC, block, id LIMIT 1`, data, hotkey, hotkey).Scan(&other, &b)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, false, nil
	}
	return other, uint64(b), err == nil, err
}

// record stores an evaluated submission and, when accepted, its bands in
// the uniqueness index (crawl is its task's).
func (s *state) record(ctx context.Context, r Record, bands [][]uint64, crawl string, uniq UniquenessParams) error {
	vj, err := json.Marshal(r.Verdict)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	_, err = tx.ExecContext(ctx, `INSERT INTO submissions (hotkey, uid, block, data, task_id, accepted, code, score, verdict, evaluated_block, lease_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.Hotkey, int(r.UID), int64(r.Block), r.Commitment, r.TaskID,
		r.Verdict.Accepted, string(r.Verdict.Code), r.Score, string(vj), int64(r.EvaluatedBlock), r.LeaseID)
	if err != nil {
		return fmt.Errorf("record submission: %w", err)
	}
	// A verdict ends the retries, and settles the task server's
	// submission it answers.
	if _, err := tx.ExecContext(ctx, `DELETE FROM retries WHERE hotkey = ? AND block = ? AND data = ?`, r.Hotkey, int64(r.Block), r.Commitment); err != nil {
		return err
	}
	if r.LeaseID > 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE completions SET settled = 1 WHERE lease_id = ?`, r.LeaseID); err != nil {
			return err
		}
	}
	if r.Verdict.Accepted {
		if err := addBands(ctx, tx, uniq, crawl, r.Block, bands); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// applyRound folds the scores of the submissions not yet applied into the
// EMA of every uid in uids (hotkeys by uid), in one transaction: a uid with
// no new submission moves toward 0, a uid whose hotkey changed starts over.
// The applied submissions are stamped with round, the number of weight
// settings started before them (their scores first feed the next one), and
// those that answer a task server submission get their report queued.
func (s *state) applyRound(ctx context.Context, hotkeys map[uint16]string, alpha float64, block uint64, round uint64) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	round_ := map[uint16]float64{}
	rows, err := tx.QueryContext(ctx, `SELECT uid, hotkey, score FROM submissions WHERE applied = 0 ORDER BY id`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var uid int
		var hk string
		var sc float64
		if err := rows.Scan(&uid, &hk, &sc); err != nil {
			rows.Close()
			return err
		}
		if hotkeys[uint16(uid)] == hk {
			round_[uint16(uid)] += sc
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	old := map[uint16]struct {
		hk string
		v  float64
	}{}
	rows, err = tx.QueryContext(ctx, `SELECT uid, hotkey, value FROM ema`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var uid int
		var hk string
		var v float64
		if err := rows.Scan(&uid, &hk, &v); err != nil {
			rows.Close()
			return err
		}
		old[uint16(uid)] = struct {
			hk string
			v  float64
		}{hk, v}
	}
	rows.Close()
	for _, uid := range sortedUIDs(hotkeys) {
		prev := 0.0
		if o, ok := old[uid]; ok && o.hk == hotkeys[uid] {
			prev = o.v
		}
		v := (1-alpha)*prev + alpha*round_[uid]
		if _, err := tx.ExecContext(ctx, `INSERT INTO ema (uid, hotkey, value, block) VALUES (?, ?, ?, ?)
			ON CONFLICT (uid) DO UPDATE SET hotkey = excluded.hotkey, value = excluded.value, block = excluded.block`,
			int(uid), hotkeys[uid], v, int64(block)); err != nil {
			return err
		}
	}
	// uids that left the metagraph keep no score.
	for uid := range old {
		if _, ok := hotkeys[uid]; !ok {
			if _, err := tx.ExecContext(ctx, `DELETE FROM ema WHERE uid = ?`, int(uid)); err != nil {
				return err
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE submissions SET applied = 1, round = ? WHERE applied = 0`, int64(round)); err != nil {
		return err
	}
	if err := queueReports(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('last_round', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, int64(block)); err != nil {
		return err
	}
	return tx.Commit()
}

// UIDScore is one uid's standing.
type UIDScore struct {
	UID    uint16  `json:"uid"`
	Hotkey string  `json:"hotkey"`
	EMA    float64 `json:"ema"`
	// Weight is the uid's share of the L1-normalised EMAs.
	Weight float64 `json:"weight"`
	Block  uint64  `json:"block"`
}

func (s *state) emas(ctx context.Context) ([]UIDScore, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT uid, hotkey, value, block FROM ema ORDER BY uid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []UIDScore
	for rows.Next() {
		var u UIDScore
		var uid int
		var b int64
		if err := rows.Scan(&uid, &u.Hotkey, &u.EMA, &b); err != nil {
			return nil, err
		}
		u.UID, u.Block = uint16(uid), uint64(b)
		out = append(out, u)
	}
	return out, rows.Err()
}

// Record is one evaluated submission.
type Record struct {
	Hotkey         string         `json:"hotkey"`
	UID            uint16         `json:"uid"`
	Block          uint64         `json:"block"`
	Commitment     string         `json:"commitment"`
	TaskID         int64          `json:"task_id"`
	Score          float64        `json:"score"`
	EvaluatedBlock uint64         `json:"evaluated_block"`
	Verdict        verify.Verdict `json:"verdict"`
	// LeaseID is the task server's submission (completed lease) the
	// verdict answers; 0 for a chain commitment no lease completed.
	LeaseID int64 `json:"lease_id,omitempty"`
}

func (s *state) records(ctx context.Context, hotkey string) ([]Record, error) {
	q := `SELECT hotkey, uid, block, data, task_id, score, evaluated_block, verdict, lease_id FROM submissions`
	var args []any
	if hotkey != "" {
		q += ` WHERE hotkey = ?`
		args = append(args, hotkey)
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		var r Record
		var uid int
		var b, eb int64
		var vj string
		if err := rows.Scan(&r.Hotkey, &uid, &b, &r.Commitment, &r.TaskID, &r.Score, &eb, &vj, &r.LeaseID); err != nil {
			return nil, err
		}
		r.UID, r.Block, r.EvaluatedBlock = uint16(uid), uint64(b), uint64(eb)
		if err := json.Unmarshal([]byte(vj), &r.Verdict); err != nil {
			return nil, fmt.Errorf("stored verdict: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
