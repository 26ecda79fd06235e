package taskserver

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/clientip"
	"github.com/datarefine/refine/epistula"
	"github.com/datarefine/refine/taskapi"
	"github.com/datarefine/refine/wallet"
)

// OpenAPI is the API's OpenAPI 3 document, served at /v1/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

// APIOptions configure the HTTP API.
type APIOptions struct {
	Service *Service
	// SignedFor is the server's own hotkey (SS58), required: signed
	// requests must name it (Epistula-Signed-For), so requests meant for
	// another service cannot be replayed here. It is served at
	// /v1/identity for clients that are not told it.
	SignedFor string
	// MaxBodyBytes limits request bodies (default 64 KiB).
	MaxBodyBytes int64
	// Rate and Burst are each hotkey's token bucket for signed requests
	// (default 20/s, burst 40; Rate < 0 disables the limit).
	Rate  float64
	Burst int
	// ClientRate and ClientBurst are each client address's token bucket
	// for signed requests, checked before the signature is (default
	// 200/s, burst 400: many miners may share a NAT; ClientRate < 0
	// disables it). PublicRate and PublicBurst are each client address's
	// bucket for the public reads (default 5/s, burst 20; < 0 disables).
	ClientRate  float64
	ClientBurst int
	PublicRate  float64
	PublicBurst int
	// TrustedProxies are the reverse proxies (addresses or CIDR prefixes)
	// whose X-Forwarded-For names the client for those limits; by default
	// none, and the peer address is the client.
	TrustedProxies []string
	// PublicCacheTTL is how long an answer of a public read is reused for
	// the same query (default 5 s; < 0: no cache). MaxReadWindow bounds
	// how far back a public read looks (default 7 days).
	PublicCacheTTL time.Duration
	MaxReadWindow  time.Duration
	// MaxReportDetailBytes bounds a score report's detail (default 8 KiB):
	// with one report per validator and submission, reports cannot grow
	// the database beyond that times validators times submissions.
	MaxReportDetailBytes int
	// Ledger, when the chain keeps every epoch's rewards (the devchain),
	// answers /v1/payouts; without it the payouts are the metagraph's last
	// epoch.
	Ledger chain.Ledger
	// MaxSkew is the accepted clock skew of signed requests (default 8 s).
	MaxSkew time.Duration
	// Registry receives the metrics (default: a new registry).
	Registry *prometheus.Registry
	Logger   *slog.Logger
	// Verify checks a signature (default wallet.Verify); the benchmark
	// wraps it to measure its cost.
	Verify func(ss58 string, msg, sig []byte) bool
}

// API is the task server's HTTP handler.
type API struct {
	opts    APIOptions
	svc     *Service
	log     *slog.Logger
	limiter *limiter // per hotkey
	// clientLim and publicLim are per client address, for signed requests
	// and public reads.
	clientLim, publicLim *limiter
	clients              *clientip.Resolver
	cache                *readCache
	metrics              *metrics
	router               chi.Router
}

// DefaultAPIOptions are the API's defaults (Service and SignedFor unset).
func DefaultAPIOptions() APIOptions { return APIOptions{}.withDefaults() }

func (opts APIOptions) withDefaults() APIOptions {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 64 << 10
	}
	if opts.Rate == 0 {
		opts.Rate = 20
	}
	if opts.Burst <= 0 {
		opts.Burst = 40
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Verify == nil {
		opts.Verify = wallet.Verify
	}
	if opts.ClientRate == 0 {
		opts.ClientRate = 200
	}
	if opts.ClientBurst <= 0 {
		opts.ClientBurst = 400
	}
	if opts.PublicRate == 0 {
		opts.PublicRate = 5
	}
	if opts.PublicBurst <= 0 {
		opts.PublicBurst = 20
	}
	if opts.PublicCacheTTL == 0 {
		opts.PublicCacheTTL = 5 * time.Second
	}
	if opts.MaxReadWindow <= 0 {
		opts.MaxReadWindow = 7 * 24 * time.Hour
	}
	if opts.MaxReportDetailBytes <= 0 {
		opts.MaxReportDetailBytes = 8 << 10
	}
	return opts
}

