package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datarefine/refine/epistula"
	"github.com/datarefine/refine/retry"
	"github.com/datarefine/refine/taskapi"
	"github.com/datarefine/refine/wallet"
)

var quick = retry.Policy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}

// TestTransientErrorsAreRetriedAndResigned: a 503 and a 429 are retried,
// and every try carries a fresh Epistula signature (the server refuses a
// replayed one).
func TestTransientErrorsAreRetriedAndResigned(t *testing.T) {
	var mu sync.Mutex
	var uuids []string
	var agents []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		uuids = append(uuids, r.Header.Get(epistula.HeaderUUID))
		agents = append(agents, r.UserAgent())
		n := len(uuids)
		mu.Unlock()
		switch n {
		case 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": "rate_limited", "message": "slow down"}})
		default:
			json.NewEncoder(w).Encode(taskapi.LeaseResult{Lease: taskapi.Lease{ID: 7}})
		}
	}))
	defer srv.Close()
	key, _ := wallet.FromURI("//Miner1")
	c := New(Options{URL: srv.URL, Signer: key, SignedFor: key.SS58(), Retry: quick})
	l, err := c.Heartbeat(context.Background(), 7)
	if err != nil || l.ID != 7 {
		t.Fatalf("heartbeat: %+v, %v", l, err)
	}
	if len(uuids) != 3 || uuids[0] == uuids[1] || uuids[1] == uuids[2] || uuids[0] == "" {
		t.Fatalf("Epistula uuids of the tries: %v", uuids)
	}
	if !strings.HasPrefix(agents[0], "refine/") {
		t.Fatalf("User-Agent %q", agents[0])
	}
}

// TestPermanentErrorsAreNot: a 403 (unregistered) and the 429 of a miner
// at its lease limit come back at once.
func TestPermanentErrorsAreNot(t *testing.T) {
	for _, tc := range []struct {
		status int
		code   string
		want   error
	}{
		{403, "not_registered", taskapi.ErrNotRegistered},
		{429, "lease_limit", taskapi.ErrLeaseLimit},
		{429, "throttled", taskapi.ErrThrottled},
		{429, "undecided_limit", taskapi.ErrUndecidedLimit},
		{404, "no_task", taskapi.ErrNoTask},
	} {
		n := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n++
			w.WriteHeader(tc.status)
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": tc.code, "message": "no"}})
		}))
		key, _ := wallet.FromURI("//Miner1")
		_, err := New(Options{URL: srv.URL, Signer: key, SignedFor: key.SS58(), Retry: quick}).Lease(context.Background())
		srv.Close()
		if !errors.Is(err, tc.want) || n != 1 {
			t.Errorf("%d %s: %v after %d requests", tc.status, tc.code, err, n)
		}
	}
}

// TestUnreachable: a server that is not there fails after the policy's
// tries with an error that says so.
func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := New(Options{URL: url, Retry: quick}).Stats(context.Background())
	var ex *retry.ExhaustedError
	if !errors.As(err, &ex) || ex.Attempts != 3 || !strings.Contains(err.Error(), "connection refused") { // MaxDialAttempts
		t.Fatalf("unreachable server: %v", err)
	}
}
