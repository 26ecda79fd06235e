package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/datarefine/refine/acceptance"
	"github.com/datarefine/refine/chain/dial"
	"github.com/datarefine/refine/taskserver"
	"github.com/datarefine/refine/taskserver/client"
	"github.com/datarefine/refine/taskserver/sqlstore"
	"github.com/datarefine/refine/wallet"
	"github.com/datarefine/refine/web"
)

// --- refine taskserver (serve) ---

type taskserverOptions struct {
	Listen         string
	DB             string
	Chain          string
	Netuid         uint16
	SignedFor      string
	Import         []string
	Plan           planFlags
	LeaseDuration  time.Duration
	HeartbeatTTL   time.Duration
	MaxLeases      int
	MaxUndecided   int
	SubmissionTTL  time.Duration
	ThrottleAfter  int
	Acceptance     float64
	Rate           float64
	Burst          int
	ClientRate     float64
	ClientBurst    int
	PublicRate     float64
	PublicBurst    int
	PublicCache    time.Duration
	TrustedProxies []string
	MaxBody        int64
	MetagraphEvery time.Duration
	BlockEvery     time.Duration
	ExpireEvery    time.Duration
	Grace          time.Duration
	NoWeb          bool
	Owner          string
	Log            logOptions
}

// planFlags shape imported tasks (taskserver.PlanOptions).
type planFlags struct {
	Crawl           string
	WARCsPerTask    int
	RangesPerWARC   int
	RecordsPerRange int64
	Limit           int
}

func (p *planFlags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&p.Crawl, "crawl", "", "crawl name of imported tasks (default: from the paths, the crawl id or the folder name)")
	fs.IntVar(&p.WARCsPerTask, "warcs-per-task", 1, "WARC files per task")
	fs.IntVar(&p.RangesPerWARC, "ranges-per-warc", 1, "cut each WARC into this many record ranges (with --records-per-range)")
	fs.Int64Var(&p.RecordsPerRange, "records-per-range", 0, "records per range; the last range of a file is open-ended. Cutting ranges reads each WARC up to its last range (to record each range's byte offsets)")
	fs.IntVar(&p.Limit, "limit", 0, "import only the first N WARC files of each source (0: all)")
}

func (p planFlags) options() taskserver.PlanOptions {
	return taskserver.PlanOptions{Crawl: p.Crawl, WARCsPerTask: p.WARCsPerTask, RangesPerWARC: p.RangesPerWARC, RecordsPerRange: p.RecordsPerRange, Limit: p.Limit}
}

