package web

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// db holds the website's own state: the session signing key, sign-in
// challenges, revoked sessions, profiles, posts and the metagraph history
// the charts draw. It never touches the task server's tables.
type db struct {
	w, r *sql.DB
}

const schema = `
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS challenges (
	nonce TEXT PRIMARY KEY, hotkey TEXT NOT NULL, message TEXT NOT NULL,
	expires_at INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS sessions (
	id TEXT PRIMARY KEY, hotkey TEXT NOT NULL, created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS profiles (
	hotkey TEXT PRIMARY KEY, display_name TEXT NOT NULL DEFAULT '', dataset_repo TEXT NOT NULL DEFAULT '',
	contact TEXT NOT NULL DEFAULT '', description TEXT NOT NULL DEFAULT '', updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS posts (
	id INTEGER PRIMARY KEY AUTOINCREMENT, thread_id INTEGER, author TEXT NOT NULL,
	title TEXT NOT NULL DEFAULT '', body TEXT NOT NULL, created_at INTEGER NOT NULL,
	hidden INTEGER NOT NULL DEFAULT 0, hidden_by TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS posts_thread ON posts(thread_id, id);
CREATE INDEX IF NOT EXISTS posts_author ON posts(author, created_at);
CREATE TABLE IF NOT EXISTS neuron_history (
	block INTEGER NOT NULL, at INTEGER NOT NULL, hotkey TEXT NOT NULL, uid INTEGER NOT NULL,
	stake INTEGER NOT NULL, incentive INTEGER NOT NULL, dividends INTEGER NOT NULL,
	validator_trust INTEGER NOT NULL, emission INTEGER NOT NULL, PRIMARY KEY (hotkey, block));
CREATE INDEX IF NOT EXISTS neuron_history_block ON neuron_history(block);
`

func openDB(ctx context.Context, path string) (*db, error) {
	if path == "" || path == ":memory:" {
		return nil, errors.New("web database: need a file path")
	}
	q := "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	w, err := sql.Open("sqlite", "file:"+path+q)
	if err != nil {
		return nil, fmt.Errorf("open web database %s: %w", path, err)
	}
	// One writer connection serialises writes without SQLITE_BUSY.
	w.SetMaxOpenConns(1)
	if _, err := w.ExecContext(ctx, schema); err != nil {
		w.Close()
		return nil, fmt.Errorf("create web tables in %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open web database %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	return &db{w: w, r: r}, nil
}

func (d *db) Close() error {
	return errors.Join(d.w.Close(), d.r.Close())
}

// secret returns the named random key, creating it on first use, so that
// sessions survive restarts and replicas sharing the file agree.
func (d *db) secret(ctx context.Context, name string) ([]byte, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate %s: %w", name, err)
	}
	if _, err := d.w.ExecContext(ctx, `INSERT INTO settings(name, value) VALUES (?, ?) ON CONFLICT(name) DO NOTHING`, name, key); err != nil {
		return nil, fmt.Errorf("store %s: %w", name, err)
	}
	var out []byte
	if err := d.w.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = ?`, name).Scan(&out); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return out, nil
}

func (d *db) addChallenge(ctx context.Context, nonce, hotkey, msg string, expires time.Time) error {
	// Expired challenges are dropped on the way, so the table stays small.
	if _, err := d.w.ExecContext(ctx, `DELETE FROM challenges WHERE expires_at < ?`, time.Now().UnixMilli()); err != nil {
		return fmt.Errorf("prune challenges: %w", err)
	}
	_, err := d.w.ExecContext(ctx, `INSERT INTO challenges(nonce, hotkey, message, expires_at) VALUES (?, ?, ?, ?)`,
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
	err := d.w.QueryRowContext(ctx, `UPDATE challenges SET used = 1
		WHERE nonce = ? AND hotkey = ? AND used = 0 AND expires_at >= ? RETURNING message`,
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
	if _, err := d.w.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < ?`, created.UnixMilli()); err != nil {
		return fmt.Errorf("prune sessions: %w", err)
	}
	_, err := d.w.ExecContext(ctx, `INSERT INTO sessions(id, hotkey, created_at, expires_at) VALUES (?, ?, ?, ?)`,
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
	err := d.r.QueryRowContext(ctx, `SELECT count(*) FROM sessions WHERE id = ? AND hotkey = ? AND revoked = 0`, id, hotkey).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("read session: %w", err)
	}
	return n == 1, nil
}

