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
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/datarefine/refine/epistula"
	"github.com/datarefine/refine/wallet"
)

// OpenAPI is the API's OpenAPI 3 document, served at /v1/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

// APIOptions configure the HTTP API.
type APIOptions struct {
	Service *Service
	// SignedFor is the server's own hotkey: when set, signed requests must
	// name it (Epistula-Signed-For), so requests meant for another
	// neuron cannot be replayed here.
	SignedFor string
	// MaxBodyBytes limits request bodies (default 64 KiB).
	MaxBodyBytes int64
	// Rate and Burst are each hotkey's token bucket for signed requests
	// (default 20/s, burst 40; Rate < 0 disables the limit).
	Rate  float64
	Burst int
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
	limiter *limiter
	metrics *metrics
	router  chi.Router
}

// NewAPI builds the router.
func NewAPI(opts APIOptions) *API {
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
	a := &API{opts: opts, svc: opts.Service, log: opts.Logger}
	if opts.Rate > 0 {
		a.limiter = newLimiter(opts.Rate, opts.Burst)
	}
	a.metrics = newMetrics(opts.Registry, opts.Service)
	a.router = a.routes()
	return a
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.router.ServeHTTP(w, r) }

// Router exposes the routes (for the route/document check).
func (a *API) Router() chi.Routes { return a.router }

type roleKey struct{}

func (a *API) routes() chi.Router {
	verifier := epistula.NewVerifier(epistula.Options{
		MaxSkew:      a.opts.MaxSkew,
		SignedFor:    a.opts.SignedFor,
		MaxBodyBytes: a.opts.MaxBodyBytes,
		Allow:        a.allow,
		Verify:       a.verify,
		WriteError: func(w http.ResponseWriter, r *http.Request, e *epistula.Error) {
			writeError(w, e.Status, e.Code, e.Message)
		},
	})
	r := chi.NewRouter()
	r.Use(a.instrument)
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(a.opts.Registry, promhttp.HandlerOpts{}))
	r.Route("/v1", func(r chi.Router) {
		// Public reads for the website.
		r.Get("/openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/yaml")
			w.Write(OpenAPI)
		})
		r.Get("/stats", a.stats)
		r.Get("/events", a.events)
		r.Get("/miners", a.miners)
		r.Get("/throughput", a.throughput)
		r.Get("/scores", a.scores)
		// Miners: signed, registered on the subnet.
		r.Group(func(r chi.Router) {
			r.Use(withRole(RoleMiner), verifier.Middleware, a.rateLimit)
			r.Post("/lease", a.lease)
			r.Post("/heartbeat", a.heartbeat)
			r.Post("/complete", a.complete)
			r.Post("/release", a.release)
		})
		// Validators: signed, with a validator permit.
		r.Group(func(r chi.Router) {
			r.Use(withRole(RoleValidator), verifier.Middleware, a.rateLimit)
			r.Get("/tasks/{id}", a.task)
			r.Get("/hotkeys/{hotkey}/leases", a.hotkeyLeases)
			r.Post("/scores", a.reportScore)
		})
	})
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no route "+r.URL.Path)
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" not allowed on "+r.URL.Path)
	})
	return r
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
	case errors.Is(err, ErrNotRegistered):
		return &epistula.Error{Status: http.StatusForbidden, Code: "not_registered", Message: err.Error()}
	case errors.Is(err, ErrNoPermit):
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

// ErrorBody is the one error envelope of the API.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var b ErrorBody
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
	case errors.Is(err, ErrNoTask):
		return http.StatusNotFound, "no_task"
	case errors.Is(err, ErrLeaseLimit):
		return http.StatusTooManyRequests, "lease_limit"
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, ErrNotHolder):
		return http.StatusForbidden, "not_holder"
	case errors.Is(err, ErrLeaseNotLive):
		return http.StatusConflict, "lease_not_live"
	case errors.Is(err, ErrConflict):
		return http.StatusConflict, "conflict"
	case errors.Is(err, ErrBadCommitment):
		return http.StatusBadRequest, "bad_commitment"
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

