package taskserver

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/datarefine/refine/acceptance"
	"github.com/datarefine/refine/submission"
	"github.com/datarefine/refine/taskapi"
)

// Options configure a Service.
type Options struct {
	Store  Store
	Roster *Roster
	// LeaseDuration is a lease's hard deadline (default 6 h).
	LeaseDuration time.Duration
	// HeartbeatTTL is how long a lease lives without a heartbeat
	// (default 10 min).
	HeartbeatTTL time.Duration
	// MaxLeases is the per-hotkey live lease limit (default 4).
	MaxLeases int
	// MaxUndecided is how many submissions awaiting validators' decision
	// a hotkey may have and still lease (default 2 × MaxLeases; < 0: no
	// limit): a miner completing with made-up commitments holds at most
	// MaxLeases + MaxUndecided tasks out of the pool at once.
	MaxUndecided int
	// Throttle slows down hotkeys whose submissions keep being rejected
	// (default: after 3 consecutive rejections, 1 min doubling up to 1 h;
	// After < 0 disables it).
	Throttle Throttle
	// Acceptance decides submissions from validators' reports (default:
	// more than half of the reporting validators' stake accepts).
	Acceptance acceptance.Rule
	// SubmissionTimeout returns a submitted task to the pool when no
	// validator with stake decided on it this long after its completion
	// (default 6 h). Validators reject a completion whose commitment never
	// reached the chain within their grace period, so this is only the
	// backstop for validators being absent; the submission is still
	// decided if reports come later.
	SubmissionTimeout time.Duration
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Service applies the lease rules: it stamps every call with the time and
// the chain head, and checks what only it can know (commitments name the
// leased task). Authorisation happens in the API, before it.
type Service struct {
	opts Options
}

// NewService applies defaults.
func NewService(opts Options) *Service { return &Service{opts: opts.withDefaults()} }

// DefaultOptions are the service's defaults (Store and Roster unset).
func DefaultOptions() Options { return Options{}.withDefaults() }

func (opts Options) withDefaults() Options {
	if opts.LeaseDuration <= 0 {
		opts.LeaseDuration = 6 * time.Hour
	}
	if opts.HeartbeatTTL <= 0 {
		opts.HeartbeatTTL = 10 * time.Minute
	}
	if opts.MaxLeases <= 0 {
		opts.MaxLeases = 4
	}
	if opts.MaxUndecided == 0 {
		opts.MaxUndecided = 2 * opts.MaxLeases
	}
	switch {
	case opts.Throttle.After == 0:
		opts.Throttle = Throttle{After: 3, Base: time.Minute, Max: time.Hour}
	case opts.Throttle.After < 0:
		opts.Throttle = Throttle{}
	}
	if opts.SubmissionTimeout <= 0 {
		opts.SubmissionTimeout = 6 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return opts
}

// Store is the service's store.
func (s *Service) Store() Store { return s.opts.Store }

// Roster is the service's metagraph cache.
func (s *Service) Roster() *Roster { return s.opts.Roster }

// Config is the lease configuration the API reports to miners, and the
// acceptance rule it decides submissions with.
type Config struct {
	LeaseDuration time.Duration
	HeartbeatTTL  time.Duration
	MaxLeases     int
	Acceptance    acceptance.Rule
}

// Config returns the lease configuration.
func (s *Service) Config() Config {
	return Config{s.opts.LeaseDuration, s.opts.HeartbeatTTL, s.opts.MaxLeases, s.opts.Acceptance}
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.opts.Now() }

// Stamp is now, with the chain head.
func (s *Service) Stamp() Stamp {
	return Stamp{Time: s.opts.Now().UTC().Truncate(time.Millisecond), Block: s.opts.Roster.Head()}
}

// Import adds tasks; existing ones are skipped.
func (s *Service) Import(ctx context.Context, tasks []NewTask) (int, error) {
	return s.opts.Store.AddTasks(ctx, tasks, s.Stamp())
}

// Lease grants hotkey a task.
func (s *Service) Lease(ctx context.Context, hotkey string) (taskapi.Lease, taskapi.Task, error) {
	return s.opts.Store.Lease(ctx, LeaseRequest{
		Hotkey: hotkey, At: s.Stamp(),
		Duration: s.opts.LeaseDuration, TTL: s.opts.HeartbeatTTL, MaxLive: s.opts.MaxLeases,
		MaxUndecided: max(s.opts.MaxUndecided, 0), Throttle: s.opts.Throttle,
	})
}

// Heartbeat extends hotkey's lease.
func (s *Service) Heartbeat(ctx context.Context, hotkey string, leaseID int64) (taskapi.Lease, error) {
	return s.opts.Store.Heartbeat(ctx, leaseID, hotkey, s.opts.HeartbeatTTL, s.Stamp())
}

// Complete ends hotkey's lease with the commitment it made on chain, which
// must name the leased task.
func (s *Service) Complete(ctx context.Context, hotkey string, leaseID int64, commitment string, commitBlock uint64) (taskapi.Lease, error) {
	// The validators' parser, so the task server never records a
	// completion every validator would reject as malformed.
	c, err := submission.Parse(commitment)
	if err != nil {
		return taskapi.Lease{}, fmt.Errorf("%w: %w", taskapi.ErrBadCommitment, err)
	}
	l, err := s.opts.Store.GetLease(ctx, leaseID)
	if err != nil {
		return l, err
	}
	if l.Hotkey != hotkey {
		return taskapi.Lease{}, fmt.Errorf("lease %d: %w", leaseID, taskapi.ErrNotHolder)
	}
	if c.TaskID != l.TaskID {
		return taskapi.Lease{}, fmt.Errorf("%w: names task %d, lease %d is for task %d", taskapi.ErrBadCommitment, c.TaskID, leaseID, l.TaskID)
	}
	// The completion's block seeds the validators' samples
	// (verify.SeedBlock: its hash SeedDelay blocks later). Stamp it with
	// the head read now, never the cached one: behind a lagging cache a
	// miner could complete after the seed block exists, see its hash and
	// complete only the commitment whose sample suits it.
	if err := s.opts.Roster.RefreshBlock(ctx); err != nil {
		return taskapi.Lease{}, fmt.Errorf("%w: %v", taskapi.ErrChainUnavailable, err)
	}
	return s.opts.Store.Complete(ctx, leaseID, hotkey, commitment, commitBlock, s.Stamp())
}

// Release gives hotkey's lease back.
func (s *Service) Release(ctx context.Context, hotkey string, leaseID int64) (taskapi.Lease, error) {
	return s.opts.Store.Release(ctx, leaseID, hotkey, s.Stamp())
}

// Expire ends leases past their expiry.
func (s *Service) Expire(ctx context.Context) (int, error) {
	return s.opts.Store.Expire(ctx, s.Stamp())
}

// Reopen returns to the pool the submitted tasks that got no decision
// within the submission timeout.
func (s *Service) Reopen(ctx context.Context) (int, error) {
	st := s.Stamp()
	return s.opts.Store.Reopen(ctx, st.Time.Add(-s.opts.SubmissionTimeout), st)
}

// RunExpiry expires stale leases and reopens undecided submissions past
// their timeout every interval until ctx ends, so counts and the website
// stay right even when nobody asks for a lease.
func (s *Service) RunExpiry(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := s.Expire(ctx); err != nil && ctx.Err() == nil {
				s.opts.Logger.Warn("expire leases", "err", err)
			} else if n > 0 {
				s.opts.Logger.Info("leases expired", "count", n)
			}
			if n, err := s.Reopen(ctx); err != nil && ctx.Err() == nil {
				s.opts.Logger.Warn("reopen undecided submissions", "err", err)
			} else if n > 0 {
				s.opts.Logger.Warn("submissions undecided past the timeout; tasks back in the pool", "count", n, "timeout", s.opts.SubmissionTimeout)
			}
		}
	}
}

