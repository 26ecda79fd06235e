// Package client is a Go client of the task server's API, used by the
// miner, the validator and tests. Miner and validator calls are
// Epistula-signed with the client's hotkey; public reads are not.
//
// API errors come back as *Error, which errors.Is matches against the
// taskserver sentinels (ErrNoTask, ErrLeaseLimit, ErrNotHolder, ...), so a
// miner can write errors.Is(err, taskserver.ErrNoTask).
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/datarefine/refine/epistula"
	"github.com/datarefine/refine/internal/buildinfo"
	"github.com/datarefine/refine/retry"
	"github.com/datarefine/refine/taskserver"
	"github.com/datarefine/refine/wallet"
)

// Options configure a Client.
type Options struct {
	// URL is the server's base URL, e.g. "http://127.0.0.1:8090".
	URL string
	// Signer signs miner and validator calls (a *wallet.Keypair).
	Signer epistula.Signer
	// SignedFor is the server's hotkey, which every signed call names
	// (Epistula-Signed-For; servers require it). When empty, the client
	// reads it once from the server's /v1/identity before its first
	// signed call: that is the server at URL, and a request signed for it
	// cannot be replayed at any other service. Pin it to be sure of whom
	// you talk to when the URL is not authenticated (plain HTTP).
	SignedFor string
	// HTTP is the underlying client (default: 30 s timeout per try).
	HTTP *http.Client
	// Retry is the policy for transient failures (network errors, 408,
	// 429, 5xx): each try is built and signed afresh (default
	// retry.Default). Permanent errors (other 4xx) return at once.
	Retry retry.Policy
	// Handler, when set, serves the requests in process instead of over
	// the network: the task server's own website reads the API exactly
	// as a remote one does, without a socket (URL is then ignored).
	Handler http.Handler
}

// Client talks to one task server. Safe for concurrent use.
type Client struct {
	opts Options
	base string

	idMu      sync.Mutex
	signedFor string
}

// New returns a client.
func New(opts Options) *Client {
	if opts.HTTP == nil {
		opts.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	base := strings.TrimRight(opts.URL, "/")
	if opts.Handler != nil {
		opts.HTTP = &http.Client{Timeout: opts.HTTP.Timeout, Transport: inProcess{opts.Handler}}
		base = "http://in-process"
	}
	return &Client{opts: opts, base: base}
}

type forKey struct{}

// OnBehalfOf returns a context whose public reads say they are made for
// the client at addr (an IP address), so that the server's per-client
// limits count that client rather than the caller: over HTTP as an
// X-Forwarded-For header, which the server believes only when it trusts
// the caller as a proxy (--trusted-proxy); in process as the request's
// peer address. A website relaying its visitors' reads uses it.
func OnBehalfOf(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, forKey{}, addr)
}

// inProcess serves a request with a handler, in process.
type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	req.RemoteAddr = "127.0.0.1:0"
	if addr, ok := req.Context().Value(forKey{}).(string); ok && addr != "" {
		req.RemoteAddr = net.JoinHostPort(addr, "0")
		req.Header.Del("X-Forwarded-For")
	}
	if req.Body == nil {
		req.Body = http.NoBody
	}
	// The handler routes the request afresh: nothing of the caller's
	// request context (a router's state, for one) may reach it, only its
	// cancellation.
	req = req.WithContext(onlyCancel{req.Context()})
	rec := &recorder{header: http.Header{}}
	t.h.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return &http.Response{
		Status: strconv.Itoa(rec.status) + " " + http.StatusText(rec.status), StatusCode: rec.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: rec.header,
		Body: io.NopCloser(bytes.NewReader(rec.body.Bytes())), ContentLength: int64(rec.body.Len()), Request: req,
	}, nil
}

// onlyCancel is a context's cancellation and deadline without its values.
type onlyCancel struct{ context.Context }

func (onlyCancel) Value(any) any { return nil }

// recorder is the ResponseWriter of an in-process request.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

// Error is an API error response.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("taskserver: %d %s: %s", e.Status, e.Code, e.Message)
}