// NewAPI builds the router. It fails without the server's hotkey
// (SignedFor) or with a malformed trusted proxy.
func NewAPI(opts APIOptions) (*API, error) {
	opts = opts.withDefaults()
	clients, err := clientip.New(opts.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("task server API: %w", err)
	}
	a := &API{opts: opts, svc: opts.Service, log: opts.Logger, clients: clients, cache: newReadCache(opts.PublicCacheTTL, 256, readCacheBytes)}
	if opts.Rate > 0 {
		a.limiter = newLimiter(opts.Rate, opts.Burst)
	}
	if opts.ClientRate > 0 {
		a.clientLim = newLimiter(opts.ClientRate, opts.ClientBurst)
	}
	if opts.PublicRate > 0 {
		a.publicLim = newLimiter(opts.PublicRate, opts.PublicBurst)
	}
	a.metrics = newMetrics(opts.Registry, opts.Service)
	if a.router, err = a.routes(); err != nil {
		return nil, fmt.Errorf("task server API: %w", err)
	}
	return a, nil
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.router.ServeHTTP(w, r) }

// Router exposes the routes (for the route/document check).
func (a *API) Router() chi.Routes { return a.router }

type roleKey struct{}

func (a *API) routes() (chi.Router, error) {
	verifier, err := epistula.NewVerifier(epistula.Options{
		MaxSkew:      a.opts.MaxSkew,
		SignedFor:    a.opts.SignedFor,
		MaxBodyBytes: a.opts.MaxBodyBytes,
		Allow:        a.allow,
		Verify:       a.verify,
		WriteError: func(w http.ResponseWriter, r *http.Request, e *epistula.Error) {
			writeError(w, e.Status, e.Code, e.Message)
		},
	})
	if err != nil {
		return nil, err
	}
	r := chi.NewRouter()
	r.Use(a.instrument)
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(a.opts.Registry, promhttp.HandlerOpts{}))
	r.Route("/v1", func(r chi.Router) {
		// Public reads for the website and the dataset build: limited
		// per client address, bounded in what they read, and cached.
		r.Group(func(r chi.Router) {
			r.Use(a.clientLimit(a.publicLim))
			r.Get("/openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/yaml")
				w.Write(OpenAPI)
			})
			r.Get("/identity", a.identity)
			r.With(a.cached).Get("/stats", a.stats)
			r.With(a.cached).Get("/events", a.events)
			r.With(a.cached).Get("/miners", a.miners)
			r.With(a.cached).Get("/throughput", a.throughput)
			r.With(a.cached).Get("/scores", a.scores)
			r.With(a.cached).Get("/accepted", a.accepted)
			a.registerExplorer(r)
		})
		// Miners: signed, registered on the subnet.
		r.Group(func(r chi.Router) {
			r.Use(a.clientLimit(a.clientLim), withRole(RoleMiner), verifier.Middleware, a.rateLimit)
			r.Post("/lease", a.lease)
			r.Post("/heartbeat", a.heartbeat)
			r.Post("/complete", a.complete)
			r.Post("/release", a.release)
		})
		// Validators: signed, with a validator permit.
		r.Group(func(r chi.Router) {
			r.Use(a.clientLimit(a.clientLim), withRole(RoleValidator), verifier.Middleware, a.rateLimit)
			r.Get("/tasks/{id}", a.task)
			r.Get("/hotkeys/{hotkey}/leases", a.hotkeyLeases)
			r.Get("/submissions", a.submissions)
			r.Post("/scores", a.reportScore)
			r.Post("/scores/release", a.releaseScores)
		})
	})
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no route "+r.URL.Path)
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" not allowed on "+r.URL.Path)
	})
	return r, nil
}

func withRole(role Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), roleKey{}, role)))
		})
	}
}

// allow is epistula's authorisation hook: it runs after the signature
// checks out and before the uuid is remembered.
func (a *API) allow(ctx context.Context, hotkey string) error {
	role, _ := ctx.Value(roleKey{}).(Role)
	err := a.svc.Roster().Authorize(hotkey, role)
	switch {
	case errors.Is(err, taskapi.ErrNotRegistered):
		return &epistula.Error{Status: http.StatusForbidden, Code: "not_registered", Message: err.Error()}
	case errors.Is(err, taskapi.ErrNoPermit):
		return &epistula.Error{Status: http.StatusForbidden, Code: "no_validator_permit", Message: err.Error()}
	}
	return err
}

func (a *API) verify(ss58 string, msg, sig []byte) bool {
	start := time.Now()
	ok := a.opts.Verify(ss58, msg, sig)
	a.metrics.verifySeconds.Add(time.Since(start).Seconds())
	return ok
}