// AcceptanceShare is the share of the acceptance rule the service decides
// submissions with (stated with the accepted submissions, so a dataset
// build records the rule they were accepted by).
func (s *Service) AcceptanceShare() float64 { return s.opts.Acceptance.EffectiveShare() }

// Report records validator's report on a submission and decides it with
// the acceptance rule over the reporting validators' current stakes.
func (s *Service) Report(ctx context.Context, validator string, r taskapi.Report) (taskapi.Report, taskapi.Lease, error) {
	r.ID, r.Validator = 0, validator
	return s.opts.Store.Report(ctx, r, s.decider(), s.Stamp())
}

// decider weighs votes with the stakes of the cached metagraph: a
// validator that left the subnet counts for nothing.
func (s *Service) decider() Decider {
	return func(votes []acceptance.Vote) (acceptance.Outcome, error) {
		for i := range votes {
			if n, ok := s.opts.Roster.Neuron(votes[i].Validator); ok && n.ValidatorPermit {
				votes[i].Stake = n.Stake
			} else {
				votes[i].Stake = 0
			}
		}
		d, err := s.opts.Acceptance.Decide(votes)
		return d.Outcome, err
	}
}

// ReleaseReports publishes validator's reports that fed weights up to
// round through, now that those weights are public.
func (s *Service) ReleaseReports(ctx context.Context, validator string, through int64) (int, error) {
	return s.opts.Store.ReleaseReports(ctx, validator, through, s.Stamp())
}
