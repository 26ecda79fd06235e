package retry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// StreamOptions configures Open.
type StreamOptions struct {
	// Client sends the requests (default: NewClient(Policy)); it retries
	// each (re)open.
	Client *http.Client
	// Policy bounds the resumes: a stream that fails MaxAttempts times in a
	// row without a byte in between gives up, with its backoff between
	// resumes.
	Policy Policy
	// Header is added to every request (e.g. Accept-Encoding: identity,
	// so that offsets are offsets of the stored bytes).
	Header http.Header
	// StallTimeout ends a read that receives nothing for this long, which
	// then resumes like a reset (default 2 minutes).
	StallTimeout time.Duration
}

// Stream is a GET response body that survives resets: when a read fails
// mid-way it asks again for the rest with "Range: bytes=<offset>-" (and
// If-Range with the object's ETag or Last-Modified, so that a changed
// object is an error, not a splice), instead of starting over.
type Stream struct {
	ctx    context.Context
	url    string
	opts   StreamOptions
	policy Policy

	body      io.ReadCloser
	cancel    context.CancelFunc
	offset    int64 // bytes delivered
	size      int64 // total size, -1 if unknown
	validator string
	failures  int // consecutive failed resumes
	resumes   int

	watch   *time.Timer // cuts a read that receives nothing for StallTimeout
	mu      sync.Mutex  // guards stalled and cancel against watch
	stalled bool
}

// Open sends GET url and returns its body as a Stream. A status other than
// 200 is an error.
func Open(ctx context.Context, url string, opts StreamOptions) (*Stream, error) {
	if opts.Client == nil {
		opts.Client = NewClient(opts.Policy)
	}
	if opts.StallTimeout <= 0 {
		opts.StallTimeout = 2 * time.Minute
	}
	s := &Stream{ctx: ctx, url: url, opts: opts, policy: opts.Policy.withDefaults(), size: -1}
	resp, cancel, err := s.get(-1)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		cancel()
		resp.Body = io.NopCloser(bytes.NewReader(b))
		return nil, &StatusError{URL: url, Response: resp}
	}
	s.size = resp.ContentLength
	if et := resp.Header.Get("ETag"); et != "" && !strings.HasPrefix(et, "W/") {
		s.validator = et
	} else if lm := resp.Header.Get("Last-Modified"); lm != "" {
		s.validator = lm
	}
	s.body, s.cancel = resp.Body, cancel
	s.watch = time.AfterFunc(time.Hour, s.stall)
	s.watch.Stop()
	return s, nil
}

// StatusError is an answer other than 200 to Open's first request; its
// Response holds the status, headers and the start of the body.
type StatusError struct {
	URL      string
	Response *http.Response
}

func (e *StatusError) Error() string { return fmt.Sprintf("GET %s: HTTP %s", e.URL, e.Response.Status) }

// get sends the request, from offset on when offset ≥ 0.
func (s *Stream) get(offset int64) (*http.Response, context.CancelFunc, error) {
	ctx, cancel := context.WithCancel(s.ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	for k, v := range s.opts.Header {
		req.Header[k] = v
	}
	if offset >= 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
		if s.validator != "" {
			req.Header.Set("If-Range", s.validator)
		}
	}
	resp, err := s.opts.Client.Do(req)
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("GET %s: %w", s.url, err)
	}
	return resp, cancel, nil
}

// Offset is the number of bytes delivered so far.
func (s *Stream) Offset() int64 { return s.offset }

// Resumes is the number of times the stream was resumed.
func (s *Stream) Resumes() int { return s.resumes }

// Read implements io.Reader.
func (s *Stream) Read(p []byte) (int, error) {
	for {
		if s.body == nil {
			return 0, fmt.Errorf("GET %s: stream closed", s.url)
		}
		s.watch.Reset(s.opts.StallTimeout)
		n, err := s.body.Read(p)
		s.watch.Stop()
		s.offset += int64(n)
		if n > 0 {
			s.failures = 0
		}
		switch {
		case err == nil:
			return n, nil
		case err == io.EOF && (s.size < 0 || s.offset == s.size):
			return n, io.EOF
		case err == io.EOF:
			err = io.ErrUnexpectedEOF // fewer bytes than Content-Length
		}
		if n > 0 {
			// Deliver the bytes now; the next Read resumes.
			s.fail(err)
			return n, nil
		}
		if rerr := s.resume(err); rerr != nil {
			return 0, rerr
		}
	}
}

