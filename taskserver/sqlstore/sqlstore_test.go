package sqlstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/datarefine/refine/taskserver"
	"github.com/datarefine/refine/taskserver/internal/dbtest"
	"github.com/datarefine/refine/taskserver/sqlstore"
	"github.com/datarefine/refine/taskserver/storetest"
)

func TestConformance(t *testing.T) {
	for _, kind := range dbtest.Backends {
		t.Run(kind, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) taskserver.Store { return dbtest.Open(t, kind) })
		})
	}
}

func TestCheckFindsViolations(t *testing.T) {
	for _, kind := range dbtest.Backends {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			s := dbtest.Open(t, kind)
			now := taskserver.Stamp{Time: time.Now().UTC(), Block: 1}
			if _, err := s.AddTasks(ctx, []taskserver.NewTask{{Crawl: "C", WARCs: []string{"a"}}, {Crawl: "C", WARCs: []string{"b"}}}, now); err != nil {
				t.Fatal(err)
			}
			req := taskserver.LeaseRequest{Hotkey: "hk", At: now, Duration: time.Hour, TTL: time.Hour, MaxLive: 5}
			l, _, err := s.Lease(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Complete(ctx, l.ID, "hk", "1:r@v:1:89abcdef", 0, now); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Lease(ctx, req); err != nil {
				t.Fatal(err)
			}
			if v, err := s.Check(ctx); err != nil || len(v) != 0 {
				t.Fatalf("healthy database: %v, %v", v, err)
			}
			// Break the rules behind the store's back.
			for _, q := range []string{
				`UPDATE tasks SET state = 'pending' WHERE id = 2`,
				`UPDATE leases SET commitment = NULL WHERE id = 1`,
			} {
				if _, err := sqlstore.DB(s).ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			v, err := s.Check(ctx)
			if err != nil || len(v) != 2 || !strings.Contains(v[0], "live lease's task is not leased") || !strings.Contains(v[1], "no commitment") {
				t.Fatalf("violations = %q, %v", v, err)
			}
		})
	}
}

// TestReopenKeepsDataAndMigratesOnce reopens a database: migrations are
// not re-applied and the data is still there.
func TestReopenKeepsDataAndMigratesOnce(t *testing.T) {
	for _, kind := range dbtest.Backends {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			dsn := dbtest.DSN(t, kind)
			for i := 0; i < 2; i++ {
				s, err := sqlstore.Open(ctx, dsn)
				if err != nil {
					t.Fatalf("open %d: %v", i, err)
				}
				n, err := s.AddTasks(ctx, []taskserver.NewTask{{Crawl: "C", WARCs: []string{"a"}}}, taskserver.Stamp{Time: time.Now()})
				if err != nil || n != 1-i {
					t.Fatalf("open %d: AddTasks = %d, %v", i, n, err)
				}
				var versions int
				if err := sqlstore.DB(s).QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&versions); err != nil || versions != 4 {
					t.Fatalf("open %d: %d migrations recorded, %v", i, versions, err)
				}
				s.Close()
			}
		})
	}
}
