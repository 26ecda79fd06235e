// Package corpus builds the subnet's product: one deduplicated dataset in
// FineWeb's layout, assembled from the submissions the network accepted
// (or from plain dataset folders), published as a new tagged revision of
// a dataset repository on every build (`refine dataset build`,
// docs/dataset.md).
//
// A build is six stages, each a pure function of the work folder:
//
//	plan     pick the inputs not yet in the dataset, in commitment order
//	fetch    download each input at its pinned revision, verify it, and
//	         compute every document's MinHash signature from its text
//	bucket   per dump and band: sort the new documents' bands, look them
//	         up in the band index of earlier builds, add them to it
//	cluster  per dump: join the duplicate pairs; the earliest document of
//	         every cluster survives; cut the survivors into output shards
//	write    per output shard: copy the surviving rows into it
//	publish  dataset card, lineage, summary; publish, tag, commit state
//
// fetch, bucket, cluster and write split into independent units (an
// input, a dump's band, a dump, an output shard) that N ranks share
// (unit mod N); each unit writes its outputs atomically and then a
// completion marker, so a rank that is killed is simply run again, and
// the output does not depend on N. The package also holds the external
// sort used by `refine dedup` (Deduplicate).
package corpus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"

	"github.com/datarefine/refine/pipeline/dedup"
	"github.com/datarefine/refine/pipeline/words"
	"github.com/datarefine/refine/store"
)

// Stage names a build stage.
type Stage string

// The stages, in order.
const (
	StagePlan    Stage = "plan"
	StageFetch   Stage = "fetch"
	StageBucket  Stage = "bucket"
	StageCluster Stage = "cluster"
	StageWrite   Stage = "write"
	StagePublish Stage = "publish"
)

// Stages lists every stage in order.
var Stages = []Stage{StagePlan, StageFetch, StageBucket, StageCluster, StageWrite, StagePublish}

// Options configures a build.
type Options struct {
	// Work is the folder every rank shares: state, band index, scratch
	// and the dataset's working copy (docs/dataset.md). Required.
	Work string
	// Source lists and fetches the inputs. Required for the plan and
	// fetch stages.
	Source Source
	// Store and Repo: where each build is published as a new revision,
	// tagged v<build> (when the store can tag). A nil Store builds the
	// working copy only.
	Store store.Store
	Repo  string
	// Name is the dataset's pretty name on its card; License its
	// license id on the Hub (default odc-by, as FineWeb).
	Name    string
	License string
	// Memory bounds each process's buffers (default 2 GiB); Workers its
	// parallelism (default GOMAXPROCS).
	Memory  int64
	Workers int
	// ShardBytes is the text per output shard (default 1 GiB: ~350 MB of
	// zstd parquet); RowGroupDocs the rows per row group (default 10,000).
	ShardBytes   int64
	RowGroupDocs int64
	// MinHasher computes signatures (default FineWeb's MinHash settings).
	MinHasher *dedup.MinHasher
	// Log receives progress (default: discarded).
	Log *slog.Logger
}

// DefaultOptions returns the defaults for work folder dir.
func DefaultOptions(dir string) Options {
	return Options{
		Work: dir, Name: "Data Refine Subnet web corpus", License: "odc-by",
		Memory: 2 << 30, ShardBytes: 1 << 30, RowGroupDocs: 10_000,
	}
}

