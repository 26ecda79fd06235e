package taskserver_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/datarefine/refine/chain/devchain"
	"github.com/datarefine/refine/submission"
	"github.com/datarefine/refine/taskserver"
	"github.com/datarefine/refine/taskserver/client"
	"github.com/datarefine/refine/taskserver/internal/dbtest"
	"github.com/datarefine/refine/taskserver/sqlstore"
)

// buildDir holds the binary built for this test run; TestMain removes it.
var buildDir string

// buildRefine builds the refine binary once per test run.
var buildRefine = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "refine-taskserver-test-")
	if err != nil {
		return "", err
	}
	buildDir = dir
	bin := filepath.Join(dir, "refine")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/datarefine/refine/cmd/refine").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// devchainWith serves an in-process devchain over HTTP with the named
// hotkeys registered on subnet 1.
func devchainWith(t *testing.T, names ...string) string {
	t.Helper()
	ctx := context.Background()
	hp := devchain.DefaultHyperparameters()
	hp.MaxRegistrationsPerBlock = 255
	c, err := devchain.New(ctx, devchain.Options{DB: ":memory:", Hyperparameters: &hp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	cold := key(t, "coldkey")
	if err := c.Faucet(ctx, cold, 1000_000_000_000); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if _, err := c.Register(ctx, cold, 1, key(t, n).SS58()); err != nil {
			t.Fatalf("register %s: %v", n, err)
		}
	}
	srv := httptest.NewServer(devchain.Handler(c))
	t.Cleanup(srv.Close)
	return srv.URL
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestKillUnderLoad runs `refine taskserver` as a process, drives signed
// lease/heartbeat/complete/release traffic at it, kills it with SIGKILL
// twice and restarts it, then checks the database: no task lost or
// duplicated, no task leased twice at once, every completion a miner was
// told about still there with its commitment.
func TestKillUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin, err := buildRefine()
	if err != nil {
		t.Fatal(err)
	}
	forEachDB(t, func(t *testing.T, kind string) {
		dsn := dbtest.DSN(t, kind)
		const nTasks = 3000
		listing := filepath.Join(t.TempDir(), "warc.paths")
		var b strings.Builder
		for i := 0; i < nTasks; i++ {
			fmt.Fprintf(&b, "crawl-data/CC-FAULT/segments/%d/warc/%05d.warc.gz\n", i/100, i)
		}
		os.WriteFile(listing, []byte(b.String()), 0o644)
		miners := []string{"k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8"}
		chainURL := devchainWith(t, miners...)
		addr := freeAddr(t)
		start := func() *exec.Cmd {
			cmd := exec.Command(bin, "taskserver", "--listen", addr, "--db", dsn, "--chain", chainURL,
				"--import", listing, "--rate", "-1", "--client-rate", "-1", "--heartbeat-ttl", "3s", "--lease-duration", "1m",
				"--signed-for", key(t, "server").SS58(), "--max-undecided", "-1",
				"--max-leases", "3", "--expire-every", "200ms", "--log-level", "warn")
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			for i := 0; ; i++ {
				resp, err := http.Get("http://" + addr + "/healthz")
				if err == nil {
					resp.Body.Close()
					return cmd
				}
				if i > 300 {
					cmd.Process.Kill()
					t.Fatalf("server did not come up: %v", err)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}

		ctx, cancel := context.WithCancel(context.Background())
		var mu sync.Mutex
		acked := map[int64]string{} // lease id → commitment the server confirmed
		var wg sync.WaitGroup
		for _, m := range miners {
			wg.Add(1)
			go func(c *client.Client) {
				defer wg.Done()
				runMiner(ctx, c, func(id int64, commit string) {
					mu.Lock()
					acked[id] = commit
					mu.Unlock()
				})
			}(client.New(client.Options{URL: "http://" + addr, Signer: key(t, m), HTTP: &http.Client{Timeout: 5 * time.Second}}))
		}

		cmd := start()
		for kill := 0; kill < 2; kill++ {
			time.Sleep(1500 * time.Millisecond)
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()
			cmd = start()
		}
		time.Sleep(1500 * time.Millisecond)
		cancel()
		wg.Wait()
		// A clean stop this time: SIGTERM, graceful shutdown.
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("graceful stop: %v", err)
		}

		s, err := sqlstore.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		bg := context.Background()
		c, err := s.Counts(bg)
		if err != nil {
			t.Fatal(err)
		}
		if c.Tasks != nTasks || c.Pending+c.Leased+c.Submitted+c.Done != nTasks {
			t.Fatalf("tasks lost or duplicated over restarts: %+v", c)
		}
		violations, err := s.Check(bg)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range violations {
			t.Error(v)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(acked) < 20 {
			t.Fatalf("only %d completions under load: the test did not exercise the server", len(acked))
		}
		for id, commit := range acked {
			l, err := s.GetLease(bg, id)
			if err != nil || l.State != taskserver.LeaseCompleted || l.Commitment != commit {
				t.Errorf("acknowledged completion of lease %d forgotten: %+v, %v", id, l, err)
			}
		}
		if c.Submitted+c.Done < int64(len(acked)) {
			t.Errorf("%d tasks submitted or done, but %d completions acknowledged", c.Submitted+c.Done, len(acked))
		}
		t.Logf("%s: %d completions acknowledged, counts %+v", kind, len(acked), c)
	})
}

// runMiner leases, heartbeats and completes (or now and then releases)
// until ctx ends, riding out the server's restarts.
func runMiner(ctx context.Context, c *client.Client, acked func(int64, string)) {
	n := 0
	for ctx.Err() == nil {
		got, err := c.Lease(ctx)
		if err != nil {
			if errors.Is(err, taskserver.ErrNoTask) {
				return
			}
			time.Sleep(10 * time.Millisecond) // down, restarting, or at the lease limit
			continue
		}
		id, task := got.Lease.ID, got.Task.ID
		n++
		if _, err := c.Heartbeat(ctx, id); err != nil && !isTransient(err) {
			continue
		}
		if n%10 == 0 {
			c.Release(ctx, id)
			continue
		}
		commit := submission.Commitment{Repo: "fault/test", Revision: testRev, TaskID: task, ManifestHash: "0123456789abcdef"}.String()
		// Retry through outages: complete is idempotent.
		for ctx.Err() == nil {
			_, err := c.Complete(ctx, id, commit, uint64(task))
			if err == nil {
				acked(id, commit)
				break
			}
			if !isTransient(err) {
				break // expired while the server was down
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// isTransient is a failure to reach the server (not an API answer).
func isTransient(err error) bool {
	var ce *client.Error
	return !errors.As(err, &ce) || ce.Retryable()
}
