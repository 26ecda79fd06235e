package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestRunGroup: the work's end stops the helpers, a helper's failure stops
// the work, and runGroup returns only after every goroutine has returned.
func TestRunGroup(t *testing.T) {
	var running atomic.Int32
	helper := func(ctx context.Context) error {
		running.Add(1)
		defer running.Add(-1)
		<-ctx.Done()
		time.Sleep(10 * time.Millisecond) // a slow shutdown is waited for
		return nil
	}
	if err := runGroup(context.Background(), func(context.Context) error { return nil }, helper, nil, helper); err != nil {
		t.Fatal(err)
	}
	if n := running.Load(); n != 0 {
		t.Fatalf("%d helpers still running after runGroup returned", n)
	}

	boom := errors.New("boom")
	err := runGroup(context.Background(), func(ctx context.Context) error {
		<-ctx.Done() // only a helper's failure ends it
		return nil
	}, func(context.Context) error { return boom }, helper)
	if !errors.Is(err, boom) {
		t.Fatalf("helper failure: %v, want %v", err, boom)
	}

	werr := errors.New("work failed")
	if err := runGroup(context.Background(), func(context.Context) error { return werr }, helper); !errors.Is(err, werr) {
		t.Fatalf("work failure: %v, want %v", err, werr)
	}
}

// TestServeMetrics serves /metrics until the group ends; a taken address
// is an error at listen time.
func TestServeMetrics(t *testing.T) {
	ln, err := listenMetrics("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := listenMetrics(ln.Addr().String()); err == nil || !strings.Contains(err.Error(), "--metrics") {
		t.Fatalf("listening on a taken address: %v", err)
	}
	if ln0, err := listenMetrics(""); ln0 != nil || err != nil || serveMetrics(nil, nil) != nil {
		t.Fatal("an empty --metrics must disable the listener")
	}
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "refine_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Inc()
	var body string
	err = runGroup(context.Background(), func(ctx context.Context) error {
		resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		body = string(b)
		return err
	}, serveMetrics(ln, reg))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, "refine_test_total 1") {
		t.Fatalf("/metrics lacks the counter:\n%s", body)
	}
	// The server was shut down with the group: the address is free again.
	ln2, err := net.Listen("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("metrics listener still open after the group ended: %v", err)
	}
	ln2.Close()
}
