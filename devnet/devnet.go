// Package devnet runs a whole subnet on one machine: a dev chain, the task
// server with the website, N miners and M validators, all in one process
// and all talking to each other the way they do on a real network (signed
// HTTP to the task server, signed calls to the chain, published datasets in
// a store). It is `refine devnet`, the project's main job on its embedded
// defaults.
package devnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/datarefine/refine/assets/sample"
	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/chain/devchain"
	"github.com/datarefine/refine/miner"
	"github.com/datarefine/refine/pipeline/input"
	"github.com/datarefine/refine/process"
	"github.com/datarefine/refine/store/local"
	"github.com/datarefine/refine/taskapi"
	"github.com/datarefine/refine/taskserver"
	"github.com/datarefine/refine/taskserver/client"
	"github.com/datarefine/refine/taskserver/sqlstore"
	"github.com/datarefine/refine/validator"
	"github.com/datarefine/refine/wallet"
)

// Options configures a devnet.
type Options struct {
	// Dir is the data folder (chain, task and validator databases, the
	// dataset store); default a temporary folder, removed at the end unless
	// Keep is set. A given Dir is always kept.
	Dir  string
	Keep bool
	// Miners and Validators are how many of each to run (default 3 and 2).
	Miners, Validators int
	// BlockTime is the chain's block interval (default 250 ms) and Tempo the
	// blocks between Yuma epochs (default 20).
	BlockTime time.Duration
	Tempo     uint16
	// WARCs are the input WARC files or folders; each file is one task.
	// With neither WARCs nor Crawl, the run uses the sample WARC built into
	// the binary (assets/sample), cut into sample.Ranges tasks: a whole
	// subnet with nothing else present and no network.
	WARCs []string
	// Crawl, instead of WARCs, takes tasks from a CommonCrawl crawl (e.g.
	// CC-MAIN-2024-10): its first CrawlWARCs files (default 1), fetched over
	// HTTPS from BaseURL; with RangesPerWARC only the first records of each
	// are read, so a quick start needs a few MB, not whole WARCs.
	Crawl      string
	CrawlWARCs int
	BaseURL    string
	// RangesPerWARC cuts each WARC into this many tasks of RecordsPerRange
	// records (the last open-ended), for quick runs on a few WARCs.
	RangesPerWARC   int
	RecordsPerRange int64
	// AssetsDir is the pipeline's asset folder.
	AssetsDir string
	// Listen is the task server and website address (default 127.0.0.1:0).
	Listen string
	// ListenAnyIfBusy falls back to a free port when Listen is taken.
	ListenAnyIfBusy bool
	// Duration bounds the run: without UntilDone it is how long the
	// network runs (0: until ctx ends); with UntilDone it is the most the
	// run waits for the work to be done (0: DefaultDoneLimit), after which
	// Run returns ErrNotDone.
	Duration time.Duration
	// UntilDone ends the run once every task is done, every submission
	// scored by every validator, weights set and one epoch has paid out.
	UntilDone bool
	// Serve keeps the whole network, website included, up after the run's
	// end (done, or Duration passed) until ctx ends; Finished is called at
	// that end with the summary, so it can be shown while the site serves.
	Serve    bool
	Finished func(*Summary)
	// PipelineWorkers per miner task (default 1: the miners share the CPUs).
	PipelineWorkers int
	// Log receives structured logs; Status, if set, gets a one-line status
	// every second.
	Log    *slog.Logger
	Status func(string)
	// Ready, if set, is called with the website URL once it serves.
	Ready func(url string)
	// MinerWARCs, if set, gives miner i (from 0) its WARC resolver instead
	// of the honest mirror (nil: the mirror): tests use it to run a miner
	// that submits the output of other records than it leased.
	MinerWARCs func(i int) miner.Resolver
}

