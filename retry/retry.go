// Package retry is refine's one retrying HTTP layer, a wrapper in the way
// restic wraps its backends: the Hub client, WARC streaming and the task
// server client all send their requests through it.
//
// A request that fails transiently — a network error, a timeout, a reset,
// HTTP 408, 429 or a 5xx other than 501 and 505 — is sent again after an
// exponential backoff with jitter, or after the wait the server asked for
// (Retry-After, or the Hub's RateLimit header when no request is left in
// the window), within a bound on attempts and on total time, and never
// past the context's end. Anything else (a 4xx other than 408 and 429, a
// bad certificate, an unknown host) is permanent and returned at once: a
// retry cannot fix it.
//
// Transport is the wrapper as an http.RoundTripper; NewClient builds an
// http.Client on it that also drops credentials on a redirect to another
// origin and names refine in its User-Agent; Do is the loop for callers
// that must rebuild each attempt (a signed request); Open streams a large
// download and resumes it with a Range request after a reset.
package retry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/datarefine/refine/internal/buildinfo"
)

// Policy says how often and how long to retry.
type Policy struct {
	// MaxAttempts bounds the tries of one request, the first included
	// (default 6).
	MaxAttempts int
	// MaxElapsed bounds the time from the first try to the start of the
	// last one (default 10 minutes).
	MaxElapsed time.Duration
	// BaseDelay is the first backoff (default 1 s); each later one doubles,
	// up to MaxDelay (default 30 s), and is jittered to [d/2, d).
	BaseDelay, MaxDelay time.Duration
	// MinDelay is the least wait between two tries, a server's requested
	// wait included (CommonCrawl asks for at least one second).
	MinDelay time.Duration
	// MaxDialAttempts bounds the tries while the server cannot even be
	// connected to (connection refused, no route; default 3): an outage
	// of a service that answers is ridden out, a wrong address is
	// reported in seconds.
	MaxDialAttempts int
	// MaxServerWait is the longest wait a server may ask for (Retry-After,
	// RateLimit) that is still honoured (default 5 minutes); a longer one
	// ends the retries with the server's answer.
	MaxServerWait time.Duration
	// Log receives one line per retry (default: discard).
	Log *slog.Logger
	// Final, if set, marks a response with a retryable status as final
	// all the same: an API's own answer that time will not change (the
	// task server's 429 lease_limit: the miner holds too many leases).
	// It may read the body if it puts it back.
	Final func(*http.Response) bool

	// sleep waits (tests shorten it); nil is a real timer.
	sleep func(ctx context.Context, d time.Duration) error
}

// Default is the policy of the Hub client and the task server client.
var Default = Policy{}

// CommonCrawl is the policy for data.commoncrawl.org: its status page asks
// clients that are refused (503 "slow down") to wait at least a second
// before trying again, and to back off further when it keeps refusing.
var CommonCrawl = Policy{MinDelay: time.Second, BaseDelay: 2 * time.Second, MaxDelay: time.Minute, MaxAttempts: 8, MaxElapsed: 15 * time.Minute}

func (p Policy) withDefaults() Policy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 6
	}
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = 10 * time.Minute
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = time.Second
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 30 * time.Second
	}
	if p.MaxDelay < p.BaseDelay {
		p.MaxDelay = p.BaseDelay
	}
	if p.MaxServerWait <= 0 {
		p.MaxServerWait = 5 * time.Minute
	}
	if p.MaxDialAttempts <= 0 {
		p.MaxDialAttempts = 3
	}
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	if p.sleep == nil {
		p.sleep = sleep
	}
	return p
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// backoff is the jittered wait before try attempt+1.
func (p Policy) backoff(attempt int) time.Duration {
	d := p.BaseDelay
	for i := 1; i < attempt && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	return d/2 + rand.N(d/2+1)
}

// RetryableStatus reports whether a response status is worth another try:
// 408, 429 and the 5xx other than 501 Not Implemented and 505.
func RetryableStatus(code int) bool {
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests:
		return true
	case code == http.StatusNotImplemented, code == http.StatusHTTPVersionNotSupported:
		return false
	}
	return code >= 500 && code <= 599
}

// PermanentStatus reports whether an error status means that the same
// request will fail again: every 4xx other than 408 and 429.
func PermanentStatus(code int) bool {
	return code >= 400 && code < 500 && !RetryableStatus(code)
}

// retryableErr reports whether a transport error may pass: everything but
// the context's end, certificate failures, unknown hosts and malformed
// requests.
func retryableErr(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var (
		unknownCA  x509.UnknownAuthorityError
		invalid    x509.CertificateInvalidError
		hostname   x509.HostnameError
		verify     *tls.CertificateVerificationError
		dns        *net.DNSError
		recordHdr  tls.RecordHeaderError
		badRequest = strings.Contains(err.Error(), "unsupported protocol scheme")
	)
	switch {
	case errors.As(err, &unknownCA), errors.As(err, &invalid), errors.As(err, &hostname), errors.As(err, &verify), errors.As(err, &recordHdr):
		return false
	case errors.As(err, &dns) && dns.IsNotFound:
		return false
	case badRequest:
		return false
	}
	return true
}

