package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/datarefine/refine/assets"
	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/process"
)

type processOptions struct {
	Inputs     []string
	Output     string
	Workers    int
	Decisions  string
	Assets     string
	LIDModel   string
	Dump       string
	NoGate     bool
	ShardSize  int64
	NoProgress bool
	Log        logOptions
}

func (o *processOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringArrayVarP(&o.Inputs, "input", "i", nil, "WARC file, folder or http(s) URL, or JSONL(.gz)/parquet documents (repeatable; positional arguments work too)")
	fs.StringVarP(&o.Output, "output", "o", "", "dataset folder to write, new or empty (required)")
	fs.IntVarP(&o.Workers, "workers", "w", 0, "parallel workers (default: number of CPUs)")
	fs.StringVar(&o.Decisions, "decisions", "", "write one JSON line per record: id, url, kept or the step and reason that dropped it")
	fs.StringVar(&o.Assets, "assets", assets.DefaultDir(), "asset folder (see 'refine assets'): the optional UT1 blocklist; the word lists are built in")
	fs.StringVar(&o.LIDModel, "lid-model", "", "fastText language-ID model (.ftz or .bin, e.g. lid.176.bin); default: the embedded lid.176.ftz")
	fs.StringVar(&o.Dump, "dump", "", "crawl id for the dump column and the data/<dump>/ folder (default: the crawl id in an input's path, else the WARC's warcinfo isPartOf, else local)")
	fs.BoolVar(&o.NoGate, "no-language-gate", false, "extract every page, as datatrove does, instead of skipping pages with no English window of text (slower; see docs/pipeline.md)")
	fs.Int64Var(&o.ShardSize, "shard-size", dataset.DefaultMaxShardBytes, "rotate parquet shards after this many bytes of text")
	fs.BoolVar(&o.NoProgress, "no-progress", false, "no progress bar, even on a terminal")
	o.Log.AddFlags(fs)
}

func newProcessCommand() *cobra.Command {
	var opts processOptions
	cmd := &cobra.Command{
		Use:   "process [--input] PATH_OR_URL... --output DIR",
		Short: "Run the FineWeb pipeline on WARC files (or extracted documents) into a dataset folder",
		Long: `process reads WARC files, folders of them or http(s) URLs (streamed), or
already-extracted documents (JSONL(.gz) lines or parquet rows with text and id),
runs the FineWeb pipeline (URL filter, extraction, English language ID, Gopher,
C4 and FineWeb quality filters, MinHash dedup, GPT-2 token counts, PII) and
writes parquet shards in FineWeb's schema (data/<dump>/NNNNN.parquet) plus a
manifest into a new or empty folder.

The same input gives byte-identical output for any --workers. Input that is
not what it claims (a file that is not a WARC, an unreachable URL) is an error;
a failed run removes what it wrote.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Inputs = append(opts.Inputs, args...)
			return runProcess(cmd.Context(), opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

func runProcess(ctx context.Context, o processOptions, stdout, stderr io.Writer) error {
	if len(o.Inputs) == 0 {
		return fmt.Errorf("no input: give WARC files, folders or URLs with --input")
	}
	if o.Output == "" {
		return fmt.Errorf("no output folder: give --output DIR")
	}
	if o.Dump != "" {
		if err := process.CheckDump(o.Dump); err != nil {
			return fmt.Errorf("--dump: %w", err)
		}
	}
	log, err := o.Log.Logger(stderr)
	if err != nil {
		return err
	}
	popts := process.Options{
		Inputs:    o.Inputs,
		Output:    o.Output,
		Workers:   o.Workers,
		Decisions: o.Decisions,
		Dump:      o.Dump,
		Steps: process.StepOptions{
			AssetsDir:      o.Assets,
			LIDModel:       o.LIDModel,
			NoLanguageGate: o.NoGate,
		},
		MaxShardBytes: o.ShardSize,
		Log:           log,
	}
	bar := newProgressBar(stderr, !o.NoProgress)
	if bar != nil {
		popts.Progress = bar.update
	}
	start := time.Now()
	m, err := process.Run(ctx, popts)
	if bar != nil {
		bar.finish()
	}
	if err != nil {
		return err
	}
	printProcessSummary(stdout, m, time.Since(start))
	return nil
}

func printProcessSummary(w io.Writer, m *dataset.Manifest, took time.Duration) {
	st := m.Stats
	fmt.Fprintf(w, "records %d, kept %d documents, %d tokens, %d shards in %s (%.1f records/s)\n",
		st.Records, m.Documents, m.Tokens, len(m.Shards), took.Round(time.Millisecond), float64(st.Records)/took.Seconds())
	for _, s := range st.Steps {
		if s.Dropped == 0 {
			continue
		}
		fmt.Fprintf(w, "  %-14s dropped %6d", s.Name, s.Dropped)
		for i, r := range s.SortedReasons() {
			if i == 4 {
				fmt.Fprintf(w, " …")
				break
			}
			fmt.Fprintf(w, "  %s=%d", r, s.Reasons[r])
		}
		fmt.Fprintln(w)
	}
}
