// Package web is the subnet's website: an overview of the dataset being
// refined and of the task server's activity, leaderboards of miners and
// validators, charts over time, a page per miner, validator, task and
// submission, the payout ledger, sign-in by signing a challenge with a
// hotkey, a dashboard and profile for the signed-in neuron, and a
// discussion board.
//
// Pages are rendered on the server (html/template, auto-escaping) and a
// small script fetches the public JSON API under /v1/site (documented in
// openapi.yaml, served at /v1/site/openapi.yaml) for live updates and the
// charts, which uPlot draws; every asset is embedded, nothing comes from a
// CDN, and the Content-Security-Policy allows scripts from the site only.
//
// The site reads the task server's Store (never writes it) and the chain;
// its own state (profiles, posts, sessions, metagraph history) lives in a
// separate SQLite file. A Site is an http.Handler: the task server process
// mounts it with its API as Fallback, and `refine web` serves it alone.
package web

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/chain/devchain"
	"github.com/datarefine/refine/clientip"
	"github.com/datarefine/refine/taskserver"
)

// OpenAPI documents the site's JSON API.
//
//go:embed openapi.yaml
var OpenAPI []byte

//go:embed static templates
var assets embed.FS

// Options configure a Site.
type Options struct {
	// Store is the task server's store, read only.
	Store taskserver.Store
	// Chain, when set, provides the metagraph (stake, trust, incentive,
	// dividends, emission). A chain that also implements Ledger (the dev
	// chain) provides the payout ledger.
	Chain  Chain
	Netuid uint16
	// DB is the SQLite file of the site's own tables (created if needed).
	DB string
	// OwnerHotkey is the subnet owner's hotkey: it may hide posts.
	OwnerHotkey string
	// Title is the site's name (default "Data Refine").
	Title string

	// SessionTTL is a session's lifetime (default 2 h); ChallengeTTL a
	// sign-in challenge's (default 5 min).
	SessionTTL   time.Duration
	ChallengeTTL time.Duration
	// Secure marks cookies Secure even on plain HTTP (behind a TLS proxy);
	// they are always Secure when the request came over TLS.
	Secure bool
	// PostLimit posts per PostWindow per hotkey (default 5 per 10 min).
	PostLimit  int
	PostWindow time.Duration
	// AuthLimit sign-in attempts per minute per client address (default
	// 30); WriteLimit posts and profile edits per PostWindow per client
	// address (default 20), whatever hotkeys the client signs in with.
	AuthLimit  int
	WriteLimit int
	// TrustedProxies are the reverse proxies (addresses or CIDR prefixes)
	// whose X-Forwarded-For names the client for those limits; by default
	// none, and the peer address is the client.
	TrustedProxies []string

	// RefreshEvery is how often the overview and leaderboards are
	// recomputed (default 5 s); ActiveWindow how recent activity makes a
	// neuron active (default 1 h); HistoryEvery how many blocks apart the
	// metagraph is recorded for the charts (default 100); CrawlLookups
	// caps the task lookups per refresh that find a scored task's crawl
	// when the store is no CrawlReader (default 2000).
	RefreshEvery time.Duration
	ActiveWindow time.Duration
	HistoryEvery uint64
	CrawlLookups int

	// RevisionURL links a dataset revision (default: the Hugging Face Hub
	// for "owner/name" repositories, none otherwise).
	RevisionURL func(repo, revision string) string
	// Fallback serves the requests the site does not route (the task
	// server's API when both share a process).
	Fallback http.Handler
	Now      func() time.Time
	Logger   *slog.Logger
}

// Chain is what the site reads from the chain (a chain.Client has it).
type Chain interface {
	Metagraph(ctx context.Context, netuid uint16) (*chain.Metagraph, error)
}

// Ledger is a chain that keeps every epoch's rewards (chain/devchain).
type Ledger interface {
	Emissions(ctx context.Context, netuid uint16, fromBlock uint64, hotkey string) ([]devchain.LedgerEntry, error)
}

// Site is the website's handler.
type Site struct {
	opts    Options
	db      *db
	jwtKey  []byte
	csrfKey []byte
	pages   map[string]*pageTemplate
	router  chi.Router
	static  http.Handler
	authLim *windowLimiter
	// writeLim limits writes per client address.
	writeLim *windowLimiter
	clients  *clientip.Resolver

	refreshMu sync.Mutex
	agg       *aggregator
	snap      atomic.Pointer[snapshot]
}