func (o *taskserverOptions) AddFlags(fs *pflag.FlagSet) {
	d := taskserver.DefaultRunOptions()
	fs.StringVar(&o.Listen, "listen", taskserver.DefaultListen, "HTTP address of the API")
	fs.StringVar(&o.DB, "db", dataPath("taskserver.db"), "database: a SQLite file, or postgres://user@host/db")
	fs.StringVar(&o.Chain, "chain", "http://127.0.0.1:9944", "the chain: "+dial.Usage)
	fs.Uint16Var(&o.Netuid, "netuid", 1, "subnet whose registered hotkeys may lease")
	fs.StringVar(&o.SignedFor, "signed-for", "", "this server's hotkey (SS58), required: signed requests must name it in Epistula-Signed-For")
	fs.BoolVar(&o.NoWeb, "no-web", false, "serve only the API, not the website")
	fs.StringVar(&o.Owner, "owner", "", "the subnet owner's hotkey (SS58): it may hide discussion posts")
	fs.StringArrayVar(&o.Import, "import", nil, "import tasks before serving: crawl id, warc.paths(.gz) URL or file, or WARC folder (repeatable)")
	o.Plan.AddFlags(fs)
	fs.DurationVar(&o.LeaseDuration, "lease-duration", d.Service.LeaseDuration, "hard deadline of a lease")
	fs.DurationVar(&o.HeartbeatTTL, "heartbeat-ttl", d.Service.HeartbeatTTL, "a lease expires this long after its last heartbeat")
	fs.IntVar(&o.MaxLeases, "max-leases", d.Service.MaxLeases, "live leases per hotkey")
	fs.IntVar(&o.MaxUndecided, "max-undecided", 0, "submissions awaiting validators' decision a hotkey may have and still lease (0: 2 × --max-leases; -1: no limit)")
	fs.DurationVar(&o.SubmissionTTL, "submission-timeout", d.Service.SubmissionTimeout, "a submitted task no validator decided on this long after completion returns to the pool")
	fs.IntVar(&o.ThrottleAfter, "throttle-after", d.Service.Throttle.After, "consecutive rejected submissions after which a hotkey waits before leasing (1 min, doubling up to 1 h; -1: never)")
	fs.Float64Var(&o.Acceptance, "acceptance-share", acceptance.DefaultShare, "a submission is accepted when validators holding more than this share of the reporting validators' stake accept it")
	fs.Float64Var(&o.Rate, "rate", d.API.Rate, "signed requests per second per hotkey (token bucket; -1: no limit)")
	fs.IntVar(&o.Burst, "burst", d.API.Burst, "token bucket size per hotkey")
	fs.Float64Var(&o.ClientRate, "client-rate", d.API.ClientRate, "signed requests per second per client address (-1: no limit)")
	fs.IntVar(&o.ClientBurst, "client-burst", d.API.ClientBurst, "token bucket size per client address for signed requests")
	fs.Float64Var(&o.PublicRate, "public-rate", d.API.PublicRate, "public reads per second per client address (-1: no limit)")
	fs.IntVar(&o.PublicBurst, "public-burst", d.API.PublicBurst, "token bucket size per client address for public reads")
	fs.DurationVar(&o.PublicCache, "public-cache", d.API.PublicCacheTTL, "how long answers of public reads are reused (-1s: not at all)")
	fs.StringArrayVar(&o.TrustedProxies, "trusted-proxy", nil, "address or CIDR of a reverse proxy whose X-Forwarded-For names the client (repeatable)")
	fs.Int64Var(&o.MaxBody, "max-body", d.API.MaxBodyBytes, "request body limit in bytes")
	fs.DurationVar(&o.MetagraphEvery, "metagraph-refresh", d.MetagraphEvery, "how often to reload the metagraph")
	fs.DurationVar(&o.BlockEvery, "block-refresh", d.BlockEvery, "how often to read the chain head")
	fs.DurationVar(&o.ExpireEvery, "expire-every", d.ExpireEvery, "how often to expire stale leases")
	fs.DurationVar(&o.Grace, "shutdown-grace", d.Grace, "how long shutdown waits for requests in flight")
	o.Log.AddFlags(fs)
}

