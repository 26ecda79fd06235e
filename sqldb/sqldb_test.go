package sqldb_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/datarefine/refine/sqldb"
	"github.com/datarefine/refine/sqldb/sqldbtest"
)

// TestMigrateOnceAndReopen: migrations run once each (their After hook
// too), in order, also when the database is opened again, on both kinds.
func TestMigrateOnceAndReopen(t *testing.T) {
	for _, kind := range sqldbtest.Backends {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			dsn := sqldbtest.DSN(t, kind)
			hooks := 0
			for open := 0; open < 2; open++ {
				db, err := sqldb.Open(ctx, dsn)
				if err != nil {
					t.Fatal(err)
				}
				ms := []sqldb.Migration{
					{SQL: `CREATE TABLE things (id ` + db.ID() + `, name TEXT NOT NULL, weight ` + db.Real() + `, data ` + db.Blob() + `)`},
					{SQL: `ALTER TABLE things ADD COLUMN tag TEXT; INSERT INTO things(name, data) VALUES ('a', $$x$$)`, After: func(ctx context.Context, tx *sql.Tx) error {
						hooks++
						_, err := tx.ExecContext(ctx, `UPDATE things SET tag = 'hooked'`)
						return err
					}},
				}
				if kind == "sqlite" {
					ms[1].SQL = `ALTER TABLE things ADD COLUMN tag TEXT; INSERT INTO things(name, data) VALUES ('a', x'78')`
				}
				if err := db.Migrate(ctx, "test_migrations", 42, ms); err != nil {
					t.Fatalf("open %d: %v", open, err)
				}
				var n int
				var tag string
				if err := db.R.QueryRowContext(ctx, `SELECT count(*), max(tag) FROM things`).Scan(&n, &tag); err != nil || n != 1 || tag != "hooked" || hooks != 1 {
					t.Fatalf("open %d: %d rows, tag %q, %d hooks, %v", open, n, tag, hooks, err)
				}
				var id int64
				if err := db.W.QueryRowContext(ctx, `INSERT INTO things(name) VALUES ($1) RETURNING id`, "b").Scan(&id); err != nil || id <= 1 {
					t.Fatalf("identity: %d, %v", id, err)
				}
				if _, err := db.W.ExecContext(ctx, `DELETE FROM things WHERE id = $1`, id); err != nil {
					t.Fatal(err)
				}
				db.Close()
			}
		})
	}
}

// TestOpenSQLite: the connection settings each option asks for are the
// ones the connections have.
func TestOpenSQLite(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "x.db")
	pragma := func(db *sql.DB, name string) string {
		t.Helper()
		var v string
		if err := db.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v); err != nil {
			t.Fatalf("PRAGMA %s: %v", name, err)
		}
		return v
	}
	w, err := sqldb.OpenSQLite(file, sqldb.SQLite{BusyTimeout: 5 * time.Second, ForeignKeys: true, Immediate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if got := []string{pragma(w, "journal_mode"), pragma(w, "synchronous"), pragma(w, "busy_timeout"), pragma(w, "foreign_keys")}; strings.Join(got, " ") != "wal 1 5000 1" {
		t.Errorf("writer journal_mode, synchronous, busy_timeout, foreign_keys = %v", got)
	}
	if w.Stats().MaxOpenConnections != 1 {
		t.Errorf("writer pool of %d", w.Stats().MaxOpenConnections)
	}
	if _, err := w.ExecContext(ctx, `CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1)`); err != nil {
		t.Fatal(err)
	}

	r, err := sqldb.OpenSQLite(file, sqldb.SQLite{ReadOnly: true, MaxOpen: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if pragma(r, "busy_timeout") != "10000" || pragma(r, "query_only") != "1" || pragma(r, "journal_mode") != "wal" || r.Stats().MaxOpenConnections != 8 {
		t.Errorf("reader busy_timeout %s, query_only %s, journal %s, pool %d", pragma(r, "busy_timeout"), pragma(r, "query_only"), pragma(r, "journal_mode"), r.Stats().MaxOpenConnections)
	}
	var n int
	if err := r.QueryRowContext(ctx, `SELECT x FROM t`).Scan(&n); err != nil || n != 1 {
		t.Errorf("reader sees %d, %v", n, err)
	}
	if _, err := r.ExecContext(ctx, `INSERT INTO t VALUES (2)`); err == nil {
		t.Error("the read-only pool wrote")
	}

	// Immediate: BEGIN takes the write lock, so a second writer's BEGIN
	// waits its busy timeout and fails; a deferred BEGIN does not.
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := sqldb.OpenSQLite(file, sqldb.SQLite{BusyTimeout: 50 * time.Millisecond, Immediate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if tx2, err := other.BeginTx(ctx, nil); err == nil {
		tx2.Rollback()
		t.Error("a second immediate transaction began beside the first")
	}
	deferred, err := sqldb.OpenSQLite(file, sqldb.SQLite{BusyTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer deferred.Close()
	tx3, err := deferred.BeginTx(ctx, nil)
	if err != nil {
		t.Errorf("a deferred transaction: %v", err)
	} else {
		tx3.Rollback()
	}
	tx.Rollback()

	// In memory: one connection, so every statement sees the same
	// database.
	m, err := sqldb.OpenSQLite(":memory:", sqldb.SQLite{MaxOpen: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Stats().MaxOpenConnections != 1 {
		t.Errorf("in-memory pool of %d", m.Stats().MaxOpenConnections)
	}
	if _, err := m.ExecContext(ctx, `CREATE TABLE t (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	if err := m.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil {
		t.Errorf("in memory: %v", err)
	}
	if _, err := os.Stat(":memory:"); err == nil {
		t.Error("a file named :memory: was created")
	}
}

func TestSQLiteFile(t *testing.T) {
	for dsn, want := range map[string]string{
		"tasks.db": "tasks.db", "sqlite:///var/lib/refine/tasks.db": "/var/lib/refine/tasks.db", "dir/web.db": "dir/web.db",
		":memory:": "", "postgres://u@h/db": "", "postgresql://u@h/db": "", "mysql://u@h/db": "",
	} {
		got, ok := sqldb.SQLiteFile(dsn)
		if got != want || ok != (want != "") {
			t.Errorf("SQLiteFile(%q) = %q, %v; want %q", dsn, got, ok, want)
		}
	}
}