// Summary is what a devnet run did.
type Summary struct {
	URL    string `json:"url"`
	Blocks uint64 `json:"blocks"`
	// Input says what the tasks were cut from.
	Input     string `json:"input"`
	Tasks     int64  `json:"tasks"`
	TasksDone int64  `json:"tasks_done"`
	// Documents and Tokens are the accepted output: the documents and
	// GPT-2 tokens (FineWeb's token_count) of the accepted submissions as
	// their manifests state and the validators checked them
	// (taskapi.Volume, the website's "Tokens accepted");
	// Accepted is how many submissions that is. PublishedDocuments and
	// PublishedTokens are what the miners published in all their
	// completed submissions, accepted or not.
	Documents          int64           `json:"documents"`
	Tokens             int64           `json:"tokens"`
	Accepted           int64           `json:"accepted_submissions"`
	PublishedDocuments int64           `json:"published_documents"`
	PublishedTokens    int64           `json:"published_tokens"`
	Miners             []NeuronSummary `json:"miners"`
	Validators         []NeuronSummary `json:"validators"`
	// Done: the work UntilDone waits for was done. Ended says why the run
	// ended: "done", "duration" (Duration passed), "interrupted" (ctx
	// ended) or "error".
	Done  bool   `json:"done"`
	Ended string `json:"ended"`
	// Agreement lists, per task, the scores each validator reported (in
	// validator order; 0 where it has not reported), to show that
	// validators agree; Reports counts the (task, validator) reports.
	Agreement map[int64][]float64 `json:"agreement,omitempty"`
	Reports   int                 `json:"reports"`
	Elapsed   float64             `json:"elapsed_s"`
	// Where is where the run's data is.
	Where Where `json:"where"`
}

// NeuronSummary is one neuron's standing at the end. Every registered
// miner and validator has one, zero scores included.
type NeuronSummary struct {
	Name      string  `json:"name"`
	Hotkey    string  `json:"hotkey"`
	UID       uint16  `json:"uid"`
	Tasks     int     `json:"tasks"`     // miners: submissions completed
	Score     float64 `json:"score"`     // miners: mean validator score
	Incentive float64 `json:"incentive"` // miners, last epoch
	Dividends float64 `json:"dividends"` // validators, last epoch
	// Emission is the neuron's total emission over the run (every epoch's,
	// from the chain's emission ledger); LastEpochEmission is the last
	// epoch's alone.
	Emission          uint64 `json:"emission_rao"`
	LastEpochEmission uint64 `json:"last_epoch_emission_rao"`
}

// Where lists the run's files: the data folder and, inside it, each
// part's database and the dataset store. Paths are absolute.
type Where struct {
	Dir string `json:"dir"`
	// Kept: Dir remains after the run (a given --dir, or Keep).
	Kept         bool     `json:"kept"`
	Input        string   `json:"input,omitempty"` // the built-in sample, written here
	ChainDB      string   `json:"chain_db"`
	TasksDB      string   `json:"tasks_db"`
	WebDB        string   `json:"web_db"`
	ValidatorDBs []string `json:"validator_dbs"`
	Store        string   `json:"store"`
	Repos        []string `json:"repos"` // the miners' dataset repositories in Store
}

// ErrNotDone is returned, with the summary, when UntilDone was asked and
// the run ended before the work was done.
var ErrNotDone = errors.New("devnet: not done")

// DefaultDoneLimit is how long UntilDone waits when Duration is 0.
const DefaultDoneLimit = 15 * time.Minute

type neuron struct {
	name string
	key  *wallet.Keypair
	uid  uint16
}

// net is a running devnet's parts.
type network struct {
	opts       Options
	chain      *devchain.Chain
	tasks      *sqlstore.Store
	svc        *taskserver.Service
	roster     *taskserver.Roster
	bg         sync.WaitGroup  // the task server's goroutines
	owner      *wallet.Keypair // the subnet owner's key (funds registrations; may hide posts)
	url        string
	miners     []neuron
	validators []neuron
	minerRuns  []*miner.Miner
	// scoredAt is the block at which every task was found done and scored
	// by every validator (0: not yet).
	scoredAt uint64
	// weightsAt is the block by which every validator had set weights
	// after scoredAt (0: not yet).
	weightsAt uint64
	// validatorRuns are the running validators.
	validatorRuns []*validator.Validator
	// stopSite stops the website's background loop, waits for it and
	// closes the site's database.
	stopSite func()
}

// DefaultOptions are the devnet's defaults.
func DefaultOptions() Options {
	var o Options
	o.defaults()
	return o
}

