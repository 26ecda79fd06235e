// Package web is the subnet's website: an overview of the dataset being
// refined and of the task server's activity, leaderboards of miners and
// validators, charts over time, a page per miner, validator, task and
// submission, the payout ledger, the published dataset, sign-in by signing
// a challenge with a hotkey, a dashboard and profile for the signed-in
// neuron, and a discussion board.
//
// Like Prometheus's UI, the site is no second back end: every number it
// shows comes from the task server's public read API (taskserver/client),
// over HTTP when it runs apart from the task server, through the API's
// handler in process when the task server mounts it. It computes no
// consensus statistics, reads no store and no chain. Its own state
// (profiles, posts, sessions, metagraph history) lives in the same database
// backend as the task server (SQLite or PostgreSQL), so that several site
// replicas can share one PostgreSQL database.
//
// Pages are rendered on the server (html/template, auto-escaping) and a
// small script fetches the site's JSON under /v1/site (documented in
// openapi.yaml, served at /v1/site/openapi.yaml) for live updates and the
// charts, which uPlot draws; every asset is embedded, nothing comes from a
// CDN, and the Content-Security-Policy allows scripts from the site only.
// Errors have the task server's envelope ({"error": {"code", "message"}}).
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
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/clientip"
	"github.com/datarefine/refine/taskapi"
	"github.com/datarefine/refine/taskserver/client"
)

// OpenAPI documents the site's JSON API.
//
//go:embed openapi.yaml
var OpenAPI []byte

//go:embed static templates
var assets embed.FS

// Options configure a Site.
type Options struct {
	// API is the task server's public read API: client.New with the task
	// server's URL, or with its handler when both share a process.
	API *client.Client
	// DB is the site's own database: a SQLite file or a postgres:// DSN
	// (the task server's database works: the site's tables are web_*).
	DB string
	// Dataset, when set, is where the published dataset is read from
	// (the Dataset page).
	Dataset *DatasetSource
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
	// none, and the peer address is the client. The site passes the
	// client on to the task server (client.OnBehalfOf), whose public read
	// limits then count the visitor, not the site, if the task server
	// trusts the site as a proxy.
	TrustedProxies []string

	// RefreshEvery is how often the metagraph is read from the API and
	// recorded for the charts (default 5 s); HistoryEvery how many blocks
	// apart it is recorded (default 100).
	RefreshEvery time.Duration
	HistoryEvery uint64

	// RevisionURL links a dataset revision (default: the Hugging Face Hub
	// for "owner/name" repositories, none otherwise).
	RevisionURL func(repo, revision string) string
	// Fallback serves the requests the site does not route (the task
	// server's API when both share a process).
	Fallback http.Handler
	Now      func() time.Time
	Logger   *slog.Logger
}

// Site is the website's handler.
type Site struct {
	opts    Options
	api     *client.Client
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
	// mg is the latest metagraph the API gave (who is registered).
	mg atomic.Pointer[taskapi.MetagraphResponse]
}

// DefaultOptions are the site's defaults (API and DB unset).
func DefaultOptions() Options { return Options{}.withDefaults() }

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.SessionTTL, 2*time.Hour)
	def(&o.ChallengeTTL, 5*time.Minute)
	def(&o.PostWindow, 10*time.Minute)
	def(&o.RefreshEvery, 5*time.Second)
	if o.PostLimit <= 0 {
		o.PostLimit = 5
	}
	if o.AuthLimit <= 0 {
		o.AuthLimit = 30
	}
	if o.WriteLimit <= 0 {
		o.WriteLimit = 20
	}
	if o.HistoryEvery == 0 {
		o.HistoryEvery = 100
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
	return o
}

