package validator

import (
	"context"
	"log/slog"
	"os"
	"runtime"
	"time"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/store"
	"github.com/datarefine/refine/taskapi"
	"github.com/datarefine/refine/validator/score"
	"github.com/datarefine/refine/validator/verify"
	"github.com/prometheus/client_golang/prometheus"
)

// TaskServer is what the validator needs from the task server: a task with
// its lease history, every submission (completed lease) in completion
// order, a place to send reports on submissions, and the release of the
// reports whose weights are public. *taskserver/client.Client satisfies it
// (its calls are Epistula-signed with the validator's hotkey).
type TaskServer interface {
	Task(ctx context.Context, id int64) (taskapi.TaskResponse, error)
	Submissions(ctx context.Context, after int64, limit int) ([]taskapi.Completion, error)
	Report(ctx context.Context, body taskapi.ScoreBody) (taskapi.ReportResponse, error)
	ReleaseScores(ctx context.Context, through int64) (int, error)
}

// Options configure a Validator. Chain, Hotkey, Store, Tasks and
// Reference.Steps.AssetsDir are required; everything else has a default.
type Options struct {
	// Chain is the subnet's chain (chain/devchain in the devnet, subtensor
	// in production).
	Chain chain.Client
	// Netuid is the subnet (default 1).
	Netuid uint16
	// Hotkey is the validator's key: it sets weights with it and the task
	// server client signs reports with it (a *wallet.Keypair).
	Hotkey chain.Signer
	// Store is where miners publish datasets (store/local in the devnet,
	// store/hub in production).
	Store store.Store
	// Tasks is the task server (a *taskserver/client.Client).
	Tasks TaskServer

	// DB is the validator's SQLite state file (seen commitments, verdicts,
	// EMA per uid, accepted MinHash bands, pending weight commits). Default
	// "validator.db"; ":memory:" for a throwaway state.
	DB string
	// WorkDir receives fetched datasets while they are checked (default:
	// the system temp folder); each is removed after its evaluation.
	WorkDir string

	// Reference configures the reference pipeline re-run for provenance and
	// coverage (Steps.AssetsDir required; Resolve maps task WARC names to
	// paths or URLs).
	Reference verify.ReferenceOptions
	// Quality rates a submission's sampled documents (default:
	// StandInQuality, until `refine evaluate` replaces it).
	Quality QualityScorer
	// Score holds the mechanism's constants (default score.Defaults()).
	Score score.Params

	// EvalEvery is the number of blocks between evaluation rounds
	// (default 10); WeightsEvery between weight settings (default 100).
	EvalEvery, WeightsEvery uint64
	// SeedDelay: a submission's samples are seeded by the hash of the
	// block SeedDelay blocks after the block the task server recorded its
	// lease's completion in, and it is evaluated once that block exists
	// (default 2: more than the task server's head may lag, so that the
	// miner cannot know the seed when it completes).
	SeedDelay uint64
	// GraceBlocks is how many blocks a commitment may land after the task
	// server recorded the lease's completion (default 100; the server's
	// block stamp may lag the chain). A submission whose commitment is not
	// on chain by then is rejected (not_committed).
	GraceBlocks uint64
	// ScanBack is how many blocks before the head a new validator's chain
	// scan starts (default 256, what a non-archive node keeps); ScanBatch
	// how many blocks one CommitmentHistory call reads (default 100);
	// ScanLag how many blocks the scan stays behind the head (default 1:
	// the best block may still be replaced).
	ScanBack, ScanBatch, ScanLag uint64
	// SubmissionsLookback is how many completion sequence numbers are read
	// again each round (default 1000), for completions that commit out of
	// sequence order on PostgreSQL.
	SubmissionsLookback uint64
	// ProvenanceSamples is the number of provenance draws per submission
	// (default 16): byte positions of its text drawn uniformly, whose
	// documents are re-derived from their records.
	ProvenanceSamples int
	// CoverageSamples is how many byte draws landing on records the
	// reference pipeline keeps the coverage sample seeks per submission
	// (default 21: a miner leaving out a share CoverageDrop (default 0.2)
	// of the kept bytes is caught with probability ≥ 99 %), re-running at
	// most CoverageRecords distinct records (default 1,000); every drawn
	// record's claim in the record index is checked, and one false claim
	// rejects (verify.CoverageParams, docs/mechanism.md).
	CoverageSamples, CoverageRecords int
	CoverageDrop                     float64
	// CoverageMaxMissing is the share of the coverage draws on records the
	// reference keeps that may find the record missing (default 0: an
	// honest index has no false claim; tests of other checks raise it).
	CoverageMaxMissing float64
	// Thresholds of the gate (defaults in parentheses): at most
	// MaxMismatch of the provenance draws may miss (0: the pipeline is
	// deterministic, an honest submission matches every draw); at most
	// MaxInternalDup of the documents may duplicate another of the
	// submission (0.01). Overlap with earlier accepted submissions is not
	// a rejection but a discount (see verify.Evaluator).
	MaxMismatch, MaxInternalDup float64
	// EvalWorkers is how many submissions a round checks at once (default
	// 4, at most GOMAXPROCS). The checks that depend on earlier
	// submissions (replays, copies, uniqueness) and the verdicts' records
	// are made one at a time in (block, hotkey) order, so the results do
	// not depend on it.
	EvalWorkers int
	// Uniqueness shapes the uniqueness index: its partitions by crawl and
	// window, and its pruning (UniquenessParams; docs/mechanism.md).
	Uniqueness UniquenessParams
	// Budget turns a task's size into the work its submission may cost
	// (verify.BudgetParams; defaults there).
	Budget verify.BudgetParams
	// Limits bound what is downloaded per submission, on top of the
	// task's budget (default: 2 GiB per file, 8 GiB in all, the rest as
	// store.Limits).
	Limits store.Limits
	// FetchTimeout bounds a submission's download (default 10 min) and
	// EvalTimeout its checks after the download (default 30 min).
	FetchTimeout, EvalTimeout time.Duration
	// VersionKey is sent with weights (the subnet's weights_version).
	VersionKey uint64
	// PollInterval is how often Run looks at the chain head (default 1 s).
	PollInterval time.Duration

	// Registerer receives the Prometheus metrics (default: a private
	// registry, see (*Validator).Registry).
	Registerer prometheus.Registerer
	// Log receives structured logs (default: discard).
	Log *slog.Logger
}

