package web

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/datarefine/refine/sqldb"
)

// db holds the website's own state: the session signing keys, sign-in
// challenges, sessions, profiles, posts and the metagraph history the
// charts draw. It lives in the same database backend as the task server
// (SQLite or PostgreSQL: the task server's own database when the site is
// mounted in the task server process), in tables of its own (web_*), so
// that several site replicas can share one PostgreSQL database. It never
// touches the task server's tables.
type db struct {
	*sqldb.DB
}

// migrationLock is the PostgreSQL advisory lock the site's migrations take
// (the task server's is another).
const migrationLock = 7305424

func webMigrations(d *sqldb.DB) []sqldb.Migration {
	return []sqldb.Migration{
		{SQL: `CREATE TABLE web_settings (name TEXT PRIMARY KEY, value ` + d.Blob() + ` NOT NULL);
		CREATE TABLE web_challenges (
			nonce TEXT PRIMARY KEY, hotkey TEXT NOT NULL, message TEXT NOT NULL,
			expires_at BIGINT NOT NULL, used INTEGER NOT NULL DEFAULT 0);
		CREATE INDEX web_challenges_expiry ON web_challenges(expires_at);
		CREATE TABLE web_sessions (
			id TEXT PRIMARY KEY, hotkey TEXT NOT NULL, created_at BIGINT NOT NULL,
			expires_at BIGINT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
		CREATE INDEX web_sessions_expiry ON web_sessions(expires_at);
		CREATE TABLE web_profiles (
			hotkey TEXT PRIMARY KEY, display_name TEXT NOT NULL DEFAULT '', dataset_repo TEXT NOT NULL DEFAULT '',
			contact TEXT NOT NULL DEFAULT '', description TEXT NOT NULL DEFAULT '', updated_at BIGINT NOT NULL);
		CREATE TABLE web_posts (
			id ` + d.ID() + `, thread_id BIGINT, author TEXT NOT NULL,
			title TEXT NOT NULL DEFAULT '', body TEXT NOT NULL, created_at BIGINT NOT NULL,
			hidden INTEGER NOT NULL DEFAULT 0, hidden_by TEXT NOT NULL DEFAULT '');
		CREATE INDEX web_posts_thread ON web_posts(thread_id, id);
		CREATE INDEX web_posts_author ON web_posts(author, created_at);
		CREATE TABLE web_neuron_history (
			block BIGINT NOT NULL, at BIGINT NOT NULL, hotkey TEXT NOT NULL, uid INTEGER NOT NULL,
			stake BIGINT NOT NULL, incentive INTEGER NOT NULL, dividends INTEGER NOT NULL,
			validator_trust INTEGER NOT NULL, emission BIGINT NOT NULL, PRIMARY KEY (hotkey, block));
		CREATE INDEX web_neuron_history_block ON web_neuron_history(block)`},
	}
}

// openDB opens the site's database (a SQLite file or a postgres:// DSN)
// and creates its tables.
func openDB(ctx context.Context, dsn string) (*db, error) {
	if dsn == "" {
		return nil, errors.New("web database: need a SQLite file or a postgres:// DSN")
	}
	d, err := sqldb.Open(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("web database: %w", err)
	}
	if err := d.Migrate(ctx, "web_schema_migrations", migrationLock, webMigrations(d)); err != nil {
		d.Close()
		return nil, fmt.Errorf("web database: %w", err)
	}
	return &db{d}, nil
}

// secret returns the named random key, creating it on first use, so that
// sessions survive restarts and replicas sharing the database agree.
func (d *db) secret(ctx context.Context, name string) ([]byte, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate %s: %w", name, err)
	}
	if _, err := d.W.ExecContext(ctx, `INSERT INTO web_settings(name, value) VALUES ($1, $2) ON CONFLICT(name) DO NOTHING`, name, key); err != nil {
		return nil, fmt.Errorf("store %s: %w", name, err)
	}
	var out []byte
	if err := d.W.QueryRowContext(ctx, `SELECT value FROM web_settings WHERE name = $1`, name).Scan(&out); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return out, nil
}

