package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
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
	Keep               bool
	Serve              bool
	Listen             string
	Duration           time.Duration
	UntilDone          bool
	Summary            string
	ListenDefault      bool // --listen not given: another port will do
	Assets             string
	Log                logOptions
}

func (o *devnetOptions) AddFlags(fs *pflag.FlagSet) {
	d := devnet.DefaultOptions()
	fs.IntVar(&o.Miners, "miners", d.Miners, "number of miners")
	fs.IntVar(&o.Validators, "validators", d.Validators, "number of validators")
	fs.DurationVar(&o.BlockTime, "block-time", d.BlockTime, "chain block time")
	fs.Uint16Var(&o.Tempo, "tempo", d.Tempo, "blocks between Yuma epochs")
	fs.StringArrayVar(&o.WARCs, "warc", nil, "input WARC files or folders; each file is one task (repeatable); default: the built-in sample WARC, cut into 3 tasks")
	fs.StringVar(&o.Crawl, "crawl", "", "instead of --warc: take tasks from this CommonCrawl crawl (e.g. CC-MAIN-2024-10) over HTTPS; use with --ranges for a quick start")
	fs.IntVar(&o.CrawlWARCs, "crawl-warcs", 1, "with --crawl: how many of the crawl's WARC files")
	fs.IntVar(&o.Ranges, "ranges", 1, "cut each WARC into this many tasks (record ranges); the built-in sample: 3")
	fs.Int64Var(&o.RecordsPerRange, "records-per-range", 0, "records per range with --ranges > 1; the built-in sample: 16")
	fs.StringVar(&o.Dir, "dir", "", "data folder (chain, task and validator databases, dataset store), kept after the run; default a temporary folder, removed at the end unless --keep")
	fs.BoolVar(&o.Keep, "keep", false, "keep the temporary data folder after the run (its path is printed)")
	fs.BoolVar(&o.Serve, "serve", false, "after the run ends (done, or --duration), keep the network and its website up until Ctrl-C")
	fs.StringVar(&o.Listen, "listen", "127.0.0.1:8080", "task server and website address (another free port if this one is taken and --listen is not given)")
	fs.DurationVar(&o.Duration, "duration", 0, "how long to run (0: until Ctrl-C); with --until-done, the most to wait for done (0: 15m), after which the run fails")
	fs.BoolVar(&o.UntilDone, "until-done", false, "stop once every task is done, every submission scored, weights set and an epoch has paid out; exit non-zero if that does not happen within --duration")
	fs.StringVar(&o.Summary, "summary", "", "write the end-of-run summary as JSON to this file")
	fs.StringVar(&o.Assets, "assets", assets.DefaultDir(), "pipeline asset folder (see 'refine assets'; the word lists are built in)")
	o.Log.AddFlags(fs)
}

