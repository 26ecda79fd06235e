// Package sqldb opens the databases the task server and the website keep
// their state in, SQLite (modernc.org/sqlite, pure Go, WAL) or PostgreSQL
// (pgx), with one set of SQL statements: both accept $N placeholders,
// RETURNING, ON CONFLICT and partial indexes. What differs (identity
// columns, binary and float types, row locks) the caller asks the DB.
//
// A SQLite database gets one writer connection, which serialises writers
// without SQLITE_BUSY, and a pool of read-only connections that read
// concurrently with it (WAL); a PostgreSQL one pool for both.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"
)

// DB is an open database: W runs every transaction that writes, R the
// reads (the same pool on PostgreSQL).
type DB struct {
	W, R     *sql.DB
	Postgres bool
}

// IsPostgres reports whether dsn names a PostgreSQL database
// ("postgres://…" or "postgresql://…"); anything else is a SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// SQLiteFile returns the file a SQLite DSN names (a path, or
// sqlite://path), and false for a server URL (postgres://…, any other
// scheme) or ":memory:".
func SQLiteFile(dsn string) (string, bool) {
	if dsn == ":memory:" || strings.Contains(dsn, "://") && !strings.HasPrefix(dsn, "sqlite://") {
		return "", false
	}
	return strings.TrimPrefix(dsn, "sqlite://"), true
}

// Open opens (creating if needed) the database named by dsn: a PostgreSQL
// URL, or a SQLite file path, optionally prefixed with sqlite:// (":memory:"
// is not supported: use a temp file).
func Open(ctx context.Context, dsn string) (*DB, error) {
	d := &DB{Postgres: IsPostgres(dsn)}
	var err error
	if d.Postgres {
		if d.W, err = sql.Open("pgx", dsn); err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		d.W.SetMaxOpenConns(32)
		d.W.SetMaxIdleConns(32)
		d.R = d.W
	} else {
		file, ok := SQLiteFile(dsn)
		if !ok || file == "" {
			return nil, errors.New("sqlite: need a file path")
		}
		if d.W, err = OpenSQLite(file, SQLite{Immediate: true, ForeignKeys: true}); err != nil {
			return nil, err
		}
		if d.R, err = OpenSQLite(file, SQLite{ReadOnly: true, MaxOpen: 4}); err != nil {
			d.W.Close()
			return nil, err
		}
	}
	if err := d.W.PingContext(ctx); err != nil {
		d.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return d, nil
}

// SQLite is how a pool of connections to a SQLite file is opened. Every
// connection is WAL (readers do not block the writer) with synchronous
// NORMAL (a crash of the process loses nothing committed; a power loss may
// lose the last transactions, never the file).
type SQLite struct {
	// BusyTimeout is how long a statement waits for a lock another
	// connection holds before it fails with SQLITE_BUSY (default 10 s).
	BusyTimeout time.Duration
	// Immediate begins every transaction with BEGIN IMMEDIATE: it takes
	// the write lock at once, so a transaction that reads and then writes
	// never fails midway because another writer came first.
	Immediate bool
	// ForeignKeys enforces foreign key constraints.
	ForeignKeys bool
	// ReadOnly refuses writes (query_only): a pool of readers beside the
	// one writer.
	ReadOnly bool
	// MaxOpen bounds the pool (default 1: one writer serialises the
	// writes without SQLITE_BUSY).
	MaxOpen int
}

// OpenSQLite opens a pool on the SQLite file path (created if needed), or
// on a private in-memory database for ":memory:", which exists per
// connection and so gets one. It is the one place the SQLite connection
// settings are written; Open uses it for the task server's and the
// website's databases, the devchain and the validator for their state.
func OpenSQLite(path string, o SQLite) (*sql.DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: need a file path")
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 10 * time.Second
	}
	if o.MaxOpen <= 0 || path == ":memory:" {
		o.MaxOpen = 1
	}
	var q []string
	if !o.ReadOnly && path != ":memory:" {
		// Set by the writer; a reader finds the file in WAL already.
		q = append(q, "_pragma=journal_mode(WAL)", "_pragma=synchronous(NORMAL)")
	}
	q = append(q, fmt.Sprintf("_pragma=busy_timeout(%d)", o.BusyTimeout.Milliseconds()))
	if o.ForeignKeys {
		q = append(q, "_pragma=foreign_keys(ON)")
	}
	if o.ReadOnly {
		q = append(q, "_pragma=query_only(1)")
	}
	if o.Immediate {
		q = append(q, "_txlock=immediate")
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+strings.Join(q, "&"))
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	db.SetMaxOpenConns(o.MaxOpen)
	return db, nil
}

// Close closes the handles.
func (d *DB) Close() error {
	err := d.W.Close()
	if d.R != d.W {
		err = errors.Join(err, d.R.Close())
	}
	return err
}

// ID is the type of an auto-incremented primary key column.
func (d *DB) ID() string {
	if d.Postgres {
		return "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
	}
	return "INTEGER PRIMARY KEY"
}

// Real is the type of a float column.
func (d *DB) Real() string {
	if d.Postgres {
		return "DOUBLE PRECISION"
	}
	return "REAL"
}

// Blob is the type of a binary column.
func (d *DB) Blob() string {
	if d.Postgres {
		return "BYTEA"
	}
	return "BLOB"
}

// Migration is one step of a schema: its statements (separated by ';'),
// then After, if set, in the same transaction.
type Migration struct {
	SQL   string
	After func(ctx context.Context, tx *sql.Tx) error
}

// Migrate applies migrations in order, each once, recorded in table
// (version, applied_at), each in a transaction. On PostgreSQL the
// transaction first takes the advisory lock lock, so that replicas
// starting together migrate one at a time. Never edit a released
// migration: add a new one.
func (d *DB) Migrate(ctx context.Context, table string, lock int64, migrations []Migration) error {
	if _, err := d.W.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for i, m := range migrations {
		version := i + 1
		if err := d.migrate1(ctx, table, lock, version, m); err != nil {
			return fmt.Errorf("migration %d of %s: %w", version, table, err)
		}
	}
	return nil
}

func (d *DB) migrate1(ctx context.Context, table string, lock int64, version int, m Migration) error {
	tx, err := d.W.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if d.Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lock); err != nil {
			return err
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+table+` WHERE version = $1`, version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	for _, stmt := range strings.Split(m.SQL, ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", strings.TrimSpace(stmt), err)
		}
	}
	if m.After != nil {
		if err := m.After(ctx, tx); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO `+table+`(version, applied_at) VALUES ($1, $2)`, version, time.Now().UnixMilli()); err != nil {
		return err
	}
	return tx.Commit()
}
