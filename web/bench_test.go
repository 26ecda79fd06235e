package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/datarefine/refine/acceptance"
	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/taskserver"
	"github.com/datarefine/refine/taskserver/client"
	"github.com/datarefine/refine/taskserver/sqlstore"
)

// Benchmark sizes: the target is the overview and the leaderboard
// answering with p99 < 50 ms on 2 cores with 256 miners and 100,000 tasks.
const (
	benchMiners    = 256
	benchTasks     = 100_000
	benchCompleted = 60_000 // leased, completed and scored
)

// staticChain is a metagraph of 256 neurons: 16 validators, 240 miners
// (and the remaining 16 benchmark hotkeys unregistered).
type staticChain struct{ mg *chain.Metagraph }

func (c staticChain) Metagraph(context.Context, uint16) (*chain.Metagraph, error) { return c.mg, nil }
func (c staticChain) Block(context.Context) (chain.Block, error) {
	return chain.Block{Number: c.mg.Block}, nil
}

func benchHotkey(i int) string {
	return fmt.Sprintf("5Miner%04dxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", i)
}

// benchStore builds (once, cached in the temp folder across runs because
// it takes minutes) a task database through the store's API.
func benchStore(b *testing.B) *sqlstore.Store {
	b.Helper()
	ctx := context.Background()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("refine-web-bench-v2-%d-%d.db", benchTasks, benchCompleted))
	_, statErr := os.Stat(path + ".ok")
	st, err := sqlstore.Open(ctx, path)
	must(b, err)
	if statErr == nil {
		return st
	}
	b.Logf("building %s (once)", path)
	start := time.Now().Add(-30 * 24 * time.Hour)
	var tasks []taskserver.NewTask
	for i := 0; i < benchTasks; i++ {
		tasks = append(tasks, taskserver.NewTask{Crawl: fmt.Sprintf("CC-MAIN-2024-%02d", 10+i%4), WARCs: []string{fmt.Sprintf("w/%06d.warc.gz", i)}})
	}
	_, err = st.AddTasks(ctx, tasks, taskserver.Stamp{Time: start, Block: 1})
	must(b, err)
	for i := 0; i < benchCompleted; i++ {
		at := start.Add(time.Duration(i) * 40 * time.Second)
		hk := benchHotkey(i % benchMiners)
		l, task, err := st.Lease(ctx, taskserver.LeaseRequest{Hotkey: hk, At: taskserver.Stamp{Time: at, Block: uint64(i)},
			Duration: time.Hour, TTL: time.Hour, MaxLive: 4})
		must(b, err)
		commit := fmt.Sprintf("r1:m%d/refined@%040x:%d:%016x", i%benchMiners, i, task.ID, i)
		_, err = st.Complete(ctx, l.ID, hk, commit, uint64(i), taskserver.Stamp{Time: at.Add(20 * time.Second), Block: uint64(i + 1)})
		must(b, err)
		accepted := i%17 != 0
		detail, _ := json.Marshal(map[string]any{"accepted": accepted, "documents": 1000 + i%300, "tokens": 900_000 + i%5000,
			"measured_tokens": 900_000 + i%5000, "verified_tokens": 850_000 + i%5000, "quality": 0.7 + float64(i%30)/100, "elapsed_blocks": 20})
		_, _, err = st.Report(ctx, taskserver.Report{Validator: benchHotkey(1000 + i%16), LeaseID: l.ID, Hotkey: hk, TaskID: task.ID, Commitment: commit,
			Accepted: accepted, Score: 0.8 + float64(i%20)/100, Detail: string(detail), WeightsRound: 1}, benchDecide,
			taskserver.Stamp{Time: at.Add(30 * time.Second), Block: uint64(i + 2)})
		must(b, err)
	}
	for v := 0; v < 16; v++ {
		_, err := st.ReleaseReports(ctx, benchHotkey(1000+v), 1, taskserver.Stamp{Time: start.Add(29 * 24 * time.Hour), Block: benchCompleted + 5})
		must(b, err)
	}
	// A few live leases, as on a running server.
	for i := 0; i < benchMiners; i++ {
		_, _, err := st.Lease(ctx, taskserver.LeaseRequest{Hotkey: benchHotkey(i), At: taskserver.Stamp{Time: time.Now(), Block: benchCompleted + 10},
			Duration: 100 * time.Hour, TTL: 100 * time.Hour, MaxLive: 4})
		must(b, err)
	}
	must(b, os.WriteFile(path+".ok", nil, 0o600))
	return st
}