// clientLimit limits requests per client address (behind the trusted
// proxies), before anything costly such as a signature check runs.
func (a *API) clientLimit(l *limiter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if l == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key := a.clients.Key(r)
			if wait, ok := l.allow(key, time.Now()); !ok {
				w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
				writeError(w, http.StatusTooManyRequests, "rate_limited", fmt.Sprintf("client %s: too many requests; retry in %s", key, wait.Round(time.Millisecond)))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func (a *API) rateLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hotkey, _ := epistula.SignerFrom(r.Context())
		if info, ok := r.Context().Value(infoKey{}).(*requestInfo); ok {
			info.hotkey = hotkey
		}
		if a.limiter != nil {
			if wait, ok := a.limiter.allow(hotkey, time.Now()); !ok {
				w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
				writeError(w, http.StatusTooManyRequests, "rate_limited", fmt.Sprintf("%s: too many requests; retry in %s", hotkey, wait.Round(time.Millisecond)))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// requestInfo carries what inner handlers learn (the verified hotkey)
// back out to the logging middleware.
type requestInfo struct{ hotkey string }

type infoKey struct{}

// statusWriter remembers the status for metrics and logs.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (a *API) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// Bodies beyond the limit fail to read, even on routes that do
		// not verify a signature. One byte of slack lets epistula see the
		// excess itself and answer 413.
		r.Body = http.MaxBytesReader(w, r.Body, a.opts.MaxBodyBytes+1)
		sw := &statusWriter{ResponseWriter: w}
		info := &requestInfo{}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
		next.ServeHTTP(sw, r)
		route := chi.RouteContext(r.Context()).RoutePattern()
		if route == "" {
			route = "unmatched"
		}
		code := strconv.Itoa(sw.status)
		d := time.Since(start)
		a.metrics.requests.WithLabelValues(r.Method, route, code).Inc()
		a.metrics.latency.WithLabelValues(r.Method, route).Observe(d.Seconds())
		level := slog.LevelDebug
		if sw.status >= 500 {
			level = slog.LevelWarn
		}
		a.log.Log(r.Context(), level, "request", "method", r.Method, "route", route, "status", sw.status, "ms", d.Milliseconds(), "hotkey", info.hotkey)
	})
}

// ---- JSON helpers ----

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var b taskapi.ErrorBody
	b.Error.Code, b.Error.Message = code, msg
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", "Epistula")
	}
	writeJSON(w, status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// ErrorCode maps a service error to its HTTP status and API code.
func ErrorCode(err error) (int, string) {
	switch {
	case errors.Is(err, taskapi.ErrNoTask):
		return http.StatusNotFound, "no_task"
	case errors.Is(err, taskapi.ErrLeaseLimit):
		return http.StatusTooManyRequests, "lease_limit"
	case errors.Is(err, taskapi.ErrThrottled):
		return http.StatusTooManyRequests, "throttled"
	case errors.Is(err, taskapi.ErrUndecidedLimit):
		return http.StatusTooManyRequests, "undecided_limit"
	case errors.Is(err, taskapi.ErrNotSubmission):
		return http.StatusNotFound, "not_submission"
	case errors.Is(err, taskapi.ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, taskapi.ErrNotHolder):
		return http.StatusForbidden, "not_holder"
	case errors.Is(err, taskapi.ErrLeaseNotLive):
		return http.StatusConflict, "lease_not_live"
	case errors.Is(err, taskapi.ErrConflict):
		return http.StatusConflict, "conflict"
	case errors.Is(err, taskapi.ErrBadCommitment):
		return http.StatusBadRequest, "bad_commitment"
	case errors.Is(err, taskapi.ErrChainUnavailable):
		return http.StatusServiceUnavailable, "chain_unavailable"
	}
	return http.StatusInternalServerError, "internal"
}

func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		// The client went away; nobody reads the answer. 499 as nginx does.
		writeError(w, 499, "canceled", "request canceled by the client")
		return
	}
	status, code := ErrorCode(err)
	msg := err.Error()
	var te *taskapi.ThrottledError
	if errors.As(err, &te) {
		w.Header().Set("Retry-After", strconv.Itoa(int(time.Until(te.Until).Seconds())+1))
	}
	if status == http.StatusInternalServerError {
		a.log.Error("request failed", "path", r.URL.Path, "err", err)
		msg = "internal error"
	}
	writeError(w, status, code, msg)
}