// stall ends the request in flight: its read returns an error, and the
// stream resumes.
func (s *Stream) stall() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stalled = true
	s.cancel()
}

// setCancel replaces the request's cancel function.
func (s *Stream) setCancel(c context.CancelFunc) {
	s.mu.Lock()
	s.cancel = c
	s.mu.Unlock()
}

// fail closes a broken body; the next Read resumes.
func (s *Stream) fail(err error) {
	s.cancel()
	s.body.Close()
	s.body = errBody{err}
}

type errBody struct{ err error }

func (e errBody) Read([]byte) (int, error) { return 0, e.err }
func (e errBody) Close() error             { return nil }

// resume reopens the stream at the current offset after err.
func (s *Stream) resume(cause error) error {
	s.cancel()
	s.body.Close()
	s.body = errBody{cause}
	for {
		if s.ctx.Err() != nil {
			return s.ctx.Err()
		}
		s.mu.Lock()
		if s.stalled {
			cause = fmt.Errorf("no data for %s: %w", s.opts.StallTimeout, cause)
			s.stalled = false
		}
		s.mu.Unlock()
		var perm permanent
		if errors.Is(cause, errChanged) || errors.As(cause, &perm) {
			return cause
		}
		s.failures++
		if s.failures > s.policy.MaxAttempts {
			return fmt.Errorf("GET %s: at byte %d: %w (gave up after %d resumes in a row)", s.url, s.offset, cause, s.failures-1)
		}
		d := max(s.policy.backoff(s.failures), s.policy.MinDelay)
		s.policy.Log.Warn("stream broken; resuming with a range request", "url", s.url, "offset", s.offset, "err", cause, "wait", d)
		if err := s.policy.sleep(s.ctx, d); err != nil {
			return err
		}
		resp, cancel, err := s.get(s.offset)
		if err != nil {
			cause = err
			continue
		}
		body, err := s.accept(resp)
		if err != nil {
			cancel()
			resp.Body.Close()
			cause = err
			continue
		}
		s.body = body
		s.setCancel(cancel)
		s.resumes++
		return nil
	}
}

var errChanged = errors.New("the object changed while it was read")

// accept checks a resumed response and returns the body from s.offset on.
func (s *Stream) accept(resp *http.Response) (io.ReadCloser, error) {
	switch resp.StatusCode {
	case http.StatusPartialContent:
		start, total, ok := contentRange(resp.Header.Get("Content-Range"))
		if !ok || start != s.offset || s.size >= 0 && total >= 0 && total != s.size {
			return nil, fmt.Errorf("GET %s: resumed at byte %d, got Content-Range %q: %w", s.url, s.offset, resp.Header.Get("Content-Range"), errChanged)
		}
		return resp.Body, nil
	case http.StatusOK:
		if s.validator != "" {
			// If-Range did not match: the object is not the one we read.
			return nil, fmt.Errorf("GET %s: %w", s.url, errChanged)
		}
		// A server without ranges: skip what was already delivered.
		if _, err := io.CopyN(io.Discard, resp.Body, s.offset); err != nil {
			return nil, fmt.Errorf("GET %s: skipping %d bytes: %w", s.url, s.offset, err)
		}
		return resp.Body, nil
	}
	err := fmt.Errorf("GET %s from byte %d: HTTP %s", s.url, s.offset, resp.Status)
	if PermanentStatus(resp.StatusCode) {
		return nil, permanent{err}
	}
	return nil, err
}

// permanent marks a resume failure that another try cannot fix.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// contentRange parses "bytes start-end/total" (total may be "*": -1).
func contentRange(h string) (start, total int64, ok bool) {
	rest, found := strings.CutPrefix(h, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	a, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	total = -1
	if tot != "*" {
		if total, err = strconv.ParseInt(tot, 10, 64); err != nil {
			return 0, 0, false
		}
	}
	return start, total, true
}

// Close implements io.Closer.
func (s *Stream) Close() error {
	if s.body == nil {
		return nil
	}
	s.cancel()
	err := s.body.Close()
	s.body = nil
	return err
}
