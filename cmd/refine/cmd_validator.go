package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/datarefine/refine/assets"
	"github.com/datarefine/refine/process"
	"github.com/datarefine/refine/retry"
	"github.com/datarefine/refine/store"
	"github.com/datarefine/refine/store/backend"
	"github.com/datarefine/refine/taskserver"
	"github.com/datarefine/refine/taskserver/client"
	"github.com/datarefine/refine/validator"
	"github.com/datarefine/refine/validator/verify"
)

type validatorOptions struct {
	Key           hotkeyOptions
	Net           networkOptions
	TaskServer    string
	TaskServerKey string
	Store         string
	DB            string
	WorkDir       string
	Assets        string
	WARCMirror    string
	WARCBaseURL   string
	EvalEvery     uint64
	WeightsEvery  uint64
	Provenance    int
	Coverage      int
	EvalWorkers   int
	MaxFileBytes  int64
	MaxBytes      int64
	Poll          time.Duration
	Metrics       string
	EvalRef       string
	Log           logOptions
}

func (o *validatorOptions) AddFlags(fs *pflag.FlagSet) {
	d := validator.DefaultOptions()
	o.Key.AddFlags(fs)
	o.Net.AddFlags(fs)
	fs.StringVar(&o.TaskServer, "taskserver", "", "task server URL, e.g. http://"+taskserver.DefaultListen+" (required)")
	fs.StringVar(&o.TaskServerKey, "taskserver-hotkey", "", "the task server's hotkey (SS58) that requests are signed for (default: as the server at --taskserver names itself)")
	fs.StringVar(&o.Store, "store", "hub", "where miners publish: "+backend.Usage+" (hub: Hugging Face)")
	fs.StringVar(&o.DB, "db", dataPath("validator.db"), "SQLite state file (verdicts, EMAs, accepted signatures)")
	fs.StringVar(&o.WorkDir, "workdir", "", "folder for fetched submissions (default: a temp folder)")
	fs.StringVar(&o.Assets, "assets", assets.DefaultDir(), "asset folder (see 'refine assets'; the word lists are built in)")
	fs.StringVar(&o.WARCMirror, "warc-mirror", "", "local folder mirroring the crawl's paths (checked first)")
	fs.StringVar(&o.WARCBaseURL, "warc-base-url", taskserver.CommonCrawlBase, "base URL for WARC paths not in the mirror")
	fs.Uint64Var(&o.EvalEvery, "eval-every", d.EvalEvery, "blocks between evaluation rounds")
	fs.Uint64Var(&o.WeightsEvery, "weights-every", d.WeightsEvery, "blocks between weight settings")
	fs.IntVar(&o.Provenance, "provenance-samples", d.ProvenanceSamples, "provenance draws per submission (byte positions whose documents are re-derived)")
	fs.IntVar(&o.Coverage, "coverage-samples", d.CoverageSamples, "coverage draws landing on records the reference keeps sought per submission")
	fs.IntVar(&o.EvalWorkers, "eval-workers", 0, "submissions checked at once (0: 4, at most the CPUs; verdicts are recorded in commit order whatever the number)")
	fs.Int64Var(&o.MaxFileBytes, "max-file-bytes", d.Limits.MaxFileBytes, "largest file fetched from a submission")
	fs.Int64Var(&o.MaxBytes, "max-bytes", d.Limits.MaxTotalBytes, "largest submission fetched")
	fs.DurationVar(&o.Poll, "poll", d.PollInterval, "how often to look at the chain head")
	fs.StringVar(&o.Metrics, "metrics", "", "serve Prometheus metrics on this address, e.g. 127.0.0.1:9102")
	fs.StringVar(&o.EvalRef, "eval-reference", "", "held-out reference text (path or URL) of the small-model quality score (lm/eval, protocol refine-eval/2, relative to the reference pipeline's output); default: the registered WikiText-2 test in the asset folder; none: use the documented stand-in")
	o.Log.AddFlags(fs)
}

func newValidatorCommand() *cobra.Command {
	var opts validatorOptions
	cmd := &cobra.Command{
		Use:   "validator",
		Short: "Validate: check miners' commitments, score them, set weights, report scores",
		Long: `Every --eval-every blocks reads the miners' commitments and checks each new
one: lease with the task server, integrity of the dataset at the pinned
revision, provenance (sampled documents re-derived from their WARC records),
coverage (sampled records the reference pipeline keeps are present),
duplicates and uniqueness against earlier accepted submissions, speed and
quality. Scores feed an EMA per uid kept in --db; weights are set every
--weights-every blocks (commit-reveal when the subnet uses it) and every
score is reported to the task server. See docs/mechanism.md.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runValidator(cmd.Context(), opts, cmd.ErrOrStderr())
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

func runValidator(ctx context.Context, o validatorOptions, stderr io.Writer) error {
	if o.TaskServer == "" {
		return fmt.Errorf("give --taskserver URL")
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
	quality, err := validator.ChooseQuality(ctx, o.EvalRef, o.Assets, log)
	if err != nil {
		return err
	}
	if err := prepareDB(o.DB); err != nil {
		return err
	}
	v, err := validator.New(validator.Options{
		Quality: quality,
		Chain:   ch, Netuid: o.Net.Netuid, Hotkey: key, Store: st,
		Tasks: client.New(client.Options{URL: o.TaskServer, Signer: key, SignedFor: o.TaskServerKey, Retry: retry.Policy{Log: log}}),
		DB:    o.DB, WorkDir: o.WorkDir,
		Reference: verify.ReferenceOptions{
			Steps:   process.StepOptions{AssetsDir: o.Assets},
			Resolve: verify.MirrorResolver(o.WARCMirror, o.WARCBaseURL),
		},
		EvalEvery: o.EvalEvery, WeightsEvery: o.WeightsEvery,
		ProvenanceSamples: o.Provenance, CoverageSamples: o.Coverage, EvalWorkers: o.EvalWorkers,
		Limits:       store.Limits{MaxFileBytes: o.MaxFileBytes, MaxTotalBytes: o.MaxBytes},
		PollInterval: o.Poll, Registerer: reg, Log: log,
	})
	if err != nil {
		return err
	}
	defer v.Close()
	log.Info("validator starting", "hotkey", key.SS58(), "netuid", o.Net.Netuid, "taskserver", o.TaskServer, "db", o.DB)
	return runGroup(ctx, v.Run, serveMetrics(metrics, reg))
}
