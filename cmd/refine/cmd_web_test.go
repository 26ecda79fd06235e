package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/datarefine/refine/taskserver"
)

// TestWebCommandOverHTTP: `refine web --taskserver URL` is a site apart
// from the task server, reaching it only over HTTP: `refine taskserver
// --no-web` on one loopback port, `refine web` on another with only the
// first's URL and its own database file; the site's overview (page and
// JSON) shows the task server's numbers, and both stop cleanly.
func TestWebCommandOverHTTP(t *testing.T) {
	_, chainURL := newTestChain(t, []uint16{1}, 10)
	dir := t.TempDir()
	listing := filepath.Join(dir, "warc.paths")
	var paths []string
	for i := 0; i < 7; i++ {
		paths = append(paths, fmt.Sprintf("crawl-data/CC-MAIN-2024-10/segments/1/warc/part-%05d.warc.gz", i))
	}
	if err := os.WriteFile(listing, []byte(strings.Join(paths, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tsAddr, webAddr := freeAddr(t), freeAddr(t)
	webDB := filepath.Join(dir, "site", "web.db")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	run := func(args ...string) <-chan error {
		done := make(chan error, 1)
		root := newRootCommand()
		root.SetArgs(args)
		root.SetOut(io.Discard)
		var stderr bytes.Buffer
		root.SetErr(&stderr)
		go func() {
			err := root.ExecuteContext(ctx)
			if err != nil {
				err = fmt.Errorf("refine %s: %w\n%s", args[0], err, stderr.String())
			}
			done <- err
		}()
		return done
	}
	tsDone := run("taskserver", "--no-web", "--listen", tsAddr, "--db", filepath.Join(dir, "tasks.db"), "--chain", chainURL, "--netuid", "1",
		"--signed-for", "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", "--import", listing, "--log-level", "error")
	tsURL := "http://" + tsAddr
	var stats taskserver.Stats
	waitJSON(t, tsURL+"/v1/stats", &stats, tsDone)
	if stats.Counts.Tasks != 7 {
		t.Fatalf("task server: %d tasks, want 7", stats.Counts.Tasks)
	}

	webDone := run("web", "--taskserver", tsURL, "--listen", webAddr, "--db", webDB, "--log-level", "error")
	var ov struct {
		Stats taskserver.Stats `json:"stats"`
	}
	waitJSON(t, "http://"+webAddr+"/v1/site/overview", &ov, webDone)
	if ov.Stats.Counts != stats.Counts || ov.Stats.Accepted != stats.Accepted || ov.Stats.Registered != stats.Registered {
		t.Errorf("site overview %+v, task server %+v", ov.Stats, stats)
	}
	resp, err := http.Get("http://" + webAddr + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `data-k="stats.counts.tasks">7<`) {
		t.Errorf("overview page: %d, tasks not 7", resp.StatusCode)
	}
	// The site's state is in its own file, the task server's in its own.
	if _, err := os.Stat(webDB); err != nil {
		t.Errorf("the site's database: %v", err)
	}
	// The task server (--no-web) serves no site: the one answering is
	// `refine web`, over HTTP.
	if resp, err := http.Get(tsURL + "/v1/site/overview"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("the task server (--no-web) serves the site: %d", resp.StatusCode)
		}
	}

	cancel()
	for name, done := range map[string]<-chan error{"web": webDone, "taskserver": tsDone} {
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("refine %s did not stop", name)
		}
	}
}

// freeAddr is a loopback address no one listens on now.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitJSON polls url until it answers 200 and decodes it into v; it fails
// when done (the command serving it) ends first or after 30 s.
func waitJSON(t *testing.T, url string, v any, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-done:
			t.Fatalf("the command ended before %s answered: %v", url, err)
		default:
		}
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				if err := json.Unmarshal(b, v); err != nil {
					t.Fatalf("%s: %v", url, err)
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
