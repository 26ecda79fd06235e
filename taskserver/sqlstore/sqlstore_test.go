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
				if err := sqlstore.DB(s).QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&versions); err != nil || versions != 5 {
					t.Fatalf("open %d: %d migrations recorded, want 5, %v", i, versions, err)
				}
				s.Close()
			}
		})
	}
}

// TestMigration5Backfill: scores published before migration 5 (no lease,
// verdict or counts in their columns) get their lease by task and hotkey,
// their verdict and counts from the detail, and accepted submissions their
// volume.
func TestMigration5Backfill(t *testing.T) {
	for _, kind := range dbtest.Backends {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			s := dbtest.Open(t, kind)
			now := taskserver.Stamp{Time: time.Now().UTC(), Block: 1}
			if _, err := s.AddTasks(ctx, []taskserver.NewTask{{Crawl: "C", WARCs: []string{"a"}}}, now); err != nil {
				t.Fatal(err)
			}
			l, _, err := s.Lease(ctx, taskserver.LeaseRequest{Hotkey: "hk", At: now, Duration: time.Hour, TTL: time.Hour, MaxLive: 5})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Complete(ctx, l.ID, "hk", "r1:o/r@"+strings.Repeat("a", 40)+":1:0123456789abcdef", 0, now); err != nil {
				t.Fatal(err)
			}
			db := sqlstore.DB(s)
			// Two legacy scores as migration 4 left them, the submission accepted.
			for _, q := range []string{
				`UPDATE leases SET decision = 'accepted'`,
				`INSERT INTO scores(validator, hotkey, task_id, score, detail, at, block) VALUES ('v1', 'hk', 1, 2.5, '{"accepted":true,"documents":9,"tokens":90,"measured_tokens":90}', 1, 1)`,
				`INSERT INTO scores(validator, hotkey, task_id, score, detail, at, block) VALUES ('v2', 'hk', 1, 0.7, 'not json', 1, 1)`,
				`UPDATE scores SET lease_id = (SELECT max(l.id) FROM leases l WHERE l.task_id = scores.task_id AND l.hotkey = scores.hotkey AND l.state = 'completed')`,
			} {
				if _, err := db.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := sqlstore.Backfill5(ctx, tx); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			sc, err := s.ScoresOf(ctx, taskserver.ScoreQuery{LeaseID: l.ID, Limit: 10})
			if err != nil || len(sc) != 2 || !sc[0].Accepted || !sc[1].Accepted || sc[1].LeaseID != l.ID {
				t.Fatalf("backfilled scores = %+v, %v", sc, err)
			}
			vol, err := s.Volume(ctx)
			if err != nil || len(vol) != 1 || vol[0].Volume != (taskserver.Volume{Submissions: 1, Counted: 1, Documents: 9, Tokens: 90}) {
				t.Fatalf("volume = %+v, %v", vol, err)
			}
		})
	}
}