// LeaseResponse is the answer to /v1/lease.
type LeaseResponse struct {
	Lease Lease `json:"lease"`
	Task  Task  `json:"task"`
	// HeartbeatTTLSeconds is how long the lease lives without a heartbeat.
	HeartbeatTTLSeconds float64 `json:"heartbeat_ttl_s"`
}

// LeaseBody is the body of heartbeat and release.
type LeaseBody struct {
	LeaseID int64 `json:"lease_id"`
}

// CompleteBody is the body of complete.
type CompleteBody struct {
	LeaseID     int64  `json:"lease_id"`
	Commitment  string `json:"commitment"`
	CommitBlock uint64 `json:"commit_block,omitempty"`
}

// LeaseResult wraps one lease.
type LeaseResult struct {
	Lease Lease `json:"lease"`
}

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
	writeJSON(w, http.StatusCreated, LeaseResponse{Lease: l, Task: t, HeartbeatTTLSeconds: a.svc.Config().HeartbeatTTL.Seconds()})
}

func leaseID(w http.ResponseWriter, id int64) bool {
	if id <= 0 {
		writeError(w, http.StatusBadRequest, "bad_request", "lease_id must be a positive integer")
		return false
	}
	return true
}

func (a *API) heartbeat(w http.ResponseWriter, r *http.Request) {
	var body LeaseBody
	if !decode(w, r, &body) || !leaseID(w, body.LeaseID) {
		return
	}
	l, err := a.svc.Heartbeat(r.Context(), signer(r), body.LeaseID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.metrics.transitions.WithLabelValues("heartbeat").Inc()
	writeJSON(w, http.StatusOK, LeaseResult{l})
}

func (a *API) complete(w http.ResponseWriter, r *http.Request) {
	var body CompleteBody
	if !decode(w, r, &body) || !leaseID(w, body.LeaseID) {
		return
	}
	l, err := a.svc.Complete(r.Context(), signer(r), body.LeaseID, body.Commitment, body.CommitBlock)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.metrics.transitions.WithLabelValues("completed").Inc()
	writeJSON(w, http.StatusOK, LeaseResult{l})
}

func (a *API) release(w http.ResponseWriter, r *http.Request) {
	var body LeaseBody
	if !decode(w, r, &body) || !leaseID(w, body.LeaseID) {
		return
	}
	l, err := a.svc.Release(r.Context(), signer(r), body.LeaseID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.metrics.transitions.WithLabelValues("released").Inc()
	writeJSON(w, http.StatusOK, LeaseResult{l})
}

// ---- validator endpoints ----

// TaskResponse is a task with its lease history.
type TaskResponse struct {
	Task   Task    `json:"task"`
	Leases []Lease `json:"leases"`
}

// LeasesResponse lists leases.
type LeasesResponse struct {
	Leases []Lease `json:"leases"`
}

// ScoreBody is a validator's report.
type ScoreBody struct {
	Hotkey string          `json:"hotkey"`
	TaskID int64           `json:"task_id"`
	Score  float64         `json:"score"`
	Detail json.RawMessage `json:"detail,omitempty"`
}

func (a *API) task(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, "bad_request", "task id must be a positive integer")
		return
	}
	t, ls, err := a.svc.Store().Task(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, TaskResponse{Task: t, Leases: nonNil(ls)})
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
	writeJSON(w, http.StatusOK, LeasesResponse{Leases: nonNil(ls)})
}

func (a *API) reportScore(w http.ResponseWriter, r *http.Request) {
	var body ScoreBody
	if !decode(w, r, &body) {
		return
	}
	if body.Hotkey == "" || body.TaskID <= 0 {
		writeError(w, http.StatusBadRequest, "bad_request", "hotkey and task_id are required")
		return
	}
	if d := bytes.TrimSpace(body.Detail); len(d) > 0 && string(d) != "null" && d[0] != '{' {
		writeError(w, http.StatusBadRequest, "bad_request", "detail must be a JSON object")
		return
	}
	sc, err := a.svc.ReportScore(r.Context(), signer(r), Score{Hotkey: body.Hotkey, TaskID: body.TaskID, Score: body.Score, Detail: string(body.Detail)})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, sc)
}