func (d *db) addChallenge(ctx context.Context, nonce, hotkey, msg string, expires, now time.Time) error {
	// Expired challenges are dropped on the way, so the table stays small.
	if _, err := d.W.ExecContext(ctx, `DELETE FROM web_challenges WHERE expires_at < $1`, now.UnixMilli()); err != nil {
		return fmt.Errorf("prune challenges: %w", err)
	}
	_, err := d.W.ExecContext(ctx, `INSERT INTO web_challenges(nonce, hotkey, message, expires_at) VALUES ($1, $2, $3, $4)`,
		nonce, hotkey, msg, expires.UnixMilli())
	if err != nil {
		return fmt.Errorf("store challenge: %w", err)
	}
	return nil
}

// useChallenge marks a live, unused challenge of hotkey used and returns
// its message; each challenge signs in at most once.
func (d *db) useChallenge(ctx context.Context, nonce, hotkey string, now time.Time) (string, error) {
	var msg string
	err := d.W.QueryRowContext(ctx, `UPDATE web_challenges SET used = 1
		WHERE nonce = $1 AND hotkey = $2 AND used = 0 AND expires_at >= $3 RETURNING message`,
		nonce, hotkey, now.UnixMilli()).Scan(&msg)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errBadChallenge
	}
	if err != nil {
		return "", fmt.Errorf("use challenge: %w", err)
	}
	return msg, nil
}

