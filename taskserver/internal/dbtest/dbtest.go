// Package dbtest opens fresh task databases for tests, of each kind
// sqldbtest gives (SQLite, and PostgreSQL under REFINE_TEST_POSTGRES).
package dbtest

import (
	"context"
	"testing"

	"github.com/datarefine/refine/sqldb/sqldbtest"
	"github.com/datarefine/refine/taskserver/sqlstore"
)

// Backends are the databases every store test runs on.
var Backends = sqldbtest.Backends

// DSN returns a DSN for an empty database of kind, removed after the test.
func DSN(t testing.TB, kind string) string {
	t.Helper()
	return sqldbtest.DSN(t, kind)
}

// Open opens a fresh store of kind, closed after the test.
func Open(t testing.TB, kind string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), DSN(t, kind))
	if err != nil {
		t.Fatalf("open %s store: %v", kind, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