func newTaskserverCommand() *cobra.Command {
	var o taskserverOptions
	cmd := &cobra.Command{
		Use:   "taskserver",
		Short: "Serve the task API: lease crawl tasks to registered miners",
		Long: `Serves the task server's API (/v1, documented at /v1/openapi.yaml), Prometheus
metrics (/metrics) and /healthz. Tasks come from --import or 'refine taskserver import'.
Only hotkeys registered on --netuid of --chain may lease; validator endpoints need a
validator permit. SIGINT/SIGTERM shut down gracefully.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTaskserver(cmd.Context(), o, cmd.ErrOrStderr())
		},
	}
	o.AddFlags(cmd.Flags())
	cmd.AddCommand(newTaskserverImportCommand())
	return cmd
}

func planAll(ctx context.Context, sources []string, p planFlags) ([]taskserver.NewTask, error) {
	var all []taskserver.NewTask
	for _, src := range sources {
		tasks, err := taskserver.Plan(ctx, src, p.options())
		if err != nil {
			return nil, err
		}
		all = append(all, tasks...)
	}
	return all, nil
}

func runTaskserver(ctx context.Context, o taskserverOptions, stderr io.Writer) error {
	if o.SignedFor == "" {
		return fmt.Errorf("give --signed-for: this server's hotkey (SS58), which miners and validators sign their requests for (e.g. the subnet owner's hotkey)")
	}
	if _, err := wallet.DecodeSS58(o.SignedFor); err != nil {
		return fmt.Errorf("--signed-for %q: %w", o.SignedFor, err)
	}
	rule := acceptance.Rule{Share: o.Acceptance}
	if err := rule.Check(); err != nil {
		return fmt.Errorf("--acceptance-share: %w", err)
	}
	log, err := o.Log.Logger(stderr)
	if err != nil {
		return err
	}
	tasks, err := planAll(ctx, o.Import, o.Plan)
	if err != nil {
		return err
	}
	if err := prepareDB(o.DB); err != nil {
		return err
	}
	store, err := sqlstore.Open(ctx, o.DB)
	if err != nil {
		return err
	}
	defer store.Close()
	c, closeChain, err := dialChain(ctx, "--chain", o.Chain)
	if err != nil {
		return err
	}
	defer closeChain()
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	// The website runs until the server stops, and is joined before the
	// database closes.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var site *web.Site
	siteDone := make(chan struct{})
	err = taskserver.Run(ctx, taskserver.RunOptions{
		Store: store, Chain: c, Netuid: o.Netuid, Listener: ln, Import: tasks,
		Service: taskserver.Options{LeaseDuration: o.LeaseDuration, HeartbeatTTL: o.HeartbeatTTL, MaxLeases: o.MaxLeases,
			MaxUndecided: o.MaxUndecided, SubmissionTimeout: o.SubmissionTTL, Throttle: throttle(o.ThrottleAfter), Acceptance: rule},
		API: taskserver.APIOptions{SignedFor: o.SignedFor, MaxBodyBytes: o.MaxBody, Rate: o.Rate, Burst: o.Burst,
			ClientRate: o.ClientRate, ClientBurst: o.ClientBurst, PublicRate: o.PublicRate, PublicBurst: o.PublicBurst,
			PublicCacheTTL: o.PublicCache, TrustedProxies: o.TrustedProxies, Ledger: dial.Ledger(o.Chain)},
		MetagraphEvery: o.MetagraphEvery, BlockEvery: o.BlockEvery, ExpireEvery: o.ExpireEvery,
		Grace: o.Grace, Logger: log,
		Handler: func(ctx context.Context, api http.Handler) (http.Handler, error) {
			if o.NoWeb {
				return api, nil
			}
			// The site reads the API through its handler, in process, as
			// a remote site reads it over HTTP; its tables live in the
			// task server's database.
			var err error
			site, err = web.New(ctx, web.Options{API: client.New(client.Options{Handler: api}), DB: o.DB, OwnerHotkey: o.Owner, Fallback: api,
				TrustedProxies: o.TrustedProxies, Logger: log.With("role", "web")})
			if err != nil {
				return nil, fmt.Errorf("website: %w", err)
			}
			go func() { defer close(siteDone); site.Run(ctx) }()
			return site, nil
		},
	})
	stop()
	if site != nil {
		<-siteDone
		site.Close()
	}
	return err
}

// throttle is the flag's policy: after n consecutive rejections, the
// service's default wait (1 min doubling up to 1 h; n < 0: never).
func throttle(n int) taskserver.Throttle {
	if n < 0 {
		return taskserver.Throttle{After: -1}
	}
	t := taskserver.DefaultOptions().Throttle
	t.After = n
	return t
}

// --- refine taskserver import ---

type taskserverImportOptions struct {
	DB   string
	Plan planFlags
}

func newTaskserverImportCommand() *cobra.Command {
	var o taskserverImportOptions
	cmd := &cobra.Command{
		Use:   "import SOURCE...",
		Short: "Import tasks: a crawl id (CC-MAIN-2024-10), a warc.paths(.gz) URL or file, or a folder of WARC files",
		Long: `Cuts each source into tasks (one WARC each by default) and adds those not yet in
the database; importing the same source again adds nothing.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTaskserverImport(cmd.Context(), o, args, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&o.DB, "db", dataPath("taskserver.db"), "database: a SQLite file, or postgres://user@host/db")
	o.Plan.AddFlags(cmd.Flags())
	return cmd
}

func runTaskserverImport(ctx context.Context, o taskserverImportOptions, sources []string, out io.Writer) error {
	tasks, err := planAll(ctx, sources, o.Plan)
	if err != nil {
		return err
	}
	if err := prepareDB(o.DB); err != nil {
		return err
	}
	store, err := sqlstore.Open(ctx, o.DB)
	if err != nil {
		return err
	}
	defer store.Close()
	n, err := store.AddTasks(ctx, tasks, taskserver.Stamp{Time: time.Now().UTC()})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%d tasks listed, %d new\n", len(tasks), n)
	return nil
}