func (d *db) revokeSession(ctx context.Context, id string) error {
	if _, err := d.w.ExecContext(ctx, `UPDATE sessions SET revoked = 1 WHERE id = ?`, id); err != nil {
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
	err := d.r.QueryRowContext(ctx, `SELECT display_name, dataset_repo, contact, description, updated_at FROM profiles WHERE hotkey = ?`, hotkey).
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
	rows, err := d.r.QueryContext(ctx, `SELECT hotkey, display_name FROM profiles WHERE display_name <> ''`)
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
	_, err := d.w.ExecContext(ctx, `INSERT INTO profiles(hotkey, display_name, dataset_repo, contact, description, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(hotkey) DO UPDATE SET display_name = excluded.display_name,
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
	err := d.w.QueryRowContext(ctx, `INSERT INTO posts(thread_id, author, title, body, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		thread, p.Author, p.Title, p.Body, p.CreatedAt.UnixMilli()).Scan(&p.ID)
	if err != nil {
		return p, fmt.Errorf("store post: %w", err)
	}
	return p, nil
}

// postsSince counts an author's posts since a time (for rate limits).
func (d *db) postsSince(ctx context.Context, author string, since time.Time) (int, error) {
	var n int
	err := d.w.QueryRowContext(ctx, `SELECT count(*) FROM posts WHERE author = ? AND created_at >= ?`, author, since.UnixMilli()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count posts: %w", err)
	}
	return n, nil
}

const postCols = `p.id, coalesce(p.thread_id, 0), p.author, p.title, p.body, p.created_at, p.hidden`

func scanPost(r interface{ Scan(...any) error }, extra ...any) (Post, error) {
	var p Post
	var at int64
	args := append([]any{&p.ID, &p.ThreadID, &p.Author, &p.Title, &p.Body, &at, &p.Hidden}, extra...)
	if err := r.Scan(args...); err != nil {
		return p, err
	}
	p.CreatedAt = time.UnixMilli(at).UTC()
	return p, nil
}

// threads lists threads, most recently active first.
func (d *db) threads(ctx context.Context, limit int) ([]Post, error) {
	rows, err := d.r.QueryContext(ctx, `SELECT `+postCols+`,
		(SELECT count(*) FROM posts r WHERE r.thread_id = p.id),
		coalesce((SELECT max(created_at) FROM posts r WHERE r.thread_id = p.id), p.created_at) AS last
		FROM posts p WHERE p.thread_id IS NULL ORDER BY last DESC, p.id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("read threads: %w", err)
	}
	defer rows.Close()
	var out []Post
	for rows.Next() {
		var last int64
		var replies int64
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
	rows, err := d.r.QueryContext(ctx, `SELECT `+postCols+` FROM posts p
		WHERE (p.id = ? AND p.thread_id IS NULL) OR p.thread_id = ? ORDER BY p.id`, id, id)
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
	p, err := scanPost(d.r.QueryRowContext(ctx, `SELECT `+postCols+` FROM posts p WHERE p.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, errNotFound
	}
	if err != nil {
		return p, fmt.Errorf("read post: %w", err)
	}
	return p, nil
}

func (d *db) setHidden(ctx context.Context, id int64, hidden bool, by string) error {
	res, err := d.w.ExecContext(ctx, `UPDATE posts SET hidden = ?, hidden_by = ? WHERE id = ?`, hidden, by, id)
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
	if err := d.r.QueryRowContext(ctx, `SELECT max(block) FROM neuron_history`).Scan(&b); err != nil {
		return 0, fmt.Errorf("read history: %w", err)
	}
	return uint64(b.Int64), nil
}

func (d *db) addHistory(ctx context.Context, hotkeys []string, pts []HistoryPoint) error {
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record history: %w", err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT INTO neuron_history(block, at, hotkey, uid, stake, incentive, dividends, validator_trust, emission)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`)
	if err != nil {
		return fmt.Errorf("record history: %w", err)
	}
	defer st.Close()
	for i, p := range pts {
		if _, err := st.ExecContext(ctx, p.Block, p.At.UnixMilli(), hotkeys[i], p.UID, int64(p.Stake),
			u16(p.Incentive), u16(p.Dividends), u16(p.ValidatorTrust), int64(p.Emission)); err != nil {
			return fmt.Errorf("record history: %w", err)
		}
	}
	return tx.Commit()
}

func u16(f float64) int64 { return int64(f*65535 + 0.5) }

// history returns a hotkey's points, oldest first, at most limit (the newest).
func (d *db) history(ctx context.Context, hotkey string, limit int) ([]HistoryPoint, error) {
	rows, err := d.r.QueryContext(ctx, `SELECT block, at, uid, stake, incentive, dividends, validator_trust, emission
		FROM neuron_history WHERE hotkey = ? ORDER BY block DESC LIMIT ?`, hotkey, limit)
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	defer rows.Close()
	var out []HistoryPoint
	for rows.Next() {
		var p HistoryPoint
		var at, stake, inc, div, vt, em int64
		if err := rows.Scan(&p.Block, &at, &p.UID, &stake, &inc, &div, &vt, &em); err != nil {
			return nil, fmt.Errorf("read history: %w", err)
		}
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

// historyRow is a HistoryPoint with its hotkey.
type historyRow struct {
	HistoryPoint
	Hotkey string
}

// recentHistory returns the newest recorded points (of one hotkey, or
// all when ""), oldest first.
func (d *db) recentHistory(ctx context.Context, hotkey string, limit int) ([]historyRow, error) {
	rows, err := d.r.QueryContext(ctx, `SELECT block, at, hotkey, uid, incentive, dividends, emission FROM neuron_history
		WHERE (? = '' OR hotkey = ?) ORDER BY block DESC, uid LIMIT ?`, hotkey, hotkey, limit)
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	defer rows.Close()
	var out []historyRow
	for rows.Next() {
		var r historyRow
		var at, inc, div, em int64
		if err := rows.Scan(&r.Block, &at, &r.Hotkey, &r.UID, &inc, &div, &em); err != nil {
			return nil, fmt.Errorf("read history: %w", err)
		}
		r.At, r.Emission = time.UnixMilli(at).UTC(), uint64(em)
		r.Incentive, r.Dividends = float64(inc)/65535, float64(div)/65535
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Reverse(out)
	return out, nil
}
