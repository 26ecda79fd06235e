package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/datarefine/refine/store/hub/hubtest"
	"github.com/datarefine/refine/taskapi"
	"github.com/datarefine/refine/taskserver"
	"github.com/datarefine/refine/taskserver/sqlstore"
	"github.com/datarefine/refine/wallet"
)

// TestMinerFailsFast runs `refine miner` as a new user would, as a
// process, against a devchain, a task server and a fake Hub on loopback:
// every misconfiguration is named at start and exits non-zero without
// leasing a task; --max-tasks counts attempts, failed ones included.
func TestMinerFailsFast(t *testing.T) {
	ctx := context.Background()
	c, chainURL := newTestChain(t, nil, 3)
	cold, _ := wallet.FromURI("//Alice")
	miner, _ := wallet.FromURI("//Miner1")
	if err := c.Faucet(ctx, cold, 1_000_000_000_000); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Register(ctx, cold, 1, miner.SS58()); err != nil {
		t.Fatal(err)
	}
	db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "tasks.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	roster := taskserver.NewRoster(c, 1, nil)
	if err := roster.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	svc := taskserver.NewService(taskserver.Options{Store: db, Roster: roster})
	if _, err := svc.Import(ctx, []taskserver.NewTask{{Crawl: "CC-MAIN-2024-10", WARCs: []string{"crawl-data/CC-MAIN-2024-10/segments/1/warc/missing.warc.gz"}}}); err != nil {
		t.Fatal(err)
	}
	api, err := taskserver.NewAPI(taskserver.APIOptions{Service: svc, SignedFor: miner.SS58(), Rate: -1, ClientRate: -1, PublicRate: -1})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(api)
	t.Cleanup(ts.Close)
	fakeHub := hubtest.New(t)
	closed := httptest.NewServer(nil)
	closedURL := closed.URL
	closed.Close()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() })

	leases := func() int {
		_, ls, err := db.Task(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		return len(ls)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// run starts `refine miner` with a clean Hugging Face environment.
	run := func(env []string, args ...string) (string, error) {
		t.Helper()
		home := t.TempDir()
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		cmd := exec.CommandContext(cctx, self, append([]string{"miner", "--chain", chainURL, "--netuid", "1", "--workdir", t.TempDir()}, args...)...)
		cmd.Env = append([]string{envRunAsMain + "=1", "HOME=" + home, "HF_HOME=" + filepath.Join(home, "hf"), "PATH=" + os.Getenv("PATH")}, env...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		err := cmd.Run()
		if time.Since(start) > 30*time.Second {
			t.Errorf("refine miner %v took %s to fail", args, time.Since(start))
		}
		return out.String(), err
	}
	exitCode := func(err error) int {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		return -1
	}
	local := "local:" + t.TempDir()
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"no Hub token", []string{"HF_ENDPOINT=" + fakeHub.URL},
			[]string{"--taskserver", ts.URL, "--repo", "demo/refined", "--key-uri", "//Miner1", "--store", "hub", "--max-tasks", "1"},
			[]string{"miner cannot start", "no Hugging Face token", "HF_TOKEN"}},
		{"wrong Hub token", []string{"HF_ENDPOINT=" + fakeHub.URL, "HF_TOKEN=hf_wrong"},
			[]string{"--taskserver", ts.URL, "--repo", "demo/refined", "--key-uri", "//Miner1", "--store", "hub"},
			[]string{"dataset repository demo/refined", "HTTP 401", "Invalid credentials"}},
		{"unregistered hotkey", nil,
			[]string{"--taskserver", ts.URL, "--repo", "demo/refined", "--key-uri", "//Nobody", "--store", local},
			[]string{"is not registered on subnet 1"}},
		{"unreachable task server", nil,
			[]string{"--taskserver", closedURL, "--repo", "demo/refined", "--key-uri", "//Miner1", "--store", local},
			[]string{"task server: " + closedURL + " unreachable", "connection refused"}},
		// A metrics address that cannot be listened on stops the miner
		// before it starts, rather than being lost in a goroutine.
		{"metrics address taken", nil,
			[]string{"--taskserver", ts.URL, "--repo", "demo/refined", "--key-uri", "//Miner1", "--store", local, "--metrics", busy.Addr().String()},
			[]string{"--metrics", "address already in use"}},
		{"--chain and --network", nil,
			[]string{"--network", "finney", "--taskserver", ts.URL, "--repo", "demo/refined", "--key-uri", "//Miner1", "--store", local},
			[]string{"give --chain or --network (the same flag), not both"}},
	} {
		out, err := run(tc.env, tc.args...)
		if exitCode(err) != 1 {
			t.Errorf("%s: exit %v, want 1; output:\n%s", tc.name, err, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", tc.name, w, out)
			}
		}
		if n := leases(); n != 0 {
			t.Fatalf("%s: %d leases taken before the miner stopped", tc.name, n)
		}
	}

	// --max-tasks 1 is one attempt: the task fails (its WARC is nowhere),
	// the lease is released, and the miner stops, saying so, exit 1.
	out, err := run(nil, "--taskserver", ts.URL, "--repo", "demo/refined", "--key-uri", "//Miner1", "--store", local,
		"--warc-mirror", t.TempDir(), "--warc-base-url", "", "--max-tasks", "1")
	if exitCode(err) != 1 || !strings.Contains(out, "1 of 1 tasks failed") {
		t.Fatalf("--max-tasks 1 with a failing task: exit %v; output:\n%s", err, out)
	}
	if n := leases(); n != 1 {
		t.Fatalf("--max-tasks 1: %d leases taken", n)
	}
	task, ls, _ := db.Task(ctx, 1)
	if task.State != taskapi.TaskPending || ls[0].State != taskapi.LeaseReleased {
		t.Fatalf("task %s, lease %s: want it back in the pool", task.State, ls[0].State)
	}
}
