package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
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
	"github.com/datarefine/refine/store/backend"
	"github.com/datarefine/refine/taskserver"
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
	d := miner.DefaultOptions()
	o.Key.AddFlags(fs)
	o.Net.AddFlags(fs)
	fs.StringVar(&o.TaskServer, "taskserver", "", "task server URL, e.g. http://"+taskserver.DefaultListen+" (required)")
	fs.StringVar(&o.TaskServerKey, "taskserver-hotkey", "", "the task server's hotkey (SS58) that requests are signed for (default: as the server at --taskserver names itself)")
	fs.StringVar(&o.Store, "store", "hub", "where submissions are published: "+backend.Usage+" (hub: Hugging Face, token from HF_TOKEN or 'hf auth login')")
	fs.StringVar(&o.Repo, "repo", "", "dataset repository to publish to, owner/name (required)")
	fs.StringVar(&o.WARCMirror, "warc-mirror", "", "local folder mirroring the crawl's paths (checked first)")
	fs.StringVar(&o.WARCBaseURL, "warc-base-url", taskserver.CommonCrawlBase, "base URL for WARC paths not in the mirror")
	fs.StringVar(&o.WorkDir, "workdir", "", "folder for work in progress (default: a temp folder)")
	fs.IntVar(&o.Workers, "workers", d.Workers, "tasks processed at once")
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

// openStore opens the store a flag names (store/backend); log receives
// its retries.
func openStore(flag, spec string, log *slog.Logger) (store.Store, error) {
	st, _, err := backend.Open(spec, log)
	if err != nil {
		return nil, fmt.Errorf("%s %w", flag, err)
	}
	return st, nil
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
	ch, closeChain, err := o.Net.Dial(ctx)
	if err != nil {
		return err
	}
	defer closeChain()
	st, err := openStore("--store", o.Store, log)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	metrics, err := listenMetrics(o.Metrics)
	if err != nil {
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
	var status func(context.Context) error
	if f, ok := stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		status = statusLine(stderr, m.Status)
	}
	return runGroup(ctx, m.Run, serveMetrics(metrics, reg), status)
}

// statusLine is the run-group helper that redraws one line of status on a
// terminal every second.
func statusLine(w io.Writer, status func() string) func(context.Context) error {
	return func(ctx context.Context) error {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				fmt.Fprintln(w)
				return nil
			case <-t.C:
				fmt.Fprintf(w, "\r\033[K%s", status())
			}
		}
	}
}