var sentinels = map[string]error{
	"no_task":             taskserver.ErrNoTask,
	"lease_limit":         taskserver.ErrLeaseLimit,
	"not_found":           taskserver.ErrNotFound,
	"not_holder":          taskserver.ErrNotHolder,
	"lease_not_live":      taskserver.ErrLeaseNotLive,
	"conflict":            taskserver.ErrConflict,
	"bad_commitment":      taskserver.ErrBadCommitment,
	"not_registered":      taskserver.ErrNotRegistered,
	"no_validator_permit": taskserver.ErrNoPermit,
	"throttled":           taskserver.ErrThrottled,
	"undecided_limit":     taskserver.ErrUndecidedLimit,
	"not_submission":      taskserver.ErrNotSubmission,
	"chain_unavailable":   taskserver.ErrChainUnavailable,
}

// Is matches the taskserver sentinel of e's code.
func (e *Error) Is(target error) bool {
	s, ok := sentinels[e.Code]
	return ok && s == target
}

// Retryable says whether the same call may succeed later (rate limits,
// overload, server errors); the client has already retried it.
func (e *Error) Retryable() bool {
	return retry.RetryableStatus(e.Status)
}

// receiver returns the server's hotkey for Signed-For: the pinned one, or
// the one the server names at /v1/identity (read once).
func (c *Client) receiver(ctx context.Context) (string, error) {
	if c.opts.SignedFor != "" {
		return c.opts.SignedFor, nil
	}
	c.idMu.Lock()
	defer c.idMu.Unlock()
	if c.signedFor != "" {
		return c.signedFor, nil
	}
	id, err := c.Identity(ctx)
	if err != nil {
		return "", fmt.Errorf("learn the task server's hotkey: %w", err)
	}
	if _, err := wallet.DecodeSS58(id.Hotkey); err != nil {
		return "", fmt.Errorf("task server's identity %q: %w", id.Hotkey, err)
	}
	c.signedFor = id.Hotkey
	return c.signedFor, nil
}

// Temporary is Retryable, for callers that tell transient errors from
// permanent ones without knowing this package.
func (e *Error) Temporary() bool { return e.Retryable() }

func (c *Client) do(ctx context.Context, method, path string, signed bool, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
	}
	if signed && c.opts.Signer == nil {
		return fmt.Errorf("%s %s: client has no signer", method, path)
	}
	var to string
	if signed {
		var err error
		if to, err = c.receiver(ctx); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	// Every try is a new request with a new Epistula signature: the
	// server refuses a replayed nonce.
	send := func(ctx context.Context) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("User-Agent", buildinfo.UserAgent())
		if in != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if addr, ok := ctx.Value(forKey{}).(string); ok && addr != "" && !signed {
			req.Header.Set("X-Forwarded-For", addr)
		}
		if signed {
			if err := epistula.SignRequest(req, body, c.opts.Signer, to); err != nil {
				return nil, err
			}
		} else if body != nil {
			req.Body = io.NopCloser(bytes.NewReader(body))
			req.ContentLength = int64(len(body))
		}
		return c.opts.HTTP.Do(req)
	}
	p := c.opts.Retry
	p.Final = leaseLimit
	resp, err := p.Do(ctx, send)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read response: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var eb taskserver.ErrorBody
		if json.Unmarshal(data, &eb) != nil || eb.Error.Code == "" {
			eb.Error.Code, eb.Error.Message = "http_"+strconv.Itoa(resp.StatusCode), strings.TrimSpace(string(data))
		}
		return &Error{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode response: %w", method, path, err)
		}
	}
	return nil
}

