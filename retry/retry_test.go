package retry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeSleep records the waits instead of sleeping.
type fakeSleep struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (f *fakeSleep) sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	f.waits = append(f.waits, d)
	f.mu.Unlock()
	return ctx.Err()
}

func quick(f *fakeSleep) Policy {
	return Policy{MaxAttempts: 5, BaseDelay: time.Millisecond, MaxDelay: 4 * time.Millisecond, sleep: f.sleep}
}

// scripted answers each request with the next status of a script (the
// last one repeats) and counts requests.
func scripted(t *testing.T, script ...func(w http.ResponseWriter)) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		script[min(i, len(script)-1)](w)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func status(code int, hdr ...string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Set(hdr[i], hdr[i+1])
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, "status %d", code)
	}
}

// reset closes the connection without an answer.
func reset(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.(*net.TCPConn).SetLinger(0)
		conn.Close()
	}
}

// client retries by p over fresh connections (Go's transport itself
// retries a request once when a reused connection was closed under it).
func client(p Policy) *http.Client {
	return &http.Client{Transport: &Transport{Policy: p, Base: &http.Transport{DisableKeepAlives: true}}}
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, error) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	return c.Do(req)
}

func TestTransientFailuresAreRetried(t *testing.T) {
	var fs fakeSleep
	srv, n := scripted(t, status(429, "RateLimit", `"api";r=0;t=2`, "RateLimit-Policy", `"fixed window";"api";q=500;w=300`),
		status(503), reset, status(408), status(200))
	resp, err := get(t, client(quick(&fs)), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || n.Load() != 5 {
		t.Fatalf("status %d after %d requests", resp.StatusCode, n.Load())
	}
	// The 429's RateLimit header asked for 2 s; the others got backoff.
	if len(fs.waits) != 4 || fs.waits[0] != 2*time.Second || fs.waits[1] > 4*time.Millisecond {
		t.Fatalf("waits %v", fs.waits)
	}
}

func TestPermanentFailuresAreNotRetried(t *testing.T) {
	for _, code := range []int{400, 401, 403, 404, 409, 413, 422, 501} {
		var fs fakeSleep
		srv, n := scripted(t, status(code), status(200))
		resp, err := get(t, client(quick(&fs)), srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != code || n.Load() != 1 {
			t.Errorf("HTTP %d: got %d after %d requests", code, resp.StatusCode, n.Load())
		}
	}
	// An unknown scheme is not retried either.
	var fs fakeSleep
	if _, err := quick(&fs).Do(context.Background(), func(ctx context.Context) (*http.Response, error) {
		return http.DefaultClient.Get("gopher://x")
	}); err == nil || len(fs.waits) != 0 {
		t.Fatalf("bad scheme: %v after %d waits", err, len(fs.waits))
	}
}

func TestAttemptsAndTimeAreBounded(t *testing.T) {
	var fs fakeSleep
	srv, n := scripted(t, status(503))
	resp, err := get(t, client(quick(&fs)), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || n.Load() != 5 {
		t.Fatalf("always 503: got %d after %d requests, want the 503 after 5", resp.StatusCode, n.Load())
	}
	// A wait longer than the policy allows ends the retries at once.
	srv, n = scripted(t, status(429, "Retry-After", "3600"), status(200))
	resp, err = get(t, client(quick(&fs)), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || n.Load() != 1 {
		t.Fatalf("Retry-After 3600: got %d after %d requests", resp.StatusCode, n.Load())
	}
	// Connection failures that last: an ExhaustedError naming the tries.
	srv, _ = scripted(t, reset)
	_, err = get(t, client(quick(&fs)), srv.URL)
	var ex *ExhaustedError
	if !errors.As(err, &ex) || ex.Attempts != 5 {
		t.Fatalf("resets: %v", err)
	}
	// MaxElapsed, with real time.
	srv, n = scripted(t, status(502))
	p := Policy{MaxAttempts: 100, BaseDelay: 20 * time.Millisecond, MaxDelay: 20 * time.Millisecond, MaxElapsed: 150 * time.Millisecond}
	start := time.Now()
	resp, err = get(t, client(p), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if el := time.Since(start); el > 2*time.Second || n.Load() < 3 || n.Load() > 20 {
		t.Fatalf("MaxElapsed 150ms: %d requests in %s", n.Load(), el)
	}
}

func TestRetryAfterAndContext(t *testing.T) {
	var fs fakeSleep
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	srv, _ := scripted(t, status(503, "Retry-After", "7"), status(429, "Retry-After", date), status(200))
	resp, err := get(t, client(quick(&fs)), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(fs.waits) != 2 || fs.waits[0] != 7*time.Second || fs.waits[1] < 85*time.Second || fs.waits[1] > 90*time.Second {
		t.Fatalf("waits %v, want 7s then ~90s", fs.waits)
	}
	// A cancelled context ends a wait at once.
	srv, _ = scripted(t, status(503, "Retry-After", "60"))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	start := time.Now()
	_, err = (&http.Client{Transport: &Transport{}}).Do(req)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("cancelled wait: %v after %s", err, time.Since(start))
	}
}

func TestCommonCrawlWaitsAtLeastASecond(t *testing.T) {
	var fs fakeSleep
	p := CommonCrawl
	p.sleep = fs.sleep
	srv, _ := scripted(t, status(503, "Retry-After", "0"), status(503), reset, status(200))
	resp, err := get(t, client(p), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(fs.waits) != 3 {
		t.Fatalf("waits %v", fs.waits)
	}
	for _, w := range fs.waits {
		if w < time.Second {
			t.Fatalf("a wait of %s between CommonCrawl retries (waits %v)", w, fs.waits)
		}
	}
}

func TestBackoffJitter(t *testing.T) {
	p := Policy{BaseDelay: time.Second, MaxDelay: 8 * time.Second}.withDefaults()
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 9: 8 * time.Second} {
		seen := map[time.Duration]bool{}
		for range 50 {
			d := p.backoff(attempt)
			if d < want/2 || d > want {
				t.Fatalf("attempt %d: %s outside [%s, %s]", attempt, d, want/2, want)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Fatalf("attempt %d: no jitter (%d distinct waits)", attempt, len(seen))
		}
	}
}

func TestBodiesAreReplayedOrSentOnce(t *testing.T) {
	var fs fakeSleep
	var bodies []string
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		n++
		first := n == 1
		mu.Unlock()
		if first {
			w.WriteHeader(503)
		}
	}))
	defer srv.Close()
	c := client(quick(&fs))
	req, _ := http.NewRequest(http.MethodPut, srv.URL, bytes.NewReader([]byte("payload")))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if strings.Join(bodies, ",") != "payload,payload" {
		t.Fatalf("bodies %q", bodies)
	}
	// A body that cannot be replayed is sent once; the 503 comes back.
	bodies, n = nil, 0
	req, _ = http.NewRequest(http.MethodPut, srv.URL, io.NopCloser(strings.NewReader("once")))
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || len(bodies) != 1 {
		t.Fatalf("unreplayable body: %d after %d requests", resp.StatusCode, len(bodies))
	}
}

func TestUserAgent(t *testing.T) {
	var ua string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ua = r.UserAgent() }))
	defer srv.Close()
	resp, err := get(t, NewClient(Policy{}), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.HasPrefix(ua, "refine/") || !strings.Contains(ua, "(+https://") {
		t.Fatalf("User-Agent %q", ua)
	}
}

// TestRedirectToAnotherHostDropsToken: a download redirected to a storage
// host (as the Hub redirects LFS files) must not carry the token there;
// a redirect within the origin keeps it.
func TestRedirectToAnotherHostDropsToken(t *testing.T) {
	var mu sync.Mutex
	auth := map[string]string{}
	storage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth["storage"+r.URL.Path] = r.Header.Get("Authorization")
		mu.Unlock()
		io.WriteString(w, "bytes")
	}))
	defer storage.Close()
	// The same loopback server under another host name: "localhost"
	// instead of "127.0.0.1" (Go's own rule would keep the token for a
	// different port of the same host name; ours does not).
	other := strings.Replace(storage.URL, "127.0.0.1", "localhost", 1)
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth["hub"+r.URL.Path] = r.Header.Get("Authorization")
		mu.Unlock()
		switch r.URL.Path {
		case "/cross":
			http.Redirect(w, r, other+"/signed?X-Amz-Signature=abc", http.StatusFound)
		case "/port":
			http.Redirect(w, r, storage.URL+"/port", http.StatusFound)
		case "/same":
			http.Redirect(w, r, "/final", http.StatusTemporaryRedirect)
		}
	}))
	defer hub.Close()
	c := NewClient(Policy{})
	for _, p := range []string{"/cross", "/port", "/same"} {
		req, _ := http.NewRequest(http.MethodGet, hub.URL+p, nil)
		req.Header.Set("Authorization", "Bearer hf_secret")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	if auth["storage/signed"] != "" || auth["storage/port"] != "" {
		t.Fatalf("token sent to another origin: %v", auth)
	}
	if auth["hub/final"] != "Bearer hf_secret" || auth["hub/cross"] != "Bearer hf_secret" {
		t.Fatalf("token lost within the origin: %v", auth)
	}
}

// TestUnreachableFailsInSeconds: a server that cannot be connected to is
// tried MaxDialAttempts times, not for the whole policy: a wrong address
// is reported at once, an outage of a live service (5xx) ridden out.
func TestUnreachableFailsInSeconds(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	var fs fakeSleep
	p := CommonCrawl
	p.sleep = fs.sleep
	_, err := get(t, client(p), url)
	var ex *ExhaustedError
	if !errors.As(err, &ex) || ex.Attempts != 3 || len(fs.waits) != 2 || !strings.Contains(err.Error(), url) {
		t.Fatalf("refused connections: %v after %d waits", err, len(fs.waits))
	}
}