// New opens the site's database and builds the routes. Call Run to keep
// the snapshot fresh, and Close when done.
func New(ctx context.Context, opts Options) (*Site, error) {
	if opts.Store == nil {
		return nil, errors.New("web: Options.Store is required")
	}
	o := opts
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.SessionTTL, 2*time.Hour)
	def(&o.ChallengeTTL, 5*time.Minute)
	def(&o.PostWindow, 10*time.Minute)
	def(&o.RefreshEvery, 5*time.Second)
	def(&o.ActiveWindow, time.Hour)
	if o.PostLimit <= 0 {
		o.PostLimit = 5
	}
	if o.AuthLimit <= 0 {
		o.AuthLimit = 30
	}
	if o.WriteLimit <= 0 {
		o.WriteLimit = 20
	}
	clients, err := clientip.New(o.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	if o.HistoryEvery == 0 {
		o.HistoryEvery = 100
	}
	if o.CrawlLookups <= 0 {
		o.CrawlLookups = 2000
	}
	if o.Title == "" {
		o.Title = "Data Refine"
	}
	if o.RevisionURL == nil {
		o.RevisionURL = hubRevisionURL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	d, err := openDB(ctx, o.DB)
	if err != nil {
		return nil, err
	}
	s := &Site{opts: o, db: d, agg: newAggregator(), authLim: newWindowLimiter(o.AuthLimit, time.Minute),
		writeLim: newWindowLimiter(o.WriteLimit, o.PostWindow), clients: clients}
	if s.jwtKey, err = d.secret(ctx, "jwt_key"); err != nil {
		d.Close()
		return nil, err
	}
	if s.csrfKey, err = d.secret(ctx, "csrf_key"); err != nil {
		d.Close()
		return nil, err
	}
	if s.pages, err = parsePages(); err != nil {
		d.Close()
		return nil, err
	}
	sub, err := fs.Sub(assets, "static")
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("static assets: %w", err)
	}
	s.static = http.StripPrefix("/static/", http.FileServer(http.FS(sub)))
	s.router = s.routes()
	return s, nil
}

// Close closes the site's database (not the store or the chain).
func (s *Site) Close() error { return s.db.Close() }

// ServeHTTP implements http.Handler.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// Router exposes the routes (for the route/document check).
func (s *Site) Router() chi.Routes { return s.router }

// Run refreshes the snapshot every RefreshEvery until ctx ends.
func (s *Site) Run(ctx context.Context) {
	t := time.NewTicker(s.opts.RefreshEvery)
	defer t.Stop()
	for {
		if err := s.Refresh(ctx); err != nil && ctx.Err() == nil {
			s.opts.Logger.Warn("web: refresh", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Refresh recomputes the snapshot now.
func (s *Site) Refresh(ctx context.Context) error {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	snap, err := s.build(ctx)
	if err != nil {
		return fmt.Errorf("web snapshot: %w", err)
	}
	s.snap.Store(snap)
	s.warm(ctx)
	return nil
}

// warmViews are rendered right after each refresh, so that no visitor
// waits for the first render of the busiest views.
var warmViews = []string{"/", "/miners", "/validators", "/v1/site/leaderboard/miners", "/v1/site/leaderboard/validators"}

func (s *Site) warm(ctx context.Context) {
	for _, p := range warmViews {
		r, err := http.NewRequestWithContext(ctx, http.MethodGet, p, nil)
		if err != nil {
			continue
		}
		s.router.ServeHTTP(discard{h: http.Header{}}, r)
	}
}

// discard is a ResponseWriter that drops the answer.
type discard struct{ h http.Header }

func (d discard) Header() http.Header         { return d.h }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}

// current returns the latest snapshot, building the first one on demand.
func (s *Site) current(ctx context.Context) (*snapshot, error) {
	if sn := s.snap.Load(); sn != nil {
		return sn, nil
	}
	if err := s.Refresh(ctx); err != nil {
		return nil, err
	}
	return s.snap.Load(), nil
}

func hubRevisionURL(repo, rev string) string {
	if strings.Count(repo, "/") != 1 || strings.ContainsAny(repo, ":?#\\ ") || strings.HasPrefix(repo, "/") || strings.HasPrefix(repo, ".") {
		return ""
	}
	return "https://huggingface.co/datasets/" + repo + "/tree/" + rev
}

// securityHeaders sets the headers every response carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// windowLimiter allows n events per window per key (fixed windows).
type windowLimiter struct {
	mu     sync.Mutex
	n      int
	window time.Duration
	start  time.Time
	counts map[string]int
}

func newWindowLimiter(n int, window time.Duration) *windowLimiter {
	return &windowLimiter{n: n, window: window, counts: map[string]int{}}
}

func (l *windowLimiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.start) >= l.window {
		l.start, l.counts = now, map[string]int{}
	}
	l.counts[key]++
	return l.counts[key] <= l.n
}

// apiError is the JSON error body, the same shape as the task server's.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var e apiError
	e.Error.Code, e.Error.Message = code, msg
	writeJSON(w, status, e)
}

// errorStatus maps the site's errors to a status and code.
func errorStatus(err error) (int, string) {
	switch {
	case errors.Is(err, errAuth):
		return http.StatusUnauthorized, "unauthorized"
	case errors.Is(err, errCSRF):
		return http.StatusForbidden, "csrf"
	case errors.Is(err, errForbid):
		return http.StatusForbidden, "forbidden"
	case errors.Is(err, errBadSig):
		return http.StatusUnauthorized, "bad_signature"
	case errors.Is(err, errBadChallenge):
		return http.StatusUnauthorized, "bad_challenge"
	case errors.Is(err, errHotkey), errors.Is(err, errInvalid):
		return http.StatusBadRequest, "bad_request"
	case errors.Is(err, errLimited):
		return http.StatusTooManyRequests, "rate_limited"
	case errors.Is(err, errNotFound), errors.Is(err, taskserver.ErrNotFound):
		return http.StatusNotFound, "not_found"
	}
	return http.StatusInternalServerError, "internal"
}

func (s *Site) apiFail(w http.ResponseWriter, r *http.Request, err error) {
	status, code := errorStatus(err)
	msg := err.Error()
	if status == http.StatusInternalServerError {
		s.opts.Logger.Error("web: request failed", "path", r.URL.Path, "err", err)
		msg = "internal error"
	}
	writeError(w, status, code, msg)
}

var errInvalid = errors.New("invalid input")
