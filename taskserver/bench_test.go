package taskserver_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/datarefine/refine/submission"
	"github.com/datarefine/refine/taskserver"
	"github.com/datarefine/refine/taskserver/client"
	"github.com/datarefine/refine/taskserver/internal/dbtest"
	"github.com/datarefine/refine/wallet"
)

// The load benchmark runs the server in this process and the load
// generator, 256 simulated miners making real signed requests over
// loopback, in a child process (this test binary re-executed), so that the
// server's CPU time is this process's own. One op is one
// lease + heartbeat + complete cycle (3 signed requests). Run with a fixed
// count, e.g.
//
//	go test ./taskserver -run '^$' -bench Load -benchtime 3000x
//
// It reports signed requests/s, client-side p50/p99 latency, the server's
// CPU use in cores, and the share of the server's CPU spent verifying
// signatures (thread CPU time around each sr25519 verification).

const loadMiners = 256

func TestMain(m *testing.M) {
	if os.Getenv("TASKSERVER_LOADGEN") != "" {
		if err := loadgen(); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// benchServer is the server's hotkey the load generator signs for.
var benchServer = minerKey(-1).SS58()

func minerKey(i int) *wallet.Keypair {
	seed := sha256.Sum256([]byte("taskserver-bench/" + strconv.Itoa(i)))
	k, err := wallet.FromSeed(seed[:])
	if err != nil {
		panic(err)
	}
	return k
}

// loadResult is what the generator reports.
type loadResult struct {
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	Seconds  float64 `json:"seconds"`
	P50ms    float64 `json:"p50_ms"`
	P99ms    float64 `json:"p99_ms"`
}

// timing records each round trip's latency (signing excluded).
type timing struct {
	base http.RoundTripper
	mu   sync.Mutex
	lat  []time.Duration
}

func (t *timing) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.base.RoundTrip(r)
	d := time.Since(start)
	t.mu.Lock()
	t.lat = append(t.lat, d)
	t.mu.Unlock()
	return resp, err
}

func loadgen() error {
	url := os.Getenv("TASKSERVER_LOADGEN")
	cycles, err := strconv.Atoi(os.Getenv("TASKSERVER_CYCLES"))
	if err != nil {
		return err
	}
	tr := &timing{base: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, MaxConnsPerHost: 0}}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var left atomic.Int64
	left.Store(int64(cycles))
	var requests, failures atomic.Int64
	keys := make([]*wallet.Keypair, loadMiners)
	for i := range keys {
		keys[i] = minerKey(i)
	}
	ctx := context.Background()
	// Open loop (TASKSERVER_RATE signed requests/s): cycles start on a
	// fixed schedule whatever the latency, as real miners do; closed loop
	// (no rate): every miner starts its next cycle as soon as the last
	// returns, which keeps the server saturated.
	rate, _ := strconv.ParseFloat(os.Getenv("TASKSERVER_RATE"), 64)
	var ticks chan struct{}
	if rate > 0 {
		ticks = make(chan struct{}, cycles)
		go func() {
			every := time.Duration(float64(time.Second) * 3 / rate) // 3 requests a cycle
			t := time.NewTicker(every)
			defer t.Stop()
			for i := 0; i < cycles; i++ {
				<-t.C
				ticks <- struct{}{}
			}
		}()
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < loadMiners; i++ {
		wg.Add(1)
		go func(c *client.Client) {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				if ticks != nil {
					<-ticks
				}
				for {
					requests.Add(1)
					got, err := c.Lease(ctx)
					if err == nil {
						requests.Add(2)
						_, err1 := c.Heartbeat(ctx, got.Lease.ID)
						commit := submission.Commitment{Repo: "bench/r", Revision: testRev, TaskID: got.Task.ID, ManifestHash: "0123456789abcdef"}.String()
						_, err2 := c.Complete(ctx, got.Lease.ID, commit, 1)
						if err1 != nil || err2 != nil {
							failures.Add(1)
						}
						break
					}
					failures.Add(1)
					if errors.Is(err, taskserver.ErrNoTask) {
						return
					}
				}
			}
		}(client.New(client.Options{URL: url, Signer: keys[i], SignedFor: benchServer, HTTP: hc}))
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(tr.lat, func(i, j int) bool { return tr.lat[i] < tr.lat[j] })
	q := func(p float64) float64 {
		if len(tr.lat) == 0 {
			return 0
		}
		return float64(tr.lat[int(p*float64(len(tr.lat)-1))].Microseconds()) / 1000
	}
	return json.NewEncoder(os.Stdout).Encode(loadResult{
		Requests: requests.Load(), Errors: failures.Load(), Seconds: elapsed.Seconds(), P50ms: q(0.50), P99ms: q(0.99),
	})
}

// threadCPU is the calling thread's CPU time (Linux CLOCK_THREAD_CPUTIME_ID).
func threadCPU() time.Duration {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 3, uintptr(unsafe.Pointer(&ts)), 0)
	return time.Duration(ts.Nano())
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkLoad(b *testing.B) {
	for _, kind := range dbtest.Backends {
		b.Run(kind, func(b *testing.B) { benchLoad(b, kind, 0) })
		// The latency target is for a server at its expected load, not a
		// saturated one: 1,000 signed requests/s on a fixed schedule.
		b.Run(kind+"/open-1000rps", func(b *testing.B) { benchLoad(b, kind, 1000) })
	}
}

func benchLoad(b *testing.B, kind string, rate float64) {
	ctx := context.Background()
	store := dbtest.Open(b, kind)
	fc := &fakeChain{block: 1}
	for i := 0; i < loadMiners; i++ {
		fc.register(minerKey(i).SS58(), false)
	}
	roster := taskserver.NewRoster(fc, 1, nil)
	if err := roster.Refresh(ctx); err != nil {
		b.Fatal(err)
	}
	// No validators run here: the benchmark measures the lease cycle.
	svc := taskserver.NewService(taskserver.Options{Store: store, Roster: roster, MaxLeases: 4, MaxUndecided: -1})
	var tasks []taskserver.NewTask
	for i := 0; i < b.N+loadMiners; i++ {
		tasks = append(tasks, taskserver.NewTask{Crawl: "CC-BENCH", WARCs: []string{fmt.Sprintf("w/%07d.warc.gz", i)}})
	}
	if _, err := svc.Import(ctx, tasks); err != nil {
		b.Fatal(err)
	}
	var verifyCPU atomic.Int64
	api, err := taskserver.NewAPI(taskserver.APIOptions{Service: svc, SignedFor: benchServer, Rate: -1, ClientRate: -1, Verify: func(ss58 string, msg, sig []byte) bool {
		// Pin the goroutine so the thread clock measures this call only.
		runtime.LockOSThread()
		start := threadCPU()
		ok := wallet.Verify(ss58, msg, sig)
		verifyCPU.Add(int64(threadCPU() - start))
		runtime.UnlockOSThread()
		return ok
	}})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(api)
	defer srv.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TASKSERVER_LOADGEN="+srv.URL, "TASKSERVER_CYCLES="+strconv.Itoa(b.N),
		"TASKSERVER_RATE="+strconv.FormatFloat(rate, 'f', -1, 64))
	cmd.Stderr = os.Stderr
	b.ResetTimer()
	cpu0 := processCPU()
	out, err := cmd.Output()
	cpu := processCPU() - cpu0
	b.StopTimer()
	if err != nil {
		b.Fatalf("load generator: %v", err)
	}
	var res loadResult
	if err := json.Unmarshal(out, &res); err != nil {
		b.Fatalf("load generator output %q: %v", out, err)
	}
	c, err := store.Counts(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if c.Submitted != int64(b.N) {
		b.Fatalf("%d tasks submitted after %d cycles (%d failed requests)", c.Submitted, b.N, res.Errors)
	}
	b.ReportMetric(float64(res.Requests)/res.Seconds, "signed_req/s")
	b.ReportMetric(res.P50ms, "p50_ms")
	b.ReportMetric(res.P99ms, "p99_ms")
	b.ReportMetric(cpu.Seconds()/res.Seconds, "server_cores")
	b.ReportMetric(100*float64(verifyCPU.Load())/float64(cpu), "verify_cpu_%")
	b.ReportMetric(float64(res.Errors), "failed")
	// CPU per request, server and load generator: on a loaded machine
	// these say more than the rate, which then depends on the neighbours.
	gen := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(res.Requests), "server_cpu_ms/req")
	b.ReportMetric(float64(gen.Microseconds())/1000/float64(res.Requests), "loadgen_cpu_ms/req")
}