func (o *Options) defaults() {
	if o.Miners <= 0 {
		o.Miners = 3
	}
	if o.Validators <= 0 {
		o.Validators = 2
	}
	if o.BlockTime <= 0 {
		o.BlockTime = 250 * time.Millisecond
	}
	if o.Tempo == 0 {
		o.Tempo = 20
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if o.PipelineWorkers <= 0 {
		o.PipelineWorkers = 1
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.UntilDone && o.Duration <= 0 {
		o.Duration = DefaultDoneLimit
	}
}

// Netuid is the devnet's subnet.
const Netuid = 1

// Run starts the devnet and runs it until ctx ends, Duration passes or,
// with UntilDone, the work is done (then, with Serve, on until ctx ends);
// it returns the summary, also when it returns an error. With UntilDone, a
// run that ended before the work was done returns ErrNotDone.
func Run(ctx context.Context, opts Options) (*Summary, error) {
	opts.defaults()
	start := time.Now()
	if opts.BaseURL == "" {
		opts.BaseURL = "https://data.commoncrawl.org/"
	}
	where := Where{Dir: opts.Dir, Kept: true}
	if opts.Dir == "" {
		d, err := os.MkdirTemp("", "refine-devnet-*")
		if err != nil {
			return nil, err
		}
		opts.Dir, where.Dir, where.Kept = d, d, opts.Keep
		if !opts.Keep {
			defer os.RemoveAll(d)
		}
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, err
	}
	if abs, err := filepath.Abs(opts.Dir); err == nil {
		opts.Dir, where.Dir = abs, abs
	}
	input := ""
	switch {
	case len(opts.WARCs) > 0:
		input = fmt.Sprintf("%d WARC path(s): %s", len(opts.WARCs), strings.Join(opts.WARCs, ", "))
	case opts.Crawl != "":
		input = fmt.Sprintf("crawl %s (%d WARC file(s) over HTTPS)", opts.Crawl, max(opts.CrawlWARCs, 1))
	default:
		p, err := sample.Write(filepath.Join(opts.Dir, "input"))
		if err != nil {
			return nil, err
		}
		opts.WARCs, where.Input = []string{p}, p
		if opts.RangesPerWARC <= 0 {
			opts.RangesPerWARC, opts.RecordsPerRange = sample.Ranges, sample.RecordsPerRange
		}
		input = "the built-in sample WARC " + sample.Name + " (real pages; assets/sample)"
	}
	where.ChainDB = filepath.Join(opts.Dir, "chain.db")
	where.TasksDB = filepath.Join(opts.Dir, "tasks.db")
	where.WebDB = filepath.Join(opts.Dir, "web.db")
	where.Store = filepath.Join(opts.Dir, "store")
	finish := func(sum *Summary) *Summary {
		if sum == nil {
			sum = &Summary{}
		}
		sum.Input, sum.Where = input, where
		sum.Elapsed = time.Since(start).Seconds()
		return sum
	}

	// The parts run until ctx ends; the watch decides when the run's work
	// is over (done, or Duration passed).
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var deadline <-chan time.Time
	if opts.Duration > 0 {
		t := time.NewTimer(opts.Duration)
		defer t.Stop()
		deadline = t.C
	}
	n := &network{opts: opts}
	// The task server's goroutines end with ctx; they are joined whatever
	// way Run returns.
	defer func() { cancel(); n.bg.Wait() }()
	if err := n.startChain(ctx); err != nil {
		return finish(nil), err
	}
	defer n.chain.Close()
	if err := n.startTaskServer(ctx); err != nil {
		return finish(nil), err
	}
	defer n.tasks.Close()
	if n.stopSite != nil {
		defer n.stopSite()
	}
	if opts.Ready != nil {
		opts.Ready(n.url)
	}
	// Every goroutine of the network is joined before its databases close.
	var wg sync.WaitGroup
	stop := func() { cancel(); wg.Wait(); n.bg.Wait() }
	defer stop()
	for _, v := range n.validators {
		where.ValidatorDBs = append(where.ValidatorDBs, filepath.Join(opts.Dir, v.name+".db"))
	}

	errc := make(chan error, opts.Miners+opts.Validators)
	st, err := local.New(where.Store)
	if err != nil {
		return finish(nil), err
	}
	for i, m := range n.miners {
		repo := fmt.Sprintf("miner%d/refined", i+1)
		where.Repos = append(where.Repos, repo)
		var warcs miner.Resolver = miner.Mirror{BaseURL: n.opts.BaseURL}
		if opts.MinerWARCs != nil && opts.MinerWARCs(i) != nil {
			warcs = opts.MinerWARCs(i)
		}
		mn, err := miner.New(miner.Options{
			Hotkey: m.key, Netuid: Netuid, Chain: n.chain,
			Tasks: miner.ClientTasks{C: client.New(client.Options{URL: n.url, Signer: m.key})},
			Store: st, Repo: repo,
			WARCs:   warcs,
			WorkDir: filepath.Join(opts.Dir, "work", m.name), PipelineWorkers: opts.PipelineWorkers,
			Steps:          process.StepOptions{AssetsDir: opts.AssetsDir},
			HeartbeatEvery: time.Second, IdleWait: time.Second,
			Log: opts.Log.With("role", m.name),
		})
		if err != nil {
			return finish(nil), err
		}
		n.minerRuns = append(n.minerRuns, mn)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := mn.Run(ctx); err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("%s: %w", m.name, err)
			}
		}()
	}
	// Validators need their permits, which the chain grants at an epoch.
	if err := n.waitPermits(ctx); err != nil {
		stop()
		return finish(nil), err
	}
	if err := n.startValidators(ctx, &wg, errc, st); err != nil {
		stop()
		return finish(nil), err
	}

	ended, runErr := n.watch(ctx, deadline, errc)
	sum, err := n.summary(context.Background())
	if err != nil && runErr == nil {
		runErr = err
	}
	sum = finish(sum)
	sum.Done, sum.Ended = ended == "done", ended
	if runErr == nil && opts.Serve && ctx.Err() == nil {
		// The site stays up, on a network that keeps running, until ctx
		// ends (Ctrl-C).
		if opts.Finished != nil {
			opts.Finished(sum)
		}
		select {
		case <-ctx.Done():
		case runErr = <-errc:
		}
	}
	stop()
	if runErr == nil && opts.UntilDone && !sum.Done {
		limit := ""
		if ended == "duration" {
			limit = " after " + opts.Duration.String()
		} else {
			limit = " (" + ended + ")"
		}
		runErr = fmt.Errorf("%w%s: %d/%d tasks done, %d of %d score reports, block %d",
			ErrNotDone, limit, sum.TasksDone, sum.Tasks, sum.Reports, int(sum.Tasks)*len(n.validators), sum.Blocks)
	}
	return sum, runErr
}

