package taskserver_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/datarefine/refine/taskserver"
	"github.com/datarefine/refine/taskserver/sqlstore"
)

// The public reads (/v1/stats, /v1/miners, /v1/throughput, ...) are
// unauthenticated: anybody can ask for them as often as the rate limit
// allows, so each must cost the server a bounded amount whatever the size
// of the database. The benchmark measures them on a task database of
// 500,000 leases (one task each, 60% completed, 300 miners, a week of
// activity), built once with bulk SQL and cached in the temp folder:
//
//	go test ./taskserver -run '^$' -bench PublicReads -benchtime 20x
const (
	readLeases = 500_000
	readTasks  = readLeases
	readMiners = 300
)

func readStore(b *testing.B) (*sqlstore.Store, time.Time) {
	b.Helper()
	ctx := context.Background()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("refine-taskserver-reads-v2-%d-%d.db", readTasks, readLeases))
	// The newest lease is one minute before the recorded end time, so the
	// "last hour" and "last day" windows hold the same data on every run.
	endFile := path + ".end"
	if raw, err := os.ReadFile(endFile); err == nil {
		end, err := time.Parse(time.RFC3339Nano, string(raw))
		if err == nil {
			st, err := sqlstore.Open(ctx, path)
			if err != nil {
				b.Fatal(err)
			}
			return st, end
		}
	}
	os.Remove(path)
	b.Logf("building %s (once)", path)
	st, err := sqlstore.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	var tasks []taskserver.NewTask
	for i := 0; i < readTasks; i++ {
		tasks = append(tasks, taskserver.NewTask{Crawl: "CC-MAIN-2024-10", WARCs: []string{fmt.Sprintf("w/%07d.warc.gz", i)}})
	}
	end := time.Now().UTC().Truncate(time.Millisecond)
	start := end.Add(-7 * 24 * time.Hour)
	if _, err := st.AddTasks(ctx, tasks, taskserver.Stamp{Time: start, Block: 1}); err != nil {
		b.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	insLease, err := tx.Prepare(`INSERT INTO leases(id, task_id, hotkey, state, granted_at, granted_block, deadline, expires_at, heartbeat_at, ended_at, ended_block, commitment, commit_block)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`)
	if err != nil {
		b.Fatal(err)
	}
	insEvent, err := tx.Prepare(`INSERT INTO events(at, block, kind, task_id, lease_id, hotkey, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)`)
	if err != nil {
		b.Fatal(err)
	}
	// Every submission is decided and carries one published score (of 16
	// validators), as the explorer's reads expect: most accepted, with
	// their counts.
	decide, err := tx.Prepare(`UPDATE leases SET decision = $1, decided_at = $2, decided_block = $3, documents = $4, tokens = $5 WHERE id = $6`)
	if err != nil {
		b.Fatal(err)
	}
	insScore, err := tx.Prepare(`INSERT INTO scores(validator, hotkey, task_id, lease_id, accepted, score, detail, documents, tokens, at, block)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	step := (7*24*time.Hour - time.Minute) / readLeases
	for i := 0; i < readLeases; i++ {
		granted := start.Add(time.Duration(i) * step)
		hk := fmt.Sprintf("5ReadMiner%04dxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", rng.IntN(readMiners))
		id := int64(i + 1)
		taskID := id
		blk := int64(i/4 + 1)
		var state string
		var ended, eblock, cblock any
		var commitment any
		switch r := rng.IntN(10); {
		case r < 6:
			state = "completed"
			ended, eblock, cblock = granted.Add(20*time.Minute).UnixMilli(), blk+100, blk+99
			commitment = fmt.Sprintf("r1:m/refined@%040x:%d:%016x", i, taskID, i)
		case r < 9:
			state = "expired"
			ended, eblock = granted.Add(10*time.Minute).UnixMilli(), blk+50
		default:
			state = "released"
			ended, eblock = granted.Add(5*time.Minute).UnixMilli(), blk+25
		}
		if _, err := insLease.Exec(id, taskID, hk, state, granted.UnixMilli(), blk, granted.Add(6*time.Hour).UnixMilli(),
			granted.Add(10*time.Minute).UnixMilli(), granted.UnixMilli(), ended, eblock, commitment, cblock); err != nil {
			b.Fatal(err)
		}
		if _, err := insEvent.Exec(granted.UnixMilli(), blk, "leased", taskID, id, hk, nil); err != nil {
			b.Fatal(err)
		}
		if _, err := insEvent.Exec(ended, eblock, state, taskID, id, hk, commitment); err != nil {
			b.Fatal(err)
		}
		if state == "completed" {
			accepted := rng.IntN(20) != 0
			decision, docs, tokens := "rejected", any(nil), any(nil)
			if accepted {
				decision, docs, tokens = "accepted", int64(1000+i%300), int64(900_000+i%5000)
			}
			at := granted.Add(25 * time.Minute).UnixMilli()
			if _, err := decide.Exec(decision, at, blk+110, docs, tokens, id); err != nil {
				b.Fatal(err)
			}
			if _, err := insScore.Exec(fmt.Sprintf("5ReadValidator%02dxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", i%16), hk, taskID, id, accepted, 0.8,
				`{"quality":0.8}`, docs, tokens, at, blk+110); err != nil {
				b.Fatal(err)
			}
		}
	}
	if _, err := tx.Exec(`UPDATE tasks SET state = 'done' WHERE id IN (SELECT task_id FROM leases WHERE decision = 'accepted')`); err != nil {
		b.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if v, err := st.Check(ctx); err != nil || len(v) > 0 {
		b.Fatalf("fixture breaks the lease rules: %v %v", v[:min(len(v), 3)], err)
	}
	if err := os.WriteFile(endFile, []byte(end.Format(time.RFC3339Nano)), 0o600); err != nil {
		b.Fatal(err)
	}
	return st, end
}

// BenchmarkPublicReads measures each public read against a 500,000-lease
// database: latency (p50, p99 over the iterations) and response size,
// without the answer cache (every request reaches the database) and with
// it. Requests are made a second apart in the server's clock, as a client
// polling the API would.
func BenchmarkPublicReads(b *testing.B) {
	ctx := context.Background()
	st, end := readStore(b)
	defer st.Close()
	fc := &fakeChain{block: readLeases/4 + 200}
	roster := taskserver.NewRoster(fc, 1, nil)
	if err := roster.Refresh(ctx); err != nil {
		b.Fatal(err)
	}
	now := end.Add(time.Minute)
	clock := func() time.Time { return now }
	svc := taskserver.NewService(taskserver.Options{Store: st, Roster: roster, Now: clock})
	for _, mode := range []struct {
		name string
		ttl  time.Duration
	}{{"uncached", -1}, {"cached", 0}} {
		api, err := taskserver.NewAPI(taskserver.APIOptions{Service: svc, SignedFor: benchServer, Rate: -1, PublicRate: -1, PublicCacheTTL: mode.ttl})
		if err != nil {
			b.Fatal(err)
		}
		for _, path := range []string{"/v1/stats", "/v1/miners", "/v1/throughput", "/v1/events", "/v1/scores", "/v1/accepted",
			"/v1/validators", "/v1/volume", "/v1/metagraph", "/v1/events?kind=completed,accepted,rejected"} {
			b.Run(mode.name+"/"+strings.TrimPrefix(path, "/v1/"), func(b *testing.B) {
				lat := make([]time.Duration, 0, b.N)
				size := 0
				for i := 0; i < b.N; i++ {
					now = now.Add(time.Second)
					rec := httptest.NewRecorder()
					t0 := time.Now()
					api.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
					lat = append(lat, time.Since(t0))
					if rec.Code != http.StatusOK {
						b.Fatalf("%s: %d %s", path, rec.Code, rec.Body.String())
					}
					size = rec.Body.Len()
				}
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[(len(lat)*99)/100].Microseconds())/1000, "p99-ms")
				b.ReportMetric(float64(size)/1024, "KiB")
			})
		}
	}
}
