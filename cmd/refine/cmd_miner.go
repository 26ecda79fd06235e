package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/datarefine/refine/assets"
	"github.com/datarefine/refine/miner"
	"github.com/datarefine/refine/process"
	"github.com/datarefine/refine/retry"
	"github.com/datarefine/refine/store"
	"github.com/datarefine/refine/store/hub"
	"github.com/datarefine/refine/store/local"
	"github.com/datarefine/refine/taskserver/client"
)

type minerOptions struct {
	Key             hotkeyOptions
	Net             networkOptions
	TaskServer      string
	TaskServerKey   string
	Store           string
	Repo            string
	WARCMirror      string
	WARCBaseURL     string
	WorkDir         string
	Workers         int
	PipelineWorkers int
	Assets          string
	MaxTasks        int
	Metrics         string
	Log             logOptions
}

func (o *minerOptions) AddFlags(fs *pflag.FlagSet) {
	o.Key.AddFlags(fs)
	o.Net.AddFlags(fs)
	fs.StringVar(&o.TaskServer, "taskserver", "", "task server URL, e.g. http://127.0.0.1:8080 (required)")
	fs.StringVar(&o.TaskServerKey, "taskserver-hotkey", "", "the task server's hotkey (SS58) that requests are signed for (default: as the server at --taskserver names itself)")
	fs.StringVar(&o.Store, "store", "hub", "where submissions are published: hub (Hugging Face; token from HF_TOKEN or 'hf auth login') or local:DIR")
	fs.StringVar(&o.Repo, "repo", "", "dataset repository to publish to, owner/name (required)")
	fs.StringVar(&o.WARCMirror, "warc-mirror", "", "local folder mirroring the crawl's paths (checked first)")
	fs.StringVar(&o.WARCBaseURL, "warc-base-url", "https://data.commoncrawl.org/", "base URL for WARC paths not in the mirror")
	fs.StringVar(&o.WorkDir, "workdir", "", "folder for work in progress (default: a temp folder)")
	fs.IntVar(&o.Workers, "workers", 1, "tasks processed at once")
	fs.IntVar(&o.PipelineWorkers, "pipeline-workers", 0, "pipeline workers per task (default: number of CPUs)")
	fs.StringVar(&o.Assets, "assets", assets.DefaultDir(), "asset folder (see 'refine assets'; the word lists are built in)")
	fs.IntVar(&o.MaxTasks, "max-tasks", 0, "stop after this many attempted tasks, failed ones included (0: run until interrupted)")
	fs.StringVar(&o.Metrics, "metrics", "", "serve Prometheus metrics on this address, e.g. 127.0.0.1:9101")
	o.Log.AddFlags(fs)
}

func newMinerCommand() *cobra.Command {
	var opts minerOptions
	cmd := &cobra.Command{
		Use:   "miner",
		Short: "Mine: lease tasks, refine their WARCs, publish, commit on chain, complete",
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMiner(cmd.Context(), opts, cmd.ErrOrStderr())
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

// openStore opens the store a --store flag names; log receives its
// retries.
func openStore(spec string, log *slog.Logger) (store.Store, error) {
	switch {
	case spec == "hub":
		return hub.New(hub.Options{Retry: retry.Policy{Log: log}, Log: log}), nil
	case strings.HasPrefix(spec, "local:"):
		return local.New(strings.TrimPrefix(spec, "local:"))
	}
	return nil, fmt.Errorf("--store %q: want hub or local:DIR", spec)
}

func runMiner(ctx context.Context, o minerOptions, stderr io.Writer) error {
	if o.TaskServer == "" || o.Repo == "" {
		return fmt.Errorf("give --taskserver URL and --repo owner/name")
	}
	log, err := o.Log.Logger(stderr)
	if err != nil {
		return err
	}
	key, err := o.Key.Load()
	if err != nil {
		return fmt.Errorf("hotkey: %w", err)
	}
	ch, err := o.Net.Client(ctx)
	if err != nil {
		return err
	}
	st, err := openStore(o.Store, log)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	if err := serveMetrics(ctx, o.Metrics, reg); err != nil {
		return err
	}
	m, err := miner.New(miner.Options{
		Hotkey: key, Netuid: o.Net.Netuid, Chain: ch,
		Tasks: miner.ClientTasks{C: client.New(client.Options{URL: o.TaskServer, Signer: key, SignedFor: o.TaskServerKey, Retry: retry.Policy{Log: log}})},
		Store: st, Repo: o.Repo,
		WARCs:   miner.Mirror{Dir: o.WARCMirror, BaseURL: o.WARCBaseURL},
		WorkDir: o.WorkDir, Workers: o.Workers, PipelineWorkers: o.PipelineWorkers,
		Steps:    process.StepOptions{AssetsDir: o.Assets},
		MaxTasks: o.MaxTasks, Log: log, Metrics: reg,
	})
	if err != nil {
		return err
	}
	log.Info("miner starting", "hotkey", key.SS58(), "taskserver", o.TaskServer, "repo", o.Repo)
	if f, ok := stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		go statusLine(ctx, stderr, m.Status)
	}
	return m.Run(ctx)
}

// statusLine redraws one line of status on a terminal every second.
func statusLine(ctx context.Context, w io.Writer, status func() string) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(w)
			return
		case <-t.C:
			fmt.Fprintf(w, "\r\033[K%s", status())
		}
	}
}