func (n *network) startChain(ctx context.Context) error {
	hp := devchain.DefaultHyperparameters()
	hp.Tempo = n.opts.Tempo
	hp.MaxRegistrationsPerBlock = 256
	hp.WeightsRateLimit = 2
	hp.ImmunityPeriod = 1000
	hp.ActivityCutoff = 5000
	var err error
	n.chain, err = devchain.New(ctx, devchain.Options{
		DB: filepath.Join(n.opts.Dir, "chain.db"), BlockTime: n.opts.BlockTime, Hyperparameters: &hp,
		Logger: n.opts.Log.With("role", "chain"),
	})
	if err != nil {
		return fmt.Errorf("start chain: %w", err)
	}
	owner, err := wallet.FromURI("//DevnetOwner")
	if err != nil {
		return err
	}
	n.owner = owner
	if err := n.chain.Faucet(ctx, owner, 1_000_000_000_000); err != nil {
		return err
	}
	register := func(name string) (neuron, error) {
		key, err := wallet.FromURI("//" + name)
		if err != nil {
			return neuron{}, err
		}
		uid, err := n.chain.Register(ctx, owner, Netuid, key.SS58())
		if errors.Is(err, chain.ErrAlreadyRegistered) {
			mg, merr := n.chain.Metagraph(ctx, Netuid)
			if merr != nil {
				return neuron{}, merr
			}
			uid, err = mg.UID(key.SS58())
		}
		if err != nil {
			return neuron{}, fmt.Errorf("register %s: %w", name, err)
		}
		return neuron{name: name, key: key, uid: uid}, nil
	}
	for i := 1; i <= n.opts.Validators; i++ {
		v, err := register(fmt.Sprintf("Validator%d", i))
		if err != nil {
			return err
		}
		// Stake gives validator permits (top-k by stake) at the next epoch.
		if err := n.chain.AddStake(ctx, owner, Netuid, v.key.SS58(), 100_000_000_000); err != nil {
			return fmt.Errorf("stake %s: %w", v.name, err)
		}
		n.validators = append(n.validators, v)
	}
	for i := 1; i <= n.opts.Miners; i++ {
		m, err := register(fmt.Sprintf("Miner%d", i))
		if err != nil {
			return err
		}
		n.miners = append(n.miners, m)
	}
	return nil
}