func (d *db) addSession(ctx context.Context, id, hotkey string, created, expires time.Time) error {
	if _, err := d.W.ExecContext(ctx, `DELETE FROM web_sessions WHERE expires_at < $1`, created.UnixMilli()); err != nil {
		return fmt.Errorf("prune sessions: %w", err)
	}
	_, err := d.W.ExecContext(ctx, `INSERT INTO web_sessions(id, hotkey, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		id, hotkey, created.UnixMilli(), expires.UnixMilli())
	if err != nil {
		return fmt.Errorf("store session: %w", err)
	}
	return nil
}

// sessionLive reports whether session id of hotkey exists and is not
// revoked (signed out).
func (d *db) sessionLive(ctx context.Context, id, hotkey string) (bool, error) {
	var n int
	err := d.R.QueryRowContext(ctx, `SELECT count(*) FROM web_sessions WHERE id = $1 AND hotkey = $2 AND revoked = 0`, id, hotkey).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("read session: %w", err)
	}
	return n == 1, nil
}

func (d *db) revokeSession(ctx context.Context, id string) error {
	if _, err := d.W.ExecContext(ctx, `UPDATE web_sessions SET revoked = 1 WHERE id = $1`, id); err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	return nil
}

// Profile is what a neuron's owner says about it.
type Profile struct {
	Hotkey      string    `json:"hotkey"`
	DisplayName string    `json:"display_name"`
	DatasetRepo string    `json:"dataset_repo"`
	Contact     string    `json:"contact"`
	Description string    `json:"description"`
	UpdatedAt   time.Time `json:"updated_at,omitzero"`
}

func (d *db) profile(ctx context.Context, hotkey string) (Profile, error) {
	p := Profile{Hotkey: hotkey}
	var at int64
	err := d.R.QueryRowContext(ctx, `SELECT display_name, dataset_repo, contact, description, updated_at FROM web_profiles WHERE hotkey = $1`, hotkey).
		Scan(&p.DisplayName, &p.DatasetRepo, &p.Contact, &p.Description, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("read profile: %w", err)
	}
	p.UpdatedAt = time.UnixMilli(at).UTC()
	return p, nil
}

// displayNames returns every non-empty display name by hotkey.
func (d *db) displayNames(ctx context.Context) (map[string]string, error) {
	rows, err := d.R.QueryContext(ctx, `SELECT hotkey, display_name FROM web_profiles WHERE display_name <> ''`)
	if err != nil {
		return nil, fmt.Errorf("read display names: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var h, n string
		if err := rows.Scan(&h, &n); err != nil {
			return nil, fmt.Errorf("read display names: %w", err)
		}
		out[h] = n
	}
	return out, rows.Err()
}

func (d *db) putProfile(ctx context.Context, p Profile) error {
	_, err := d.W.ExecContext(ctx, `INSERT INTO web_profiles(hotkey, display_name, dataset_repo, contact, description, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT(hotkey) DO UPDATE SET display_name = excluded.display_name,
		dataset_repo = excluded.dataset_repo, contact = excluded.contact, description = excluded.description,
		updated_at = excluded.updated_at`,
		p.Hotkey, p.DisplayName, p.DatasetRepo, p.Contact, p.Description, p.UpdatedAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("store profile: %w", err)
	}
	return nil
}

// Post is a thread's opening post (ThreadID 0) or a reply.
type Post struct {
	ID        int64     `json:"id"`
	ThreadID  int64     `json:"thread_id,omitempty"`
	Author    string    `json:"author"`
	Title     string    `json:"title,omitempty"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
	Hidden    bool      `json:"hidden"`
	Replies   int64     `json:"replies,omitempty"`
	LastAt    time.Time `json:"last_at,omitzero"`
}

func (d *db) addPost(ctx context.Context, p Post) (Post, error) {
	var thread any
	if p.ThreadID != 0 {
		thread = p.ThreadID
	}
	err := d.W.QueryRowContext(ctx, `INSERT INTO web_posts(thread_id, author, title, body, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		thread, p.Author, p.Title, p.Body, p.CreatedAt.UnixMilli()).Scan(&p.ID)
	if err != nil {
		return p, fmt.Errorf("store post: %w", err)
	}
	return p, nil
}

// postsSince counts an author's posts since a time (for rate limits).
func (d *db) postsSince(ctx context.Context, author string, since time.Time) (int, error) {
	var n int
	err := d.W.QueryRowContext(ctx, `SELECT count(*) FROM web_posts WHERE author = $1 AND created_at >= $2`, author, since.UnixMilli()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count posts: %w", err)
	}
	return n, nil
}

const postCols = `p.id, coalesce(p.thread_id, 0), p.author, p.title, p.body, p.created_at, p.hidden`

func scanPost(r interface{ Scan(...any) error }, extra ...any) (Post, error) {
	var p Post
	var at, hidden int64
	args := append([]any{&p.ID, &p.ThreadID, &p.Author, &p.Title, &p.Body, &at, &hidden}, extra...)
	if err := r.Scan(args...); err != nil {
		return p, err
	}
	p.CreatedAt, p.Hidden = time.UnixMilli(at).UTC(), hidden != 0
	return p, nil
}

// threads lists threads, most recently active first.
func (d *db) threads(ctx context.Context, limit int) ([]Post, error) {
	rows, err := d.R.QueryContext(ctx, `SELECT `+postCols+`,
		(SELECT count(*) FROM web_posts r WHERE r.thread_id = p.id),
		coalesce((SELECT max(created_at) FROM web_posts r WHERE r.thread_id = p.id), p.created_at) AS last
		FROM web_posts p WHERE p.thread_id IS NULL ORDER BY last DESC, p.id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("read threads: %w", err)
	}
	defer rows.Close()
	var out []Post
	for rows.Next() {
		var last, replies int64
		p, err := scanPost(rows, &replies, &last)
		if err != nil {
			return nil, fmt.Errorf("read threads: %w", err)
		}
		p.Replies, p.LastAt = replies, time.UnixMilli(last).UTC()
		out = append(out, p)
	}
	return out, rows.Err()
}

// thread returns a thread's opening post and its replies, oldest first.
func (d *db) thread(ctx context.Context, id int64) ([]Post, error) {
	rows, err := d.R.QueryContext(ctx, `SELECT `+postCols+` FROM web_posts p
		WHERE (p.id = $1 AND p.thread_id IS NULL) OR p.thread_id = $1 ORDER BY p.id`, id)
	if err != nil {
		return nil, fmt.Errorf("read thread: %w", err)
	}
	defer rows.Close()
	var out []Post
	for rows.Next() {
		p, err := scanPost(rows)
		if err != nil {
			return nil, fmt.Errorf("read thread: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 || out[0].ThreadID != 0 {
		return nil, errNotFound
	}
	return out, nil
}

func (d *db) post(ctx context.Context, id int64) (Post, error) {
	p, err := scanPost(d.R.QueryRowContext(ctx, `SELECT `+postCols+` FROM web_posts p WHERE p.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, errNotFound
	}
	if err != nil {
		return p, fmt.Errorf("read post: %w", err)
	}
	return p, nil
}

func (d *db) setHidden(ctx context.Context, id int64, hidden bool, by string) error {
	h := 0
	if hidden {
		h = 1
	}
	res, err := d.W.ExecContext(ctx, `UPDATE web_posts SET hidden = $1, hidden_by = $2 WHERE id = $3`, h, by, id)
	if err != nil {
		return fmt.Errorf("hide post: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errNotFound
	}
	return nil
}

// HistoryPoint is one neuron's chain numbers at a block.
type HistoryPoint struct {
	Block          uint64    `json:"block"`
	At             time.Time `json:"at"`
	UID            uint16    `json:"uid"`
	Stake          uint64    `json:"stake"`
	Incentive      float64   `json:"incentive"`
	Dividends      float64   `json:"dividends"`
	ValidatorTrust float64   `json:"validator_trust"`
	Emission       uint64    `json:"emission"`
}

func (d *db) lastHistoryBlock(ctx context.Context) (uint64, error) {
	var b sql.NullInt64
	if err := d.R.QueryRowContext(ctx, `SELECT max(block) FROM web_neuron_history`).Scan(&b); err != nil {
		return 0, fmt.Errorf("read history: %w", err)
	}
	return uint64(b.Int64), nil
}

func (d *db) addHistory(ctx context.Context, hotkeys []string, pts []HistoryPoint) error {
	tx, err := d.W.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record history: %w", err)
	}
	defer tx.Rollback()
	for i, p := range pts {
		// Replicas recording the same block agree on it: the first wins.
		if _, err := tx.ExecContext(ctx, `INSERT INTO web_neuron_history(block, at, hotkey, uid, stake, incentive, dividends, validator_trust, emission)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`, int64(p.Block), p.At.UnixMilli(), hotkeys[i], int(p.UID), int64(p.Stake),
			u16(p.Incentive), u16(p.Dividends), u16(p.ValidatorTrust), int64(p.Emission)); err != nil {
			return fmt.Errorf("record history: %w", err)
		}
	}
	return tx.Commit()
}

func u16(f float64) int64 { return int64(f*65535 + 0.5) }

// history returns a hotkey's points, oldest first, at most limit (the newest).
func (d *db) history(ctx context.Context, hotkey string, limit int) ([]HistoryPoint, error) {
	rows, err := d.R.QueryContext(ctx, `SELECT block, at, uid, stake, incentive, dividends, validator_trust, emission
		FROM web_neuron_history WHERE hotkey = $1 ORDER BY block DESC LIMIT $2`, hotkey, limit)
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	defer rows.Close()
	var out []HistoryPoint
	for rows.Next() {
		var p HistoryPoint
		var at, stake, inc, div, vt, em, block, uid int64
		if err := rows.Scan(&block, &at, &uid, &stake, &inc, &div, &vt, &em); err != nil {
			return nil, fmt.Errorf("read history: %w", err)
		}
		p.Block, p.UID = uint64(block), uint16(uid)
		p.At, p.Stake, p.Emission = time.UnixMilli(at).UTC(), uint64(stake), uint64(em)
		p.Incentive, p.Dividends, p.ValidatorTrust = float64(inc)/65535, float64(div)/65535, float64(vt)/65535
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

var (
	errNotFound     = errors.New("not found")
	errBadChallenge = errors.New("unknown, used or expired challenge")
)

// clean trims a user-supplied field and checks its length in runes.
func clean(field, s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	if strings.ContainsRune(s, 0) {
		return "", fmt.Errorf("%s: contains a NUL character", field)
	}
	if n := len([]rune(s)); n > max {
		return "", fmt.Errorf("%s: %d characters, at most %d", field, n, max)
	}
	return s, nil
}