// decode reads a JSON body strictly: unknown fields and trailing data are
// errors, so a malformed request never half-applies.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, epistula.CodeBodyTooLarge, err.Error())
		} else {
			writeError(w, http.StatusBadRequest, "bad_request", "read body: "+err.Error())
		}
		return false
	}
	if len(body) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "malformed JSON body: "+err.Error())
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "bad_request", "malformed JSON body: trailing data")
		return false
	}
	return true
}

func signer(r *http.Request) string {
	s, _ := epistula.SignerFrom(r.Context())
	return s
}

// ---- miner endpoints ----

func (a *API) lease(w http.ResponseWriter, r *http.Request) {
	var body struct{}
	if !decode(w, r, &body) {
		return
	}
	l, t, err := a.svc.Lease(r.Context(), signer(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.metrics.transitions.WithLabelValues("leased").Inc()
	writeJSON(w, http.StatusCreated, taskapi.LeaseResponse{Lease: l, Task: t, HeartbeatTTLSeconds: a.svc.Config().HeartbeatTTL.Seconds()})
}

func leaseID(w http.ResponseWriter, id int64) bool {
	if id <= 0 {
		writeError(w, http.StatusBadRequest, "bad_request", "lease_id must be a positive integer")
		return false
	}
	return true
}

func (a *API) heartbeat(w http.ResponseWriter, r *http.Request) {
	var body taskapi.LeaseBody
	if !decode(w, r, &body) || !leaseID(w, body.LeaseID) {
		return
	}
	l, err := a.svc.Heartbeat(r.Context(), signer(r), body.LeaseID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.metrics.transitions.WithLabelValues("heartbeat").Inc()
	writeJSON(w, http.StatusOK, taskapi.LeaseResult{Lease: l})
}

func (a *API) complete(w http.ResponseWriter, r *http.Request) {
	var body taskapi.CompleteBody
	if !decode(w, r, &body) || !leaseID(w, body.LeaseID) {
		return
	}
	l, err := a.svc.Complete(r.Context(), signer(r), body.LeaseID, body.Commitment, body.CommitBlock)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.metrics.transitions.WithLabelValues("completed").Inc()
	writeJSON(w, http.StatusOK, taskapi.LeaseResult{Lease: l})
}

func (a *API) release(w http.ResponseWriter, r *http.Request) {
	var body taskapi.LeaseBody
	if !decode(w, r, &body) || !leaseID(w, body.LeaseID) {
		return
	}
	l, err := a.svc.Release(r.Context(), signer(r), body.LeaseID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.metrics.transitions.WithLabelValues("released").Inc()
	writeJSON(w, http.StatusOK, taskapi.LeaseResult{Lease: l})
}

// ---- validator endpoints ----

func (a *API) task(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "task id")
	if !ok {
		return
	}
	t, ls, err := a.svc.Store().Task(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, taskapi.TaskResponse{Task: t, Leases: nonNil(ls)})
}

func (a *API) hotkeyLeases(w http.ResponseWriter, r *http.Request) {
	limit, ok := intParam(w, r, "limit", 100, 1000)
	if !ok {
		return
	}
	ls, err := a.svc.Store().Leases(r.Context(), chi.URLParam(r, "hotkey"), limit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, taskapi.LeasesResponse{Leases: nonNil(ls)})
}

// MaxScore bounds a reported score, far above any the scoring formula
// gives (verified tokens per token unit), so that the means the public
// reads take over published scores stay finite: two scores near the
// largest float64 sum to +Inf, which JSON cannot encode.
const MaxScore = 1e18

func (a *API) reportScore(w http.ResponseWriter, r *http.Request) {
	var body taskapi.ScoreBody
	if !decode(w, r, &body) {
		return
	}
	if body.Hotkey == "" || body.TaskID <= 0 || body.LeaseID <= 0 || body.Commitment == "" {
		writeError(w, http.StatusBadRequest, "bad_request", "lease_id, hotkey, task_id and commitment are required")
		return
	}
	if body.WeightsRound < 0 || math.IsNaN(body.Score) || body.Score < 0 || body.Score > MaxScore {
		writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("score must be a number in [0, %g] and weights_round ≥ 0", MaxScore))
		return
	}
	d := bytes.TrimSpace(body.Detail)
	if string(d) == "null" {
		d = nil
	}
	if len(d) > 0 && d[0] != '{' {
		writeError(w, http.StatusBadRequest, "bad_request", "detail must be a JSON object")
		return
	}
	if len(d) > a.opts.MaxReportDetailBytes {
		writeError(w, http.StatusRequestEntityTooLarge, "detail_too_large", fmt.Sprintf("detail is %d bytes; limit %d", len(d), a.opts.MaxReportDetailBytes))
		return
	}
	rp, l, err := a.svc.Report(r.Context(), signer(r), taskapi.Report{
		LeaseID: body.LeaseID, Hotkey: body.Hotkey, TaskID: body.TaskID, Commitment: body.Commitment,
		Accepted: body.Accepted, Score: body.Score, Detail: string(d), WeightsRound: body.WeightsRound,
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, taskapi.ReportResponse{Report: rp, Lease: l})
}

func (a *API) releaseScores(w http.ResponseWriter, r *http.Request) {
	var body taskapi.ReleaseBody
	if !decode(w, r, &body) {
		return
	}
	if body.Through < 0 {
		writeError(w, http.StatusBadRequest, "bad_request", "through must be ≥ 0")
		return
	}
	n, err := a.svc.ReleaseReports(r.Context(), signer(r), body.Through)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, taskapi.ReleaseResponse{Released: n})
}

func (a *API) submissions(w http.ResponseWriter, r *http.Request) {
	cs, next, ok := readPage(a, w, r, a.svc.Store().Submissions, func(c taskapi.Completion) int64 { return c.Seq })
	if ok {
		writeJSON(w, http.StatusOK, taskapi.SubmissionsResponse{Submissions: cs, Next: next})
	}
}

// pathID reads the route's {id}, a positive integer naming what.
func pathID(w http.ResponseWriter, r *http.Request, what string) (int64, bool) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, "bad_request", what+" must be a positive integer")
		return 0, false
	}
	return id, true
}

