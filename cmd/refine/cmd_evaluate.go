package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/datarefine/refine/assets"
	"github.com/datarefine/refine/lm/eval"
)

type evaluateOptions struct {
	dataset    string
	against    string // relative mode: the dataset to compare with
	reference  string
	refFormat  string
	benchmarks []string // name=path-or-URL
	assets     string   // asset folder with the registered evaluation data
	json       bool
}

func newEvaluateCommand() *cobra.Command {
	var o evaluateOptions
	cmd := &cobra.Command{
		Use:   "evaluate DATASET",
		Short: "Score a dataset by training a small language model on it (the validators' quality score)",
		Long: `Trains our small GPT from scratch on a deterministic sample of DATASET (a folder,
e.g. a store revision, or a parquet / JSONL(.gz) file with a "text" field) under
the fixed protocol, once per protocol seed, and measures each model on held-out
reference text (loss, accuracy) and on multiple-choice benchmarks. The quality
score is minus the mean reference loss: higher is better. The result is the same
bits on every machine of the same architecture, whatever the thread count.

With --against OTHER it compares the two datasets under the same budget and
seeds and reports the paired difference (positive: DATASET is better).

The reference text and the benchmarks are the registered evaluation assets of
the asset folder (refine assets fetch, or refine assets import DIR) unless
--reference / --benchmark name other files.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.dataset = args[0]
			return runEvaluate(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.against, "against", "", "relative mode: compare DATASET with this dataset")
	f.StringVar(&o.reference, "reference", "", "reference text, path or URL (default: the registered WikiText-2 test in the asset folder)")
	f.StringVar(&o.refFormat, "reference-format", eval.FormatAuto, "reference format: wikitext, text, or empty to detect")
	f.StringArrayVar(&o.benchmarks, "benchmark", nil, "NAME=PATH-or-URL of a multiple-choice benchmark (repeatable; replaces the registered benchmarks of the asset folder; none: no benchmarks)")
	f.StringVar(&o.assets, "assets", assets.DefaultDir(), "asset folder with the registered evaluation data (see refine assets)")
	f.BoolVar(&o.json, "json", false, "print the report as JSON")
	return cmd
}

func runEvaluate(ctx context.Context, o evaluateOptions, stdout, stderr io.Writer) error {
	if err := o.resolveAssets(); err != nil {
		return err
	}
	p := eval.ProtocolV2()
	opts := eval.Options{
		Protocol:  p,
		Reference: eval.Asset{Source: o.reference, Format: o.refFormat},
		Logf:      func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) },
	}
	for _, b := range o.benchmarks {
		name, src, ok := strings.Cut(b, "=")
		if !ok || name == "" || src == "" {
			return fmt.Errorf("evaluate: --benchmark %q: want NAME=PATH", b)
		}
		opts.Benchmarks = append(opts.Benchmarks, eval.NamedAsset{Name: name, Source: src})
	}
	ev, err := eval.New(ctx, opts)
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	docs, err := eval.ReadDataset(ctx, o.dataset)
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	if o.against == "" {
		r, err := ev.Evaluate(ctx, docs)
		if err != nil {
			return fmt.Errorf("evaluate: %w", err)
		}
		if o.json {
			return writeJSON(stdout, r)
		}
		printReport(stdout, o.dataset, r)
		return nil
	}
	other, err := eval.ReadDataset(ctx, o.against)
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	c, err := ev.Compare(ctx, docs, other)
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	if o.json {
		return writeJSON(stdout, c)
	}
	printReport(stdout, o.dataset, c.A)
	printReport(stdout, o.against, c.B)
	fmt.Fprintf(stdout, "delta quality (A - B): %+.4f  (paired seed sd %.4f, z %.1f)\n", c.Delta, c.DeltaSD, c.Z)
	return nil
}

// resolveAssets fills in the registered evaluation data of the asset
// folder where no flag names a file: the reference text (required) and the
// benchmarks the folder has; --benchmark none means no benchmarks.
func (o *evaluateOptions) resolveAssets() error {
	if o.reference == "" {
		p, _, err := assets.Path(o.assets, assets.EvalReference)
		if err != nil {
			return fmt.Errorf("evaluate: no --reference and no registered reference text: %w", err)
		}
		o.reference = p
	}
	if len(o.benchmarks) == 0 {
		// The registered benchmarks the asset folder has (reported only).
		for _, b := range assets.EvalBenchmarks {
			if p, _, err := assets.Path(o.assets, b.Asset); err == nil {
				o.benchmarks = append(o.benchmarks, b.Name+"="+p)
			}
		}
	} else if len(o.benchmarks) == 1 && o.benchmarks[0] == "none" {
		o.benchmarks = nil
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("evaluate: write json: %w", err)
	}
	return nil
}

func printReport(w io.Writer, name string, r *eval.Report) {
	fmt.Fprintf(w, "dataset %s (%s)\n", name, r.Protocol)
	fmt.Fprintf(w, "  documents %d, sampled %d, pool %d tokens (%.1f%% out of vocabulary), %d training tokens per seed\n",
		r.Documents, r.PoolDocs, r.PoolTokens, 100*r.PoolOOV, r.TrainTokens)
	fmt.Fprintf(w, "  reference loss     %.4f ± %.4f nats/token\n", r.RefLoss.Mean, r.RefLoss.SD)
	fmt.Fprintf(w, "  reference accuracy %.4f ± %.4f\n", r.RefAccuracy.Mean, r.RefAccuracy.SD)
	names := make([]string, 0, len(r.Benchmarks))
	for k := range r.Benchmarks {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(w, "  %-18s %.4f ± %.4f (accuracy)\n", k, r.Benchmarks[k].Mean, r.Benchmarks[k].SD)
	}
	fmt.Fprintf(w, "  quality            %.4f ± %.4f   (%.0f s)\n", r.Quality, r.QualitySD, r.Seconds)
}
