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
	return &Client{opts: opts, base: strings.TrimRight(opts.URL, "/")}
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
	q := url.Values{}
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

// Miners returns per-miner activity over the last window.
func (c *Client) Miners(ctx context.Context, window time.Duration) ([]taskserver.MinerActivity, error) {
	var out taskserver.MinersResponse
	err := c.do(ctx, http.MethodGet, "/v1/miners?since="+url.QueryEscape(window.String()), false, nil, &out)
	return out.Miners, err
}

// Throughput returns completions per bucket over the last window.
func (c *Client) Throughput(ctx context.Context, window, bucket time.Duration) ([]taskserver.Bucket, error) {
	var out taskserver.ThroughputResponse
	err := c.do(ctx, http.MethodGet, "/v1/throughput?since="+url.QueryEscape(window.String())+"&bucket="+url.QueryEscape(bucket.String()), false, nil, &out)
	return out.Buckets, err
}

// Scores returns score reports on hotkey ("" for all).
func (c *Client) Scores(ctx context.Context, hotkey string, limit int) ([]taskserver.Score, error) {
	q := url.Values{}
	if hotkey != "" {
		q.Set("hotkey", hotkey)
	}
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
