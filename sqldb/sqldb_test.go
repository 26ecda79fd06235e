package sqldb_test

import (
	"context"
	"database/sql"
	"testing"

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