// plan makes the devnet's tasks: one per local WARC file (or record range
// of it), or from a CommonCrawl crawl's listing.
func (n *network) plan(ctx context.Context) ([]taskserver.NewTask, error) {
	opts := taskserver.PlanOptions{RangesPerWARC: n.opts.RangesPerWARC, RecordsPerRange: n.opts.RecordsPerRange}
	if n.opts.Crawl != "" {
		opts.Limit = max(n.opts.CrawlWARCs, 1)
		tasks, err := taskserver.Plan(ctx, n.opts.Crawl, opts)
		if err != nil {
			return nil, fmt.Errorf("devnet: crawl %s (needs the network): %w", n.opts.Crawl, err)
		}
		if opts.RangesPerWARC > 1 {
			// A quick start: keep the closed ranges at the start of each
			// WARC, drop the open-ended rest (most of a 1 GB file).
			closed := tasks[:0]
			for _, t := range tasks {
				if t.RecordEnd > 0 {
					closed = append(closed, t)
				}
			}
			tasks = closed
		}
		return tasks, nil
	}
	inputs, err := input.Expand(n.opts.WARCs)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, in := range inputs {
		if in.Kind != input.WARC || input.IsURL(in.Path) {
			continue
		}
		abs, err := filepath.Abs(in.Path)
		if err != nil {
			return nil, err
		}
		paths = append(paths, abs)
	}
	if len(paths) == 0 {
		return nil, errors.New("devnet: no WARC files among the inputs")
	}
	return taskserver.Cut(ctx, "devnet", paths, opts)
}

// waitPermits waits until every validator holds a validator permit and the
// task server's roster knows it.
func (n *network) waitPermits(ctx context.Context) error {
	for {
		mg, err := n.chain.Metagraph(ctx, Netuid)
		if err != nil {
			return err
		}
		ok := true
		for _, v := range n.validators {
			nn, found := neuronOf(mg, v.key.SS58())
			ok = ok && found && nn.ValidatorPermit
		}
		if ok {
			return n.roster.Refresh(ctx)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(n.opts.BlockTime):
		}
	}
}

func neuronOf(mg *chain.Metagraph, hotkey string) (chain.Neuron, bool) {
	for _, nn := range mg.Neurons {
		if nn.Hotkey == hotkey {
			return nn, true
		}
	}
	return chain.Neuron{}, false
}

func (n *network) startTaskServer(ctx context.Context) error {
	var err error
	if n.tasks, err = sqlstore.Open(ctx, filepath.Join(n.opts.Dir, "tasks.db")); err != nil {
		return err
	}
	n.roster = taskserver.NewRoster(n.chain, Netuid, n.opts.Log.With("role", "roster"))
	if err := n.roster.Refresh(ctx); err != nil {
		return err
	}
	n.bg.Go(func() { n.roster.Run(ctx, 2*time.Second, n.opts.BlockTime) })
	n.svc = taskserver.NewService(taskserver.Options{
		Store: n.tasks, Roster: n.roster, LeaseDuration: 30 * time.Minute, HeartbeatTTL: 30 * time.Second,
		// One lease at a time per miner spreads the tasks over the miners.
		MaxLeases: 1, Logger: n.opts.Log.With("role", "taskserver"),
	})
	n.bg.Go(func() { n.svc.RunExpiry(ctx, time.Second) })
	tasks, err := n.plan(ctx)
	if err != nil {
		return err
	}
	if _, err := n.svc.Import(ctx, tasks); err != nil {
		return err
	}
	// Every neuron shares the loopback address: no per-client limits. The
	// server's hotkey is the subnet owner's; clients learn it from
	// /v1/identity and sign for it.
	api, err := taskserver.NewAPI(taskserver.APIOptions{Service: n.svc, SignedFor: n.owner.SS58(), Rate: -1, ClientRate: -1, PublicRate: -1,
		Ledger: n.chain, Logger: n.opts.Log.With("role", "api")})
	if err != nil {
		return err
	}
	handler, err := n.website(ctx, api)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", n.opts.Listen)
	if err != nil && n.opts.ListenAnyIfBusy && errors.Is(err, syscall.EADDRINUSE) {
		n.opts.Log.Warn("address in use; taking a free port", "listen", n.opts.Listen)
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		return fmt.Errorf("task server: %w", err)
	}
	n.url = "http://" + ln.Addr().String()
	n.bg.Go(func() { taskserver.Serve(ctx, ln, handler, 5*time.Second, n.opts.Log.With("role", "http")) })
	return nil
}