func newDevnetCommand() *cobra.Command {
	var opts devnetOptions
	cmd := &cobra.Command{
		Use:   "devnet [--warc PATH... | --crawl CC-MAIN-YYYY-WW]",
		Short: "Run a whole subnet on this machine: chain, task server, website, miners, validators",
		Long: `Runs a whole subnet in one process: a dev chain, the task server with the
website, miners and validators talking to each other as on a real network. With
no input flags it runs offline on the sample WARC built into the binary (real
pages, cut into 3 tasks); --warc takes local WARC files, --crawl a CommonCrawl
crawl over HTTPS.

It prints the website's address while it runs and, at the end, a summary and
where everything went. The data folder is temporary unless --dir or --keep;
--serve keeps the site up after the run until Ctrl-C. With --until-done the
run ends when the work is done, and exits non-zero if it is not done within
--duration.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.WARCs = append(opts.WARCs, args...)
			opts.ListenDefault = !cmd.Flags().Changed("listen")
			if !cmd.Flags().Changed("ranges") {
				opts.Ranges = 0 // the input's default: 3 for the built-in sample, else 1
			}
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
	if o.Ranges > 1 && o.RecordsPerRange <= 0 {
		return fmt.Errorf("--ranges %d needs --records-per-range", o.Ranges)
	}
	tty := false
	if f, ok := stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		tty = true
	}
	last := time.Time{}
	status := func(s string) {
		if tty {
			fmt.Fprintf(stderr, "\r\033[K%s", s)
		} else if time.Since(last) >= 10*time.Second {
			last = time.Now()
			fmt.Fprintln(stderr, s)
		}
	}
	shown := false
	sum, err := devnet.Run(ctx, devnet.Options{
		Dir: o.Dir, Keep: o.Keep, Miners: o.Miners, Validators: o.Validators, BlockTime: o.BlockTime, Tempo: o.Tempo,
		WARCs: o.WARCs, Crawl: o.Crawl, CrawlWARCs: o.CrawlWARCs, RangesPerWARC: o.Ranges, RecordsPerRange: o.RecordsPerRange,
		AssetsDir: o.Assets, Listen: o.Listen, ListenAnyIfBusy: o.ListenDefault,
		Duration: o.Duration, UntilDone: o.UntilDone, Serve: o.Serve,
		Log: log,
		Ready: func(url string) {
			fmt.Fprintf(stdout, "devnet running: website and task server at %s\n", url)
		},
		Status: status,
		Finished: func(s *devnet.Summary) {
			if tty {
				fmt.Fprintln(stderr)
			}
			shown = true
			printDevnetSummary(stdout, s, true)
			if werr := writeDevnetSummary(o.Summary, s); werr != nil {
				fmt.Fprintln(stderr, "refine:", werr)
			}
			fmt.Fprintf(stdout, "\nthe network and its website keep running at %s; Ctrl-C stops them\n", s.URL)
		},
	})
	if tty && !shown {
		fmt.Fprintln(stderr)
	}
	if sum == nil || sum.Ended == "" {
		return err // the network never ran
	}
	if errors.Is(err, devnet.ErrNotDone) && sum.Ended == "duration" {
		err = fmt.Errorf("%w (give it longer with --duration; --log-level info shows every step)", err)
	}
	if shown {
		fmt.Fprintln(stdout, "stopped.")
		printDevnetFolder(stdout, sum)
	} else {
		printDevnetSummary(stdout, sum, false)
		if werr := writeDevnetSummary(o.Summary, sum); werr != nil && err == nil {
			err = werr
		}
	}
	return err
}

func writeDevnetSummary(path string, s *devnet.Summary) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("--summary: %w", err)
	}
	return nil
}

// printDevnetSummary prints the run's outcome, every neuron's standing
// (zero scores included; emission totalled over the run) and where
// everything went. serving: the network is still up (--serve).
func printDevnetSummary(w io.Writer, s *devnet.Summary, serving bool) {
	state := map[string]string{
		"done": "done", "duration": "--duration passed", "interrupted": "interrupted", "error": "stopped by an error",
	}[s.Ended]
	fmt.Fprintf(w, "\nsummary after %.0f s, %d blocks (%s): %d/%d tasks done, %d/%d score reports\n",
		s.Elapsed, s.Blocks, state, s.TasksDone, s.Tasks, s.Reports, int(s.Tasks)*len(s.Validators))
	// The same label and number as the website's "Tokens accepted".
	fmt.Fprintf(w, "tokens accepted: %s (GPT-2 tokens, FineWeb's token_count, of %s documents in %d accepted submissions, checked by validators); miners published %s documents, %s tokens in all\n",
		humanize.Comma(s.Tokens), humanize.Comma(s.Documents), s.Accepted, humanize.Comma(s.PublishedDocuments), humanize.Comma(s.PublishedTokens))
	fmt.Fprintf(w, "input: %s\n\n", s.Input)
	fmt.Fprintf(w, "%-12s %4s %6s %8s %10s %22s\n", "miner", "uid", "tasks", "score", "incentive", "emission over run (α)")
	for _, m := range s.Miners {
		fmt.Fprintf(w, "%-12s %4d %6d %8.4f %10.4f %22s\n", m.Name, m.UID, m.Tasks, m.Score, m.Incentive, alpha(m.Emission))
	}
	fmt.Fprintf(w, "%-12s %4s %6s %8s %10s %22s\n", "validator", "uid", "", "", "dividends", "emission over run (α)")
	for _, v := range s.Validators {
		fmt.Fprintf(w, "%-12s %4d %6s %8s %10.4f %22s\n", v.Name, v.UID, "", "", v.Dividends, alpha(v.Emission))
	}
	fmt.Fprintln(w, "(score: mean of the validators' scores; incentive and dividends: the last epoch; emission: every epoch of the run, 1 α = 1e9 rao)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "where everything went:")
	fmt.Fprintf(w, "  website      %s", s.URL)
	if serving {
		fmt.Fprintln(w, " (up until Ctrl-C)")
	} else {
		fmt.Fprintln(w, " (stopped with the run; --serve keeps it up until Ctrl-C)")
	}
	wh := s.Where
	rel := func(p string) string {
		if r, err := filepath.Rel(wh.Dir, p); err == nil {
			return r
		}
		return p
	}
	fmt.Fprintf(w, "  chain        %s\n", rel(wh.ChainDB))
	fmt.Fprintf(w, "  task server  %s (the website's own tables: %s)\n", rel(wh.TasksDB), rel(wh.WebDB))
	var vdbs []string
	for _, p := range wh.ValidatorDBs {
		vdbs = append(vdbs, rel(p))
	}
	fmt.Fprintf(w, "  validators   %s\n", strings.Join(vdbs, ", "))
	fmt.Fprintf(w, "  datasets     %s/ (repositories %s)\n", rel(wh.Store), strings.Join(wh.Repos, ", "))
	if wh.Input != "" {
		fmt.Fprintf(w, "  input        %s\n", rel(wh.Input))
	}
	if !serving {
		printDevnetFolder(w, s)
	}
}

// printDevnetFolder says whether the data folder remains, and how to look
// at it again.
func printDevnetFolder(w io.Writer, s *devnet.Summary) {
	wh := s.Where
	if wh.Kept {
		fmt.Fprintf(w, "  (all in %s, kept; see the site again with: refine web --db %s)\n", wh.Dir, wh.TasksDB)
		return
	}
	fmt.Fprintf(w, "  (all in %s, a temporary folder, now removed: --keep keeps it, --dir DIR chooses it)\n", wh.Dir)
}

// alpha shows rao as α with 4 decimals (1 α = 1e9 rao).
func alpha(rao uint64) string {
	return fmt.Sprintf("%d.%04d", rao/1e9, rao%1e9/1e5)
}