// leaseLimit tells the 429 of a miner at its lease limit, which waiting
// does not lift (completing or releasing a lease does), or throttled or at
// its limit of undecided submissions (which validators' decisions lift, in
// minutes), from a rate limit.
func leaseLimit(resp *http.Response) bool {
	if resp.StatusCode != http.StatusTooManyRequests {
		return false
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	var eb taskserver.ErrorBody
	if json.Unmarshal(b, &eb) != nil {
		return false
	}
	switch eb.Error.Code {
	case "lease_limit", "throttled", "undecided_limit":
		return true
	}
	return false
}

// ---- miner ----

// Ping checks that the server answers (GET /healthz), with a short retry
// policy: it is asked at start, where a server that is not there must be
// reported in seconds.
func (c *Client) Ping(ctx context.Context) error {
	p := retry.Policy{MaxAttempts: 3, MaxElapsed: 10 * time.Second, Log: c.opts.Retry.Log}
	resp, err := p.Do(ctx, func(ctx context.Context) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/healthz", nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("User-Agent", buildinfo.UserAgent())
		return c.opts.HTTP.Do(req)
	})
	if err != nil {
		return fmt.Errorf("%s unreachable: %w", c.base, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s/healthz: HTTP %s: is this a refine task server?", c.base, resp.Status)
	}
	return nil
}

// Lease asks for the next task.
func (c *Client) Lease(ctx context.Context) (taskserver.LeaseResponse, error) {
	var out taskserver.LeaseResponse
	err := c.do(ctx, http.MethodPost, "/v1/lease", true, struct{}{}, &out)
	return out, err
}

// Heartbeat extends a lease.
func (c *Client) Heartbeat(ctx context.Context, leaseID int64) (taskserver.Lease, error) {
	var out taskserver.LeaseResult
	err := c.do(ctx, http.MethodPost, "/v1/heartbeat", true, taskserver.LeaseBody{LeaseID: leaseID}, &out)
	return out.Lease, err
}

// Complete reports a lease done with its chain commitment and the block it
// landed in (0 if unknown).
func (c *Client) Complete(ctx context.Context, leaseID int64, commitment string, commitBlock uint64) (taskserver.Lease, error) {
	var out taskserver.LeaseResult
	err := c.do(ctx, http.MethodPost, "/v1/complete", true, taskserver.CompleteBody{LeaseID: leaseID, Commitment: commitment, CommitBlock: commitBlock}, &out)
	return out.Lease, err
}

// Release gives a lease back.
func (c *Client) Release(ctx context.Context, leaseID int64) (taskserver.Lease, error) {
	var out taskserver.LeaseResult
	err := c.do(ctx, http.MethodPost, "/v1/release", true, taskserver.LeaseBody{LeaseID: leaseID}, &out)
	return out.Lease, err
}

// ---- validator ----

// Task returns a task and its lease history.
func (c *Client) Task(ctx context.Context, id int64) (taskserver.TaskResponse, error) {
	var out taskserver.TaskResponse
	err := c.do(ctx, http.MethodGet, "/v1/tasks/"+strconv.FormatInt(id, 10), true, nil, &out)
	return out, err
}

// HotkeyLeases returns a hotkey's leases, newest first (limit 0: default).
func (c *Client) HotkeyLeases(ctx context.Context, hotkey string, limit int) ([]taskserver.Lease, error) {
	var out taskserver.LeasesResponse
	err := c.do(ctx, http.MethodGet, "/v1/hotkeys/"+url.PathEscape(hotkey)+"/leases"+query("limit", limit), true, nil, &out)
	return out.Leases, err
}

// Submissions returns submissions (completed leases) whose completion
// Seq is greater than after, in Seq order (limit 0: the server's default).
func (c *Client) Submissions(ctx context.Context, after int64, limit int) ([]taskserver.Completion, error) {
	var out taskserver.SubmissionsResponse
	err := c.do(ctx, http.MethodGet, "/v1/submissions"+pageQuery(after, limit), true, nil, &out)
	return out.Submissions, err
}

// Report sends a validator's report on one submission; body.Detail is the
// verdict as a JSON object (or empty).
func (c *Client) Report(ctx context.Context, body taskserver.ScoreBody) (taskserver.ReportResponse, error) {
	var out taskserver.ReportResponse
	err := c.do(ctx, http.MethodPost, "/v1/scores", true, body, &out)
	return out, err
}

// ReleaseScores publishes the caller's reports that fed weight settings up
// to round through, once those weights are public.
func (c *Client) ReleaseScores(ctx context.Context, through int64) (int, error) {
	var out taskserver.ReleaseResponse
	err := c.do(ctx, http.MethodPost, "/v1/scores/release", true, taskserver.ReleaseBody{Through: through}, &out)
	return out.Released, err
}

// ---- public ----

// Identity returns the server's hotkey.
func (c *Client) Identity(ctx context.Context) (taskserver.Identity, error) {
	var out taskserver.Identity
	err := c.do(ctx, http.MethodGet, "/v1/identity", false, nil, &out)
	return out, err
}

// Accepted returns a page of accepted submissions with lease id > after,
// by lease id (limit 0: the server's default), the cursor of the next page
// and the server's acceptance share.
func (c *Client) Accepted(ctx context.Context, after int64, limit int) (taskserver.AcceptedResponse, error) {
	var out taskserver.AcceptedResponse
	err := c.do(ctx, http.MethodGet, "/v1/accepted"+pageQuery(after, limit), false, nil, &out)
	return out, err
}

// AllAccepted reads every accepted submission, page by page, and the
// acceptance share the server decided them with (0 when the server does
// not state one). A share that changes between pages (the server restarted
// with another rule) is an error: the list would mix two rules.
func (c *Client) AllAccepted(ctx context.Context) ([]taskserver.AcceptedSubmission, float64, error) {
	var all []taskserver.AcceptedSubmission
	var after int64
	var share float64
	for first := true; ; first = false {
		page, err := c.Accepted(ctx, after, 1000)
		if err != nil {
			return all, share, err
		}
		if !first && page.AcceptanceShare != share {
			return all, share, fmt.Errorf("task server %s: acceptance share changed from %g to %g while the accepted submissions were read", c.opts.URL, share, page.AcceptanceShare)
		}
		share = page.AcceptanceShare
		all = append(all, page.Submissions...)
		if len(page.Submissions) == 0 || page.Next <= after {
			return all, share, nil
		}
		after = page.Next
	}
}

// Stats returns the overview.
func (c *Client) Stats(ctx context.Context) (taskserver.Stats, error) {
	var out taskserver.Stats
	err := c.do(ctx, http.MethodGet, "/v1/stats", false, nil, &out)
	return out, err
}

// Events returns recent events with id < before (0: newest).
func (c *Client) Events(ctx context.Context, before int64, limit int) ([]taskserver.Event, error) {
	return c.EventsOf(ctx, before, limit, nil)
}

// EventsOf is Events of the given kinds only (all when none).
func (c *Client) EventsOf(ctx context.Context, before int64, limit int, kinds []string) ([]taskserver.Event, error) {
	q := url.Values{}
	if len(kinds) > 0 {
		q.Set("kind", strings.Join(kinds, ","))
	}
	if before > 0 {
		q.Set("before", strconv.FormatInt(before, 10))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/v1/events"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out taskserver.EventsResponse
	err := c.do(ctx, http.MethodGet, path, false, nil, &out)
	return out.Events, err
}

// Miners returns the miners, with their activity over the last window.
func (c *Client) Miners(ctx context.Context, window time.Duration) ([]taskserver.MinerRow, error) {
	out, err := c.MinerList(ctx, window)
	return out.Miners, err
}

// MinerList is Miners with the answer's window and metagraph block.
func (c *Client) MinerList(ctx context.Context, window time.Duration) (taskserver.MinersResponse, error) {
	var out taskserver.MinersResponse
	err := c.do(ctx, http.MethodGet, "/v1/miners?since="+url.QueryEscape(window.String())+"&limit=1000", false, nil, &out)
	return out, err
}

// Validators returns the validators, with their reporting over the last
// window.
func (c *Client) Validators(ctx context.Context, window time.Duration) (taskserver.ValidatorsResponse, error) {
	var out taskserver.ValidatorsResponse
	err := c.do(ctx, http.MethodGet, "/v1/validators?since="+url.QueryEscape(window.String()), false, nil, &out)
	return out, err
}

// Miner returns one miner's row, newest leases and published scores.
func (c *Client) Miner(ctx context.Context, hotkey string) (taskserver.MinerDetail, error) {
	var out taskserver.MinerDetail
	err := c.do(ctx, http.MethodGet, "/v1/miners/"+url.PathEscape(hotkey), false, nil, &out)
	return out, err
}

// Validator returns one validator's row and newest published scores.
func (c *Client) Validator(ctx context.Context, hotkey string) (taskserver.ValidatorDetail, error) {
	var out taskserver.ValidatorDetail
	err := c.do(ctx, http.MethodGet, "/v1/validators/"+url.PathEscape(hotkey), false, nil, &out)
	return out, err
}

// TaskHistory returns a task, its leases and its published scores.
func (c *Client) TaskHistory(ctx context.Context, id int64) (taskserver.TaskHistory, error) {
	var out taskserver.TaskHistory
	err := c.do(ctx, http.MethodGet, "/v1/tasks/"+strconv.FormatInt(id, 10)+"/history", false, nil, &out)
	return out, err
}

// Submission returns one submission (a completed lease) with its verdicts.
func (c *Client) Submission(ctx context.Context, leaseID int64) (taskserver.SubmissionView, error) {
	var out taskserver.SubmissionView
	err := c.do(ctx, http.MethodGet, "/v1/submissions/"+strconv.FormatInt(leaseID, 10), false, nil, &out)
	return out, err
}

// Volume returns the accepted output per bucket over the last window.
func (c *Client) Volume(ctx context.Context, window, bucket time.Duration) (taskserver.VolumeResponse, error) {
	var out taskserver.VolumeResponse
	err := c.do(ctx, http.MethodGet, "/v1/volume?since="+url.QueryEscape(window.String())+"&bucket="+url.QueryEscape(bucket.String()), false, nil, &out)
	return out, err
}

// Metagraph returns the subnet's neurons as the task server last read them.
func (c *Client) Metagraph(ctx context.Context) (taskserver.MetagraphResponse, error) {
	var out taskserver.MetagraphResponse
	err := c.do(ctx, http.MethodGet, "/v1/metagraph", false, nil, &out)
	return out, err
}

// Payouts returns the payout ledger (of hotkey, or all when ""), newest
// first, at most limit entries (0: the server's default).
func (c *Client) Payouts(ctx context.Context, hotkey string, limit int) (taskserver.PayoutsResponse, error) {
	q := url.Values{}
	if hotkey != "" {
		q.Set("hotkey", hotkey)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/v1/payouts"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out taskserver.PayoutsResponse
	err := c.do(ctx, http.MethodGet, path, false, nil, &out)
	return out, err
}

// Throughput returns completions per bucket over the last window.
func (c *Client) Throughput(ctx context.Context, window, bucket time.Duration) ([]taskserver.Bucket, error) {
	var out taskserver.ThroughputResponse
	err := c.do(ctx, http.MethodGet, "/v1/throughput?since="+url.QueryEscape(window.String())+"&bucket="+url.QueryEscape(bucket.String()), false, nil, &out)
	return out.Buckets, err
}

// Scores returns score reports on hotkey ("" for all).
func (c *Client) Scores(ctx context.Context, hotkey string, limit int) ([]taskserver.Score, error) {
	return c.ScoresOf(ctx, taskserver.ScoreQuery{Hotkey: hotkey, Limit: limit})
}

// ScoresOf returns the published scores q selects, newest first (Limit 0:
// the server's default).
func (c *Client) ScoresOf(ctx context.Context, sq taskserver.ScoreQuery) ([]taskserver.Score, error) {
	q := url.Values{}
	if sq.Hotkey != "" {
		q.Set("hotkey", sq.Hotkey)
	}
	if sq.Validator != "" {
		q.Set("validator", sq.Validator)
	}
	if sq.LeaseID > 0 {
		q.Set("lease", strconv.FormatInt(sq.LeaseID, 10))
	}
	if sq.TaskID > 0 {
		q.Set("task", strconv.FormatInt(sq.TaskID, 10))
	}
	limit := sq.Limit
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/v1/scores"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out taskserver.ScoresResponse
	err := c.do(ctx, http.MethodGet, path, false, nil, &out)
	return out.Scores, err
}

func pageQuery(after int64, limit int) string {
	q := url.Values{}
	if after > 0 {
		q.Set("after", strconv.FormatInt(after, 10))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

func query(name string, v int) string {
	if v <= 0 {
		return ""
	}
	return "?" + name + "=" + strconv.Itoa(v)
}

// IsRetryable reports whether err is an API error worth retrying later.
func IsRetryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Retryable()
}