// readPage serves a page of a list paged by a cursor (?after=&limit=):
// the items after the cursor, and the cursor of the next page.
func readPage[T any](a *API, w http.ResponseWriter, r *http.Request, read func(context.Context, int64, int) ([]T, error), cursor func(T) int64) ([]T, int64, bool) {
	limit, ok := intParam(w, r, "limit", 500, 1000)
	if !ok {
		return nil, 0, false
	}
	var after int64
	if v := r.URL.Query().Get("after"); v != "" {
		var err error
		if after, err = strconv.ParseInt(v, 10, 64); err != nil || after < 0 {
			writeError(w, http.StatusBadRequest, "bad_request", "after must be a non-negative integer")
			return nil, 0, false
		}
	}
	items, err := read(r.Context(), after, limit)
	if err != nil {
		a.fail(w, r, err)
		return nil, 0, false
	}
	if len(items) > 0 {
		after = cursor(items[len(items)-1])
	}
	return nonNil(items), after, true
}

// ---- public endpoints ----

func (a *API) stats(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, err := a.svc.Store().Counts(ctx)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	now := a.svc.Now()
	since := now.Add(-time.Hour)
	ms, err := a.svc.Store().Miners(ctx, since)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	bs, err := a.svc.Store().Completions(ctx, now.Add(-24*time.Hour), time.Hour)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var done, day int64
	for _, b := range bs {
		day += b.Count
		if !b.Start.Before(since.Truncate(time.Hour)) {
			done += b.Count
		}
	}
	crawls, err := a.svc.Store().Volume(ctx)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	vs, err := a.svc.Store().Validators(ctx, since)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	cfg := a.svc.Config()
	st := taskapi.Stats{
		Counts: c, HeadBlock: a.svc.Roster().Head(), Registered: a.svc.Roster().Size(),
		ActiveMiners: len(ms), CompletedLastH: done, TasksPerMinute: float64(done) / 60,
		LeaseDurationS: cfg.LeaseDuration.Seconds(), HeartbeatTTLS: cfg.HeartbeatTTL.Seconds(), MaxLeasesPerHkey: cfg.MaxLeases,
		Crawls: nonNil(crawls), CompletedLastDay: day, ActiveValidators: len(vs),
	}
	for _, cv := range crawls {
		st.Accepted.Add(cv.Volume)
	}
	var neurons []chain.Neuron
	st.MetagraphBlock, neurons = a.svc.Roster().Metagraph()
	for _, n := range neurons {
		if n.ValidatorPermit {
			st.Permits++
		}
	}
	validators, err := a.validatorSet(ctx, neurons)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	// A hotkey that reported in the last hour is active, so counted, even
	// if it has left the metagraph since: active never exceeds the total.
	for _, v := range vs {
		validators[v.Hotkey] = true
	}
	st.Validators = len(validators)
	writeJSON(w, http.StatusOK, st)
}

