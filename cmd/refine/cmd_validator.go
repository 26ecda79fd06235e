package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/datarefine/refine/assets"
	"github.com/datarefine/refine/lm/eval"
	"github.com/datarefine/refine/process"
	"github.com/datarefine/refine/retry"
	"github.com/datarefine/refine/store"
	"github.com/datarefine/refine/store/backend"
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
	o.Key.AddFlags(fs)
	o.Net.AddFlags(fs)
	fs.StringVar(&o.TaskServer, "taskserver", "", "task server URL, e.g. http://127.0.0.1:8090 (required)")
	fs.StringVar(&o.TaskServerKey, "taskserver-hotkey", "", "the task server's hotkey (SS58) that requests are signed for (default: as the server at --taskserver names itself)")
	fs.StringVar(&o.Store, "store", "hub", "where miners publish: "+backend.Usage+" (hub: Hugging Face)")
	fs.StringVar(&o.DB, "db", dataPath("validator.db"), "SQLite state file (verdicts, EMAs, accepted signatures)")
	fs.StringVar(&o.WorkDir, "workdir", "", "folder for fetched submissions (default: a temp folder)")
	fs.StringVar(&o.Assets, "assets", assets.DefaultDir(), "asset folder (see 'refine assets'; the word lists are built in)")
	fs.StringVar(&o.WARCMirror, "warc-mirror", "", "local folder mirroring the crawl's paths (checked first)")
	fs.StringVar(&o.WARCBaseURL, "warc-base-url", "https://data.commoncrawl.org/", "base URL for WARC paths not in the mirror")
	fs.Uint64Var(&o.EvalEvery, "eval-every", 10, "blocks between evaluation rounds")
	fs.Uint64Var(&o.WeightsEvery, "weights-every", 100, "blocks between weight settings")
	fs.IntVar(&o.Provenance, "provenance-samples", 16, "provenance draws per submission (byte positions whose documents are re-derived)")
	fs.IntVar(&o.Coverage, "coverage-samples", 21, "coverage draws landing on records the reference keeps sought per submission")
	fs.IntVar(&o.EvalWorkers, "eval-workers", 4, "submissions checked at once (verdicts are recorded in commit order whatever the number)")
	fs.Int64Var(&o.MaxFileBytes, "max-file-bytes", 2<<30, "largest file fetched from a submission")
	fs.Int64Var(&o.MaxBytes, "max-bytes", 8<<30, "largest submission fetched")
	fs.DurationVar(&o.Poll, "poll", time.Second, "how often to look at the chain head")
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
	quality, err := validatorQuality(ctx, o.EvalRef, o.Assets, log)
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

// validatorQuality picks the quality scorer: the small model on the given
// reference text, else on the registered reference text of the asset folder;
// the stand-in with ref "none" or (with a warning) when the asset folder has
// no reference text.
func validatorQuality(ctx context.Context, ref, assetDir string, log *slog.Logger) (validator.QualityScorer, error) {
	switch ref {
	case "none":
		log.Info("quality: stand-in (--eval-reference none)")
		return validator.StandInQuality{}, nil
	case "":
		p, _, err := assets.Path(assetDir, assets.EvalReference)
		if err != nil {
			log.Warn("quality: no reference text, using the stand-in; get it with `refine assets fetch` or pass --eval-reference", "error", err)
			return validator.StandInQuality{}, nil
		}
		ref = p
	}
	q, err := validator.NewLMQuality(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("validator: %w", err)
	}
	log.Info("quality: small model, relative to the reference pipeline", "protocol", eval.ProtocolV2().Version, "reference", ref)
	return q, nil
}
