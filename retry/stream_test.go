package retry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// flakyFile serves content like a CDN (ranges, ETag, If-Range), but the
// first full GET is cut after cut bytes by a connection reset.
type flakyFile struct {
	content []byte
	cut     int
	etag    string
	ranges  bool // honour Range

	mu     sync.Mutex
	gets   int
	ranged []string // Range headers seen
}

func (f *flakyFile) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.gets++
	n := f.gets
	if rg := r.Header.Get("Range"); rg != "" {
		f.ranged = append(f.ranged, rg+" if-range="+r.Header.Get("If-Range"))
	}
	etag := f.etag
	f.mu.Unlock()
	if n == 1 {
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Length", strconv.Itoa(len(f.content)))
		w.WriteHeader(200)
		w.Write(f.content[:f.cut])
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
		}
		return
	}
	if !f.ranges {
		r.Header.Del("Range")
	}
	w.Header().Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.content))
}

func content(n int) []byte {
	b := make([]byte, n)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func streamPolicy(fs *fakeSleep) Policy {
	return Policy{MaxAttempts: 3, BaseDelay: time.Millisecond, sleep: fs.sleep}
}

func TestStreamResumesWithRange(t *testing.T) {
	f := &flakyFile{content: content(1 << 20), cut: 300_000, etag: `"v1"`, ranges: true}
	srv := httptest.NewServer(f)
	defer srv.Close()
	var fs fakeSleep
	s, err := Open(context.Background(), srv.URL, StreamOptions{Policy: streamPolicy(&fs), Client: client(streamPolicy(&fs))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := io.ReadAll(s)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, f.content) {
		t.Fatalf("read %d bytes, want the %d of the file", len(got), len(f.content))
	}
	// The reset (RST) may drop bytes in flight: the resume starts where
	// the client's bytes ended, somewhere in (0, cut].
	var from int
	var validator string
	if len(f.ranged) == 1 {
		fmt.Sscanf(f.ranged[0], "bytes=%d- if-range=%s", &from, &validator)
	}
	if s.Resumes() != 1 || f.gets != 2 || from <= 0 || from > f.cut || validator != `"v1"` {
		t.Fatalf("resumes %d, gets %d, ranges %v", s.Resumes(), f.gets, f.ranged)
	}
}

// TestStreamRefusesAChangedObject: the object changed between the reset
// and the resume; splicing two versions would be silent corruption.
func TestStreamRefusesAChangedObject(t *testing.T) {
	f := &flakyFile{content: content(100_000), cut: 40_000, etag: `"v1"`, ranges: true}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.ServeHTTP(w, r)
		f.mu.Lock()
		f.etag = `"v2"`
		f.mu.Unlock()
	}))
	defer srv.Close()
	var fs fakeSleep
	s, err := Open(context.Background(), srv.URL, StreamOptions{Policy: streamPolicy(&fs), Client: client(streamPolicy(&fs))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = io.ReadAll(s)
	if !errors.Is(err, errChanged) {
		t.Fatalf("changed object: %v", err)
	}
}

// TestStreamWithoutRanges: a server that ignores Range (and sends no
// validator) resends from the start; the stream skips what it delivered.
func TestStreamWithoutRanges(t *testing.T) {
	f := &flakyFile{content: content(200_000), cut: 70_000, ranges: false}
	srv := httptest.NewServer(f)
	defer srv.Close()
	var fs fakeSleep
	s, err := Open(context.Background(), srv.URL, StreamOptions{Policy: streamPolicy(&fs), Client: client(streamPolicy(&fs))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := io.ReadAll(s)
	if err != nil || !bytes.Equal(got, f.content) {
		t.Fatalf("read %d bytes, err %v", len(got), err)
	}
}

// TestStreamGivesUp: a server that keeps failing ends the stream with an
// error after the policy's tries, not a loop.
func TestStreamGivesUp(t *testing.T) {
	f := &flakyFile{content: content(100_000), cut: 10_000, etag: `"v1"`, ranges: true}
	gets := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets++
		if gets == 1 {
			f.ServeHTTP(w, r)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	var fs fakeSleep
	p := streamPolicy(&fs)
	s, err := Open(context.Background(), srv.URL, StreamOptions{Policy: p, Client: client(p)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = io.ReadAll(s)
	if err == nil || !strings.Contains(err.Error(), "gave up") {
		t.Fatalf("endless 503: %v", err)
	}
	// Each resume's request was itself retried 3 times: 1 + 3 resumes × 3.
	if gets != 1+3*3 {
		t.Fatalf("%d requests", gets)
	}
	// A 404 on resume is permanent: no further resumes.
	gets = 0
	srv404 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets++
		if gets == 1 {
			f.ServeHTTP(w, r)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv404.Close()
	f.gets = 0
	s, err = Open(context.Background(), srv404.URL, StreamOptions{Policy: p, Client: client(p)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err = io.ReadAll(s); err == nil || gets != 2 {
		t.Fatalf("404 on resume: %v after %d requests", err, gets)
	}
}

// TestStreamStall: a peer that stops sending without closing is cut after
// StallTimeout and the stream resumes.
func TestStreamStall(t *testing.T) {
	data := content(50_000)
	gets := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets++
		w.Header().Set("ETag", `"s"`)
		if gets == 1 {
			w.Header().Set("Content-Length", strconv.Itoa(len(data)))
			w.Write(data[:20_000])
			w.(http.Flusher).Flush()
			<-r.Context().Done() // hang until the client gives up
			return
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	}))
	defer srv.Close()
	var fs fakeSleep
	p := streamPolicy(&fs)
	s, err := Open(context.Background(), srv.URL, StreamOptions{Policy: p, Client: client(p), StallTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := io.ReadAll(s)
	if err != nil || !bytes.Equal(got, data) || s.Resumes() != 1 {
		t.Fatalf("stalled stream: %d bytes, %d resumes, %v", len(got), s.Resumes(), err)
	}
}

func TestContentRange(t *testing.T) {
	for h, want := range map[string]string{
		"bytes 100-199/1000": "100 1000 true",
		"bytes 5-9/*":        "5 -1 true",
		"bytes */1000":       "0 0 false",
		"items 1-2/3":        "0 0 false",
	} {
		s, tot, ok := contentRange(h)
		if got := fmt.Sprint(s, tot, ok); got != want {
			t.Errorf("%q: %s, want %s", h, got, want)
		}
	}
}