func (o *Options) defaults() error {
	d := DefaultOptions(o.Work)
	if o.Work == "" {
		return errors.New("dataset build: no work folder")
	}
	if o.Name == "" {
		o.Name = d.Name
	}
	if o.License == "" {
		o.License = d.License
	}
	if o.Memory <= 0 {
		o.Memory = d.Memory
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.ShardBytes <= 0 {
		o.ShardBytes = d.ShardBytes
	}
	if o.RowGroupDocs <= 0 {
		o.RowGroupDocs = d.RowGroupDocs
	}
	if o.MinHasher == nil {
		s, err := dedup.NewMinHasher(dedup.MinHasherOptions{Words: words.Words})
		if err != nil {
			return err
		}
		o.MinHasher = s
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return nil
}

// ErrUpToDate is returned by the plan stage (and Build) when no input is
// new: there is nothing to build.
var ErrUpToDate = errors.New("dataset is up to date: no new inputs")

// ErrNoBuild is returned by the stages after plan when no build is in
// progress: the plan stage found no new input (or has not run).
var ErrNoBuild = errors.New("no build in progress (the plan stage found no new input, or has not run)")

// Result describes a finished build.
type Result struct {
	Build    int    `json:"build"`
	Tag      string `json:"tag"`
	Revision string `json:"revision,omitempty"`
	// Dir is the dataset's working copy.
	Dir string `json:"dir"`
	BuildRecord
}

// Build runs every stage in this process (one rank) and returns what the
// build published. A build interrupted earlier (by a crash or a kill)
// resumes where it stopped and gives the same bytes.
func Build(ctx context.Context, opts Options) (*Result, error) {
	for _, st := range Stages {
		if err := RunStage(ctx, opts, st, 0, 1); err != nil {
			return nil, err
		}
	}
	return LastResult(opts.Work)
}

// LastResult describes the last committed build of a work folder.
func LastResult(work string) (*Result, error) {
	l := layout{work}
	st, err := loadState(l)
	if err != nil {
		return nil, err
	}
	if st.Build == 0 {
		return nil, errors.New("dataset build: nothing built yet")
	}
	rec := st.History[len(st.History)-1]
	return &Result{Build: rec.Build, Tag: rec.Tag, Revision: rec.Revision, Dir: l.out(), BuildRecord: rec}, nil
}

// RunStage runs rank's share of one stage of the current build (world
// ranks in all). plan and publish are one unit each, run by rank 0; the
// other ranks return at once.
func RunStage(ctx context.Context, opts Options, stage Stage, rank, world int) error {
	if err := opts.defaults(); err != nil {
		return err
	}
	if world < 1 || rank < 0 || rank >= world {
		return fmt.Errorf("dataset build: rank %d of world %d", rank, world)
	}
	b := &builder{opts: opts, l: layout{opts.Work}, rank: rank, world: world, log: opts.Log.With("stage", string(stage), "rank", rank)}
	if (stage == StagePlan || stage == StagePublish) && rank != 0 {
		return nil
	}
	if stage == StagePlan {
		return b.planStage(ctx)
	}
	if err := b.load(); err != nil {
		return err
	}
	switch stage {
	case StageFetch:
		return b.fetchStage(ctx)
	case StageBucket:
		return b.bucketStage(ctx)
	case StageCluster:
		return b.clusterStage(ctx)
	case StageWrite:
		return b.writeStage(ctx)
	case StagePublish:
		return b.publishStage(ctx)
	}
	return fmt.Errorf("dataset build: unknown stage %q (want one of %v)", stage, Stages)
}

// builder is one process's view of the current build.
type builder struct {
	opts        Options
	l           layout
	rank, world int
	log         *slog.Logger
	state       *State
	plan        *Plan
	n           int           // the build in progress
	cpu         chan struct{} // bounds the fetch stage's signing to Workers
}

// load reads the state and the plan of the build in progress.
func (b *builder) load() error {
	st, err := loadState(b.l)
	if err != nil {
		return err
	}
	b.state = st
	b.n = st.Build + 1
	var p Plan
	ok, err := readJSON(b.l.plan(b.n), &p)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("dataset build: %s: %w", b.opts.Work, ErrNoBuild)
	}
	if p.Format != PlanFormat || p.Build != b.n {
		return fmt.Errorf("dataset build: %s: format %q build %d, want %q build %d", b.l.plan(b.n), p.Format, p.Build, PlanFormat, b.n)
	}
	if p.Params.MinHash != b.opts.MinHasher.Config() {
		return fmt.Errorf("dataset build: build %d was planned with MinHash %+v, this process signs with %+v", b.n, p.Params.MinHash, b.opts.MinHasher.Config())
	}
	b.plan = &p
	return nil
}

// mine says whether this rank runs unit u.
func (b *builder) mine(u int) bool { return u%b.world == b.rank }

// RankFromEnv returns the rank and world a cluster engine gives a task:
// Slurm job arrays (SLURM_ARRAY_TASK_ID, counted from
// SLURM_ARRAY_TASK_MIN, of SLURM_ARRAY_TASK_COUNT) or Kubernetes Indexed
// Jobs (JOB_COMPLETION_INDEX; the world is the Job's completions, which
// the pod does not see: pass it). ok is false when neither is set.
func RankFromEnv(world int) (rank, w int, ok bool, err error) {
	if id := os.Getenv("SLURM_ARRAY_TASK_ID"); id != "" {
		r, err := strconv.Atoi(id)
		if err != nil {
			return 0, 0, false, fmt.Errorf("SLURM_ARRAY_TASK_ID %q: %w", id, err)
		}
		if m := os.Getenv("SLURM_ARRAY_TASK_MIN"); m != "" {
			mi, err := strconv.Atoi(m)
			if err != nil {
				return 0, 0, false, fmt.Errorf("SLURM_ARRAY_TASK_MIN %q: %w", m, err)
			}
			r -= mi
		}
		if world <= 0 {
			c, err := strconv.Atoi(os.Getenv("SLURM_ARRAY_TASK_COUNT"))
			if err != nil {
				return 0, 0, false, fmt.Errorf("SLURM_ARRAY_TASK_COUNT %q: %w", os.Getenv("SLURM_ARRAY_TASK_COUNT"), err)
			}
			world = c
		}
		return r, world, true, nil
	}
	if id := os.Getenv("JOB_COMPLETION_INDEX"); id != "" {
		r, err := strconv.Atoi(id)
		if err != nil {
			return 0, 0, false, fmt.Errorf("JOB_COMPLETION_INDEX %q: %w", id, err)
		}
		if world <= 0 {
			return 0, 0, false, errors.New("JOB_COMPLETION_INDEX is set: give --world (the Job's completions)")
		}
		return r, world, true, nil
	}
	return 0, 0, false, nil
}