func (a *API) identity(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, taskapi.Identity{Hotkey: a.opts.SignedFor})
}

func intParam(w http.ResponseWriter, r *http.Request, name string, def, max int) (int, bool) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("%s must be an integer in [1, %d]", name, max))
		return 0, false
	}
	return n, true
}

// sinceParam reads ?since= as RFC 3339 or a duration back from now; a
// public read looks back at most MaxReadWindow, so that its cost is
// bounded by the activity of that window, not by the database.
func (a *API) sinceParam(w http.ResponseWriter, r *http.Request, def time.Duration) (time.Time, bool) {
	now := a.svc.Now()
	v := r.URL.Query().Get("since")
	since := now.Add(-def)
	if v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			since = now.Add(-d)
		} else if t, err := time.Parse(time.RFC3339, v); err == nil {
			since = t
		} else {
			writeError(w, http.StatusBadRequest, "bad_request", "since must be RFC 3339 or a duration such as 24h")
			return time.Time{}, false
		}
	}
	if oldest := now.Add(-a.opts.MaxReadWindow); since.Before(oldest) {
		since = oldest
	}
	return since, true
}

func (a *API) events(w http.ResponseWriter, r *http.Request) {
	limit, ok := intParam(w, r, "limit", 50, 500)
	if !ok {
		return
	}
	var before int64
	if v := r.URL.Query().Get("before"); v != "" {
		var err error
		if before, err = strconv.ParseInt(v, 10, 64); err != nil || before < 0 {
			writeError(w, http.StatusBadRequest, "bad_request", "before must be an event id")
			return
		}
	}
	kinds, ok := kindsParam(w, r)
	if !ok {
		return
	}
	evs, err := a.svc.Store().EventsOf(r.Context(), before, limit, kinds)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, taskapi.EventsResponse{Events: nonNil(evs)})
}

func (a *API) miners(w http.ResponseWriter, r *http.Request) {
	since, ok := a.sinceParam(w, r, 24*time.Hour)
	if !ok {
		return
	}
	limit, ok := intParam(w, r, "limit", 256, 1000)
	if !ok {
		return
	}
	ms, err := a.minerRows(r.Context(), since)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	block, _ := a.svc.Roster().Metagraph()
	writeJSON(w, http.StatusOK, taskapi.MinersResponse{Since: since.UTC(), MetagraphBlock: block, Miners: nonNil(ms[:min(len(ms), limit)])})
}

// maxBuckets bounds a throughput answer.
const maxBuckets = 1000

func (a *API) throughput(w http.ResponseWriter, r *http.Request) {
	since, bucket, ok := a.seriesParams(w, r, 24*time.Hour)
	if !ok {
		return
	}
	bs, err := a.svc.Store().Completions(r.Context(), since, bucket)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, taskapi.ThroughputResponse{BucketSeconds: bucket.Seconds(), Buckets: nonNil(bs)})
}

func (a *API) scores(w http.ResponseWriter, r *http.Request) {
	limit, ok := intParam(w, r, "limit", 100, 1000)
	if !ok {
		return
	}
	q := r.URL.Query()
	sq := taskapi.ScoreQuery{Hotkey: q.Get("hotkey"), Validator: q.Get("validator"), Limit: limit}
	for name, dst := range map[string]*int64{"lease": &sq.LeaseID, "task": &sq.TaskID} {
		if v := q.Get(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				writeError(w, http.StatusBadRequest, "bad_request", name+" must be a positive integer")
				return
			}
			*dst = n
		}
	}
	ss, err := a.svc.Store().ScoresOf(r.Context(), sq)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, taskapi.ScoresResponse{Scores: nonNil(ss)})
}

// accepted lists the submissions validators accepted, for the dataset
// build: public, because the dataset is.
func (a *API) accepted(w http.ResponseWriter, r *http.Request) {
	subs, next, ok := readPage(a, w, r, a.svc.Store().Accepted, func(s taskapi.AcceptedSubmission) int64 { return s.LeaseID })
	if ok {
		writeJSON(w, http.StatusOK, taskapi.AcceptedResponse{Submissions: subs, Next: next, AcceptanceShare: a.svc.AcceptanceShare()})
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