// New opens the site's database and builds the routes. Call Run to keep
// the metagraph history, and Close when done.
func New(ctx context.Context, opts Options) (*Site, error) {
	if opts.API == nil {
		return nil, errors.New("web: Options.API (the task server's read API) is required")
	}
	o := opts.withDefaults()
	clients, err := clientip.New(o.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	d, err := openDB(ctx, o.DB)
	if err != nil {
		return nil, err
	}
	s := &Site{opts: o, api: o.API, db: d, authLim: newWindowLimiter(o.AuthLimit, time.Minute),
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

// Close closes the site's database (not the API client).
func (s *Site) Close() error { return s.db.Close() }

// ServeHTTP implements http.Handler.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// Router exposes the routes (for the route/document check).
func (s *Site) Router() chi.Routes { return s.router }

// Run refreshes the metagraph every RefreshEvery until ctx ends.
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

// Refresh reads the metagraph from the API now and records it for the
// charts when the chain moved on by HistoryEvery blocks.
func (s *Site) Refresh(ctx context.Context) error {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	mg, err := s.api.Metagraph(ctx)
	if err != nil {
		return fmt.Errorf("web: metagraph: %w", err)
	}
	s.mg.Store(&mg)
	return s.recordHistory(ctx, mg)
}

// metagraph returns the latest metagraph, reading it on first use.
func (s *Site) metagraph(ctx context.Context) (*taskapi.MetagraphResponse, error) {
	if mg := s.mg.Load(); mg != nil {
		return mg, nil
	}
	mg, err := s.api.Metagraph(ctx)
	if err != nil {
		return nil, err
	}
	s.mg.Store(&mg)
	return &mg, nil
}

// recordHistory stores the metagraph's chain numbers when the block moved
// on by at least HistoryEvery blocks, for the reward and trust charts.
func (s *Site) recordHistory(ctx context.Context, mg taskapi.MetagraphResponse) error {
	last, err := s.db.lastHistoryBlock(ctx)
	if err != nil {
		return err
	}
	if mg.Block == 0 || (last != 0 && mg.Block < last+s.opts.HistoryEvery) {
		return nil
	}
	now := s.opts.Now().UTC()
	hotkeys := make([]string, len(mg.Neurons))
	pts := make([]HistoryPoint, len(mg.Neurons))
	for i, n := range mg.Neurons {
		hotkeys[i] = n.Hotkey
		pts[i] = HistoryPoint{Block: mg.Block, At: now, UID: n.UID, Stake: n.Stake, Incentive: chain.Fraction(n.Incentive),
			Dividends: chain.Fraction(n.Dividends), ValidatorTrust: chain.Fraction(n.ValidatorTrust), Emission: n.Emission}
	}
	return s.db.addHistory(ctx, hotkeys, pts)
}

// reads is the context of the API reads made for request r: on behalf of
// its client, so that the task server's per-client limits count the
// visitor.
func (s *Site) reads(r *http.Request) context.Context {
	if a := s.clients.Addr(r); a.IsValid() {
		return client.OnBehalfOf(r.Context(), a.String())
	}
	return r.Context()
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

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

// writeError answers with the task server's error envelope.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	var e taskapi.ErrorBody
	e.Error.Code, e.Error.Message = code, msg
	writeJSON(w, status, e)
}

// errorStatus maps the site's errors, and the API's, to a status and code.
func errorStatus(err error) (int, string) {
	var ce *client.Error
	switch {
	case errors.As(err, &ce) && ce.Status < 500:
		// The API's answer (not found, bad request, rate limited) is the
		// site's.
		return ce.Status, ce.Code
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
	case errors.Is(err, errNotFound):
		return http.StatusNotFound, "not_found"
	case errors.As(err, &ce), errors.As(err, new(*url.Error)):
		// The API failed, or could not be reached (the site reads it over
		// HTTP; its own database errors are no *url.Error).
		return http.StatusBadGateway, "upstream"
	}
	return http.StatusInternalServerError, "internal"
}

func (s *Site) apiFail(w http.ResponseWriter, r *http.Request, err error) {
	status, code := errorStatus(err)
	msg := err.Error()
	var ce *client.Error
	if errors.As(err, &ce) && status < 500 {
		msg = ce.Message
	}
	if status >= 500 {
		s.opts.Logger.Error("web: request failed", "path", r.URL.Path, "err", err)
		msg = "internal error"
		if status == http.StatusBadGateway {
			msg = "the task server's API failed; try again"
		}
	}
	writeError(w, status, code, msg)
}

var errInvalid = errors.New("invalid input")