// isDial reports an error from connecting, before any byte was sent.
func isDial(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// serverWait is the wait a response asks for, 0 if none: the Hub's
// RateLimit header ("api";r=0;t=55) when no request is left, else
// Retry-After in seconds or as an HTTP date.
func serverWait(resp *http.Response, now time.Time) time.Duration {
	if resp.StatusCode == http.StatusTooManyRequests {
		if m := rateLimitRe.FindStringSubmatch(resp.Header.Get("RateLimit")); m != nil && m[1] == "0" {
			if t, err := strconv.Atoi(m[2]); err == nil {
				return time.Duration(t) * time.Second
			}
		}
	}
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// rateLimitRe reads the IETF draft RateLimit header the Hub sends:
// "api";r=<remaining>;t=<seconds to reset>.
var rateLimitRe = regexp.MustCompile(`r\s*=\s*(\d+)\s*;\s*t\s*=\s*(\d+)`)

// ExhaustedError is a transient failure that lasted through every try.
type ExhaustedError struct {
	Attempts int
	Elapsed  time.Duration
	Err      error
}

func (e *ExhaustedError) Error() string {
	return fmt.Sprintf("%v (gave up after %d attempts in %s)", e.Err, e.Attempts, e.Elapsed.Round(time.Millisecond))
}
func (e *ExhaustedError) Unwrap() error { return e.Err }

// Do sends a request built by send until it succeeds, fails permanently,
// or the policy's bounds or ctx end. send is called once per try and must
// build a fresh request each time (a signed request is signed again).
// A response with a retryable status is drained and closed before the
// next try; the last one is returned as it is, for the caller to report.
func (p Policy) Do(ctx context.Context, send func(ctx context.Context) (*http.Response, error)) (*http.Response, error) {
	p = p.withDefaults()
	start := time.Now()
	dials := 0
	for attempt := 1; ; attempt++ {
		resp, err := send(ctx)
		var (
			wait time.Duration
			why  string
		)
		switch {
		case err != nil:
			if !retryableErr(ctx, err) {
				return nil, err
			}
			if isDial(err) {
				dials++
			}
			why = err.Error()
		case RetryableStatus(resp.StatusCode) && (p.Final == nil || !p.Final(resp)):
			wait = serverWait(resp, time.Now())
			why = "HTTP " + resp.Status
		default:
			return resp, nil
		}
		d := max(p.backoff(attempt), wait, p.MinDelay)
		elapsed := time.Since(start)
		giveUp := attempt >= p.MaxAttempts || elapsed+d > p.MaxElapsed || wait > p.MaxServerWait || dials >= p.MaxDialAttempts
		if giveUp {
			p.Log.Warn("giving up", "why", why, "attempts", attempt, "elapsed", elapsed.Round(time.Millisecond), "server_wait", wait)
			if err != nil {
				return nil, &ExhaustedError{Attempts: attempt, Elapsed: elapsed, Err: err}
			}
			return resp, nil
		}
		if resp != nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		p.Log.Warn("retrying", "why", why, "attempt", attempt, "wait", d.Round(time.Millisecond))
		if err := p.sleep(ctx, d); err != nil {
			return nil, err
		}
	}
}

// Transport wraps an http.RoundTripper with the policy's retries and sets
// refine's User-Agent on requests that have none. A request whose body
// cannot be replayed (no GetBody) is sent once.
type Transport struct {
	Base   http.RoundTripper // default: DefaultBase()
	Policy Policy
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = defaultBase
	}
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	tries := 0
	send := func(ctx context.Context) (*http.Response, error) {
		r := req.Clone(ctx)
		if tries > 0 && req.GetBody != nil {
			b, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r.Body = b
		}
		tries++
		if r.Header.Get("User-Agent") == "" {
			r.Header.Set("User-Agent", buildinfo.UserAgent())
		}
		return base.RoundTrip(r)
	}
	if !replayable {
		return send(req.Context())
	}
	return t.Policy.Do(req.Context(), send)
}

// defaultBase bounds each phase of a request rather than its whole life:
// a multi-gigabyte download may take long, a silent peer may not.
var defaultBase http.RoundTripper = func() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 15 * time.Second
	t.ResponseHeaderTimeout = 5 * time.Minute
	return t
}()

// NewClient returns an http.Client that retries by p, names refine in its
// User-Agent and drops credentials on a redirect to another origin. It sets
// no overall timeout: bound calls with their context.
func NewClient(p Policy) *http.Client {
	return &http.Client{Transport: &Transport{Policy: p}, CheckRedirect: CheckRedirect}
}

// CheckRedirect follows up to 10 redirects and drops the Authorization
// header (and cookies) when a redirect leaves the first request's origin
// (scheme, host and port), except for an upgrade from http to https on the
// same host — as huggingface_hub's client (httpx) does. A Hub download
// answers with a redirect to a storage host whose signed URL needs no
// token; the token must not follow it there.
func CheckRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	from, to := via[0].URL, req.URL
	sameOrigin := from.Host == to.Host && (from.Scheme == to.Scheme || from.Scheme == "http" && to.Scheme == "https")
	if !sameOrigin {
		req.Header.Del("Authorization")
		req.Header.Del("Cookie")
	}
	return nil
}