// DefaultOptions are the options' defaults (Chain, Hotkey, Store and Tasks
// are left unset).
func DefaultOptions() Options { return Options{}.withDefaults() }

// EvalParams are the evaluation's parameters (verify.Params) the options
// give.
func (o Options) EvalParams() verify.Params {
	return verify.Params{
		SeedDelay: o.SeedDelay, GraceBlocks: o.GraceBlocks,
		ProvenanceSamples: o.ProvenanceSamples,
		Coverage:          verify.CoverageParams{Target: o.CoverageSamples, MaxRecords: o.CoverageRecords, Drop: o.CoverageDrop, MaxMissing: o.CoverageMaxMissing},
		MaxMismatch:       o.MaxMismatch, MaxInternalDup: o.MaxInternalDup,
		Budget: o.Budget, Limits: o.Limits,
		FetchTimeout: o.FetchTimeout, EvalTimeout: o.EvalTimeout, WorkDir: o.WorkDir,
	}
}

func (o Options) withDefaults() Options {
	if o.Netuid == 0 {
		o.Netuid = 1
	}
	if o.DB == "" {
		o.DB = "validator.db"
	}
	if o.WorkDir == "" {
		o.WorkDir = os.TempDir()
	}
	if o.Quality == nil {
		o.Quality = StandInQuality{}
	}
	o.Score = o.Score.WithDefaults()
	if o.EvalEvery == 0 {
		o.EvalEvery = 10
	}
	if o.WeightsEvery == 0 {
		o.WeightsEvery = 100
	}
	if o.SeedDelay == 0 {
		o.SeedDelay = 2
	}
	if o.GraceBlocks == 0 {
		o.GraceBlocks = 100
	}
	if o.ProvenanceSamples == 0 {
		o.ProvenanceSamples = 16
	}
	cov := verify.CoverageParams{Target: o.CoverageSamples, MaxRecords: o.CoverageRecords, Drop: o.CoverageDrop}.WithDefaults()
	o.CoverageSamples, o.CoverageRecords, o.CoverageDrop = cov.Target, cov.MaxRecords, cov.Drop
	if o.EvalWorkers <= 0 {
		o.EvalWorkers = min(4, runtime.GOMAXPROCS(0))
	}
	o.Uniqueness = o.Uniqueness.withDefaults()
	if o.MaxInternalDup == 0 {
		o.MaxInternalDup = 0.01
	}
	// A validator fetches less than a reader of datasets in general
	// (store.Limits' defaults): one submission is one task's output.
	if o.Limits.MaxFileBytes <= 0 {
		o.Limits.MaxFileBytes = 2 << 30
	}
	if o.Limits.MaxTotalBytes <= 0 {
		o.Limits.MaxTotalBytes = 8 << 30
	}
	o.Limits = o.Limits.WithDefaults()
	if o.FetchTimeout == 0 {
		o.FetchTimeout = 10 * time.Minute
	}
	if o.EvalTimeout == 0 {
		o.EvalTimeout = 30 * time.Minute
	}
	if o.ScanBack == 0 {
		o.ScanBack = 256
	}
	if o.ScanBatch == 0 {
		o.ScanBatch = 100
	}
	if o.ScanLag == 0 {
		o.ScanLag = 1
	}
	if o.SubmissionsLookback == 0 {
		o.SubmissionsLookback = 1000
	}
	if o.PollInterval == 0 {
		o.PollInterval = time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}