// watch reports status until the run's work is over and says why it
// ended: "done" (UntilDone's condition), "duration" (the deadline passed)
// or "interrupted" (ctx ended); a part's failure is an error.
func (n *network) watch(ctx context.Context, deadline <-chan time.Time, errc <-chan error) (string, error) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case err := <-errc:
			return "error", err
		case <-ctx.Done():
			return "interrupted", nil
		case <-deadline:
			return "duration", nil
		case <-t.C:
		}
		s, err := n.summary(ctx)
		if err != nil {
			continue
		}
		if n.opts.Status != nil {
			n.opts.Status(fmt.Sprintf("block %d | tasks %d/%d done | accepted %d docs, %d tokens | %s", s.Blocks, s.TasksDone, s.Tasks, s.Documents, s.Tokens, n.url))
		}
		if n.opts.UntilDone && n.done(ctx, s) {
			return "done", nil
		}
	}
}

// summary reads the network's state.
func (n *network) summary(ctx context.Context) (*Summary, error) {
	s := &Summary{URL: n.url}
	b, err := n.chain.Block(ctx)
	if err != nil {
		return nil, err
	}
	s.Blocks = b.Number
	c, err := n.tasks.Counts(ctx)
	if err != nil {
		return nil, err
	}
	s.Tasks, s.TasksDone = c.Tasks, c.Done
	mg, err := n.chain.Metagraph(ctx, Netuid)
	if err != nil {
		return nil, err
	}
	byKey := map[string]chain.Neuron{}
	for _, nn := range mg.Neurons {
		byKey[nn.Hotkey] = nn
	}
	// Totals over the run: the chain's emission ledger has every epoch's
	// reward of every uid.
	ledger, err := n.chain.Emissions(ctx, Netuid, 0, "")
	if err != nil {
		return nil, err
	}
	total := map[string]uint64{}
	for _, e := range ledger {
		total[e.Hotkey] += e.ServerEmission + e.ValidatorEmission
	}
	for i, m := range n.miners {
		nn := byKey[m.key.SS58()]
		ms := NeuronSummary{Name: m.name, Hotkey: m.key.SS58(), UID: nn.UID, Incentive: chain.Fraction(nn.Incentive),
			Emission: total[m.key.SS58()], LastEpochEmission: nn.Emission}
		if i < len(n.minerRuns) {
			ms.Tasks = n.minerRuns[i].Done()
		}
		if scores, err := n.tasks.Scores(ctx, m.key.SS58(), 1000); err == nil && len(scores) > 0 {
			var sum float64
			for _, sc := range scores {
				sum += sc.Score
			}
			ms.Score = sum / float64(len(scores))
		}
		s.Miners = append(s.Miners, ms)
	}
	for _, v := range n.validators {
		nn := byKey[v.key.SS58()]
		s.Validators = append(s.Validators, NeuronSummary{Name: v.name, Hotkey: v.key.SS58(), UID: nn.UID, Dividends: chain.Fraction(nn.Dividends),
			Emission: total[v.key.SS58()], LastEpochEmission: nn.Emission})
	}
	sort.Slice(s.Miners, func(i, j int) bool { return s.Miners[i].Name < s.Miners[j].Name })
	if scores, err := n.tasks.Scores(ctx, "", 100000); err == nil {
		order := map[string]int{}
		for i, v := range n.validators {
			order[v.key.SS58()] = i
		}
		s.Agreement = map[int64][]float64{}
		reported := map[[2]int64]bool{}
		for i := len(scores) - 1; i >= 0; i-- { // oldest first; the latest report wins
			sc := scores[i]
			vi, ok := order[sc.Validator]
			if !ok {
				continue
			}
			row := s.Agreement[sc.TaskID]
			if row == nil {
				row = make([]float64, len(n.validators))
			}
			if !reported[[2]int64{sc.TaskID, int64(vi)}] {
				reported[[2]int64{sc.TaskID, int64(vi)}] = true
				s.Reports++
			}
			row[vi] = sc.Score
			s.Agreement[sc.TaskID] = row
		}
	}
	s.PublishedDocuments, s.PublishedTokens = n.refined(ctx)
	crawls, err := n.tasks.Volume(ctx)
	if err != nil {
		return nil, err
	}
	var vol taskapi.Volume
	for _, c := range crawls {
		vol.Add(c.Volume)
	}
	s.Documents, s.Tokens, s.Accepted = vol.Documents, vol.Tokens, vol.Submissions
	return s, nil
}
