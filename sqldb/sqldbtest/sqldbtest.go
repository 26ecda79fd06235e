// Package sqldbtest gives tests fresh databases of both kinds sqldb opens:
// a SQLite file in a temp dir, and a PostgreSQL schema of its own in the
// server named by REFINE_TEST_POSTGRES (a DSN). Without that variable the
// PostgreSQL variants skip, except under CI (CI set), where they fail: CI
// must test both databases.
package sqldbtest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
)

// Backends are the databases every store test runs on.
var Backends = []string{"sqlite", "postgres"}

// DSN returns a DSN for an empty database of kind, removed after the test.
func DSN(t testing.TB, kind string) string {
	t.Helper()
	switch kind {
	case "sqlite":
		return filepath.Join(t.TempDir(), "test.db")
	case "postgres":
		return postgresDSN(t)
	}
	t.Fatalf("unknown database %q", kind)
	return ""
}

// postgresDSN creates a schema of its own and returns a DSN whose
// search_path points at it, so tests never see each other's tables.
func postgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv("REFINE_TEST_POSTGRES")
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("REFINE_TEST_POSTGRES is not set under CI: .ci/run must start PostgreSQL")
		}
		t.Skip("REFINE_TEST_POSTGRES not set: skipping PostgreSQL")
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", base, err)
	}
	defer db.Close()
	var b [6]byte
	rand.Read(b[:])
	schema := "ts_test_" + hex.EncodeToString(b[:])
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("REFINE_TEST_POSTGRES: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
