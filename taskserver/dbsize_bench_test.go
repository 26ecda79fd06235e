package taskserver_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/datarefine/refine/acceptance"
	"github.com/datarefine/refine/taskapi"
	"github.com/datarefine/refine/taskserver"
	"github.com/datarefine/refine/taskserver/internal/dbtest"
	"github.com/datarefine/refine/taskserver/sqlstore"
)

// BenchmarkDatabaseSize measures what the task database stores per task
// of a dump, for the scale model (docs/scale.md): 2,000 tasks, each
// leased, heartbeaten twice and completed, then reported on by validators
// (a verdict's detail of 1.5 KB, as a validator's report carries) and the
// reports released as scores. It reports the bytes on disk per task
// (lease, events and submission included) and per report (its published
// score included), on SQLite (the file, after a checkpoint) and on
// PostgreSQL (the tables' and indexes' relation sizes; skipped without
// REFINE_TEST_POSTGRES):
//
//	go test ./taskserver -run '^$' -bench DatabaseSize -benchtime 1x
func BenchmarkDatabaseSize(b *testing.B) {
	const tasks, validators = 2000, 4
	detail := `{"accepted":true,"documents":1800,"tokens":1500000,"measured_tokens":1499000,` + strings.Repeat(`"x":0,`, 200) + `"quality":1}`
	for _, kind := range dbtest.Backends {
		b.Run(kind, func(b *testing.B) {
			for b.Loop() {
				ctx := context.Background()
				dsn := dbtest.DSN(b, kind)
				s, err := sqlstore.Open(ctx, dsn)
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				size := func() int64 { return dbSize(b, kind, dsn) }
				empty := size()
				var nt []taskserver.NewTask
				for i := range tasks {
					nt = append(nt, taskserver.NewTask{Crawl: "CC-MAIN-2024-10", WARCs: []string{
						fmt.Sprintf("crawl-data/CC-MAIN-2024-10/segments/1707947473347.0/warc/CC-MAIN-20240220211055-20240221001055-%05d.warc.gz", i)}})
				}
				t0 := time.Unix(1_700_000_000, 0)
				stamp := func(i int, d time.Duration) taskserver.Stamp {
					return taskserver.Stamp{Time: t0.Add(time.Duration(i)*time.Second + d), Block: uint64(i + 1)}
				}
				if _, err := s.AddTasks(ctx, nt, stamp(0, 0)); err != nil {
					b.Fatal(err)
				}
				var leases []taskapi.Lease
				for i := range tasks {
					hk := fmt.Sprintf("5Miner%03dxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", i%200)
					l, task, err := s.Lease(ctx, taskserver.LeaseRequest{Hotkey: hk, At: stamp(i, 0), Duration: 6 * time.Hour, TTL: 10 * time.Minute, MaxLive: 4})
					if err != nil {
						b.Fatal(err)
					}
					for h := range 2 {
						if _, err := s.Heartbeat(ctx, l.ID, hk, 10*time.Minute, stamp(i, time.Duration(h+1)*time.Minute)); err != nil {
							b.Fatal(err)
						}
					}
					c := fmt.Sprintf("r1:miner-%03d/refined@%040x:%d:%016x", i%200, i, task.ID, i)
					if l, err = s.Complete(ctx, l.ID, hk, c, uint64(i+10), stamp(i, 5*time.Minute)); err != nil {
						b.Fatal(err)
					}
					leases = append(leases, l)
				}
				withTasks := size()
				decide := func(votes []acceptance.Vote) (acceptance.Outcome, error) {
					for i := range votes {
						votes[i].Stake = 100
					}
					d, err := acceptance.Rule{}.Decide(votes)
					return d.Outcome, err
				}
				for v := range validators {
					vk := fmt.Sprintf("5Validator%02dxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", v)
					for i, l := range leases {
						r := taskapi.Report{Validator: vk, LeaseID: l.ID, TaskID: l.TaskID, Hotkey: l.Hotkey, Commitment: l.Commitment,
							Accepted: true, Score: 0.5, Detail: detail, WeightsRound: 1}
						if _, _, err := s.Report(ctx, r, decide, stamp(i, time.Hour)); err != nil {
							b.Fatal(err)
						}
					}
					if _, err := s.ReleaseReports(ctx, vk, 1, stamp(tasks, 2*time.Hour)); err != nil {
						b.Fatal(err)
					}
				}
				withReports := size()
				b.ReportMetric(float64(withTasks-empty)/tasks, "B/task")
				b.ReportMetric(float64(withReports-withTasks)/(tasks*validators), "B/report")
			}
		})
	}
}

// dbSize is the database's size on disk: the SQLite file after a
// checkpoint, or the PostgreSQL schema's relations.
func dbSize(b *testing.B, kind, dsn string) int64 {
	b.Helper()
	switch kind {
	case "sqlite":
		db, err := sql.Open("sqlite", "file:"+dsn+"?_pragma=busy_timeout(10000)")
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			b.Fatal(err)
		}
		st, err := os.Stat(dsn)
		if err != nil {
			b.Fatal(err)
		}
		return st.Size()
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	u, err := url.Parse(dsn)
	if err != nil {
		b.Fatal(err)
	}
	schema := strings.TrimPrefix(u.Query().Get("search_path"), "")
	var n int64
	if err := db.QueryRow(`SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
		WHERE ns.nspname = $1 AND c.relkind = 'r'`, schema).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}
