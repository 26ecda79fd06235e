package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/datarefine/refine/acceptance"
	"github.com/datarefine/refine/corpus"
	"github.com/datarefine/refine/taskserver/client"
)

func newDatasetCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dataset",
		Short: "Build the subnet's published dataset from accepted submissions",
	}
	cmd.AddCommand(newDatasetBuildCommand())
	return cmd
}

// datasetBuildOptions are `refine dataset build`'s flags.
type datasetBuildOptions struct {
	Work        string
	Inputs      []string
	TaskServer  string
	SourceStore string
	Share       float64
	Store       string
	Repo        string
	Stage       string
	Rank        int
	World       int
	Memory      string
	Workers     int
	ShardSize   string
	Name        string
	License     string
	NoProgress  bool
}

func (o *datasetBuildOptions) AddFlags(f *pflag.FlagSet) {
	d := corpus.DefaultOptions("")
	f.StringVar(&o.Work, "work", "", "work folder shared by every rank: state, band index, scratch, the dataset's working copy (required)")
	f.StringVar(&o.TaskServer, "taskserver", "", "task server URL: build from the submissions its validators accepted (its public /v1/accepted)")
	f.StringVar(&o.SourceStore, "source-store", "hub", "where the miners' repositories are: hub or local:DIR")
	f.Float64Var(&o.Share, "acceptance-share", 0, "the acceptance share recorded in the dataset with the rule (default: the one the task server's /v1/accepted states; a different value is refused)")
	f.StringArrayVar(&o.Inputs, "input", nil, "dataset folder (repeatable, earliest first): build from folders instead of a task server's accepted submissions")
	f.StringVar(&o.Store, "store", "", "publish each build to this store: hub or local:DIR (default: build the working copy only)")
	f.StringVar(&o.Repo, "repo", "", "dataset repository to publish to (owner/name)")
	f.StringVar(&o.Stage, "stage", "all", "stage to run: plan, fetch, bucket, cluster, write, publish, or all (one process)")
	f.IntVar(&o.Rank, "rank", -1, "this task's rank in [0, world) (default: SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX, else 0)")
	f.IntVar(&o.World, "world", 0, "number of ranks sharing a stage (default: SLURM_ARRAY_TASK_COUNT, else 1)")
	f.StringVar(&o.Memory, "memory", fmt.Sprintf("%dGiB", d.Memory>>30), "memory bound of this process's buffers")
	f.IntVar(&o.Workers, "workers", 0, "parallel work within this process (default: all cores)")
	f.StringVar(&o.ShardSize, "shard-size", fmt.Sprintf("%dGiB", d.ShardBytes>>30), "text per output shard")
	f.StringVar(&o.Name, "name", d.Name, "dataset name on its card")
	f.StringVar(&o.License, "license", d.License, "license id on its card")
	f.BoolVar(&o.NoProgress, "no-progress", false, "no progress lines")
}

