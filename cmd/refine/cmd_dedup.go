package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/datarefine/refine/corpus"
	"github.com/datarefine/refine/pipeline/dedup"
	"github.com/datarefine/refine/pipeline/words"
)

type dedupOptions struct {
	Inputs          []string
	Output          string
	Memory          string
	Workers         int
	TempDir         string
	TrustSignatures bool
	NoRecompute     bool
	NoProgress      bool
}

func newDedupCommand() *cobra.Command {
	var o dedupOptions
	cmd := &cobra.Command{
		Use:   "dedup --input DATASET... --output DIR",
		Short: "MinHash-deduplicate several datasets against each other (cross-submission)",
		Long: `Finds near-duplicates across dataset folders with FineWeb's MinHash settings
(5-grams, 14 buckets x 8 hashes), with an external sort whose memory stays
under --memory whatever the input size. Datasets are given in submission order:
in every cluster the earliest document survives (earliest dataset, then shard,
then row).

Signatures are computed from the shards' texts: a dataset's own signature files
are claims of whoever made it, and a forged file can remove honest documents of
other datasets. --trust-signatures uses the files instead (for datasets you
made): each is checked against its shard (row count, the id of every signed
row), and a missing or corrupt file is recomputed from its shard (with
--no-recompute the run fails naming the files).

Writes DIR/removed.jsonl (dataset, shard, row, id, kept_id, ...; in input order)
and DIR/stats.json.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Inputs = append(o.Inputs, args...)
			return runDedup(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.Inputs, "input", nil, "dataset folder (repeatable, in submission order)")
	f.StringVar(&o.Output, "output", "", "output folder")
	f.StringVar(&o.Memory, "memory", "2GB", "memory bound for buffers and tables (e.g. 512MB, 2GB, 4GiB)")
	f.IntVar(&o.Workers, "workers", 0, "buckets sorted and merged in parallel (default: all cores)")
	f.StringVar(&o.TempDir, "tmp", "", "folder for spill files (default: the output folder)")
	f.BoolVar(&o.TrustSignatures, "trust-signatures", false, "use the datasets' signature files (checked against their shards) instead of computing signatures from the texts")
	f.BoolVar(&o.NoRecompute, "no-recompute", false, "with --trust-signatures: fail on a missing or corrupt signature file instead of recomputing it")
	f.BoolVar(&o.NoProgress, "no-progress", false, "no progress bar, even on a terminal")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}

func runDedup(ctx context.Context, o dedupOptions, stdout, stderr io.Writer) error {
	if len(o.Inputs) == 0 {
		return fmt.Errorf("dedup: no --input dataset")
	}
	if o.NoRecompute && !o.TrustSignatures {
		return fmt.Errorf("dedup: --no-recompute needs --trust-signatures (without it every signature is computed from the texts)")
	}
	mem, err := humanize.ParseBytes(o.Memory)
	if err != nil {
		return fmt.Errorf("dedup: --memory %q: %w", o.Memory, err)
	}
	var datasets []corpus.Dataset
	for _, in := range o.Inputs {
		ds, err := corpus.OpenDataset(in)
		if err != nil {
			return err
		}
		datasets = append(datasets, ds)
	}
	signer, err := dedup.NewMinHasher(dedup.MinHasherOptions{Words: words.Words})
	if err != nil {
		return err
	}
	corpus.SetGCLimit(int64(mem))
	opts := corpus.EngineOptions{Memory: int64(mem), TempDir: o.TempDir, Workers: o.Workers, MinHasher: signer,
		TrustSignatures: o.TrustSignatures, NoRecompute: o.NoRecompute, Texts: corpus.ParquetTexts{}}
	bar := newDedupBar(stderr, !o.NoProgress)
	if bar != nil {
		opts.Progress = bar.update
	}
	start := time.Now()
	stats, err := corpus.DeduplicateTo(ctx, datasets, opts, o.Output)
	bar.finish()
	if err != nil {
		return err
	}
	newLogger(stderr, slog.LevelInfo, "text").Info("dedup done",
		"documents", stats.Documents, "with_signature", stats.WithSignature, "clusters", stats.Clusters,
		"removed", stats.Removed, "removed_for_other_dataset", stats.RemovedCross,
		"seconds", time.Since(start).Seconds(), "removals", filepath.Join(o.Output, corpus.RemovedFile))
	return nil
}

// dedupBar shows the engine's current phase on a terminal.
type dedupBar struct {
	p    *mpb.Progress
	bar  *mpb.Bar
	mu   sync.Mutex
	last corpus.Progress
}

func newDedupBar(w io.Writer, enabled bool) *dedupBar {
	f, ok := w.(*os.File)
	if !enabled || !ok || !isatty.IsTerminal(f.Fd()) {
		return nil
	}
	b := &dedupBar{p: mpb.New(mpb.WithOutput(w), mpb.WithRefreshRate(200*time.Millisecond))}
	b.bar = b.p.New(0, mpb.BarStyle(),
		mpb.PrependDecorators(decor.Any(func(decor.Statistics) string {
			b.mu.Lock()
			defer b.mu.Unlock()
			return fmt.Sprintf("%-7s %d/%d", b.last.Phase, b.last.Done, b.last.Total)
		})),
		mpb.AppendDecorators(decor.Percentage()),
	)
	return b
}

func (b *dedupBar) update(p corpus.Progress) {
	b.mu.Lock()
	b.last = p
	b.mu.Unlock()
	b.bar.SetTotal(max(p.Total, 1), false)
	b.bar.SetCurrent(p.Done)
}

func (b *dedupBar) finish() {
	if b == nil {
		return
	}
	b.bar.SetTotal(-1, true)
	b.p.Wait()
}