// ---- public endpoints ----

// Stats is the overview the website shows.
type Stats struct {
	Counts           Counts  `json:"counts"`
	HeadBlock        uint64  `json:"head_block"`
	Registered       int     `json:"registered_hotkeys"`
	ActiveMiners     int     `json:"active_miners"` // leased in the last hour
	CompletedLastH   int64   `json:"completed_last_hour"`
	TasksPerMinute   float64 `json:"tasks_per_minute"` // over the last hour
	LeaseDurationS   float64 `json:"lease_duration_s"`
	HeartbeatTTLS    float64 `json:"heartbeat_ttl_s"`
	MaxLeasesPerHkey int     `json:"max_leases_per_hotkey"`
}

func (a *API) stats(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, err := a.svc.Store().Counts(ctx)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	since := time.Now().Add(-time.Hour)
	ms, err := a.svc.Store().Miners(ctx, since)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	bs, err := a.svc.Store().Completions(ctx, since, time.Hour)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var done int64
	for _, b := range bs {
		done += b.Count
	}
	cfg := a.svc.Config()
	writeJSON(w, http.StatusOK, Stats{
		Counts: c, HeadBlock: a.svc.Roster().Head(), Registered: a.svc.Roster().Size(),
		ActiveMiners: len(ms), CompletedLastH: done, TasksPerMinute: float64(done) / 60,
		LeaseDurationS: cfg.LeaseDuration.Seconds(), HeartbeatTTLS: cfg.HeartbeatTTL.Seconds(), MaxLeasesPerHkey: cfg.MaxLeases,
	})
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

// sinceParam reads ?since= as RFC 3339 or a duration back from now.
func sinceParam(w http.ResponseWriter, r *http.Request, def time.Duration) (time.Time, bool) {
	v := r.URL.Query().Get("since")
	if v == "" {
		return time.Now().Add(-def), true
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return time.Now().Add(-d), true
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "since must be RFC 3339 or a duration such as 24h")
		return t, false
	}
	return t, true
}

// EventsResponse is a page of recent activity.
type EventsResponse struct {
	Events []Event `json:"events"`
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
	evs, err := a.svc.Store().Events(r.Context(), before, limit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, EventsResponse{Events: nonNil(evs)})
}

// MinersResponse lists per-miner activity.
type MinersResponse struct {
	Since  time.Time       `json:"since"`
	Miners []MinerActivity `json:"miners"`
}

func (a *API) miners(w http.ResponseWriter, r *http.Request) {
	since, ok := sinceParam(w, r, 24*time.Hour)
	if !ok {
		return
	}
	ms, err := a.svc.Store().Miners(r.Context(), since)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, MinersResponse{Since: since.UTC(), Miners: nonNil(ms)})
}

// ThroughputResponse is completions per bucket.
type ThroughputResponse struct {
	BucketSeconds float64  `json:"bucket_s"`
	Buckets       []Bucket `json:"buckets"`
}

func (a *API) throughput(w http.ResponseWriter, r *http.Request) {
	since, ok := sinceParam(w, r, 24*time.Hour)
	if !ok {
		return
	}
	bucket := time.Hour
	if v := r.URL.Query().Get("bucket"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			writeError(w, http.StatusBadRequest, "bad_request", "bucket must be a duration of at least 1s")
			return
		}
		bucket = d
	}
	bs, err := a.svc.Store().Completions(r.Context(), since, bucket)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ThroughputResponse{BucketSeconds: bucket.Seconds(), Buckets: nonNil(bs)})
}

// ScoresResponse lists validators' reports.
type ScoresResponse struct {
	Scores []Score `json:"scores"`
}

func (a *API) scores(w http.ResponseWriter, r *http.Request) {
	limit, ok := intParam(w, r, "limit", 100, 1000)
	if !ok {
		return
	}
	ss, err := a.svc.Store().Scores(r.Context(), r.URL.Query().Get("hotkey"), limit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ScoresResponse{Scores: nonNil(ss)})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