func newDatasetBuildCommand() *cobra.Command {
	var o datasetBuildOptions
	cmd := &cobra.Command{
		Use:   "build --work DIR (--taskserver URL | --input DATASET...) [--store hub|local:DIR --repo owner/name]",
		Short: "Fetch, deduplicate and publish the dataset (incremental, resumable, splits into ranks)",
		Long: `Builds one dataset in FineWeb's layout (data/<dump>/NNNNN.parquet, a dataset card,
lineage, summary.json) from the inputs not yet in it, deduplicated against each other
and against every earlier build with FineWeb's MinHash settings (signatures computed
from the texts; the earliest commitment wins), and publishes it as a new revision
tagged v<build>.

A build is six stages: plan, fetch, bucket, cluster, write, publish. With --stage all
(the default) one process runs them all. On a cluster, run each stage as --world N
ranks over the shared --work folder, one stage after another (e.g. Slurm job arrays
with afterok dependencies, or Kubernetes Indexed Jobs): every unit of work writes a
completion marker, so a rank that fails is simply run again, and the output is the
same for any N. A killed build resumes where it stopped. See docs/dataset.md.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDatasetBuild(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	o.AddFlags(cmd.Flags())
	_ = cmd.MarkFlagRequired("work")
	return cmd
}

// acceptedReader lists a task server's accepted submissions and its
// acceptance share.
func acceptedReader(url string) func(context.Context) ([]corpus.Submission, float64, error) {
	c := client.New(client.Options{URL: url})
	return func(ctx context.Context) ([]corpus.Submission, float64, error) {
		subs, share, err := c.AllAccepted(ctx)
		if err != nil {
			return nil, 0, fmt.Errorf("read accepted submissions from %s: %w", url, err)
		}
		return corpus.FromAccepted(subs), share, nil
	}
}

func runDatasetBuild(ctx context.Context, o datasetBuildOptions, stdout, stderr io.Writer) error {
	opts := corpus.DefaultOptions(o.Work)
	mem, err := humanize.ParseBytes(o.Memory)
	if err != nil {
		return fmt.Errorf("--memory %q: %w", o.Memory, err)
	}
	shard, err := humanize.ParseBytes(o.ShardSize)
	if err != nil {
		return fmt.Errorf("--shard-size %q: %w", o.ShardSize, err)
	}
	opts.Memory, opts.ShardBytes, opts.Workers = int64(mem), int64(shard), o.Workers
	opts.Name, opts.License = o.Name, o.License
	// Progress and the stores' retries go to stderr, rounded for people.
	log := newLogger(stderr, slog.LevelInfo, "text")
	if !o.NoProgress {
		opts.Log = log
	}
	switch {
	case o.TaskServer != "" && len(o.Inputs) > 0:
		return errors.New("dataset build: give --taskserver or --input, not both")
	case o.TaskServer != "":
		src, err := openStore("--source-store", o.SourceStore, log)
		if err != nil {
			return err
		}
		rule := acceptance.Rule{Share: o.Share}
		if err := rule.Check(); err != nil {
			return fmt.Errorf("--acceptance-share: %w", err)
		}
		opts.Source = &corpus.Network{Accepted: acceptedReader(o.TaskServer), Rule: rule, URL: o.TaskServer, Store: src}
	case len(o.Inputs) > 0:
		opts.Source = corpus.Folders(o.Inputs)
	default:
		return errors.New("dataset build: give --taskserver URL (accepted submissions) or --input DATASET... (folders)")
	}
	if o.Store != "" {
		if o.Repo == "" {
			return errors.New("dataset build: --store needs --repo owner/name")
		}
		st, err := openStore("--store", o.Store, log)
		if err != nil {
			return err
		}
		opts.Store, opts.Repo = st, o.Repo
	}
	corpus.SetGCLimit(int64(mem))

	rank, world := o.Rank, o.World
	if rank < 0 {
		r, w, ok, err := corpus.RankFromEnv(world)
		if err != nil {
			return err
		}
		if ok {
			rank, world = r, w
		} else {
			rank = 0
		}
	}
	world = max(world, 1)
	if o.Stage == "all" {
		if world != 1 {
			return fmt.Errorf("dataset build: --stage all runs in one process; with %d ranks give each stage in turn", world)
		}
		res, err := corpus.Build(ctx, opts)
		if errors.Is(err, corpus.ErrUpToDate) {
			fmt.Fprintln(stdout, "up to date: no new inputs")
			return nil
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "build %d (%s): +%d documents from %d inputs (%d excluded), %d removed as duplicates; %s %s\n",
			res.Build, res.Tag, res.Documents, res.Submissions, res.Excluded, res.Removed, res.Dir, res.Revision)
		return nil
	}
	err = corpus.RunStage(ctx, opts, corpus.Stage(o.Stage), rank, world)
	switch {
	case errors.Is(err, corpus.ErrUpToDate):
		fmt.Fprintln(stdout, "up to date: no new inputs")
		return nil
	case errors.Is(err, corpus.ErrNoBuild):
		// A stage of a pipeline whose plan found nothing new: the whole
		// job array is a no-op, not a failure.
		fmt.Fprintf(stdout, "stage %s: nothing to do: %v\n", o.Stage, err)
		return nil
	}
	return err
}
