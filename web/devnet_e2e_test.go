package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/datarefine/refine/corpus"
	"github.com/datarefine/refine/devnet"
	"github.com/datarefine/refine/store/local"
	"github.com/datarefine/refine/taskserver/client"
	"github.com/datarefine/refine/web"
	"github.com/datarefine/refine/web/internal/e2etest"
)

// TestBrowserDevnet is the site on a real network: `refine devnet`'s run
// (chain, task server with its own site, 3 miners, 2 validators, the
// built-in sample WARC) until every task is done and paid, kept serving;
// `refine dataset build` of its accepted submissions into the same local
// store as the miners' repositories (as both are on the Hub);
// and a second site, as `refine web --taskserver URL --dataset-repo` runs
// it, reaching the task server only over HTTP. The browser (scenario
// "devnet") checks the second site's numbers against the task server's API
// and against the run's CLI summary (the JSON `refine devnet --summary`
// writes), the devnet's own site against them too, the leaderboards, a
// submission, the Dataset page against the dataset's summary.json (sizes,
// the latest revision, random documents and where they came from, the
// growth chart of one build), and phone widths. Screenshots in
// e2e/artifacts/TestBrowserDevnet.
func TestBrowserDevnet(t *testing.T) {
	e2etest.Need(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	logf, err := os.Create(filepath.Join(dir, "devnet.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			if len(b) > 20000 {
				b = b[len(b)-20000:]
			}
			t.Logf("devnet log (end):\n%s", b)
		}
	})
	finished := make(chan *devnet.Summary, 1)
	ended := make(chan error, 1)
	go func() {
		_, err := devnet.Run(ctx, devnet.Options{
			Dir: filepath.Join(dir, "devnet"), Miners: 3, Validators: 2, BlockTime: 250 * time.Millisecond, Tempo: 20,
			AssetsDir: t.TempDir(), Listen: "127.0.0.1:0", UntilDone: true, Serve: true,
			Log:      slog.New(slog.NewTextHandler(logf, &slog.HandlerOptions{Level: slog.LevelInfo})),
			Finished: func(s *devnet.Summary) { finished <- s },
		})
		ended <- err
	}()
	var sum *devnet.Summary
	select {
	case sum = <-finished:
	case err := <-ended:
		t.Fatalf("devnet ended before it was done: %v", err)
	}
	defer func() {
		cancel()
		if err := <-ended; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("devnet: %v", err)
		}
	}()
	// The summary as the CLI writes it.
	summaryJSON, err := json.Marshal(sum)
	if err != nil {
		t.Fatal(err)
	}
	var summary map[string]any
	if err := json.Unmarshal(summaryJSON, &summary); err != nil {
		t.Fatal(err)
	}

	// refine dataset build, from the task server's accepted submissions.
	api := client.New(client.Options{URL: sum.URL})
	miners, err := local.New(sum.Where.Store)
	if err != nil {
		t.Fatal(err)
	}
	// The dataset is published next to the miners' repositories, as on
	// the Hub.
	out := miners
	const repo = "subnet/refined-web"
	src := &corpus.Network{URL: sum.URL, Store: miners, Accepted: func(ctx context.Context) ([]corpus.Submission, float64, error) {
		subs, share, err := api.AllAccepted(ctx)
		return corpus.FromAccepted(subs), share, err
	}}
	opts := corpus.DefaultOptions(filepath.Join(dir, "dataset-work"))
	opts.Source, opts.Store, opts.Repo, opts.Memory, opts.Workers = src, out, repo, 256<<20, 2
	if _, err := corpus.Build(ctx, opts); err != nil {
		t.Fatal(err)
	}
	rev, err := out.Resolve(ctx, repo, "main")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := out.Open(ctx, repo, rev, "summary.json")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	var dataset map[string]any
	if err := json.Unmarshal(b, &dataset); err != nil {
		t.Fatal(err)
	}

	// refine web --taskserver URL --dataset-repo repo --dataset-store local:DIR
	site, err := web.New(ctx, web.Options{API: api, DB: filepath.Join(dir, "site.db"),
		Dataset: &web.DatasetSource{Store: out, Refs: out, Repo: repo, TempDir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	defer site.Close()
	if err := site.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: site, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	e2etest.Run(t, "devnet", map[string]any{
		"base": "http://" + ln.Addr().String(), "api": sum.URL, "devnetSite": sum.URL,
		"summary": summary, "dataset": dataset, "datasetRevision": rev,
	})
}
