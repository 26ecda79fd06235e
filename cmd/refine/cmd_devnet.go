package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/datarefine/refine/assets"
	"github.com/datarefine/refine/devnet"
)

type devnetOptions struct {
	Miners, Validators int
	BlockTime          time.Duration
	Tempo              uint16
	WARCs              []string
	Crawl              string
	CrawlWARCs         int
	Ranges             int
	RecordsPerRange    int64
	Dir                string
	Listen             string
	Duration           time.Duration
	UntilDone          bool
	Summary            string
	ListenDefault      bool // --listen not given: another port will do
	Assets             string
	Log                logOptions
}

func (o *devnetOptions) AddFlags(fs *pflag.FlagSet) {
	fs.IntVar(&o.Miners, "miners", 3, "number of miners")
	fs.IntVar(&o.Validators, "validators", 2, "number of validators")
	fs.DurationVar(&o.BlockTime, "block-time", 250*time.Millisecond, "chain block time")
	fs.Uint16Var(&o.Tempo, "tempo", 20, "blocks between Yuma epochs")
	fs.StringArrayVar(&o.WARCs, "warc", nil, "input WARC files or folders; each file is one task (repeatable)")
	fs.StringVar(&o.Crawl, "crawl", "", "instead of --warc: take tasks from this CommonCrawl crawl (e.g. CC-MAIN-2024-10) over HTTPS; use with --ranges for a quick start")
	fs.IntVar(&o.CrawlWARCs, "crawl-warcs", 1, "with --crawl: how many of the crawl's WARC files")
	fs.IntVar(&o.Ranges, "ranges", 1, "cut each WARC into this many tasks (record ranges)")
	fs.Int64Var(&o.RecordsPerRange, "records-per-range", 0, "records per range with --ranges > 1")
	fs.StringVar(&o.Dir, "dir", "", "data folder (chain, task and validator databases, dataset store); default a temporary folder")
	fs.StringVar(&o.Listen, "listen", "127.0.0.1:8080", "task server and website address")
	fs.DurationVar(&o.Duration, "duration", 0, "stop after this long (0: until interrupted or done)")
	fs.BoolVar(&o.UntilDone, "until-done", false, "stop once every task is done, every submission scored, weights set and an epoch has paid out")
	fs.StringVar(&o.Summary, "summary", "", "write the end-of-run summary as JSON to this file")
	fs.StringVar(&o.Assets, "assets", assets.DefaultDir(), "pipeline asset folder (see `refine assets`)")
	o.Log.AddFlags(fs)
}

func newDevnetCommand() *cobra.Command {
	var opts devnetOptions
	cmd := &cobra.Command{
		Use:   "devnet --warc PATH... | --crawl CC-MAIN-YYYY-WW",
		Short: "Run a whole subnet on this machine: chain, task server, website, miners, validators",
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.WARCs = append(opts.WARCs, args...)
			opts.ListenDefault = !cmd.Flags().Changed("listen")
			return runDevnet(cmd.Context(), opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

func runDevnet(ctx context.Context, o devnetOptions, stdout, stderr io.Writer) error {
	if o.Log.Level == "info" {
		o.Log.Level = "warn" // the status line says what matters; -log-level info shows every step
	}
	log, err := o.Log.Logger(stderr)
	if err != nil {
		return err
	}
	tty := false
	if f, ok := stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		tty = true
	}
	last := time.Time{}
	sum, err := devnet.Run(ctx, devnet.Options{
		Dir: o.Dir, Miners: o.Miners, Validators: o.Validators, BlockTime: o.BlockTime, Tempo: o.Tempo,
		WARCs: o.WARCs, Crawl: o.Crawl, CrawlWARCs: o.CrawlWARCs, RangesPerWARC: o.Ranges, RecordsPerRange: o.RecordsPerRange, AssetsDir: o.Assets, Listen: o.Listen, ListenAnyIfBusy: o.ListenDefault, Duration: o.Duration, UntilDone: o.UntilDone,
		Log: log,
		Ready: func(url string) {
			fmt.Fprintf(stdout, "devnet running: website and task server at %s\n", url)
		},
		Status: func(s string) {
			if tty {
				fmt.Fprintf(stderr, "\r\033[K%s", s)
			} else if time.Since(last) >= 10*time.Second {
				last = time.Now()
				fmt.Fprintln(stderr, s)
			}
		},
	})
	if tty {
		fmt.Fprintln(stderr)
	}
	if sum != nil {
		printDevnetSummary(stdout, sum)
		if o.Summary != "" {
			b, _ := json.MarshalIndent(sum, "", "  ")
			if werr := os.WriteFile(o.Summary, append(b, '\n'), 0o644); werr != nil && err == nil {
				err = werr
			}
		}
	}
	return err
}

func printDevnetSummary(w io.Writer, s *devnet.Summary) {
	fmt.Fprintf(w, "\nsummary after %.0f s, %d blocks: %d/%d tasks done, %d documents, %d tokens refined\n",
		s.Elapsed, s.Blocks, s.TasksDone, s.Tasks, s.Documents, s.Tokens)
	fmt.Fprintf(w, "%-12s %5s %6s %8s %10s %14s\n", "miner", "uid", "tasks", "score", "incentive", "emission(rao)")
	for _, m := range s.Miners {
		fmt.Fprintf(w, "%-12s %5d %6d %8.4f %10.4f %14d\n", m.Name, m.UID, m.Tasks, m.Score, m.Incentive, m.Emission)
	}
	fmt.Fprintf(w, "%-12s %5s %10s %14s\n", "validator", "uid", "dividends", "emission(rao)")
	for _, v := range s.Validators {
		fmt.Fprintf(w, "%-12s %5d %10.4f %14d\n", v.Name, v.UID, v.Dividends, v.Emission)
	}
}