// benchDecide accepts what the one reporting validator accepts.
func benchDecide(votes []acceptance.Vote) (acceptance.Outcome, error) {
	for i := range votes {
		votes[i].Stake = 1
	}
	d, err := acceptance.Rule{}.Decide(votes)
	return d.Outcome, err
}

// benchSite serves the site on the task server's API over the bench store,
// in process, with the API's public-read cache of ttl (< 0: none).
func benchSite(b *testing.B, ttl time.Duration) *Site {
	b.Helper()
	st := benchStore(b)
	b.Cleanup(func() { st.Close() })
	mg := &chain.Metagraph{Netuid: 1, Block: 1_000_000}
	for i := 0; i < 240; i++ {
		mg.Neurons = append(mg.Neurons, chain.Neuron{UID: uint16(i), Hotkey: benchHotkey(i), Stake: uint64(i) * 1e6,
			Incentive: uint16(i * 200), Emission: uint64(i) * 1e6, Active: true})
	}
	for v := 0; v < 16; v++ {
		mg.Neurons = append(mg.Neurons, chain.Neuron{UID: uint16(240 + v), Hotkey: benchHotkey(1000 + v), Stake: uint64(v+1) * 1e12,
			ValidatorPermit: true, ValidatorTrust: 60000, Dividends: 4000, Emission: 5e8, Active: true})
	}
	roster := taskserver.NewRoster(staticChain{mg}, 1, nil)
	must(b, roster.Refresh(context.Background()))
	svc := taskserver.NewService(taskserver.Options{Store: st, Roster: roster})
	api, err := taskserver.NewAPI(taskserver.APIOptions{Service: svc, SignedFor: key(b, "//BenchServer").SS58(), PublicRate: -1, PublicCacheTTL: ttl})
	must(b, err)
	site, err := New(context.Background(), Options{API: client.New(client.Options{Handler: api}), DB: filepath.Join(b.TempDir(), "web.db")})
	must(b, err)
	b.Cleanup(func() { site.Close() })
	must(b, site.Refresh(context.Background()))
	return site
}

// BenchmarkPages measures each page's and JSON answer's latency, with the
// task server's public-read cache (its default 5 s: what visitors see) and
// without it (every read reaches the database), and reports the p50 and
// p99 of the iterations.
func BenchmarkPages(b *testing.B) {
	for _, c := range []struct {
		name string
		ttl  time.Duration
	}{{"cached", 5 * time.Second}, {"uncached", -1}} {
		site := benchSite(b, c.ttl)
		var ov Overview
		rec := httptest.NewRecorder()
		site.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/site/overview", nil))
		must(b, json.Unmarshal(rec.Body.Bytes(), &ov))
		if ov.Stats.Counts.Tasks != benchTasks {
			b.Fatalf("bench data: %d tasks", ov.Stats.Counts.Tasks)
		}
		for _, p := range []string{"/", "/v1/site/overview", "/miners", "/validators", "/v1/site/charts/tokens", "/miners/" + benchHotkey(7)} {
			b.Run(c.name+p, func(b *testing.B) {
				lat := make([]time.Duration, 0, b.N)
				b.ReportAllocs()
				var size int
				for i := 0; i < b.N; i++ {
					t0 := time.Now()
					w := &countWriter{h: http.Header{}, code: 200}
					site.ServeHTTP(w, httptest.NewRequest("GET", p, nil))
					lat = append(lat, time.Since(t0))
					if w.code != 200 {
						b.Fatalf("%s: %d", p, w.code)
					}
					size = w.n
				}
				b.ReportMetric(float64(size)/1024, "KiB")
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			})
		}
	}
}

// countWriter is a ResponseWriter that counts the body, as a socket would
// take it (a recorder's growing buffer would dominate the allocations).
type countWriter struct {
	h    http.Header
	code int
	n    int
}

func (c *countWriter) Header() http.Header         { return c.h }
func (c *countWriter) Write(b []byte) (int, error) { c.n += len(b); return len(b), nil }
func (c *countWriter) WriteHeader(code int)        { c.code = code }
