package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/retry"
	"github.com/datarefine/refine/sqldb/sqldbtest"
	"github.com/datarefine/refine/taskserver"
	"github.com/datarefine/refine/taskserver/client"
)

// recorder is a reverse proxy in front of the task server: the site's only
// way to it. It records what the site asks, and can be taken away.
type recorder struct {
	mu       sync.Mutex
	requests []string // "GET /v1/…"
	bad      []string // anything but an anonymous GET of /v1/…
	srv      *http.Server
	url      string
}

func newRecorder(t *testing.T, target string) *recorder {
	rec := &recorder{}
	rp := httputil.NewSingleHostReverseProxy(mustURL(t, target))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	rec.url = "http://" + ln.Addr().String()
	rec.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		line := r.Method + " " + r.URL.RequestURI()
		rec.mu.Lock()
		rec.requests = append(rec.requests, line)
		signed := false
		for h := range r.Header {
			signed = signed || strings.HasPrefix(strings.ToLower(h), "epistula")
		}
		if r.Method != http.MethodGet || signed || !strings.HasPrefix(r.URL.Path, "/v1/") {
			rec.bad = append(rec.bad, fmt.Sprintf("%s (signed %v)", line, signed))
		}
		rec.mu.Unlock()
		rp.ServeHTTP(w, r)
	})}
	go rec.srv.Serve(ln)
	t.Cleanup(func() { rec.srv.Close() })
	return rec
}

func (rec *recorder) count() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return len(rec.requests)
}

// TestSiteOverHTTPOnly (issue 16): the site's pages and its JSON come only
// from the task server's public read API, reached over HTTP. A real task
// server (sqlstore, devchain, API) listens on loopback behind a recording
// proxy; the site is configured with the proxy's URL and its own database,
// nothing else. Every GET route of the site (walked from its router: a new
// route fails this test until it is listed here) is fetched; the only
// requests the site makes are anonymous GETs of the API's /v1/ reads; the
// numbers on the pages and in the site's JSON are the API's own answers,
// read by the test over HTTP; and once the task server is gone, every page
// that read it answers 502 in the API's one error envelope (JSON) or as an
// error page (HTML), while the pages of the site's own state still answer:
// no second source, no stale copy.
func TestSiteOverHTTPOnly(t *testing.T) {
	f := newFixture(t, "sqlite")
	ctx := context.Background()
	rec := newRecorder(t, f.apiURL)
	site, err := New(ctx, Options{
		API:         client.New(client.Options{URL: rec.url, Retry: retry.Policy{MaxAttempts: 1, MaxDialAttempts: 1}}),
		DB:          sqldbtest.DSN(t, "sqlite"),
		OwnerHotkey: f.owner.SS58(),
		Now:         f.clock.Now,
	})
	must(t, err)
	t.Cleanup(func() { site.Close() })
	must(t, site.Refresh(ctx))
	srv := httptest.NewServer(site)
	t.Cleanup(srv.Close)

	// The test's own reads of the API, over HTTP, straight to the server.
	api := client.New(client.Options{URL: f.apiURL})
	c := newBrowser(t, srv.URL)
	c.signIn(f.miners[0])
	thread := mustThread(t, c, "Over HTTP", "only")

	l := f.completedLease
	mk, vk := l.Hotkey, f.vals[0].SS58()
	// Each GET route with its concrete path and expected status.
	paths := map[string]struct {
		path   string
		status int
	}{
		"/":                                      {"/", 200},
		"/miners":                                {"/miners", 200},
		"/miners/{hotkey}":                       {"/miners/" + mk, 200},
		"/validators":                            {"/validators", 200},
		"/validators/{hotkey}":                   {"/validators/" + vk, 200},
		"/tasks/{id}":                            {fmt.Sprintf("/tasks/%d", l.TaskID), 200},
		"/submissions/{id}":                      {fmt.Sprintf("/submissions/%d", l.ID), 200},
		"/payouts":                               {"/payouts", 200},
		"/dataset":                               {"/dataset", 404}, // no dataset repository configured
		"/board":                                 {"/board", 200},
		"/board/{id}":                            {fmt.Sprintf("/board/%d", thread), 200},
		"/signin":                                {"/signin", 200},
		"/dashboard":                             {"/dashboard", 200},
		"/static/*":                              {"/static/site.js", 200},
		"/favicon.ico":                           {"/favicon.ico", 200},
		"/v1/site/openapi.yaml":                  {"/v1/site/openapi.yaml", 200},
		"/v1/site/overview":                      {"/v1/site/overview", 200},
		"/v1/site/charts/tokens":                 {"/v1/site/charts/tokens", 200},
		"/v1/site/charts/completions":            {"/v1/site/charts/completions", 200},
		"/v1/site/charts/miners/{hotkey}/scores": {"/v1/site/charts/miners/" + mk + "/scores", 200},
		"/v1/site/charts/miners/{hotkey}/rewards":   {"/v1/site/charts/miners/" + mk + "/rewards", 200},
		"/v1/site/charts/miners/{hotkey}/incentive": {"/v1/site/charts/miners/" + mk + "/incentive", 200},
		"/v1/site/charts/validators/{hotkey}/trust": {"/v1/site/charts/validators/" + vk + "/trust", 200},
		"/v1/site/charts/dataset":                   {"/v1/site/charts/dataset", 404},
		"/v1/site/dataset/samples":                  {"/v1/site/dataset/samples", 404},
		"/v1/site/profiles/{hotkey}":                {"/v1/site/profiles/" + mk, 200},
		"/v1/site/auth/session":                     {"/v1/site/auth/session", 200},
		"/v1/site/threads":                          {"/v1/site/threads", 200},
		"/v1/site/threads/{id}":                     {fmt.Sprintf("/v1/site/threads/%d", thread), 200},
	}
	var routes []string
	must(t, walkRoutes(site, func(method, route string) {
		if method == http.MethodGet {
			routes = append(routes, route)
		}
	}))
	bodies := map[string]string{}
	readsAPI := map[string]bool{}
	for _, route := range routes {
		p, ok := paths[route]
		if !ok {
			t.Errorf("GET %s: a route this test does not fetch; add it", route)
			continue
		}
		before := rec.count()
		st, body := c.get(p.path)
		if st != p.status {
			t.Errorf("GET %s: %d, want %d: %.300s", p.path, st, p.status, body)
		}
		bodies[route] = body
		readsAPI[route] = rec.count() > before
	}
	if len(routes) < len(paths) {
		t.Errorf("the site routes %d GETs, the test lists %d", len(routes), len(paths))
	}
	rec.mu.Lock()
	if len(rec.bad) > 0 {
		t.Errorf("the site asked the task server for more than its public reads: %v", rec.bad)
	}
	if len(rec.requests) == 0 {
		t.Fatal("the site never read the task server")
	}
	rec.mu.Unlock()
	for _, route := range []string{"/", "/miners", "/miners/{hotkey}", "/validators", "/validators/{hotkey}", "/tasks/{id}",
		"/submissions/{id}", "/payouts", "/v1/site/overview", "/v1/site/charts/tokens", "/v1/site/charts/completions"} {
		if !readsAPI[route] {
			t.Errorf("GET %s did not read the API", route)
		}
	}

	// The numbers are the API's.
	t.Run("numbers", func(t *testing.T) {
		num := func(route, id, want string) {
			t.Helper()
			if got := between(bodies[route], `id="`+id+`">`, "<"); got != want {
				t.Errorf("%s #%s = %q, the API says %q", route, id, got, want)
			}
		}
		md, err := api.Miner(ctx, mk)
		must(t, err)
		num("/miners/{hotkey}", "miner-tokens", fmtInt(md.Miner.Tokens))
		num("/miners/{hotkey}", "miner-incentive", fmt.Sprintf("%.3f", md.Miner.Incentive))
		if !strings.Contains(bodies["/miners/{hotkey}"], fmtInt(md.Miner.Accepted)+" accepted") || md.Miner.Tokens == 0 {
			t.Errorf("miner page: want %d accepted (%d tokens)", md.Miner.Accepted, md.Miner.Tokens)
		}
		vd, err := api.Validator(ctx, vk)
		must(t, err)
		num("/validators/{hotkey}", "validator-reports", fmtInt(vd.Validator.Reports))
		if !strings.Contains(bodies["/validators/{hotkey}"], fmt.Sprintf("%d of %d decided", vd.Validator.Agreed, vd.Validator.Decided)) {
			t.Errorf("validator page: want %d of %d decided", vd.Validator.Agreed, vd.Validator.Decided)
		}
		th, err := api.TaskHistory(ctx, l.TaskID)
		must(t, err)
		num("/tasks/{id}", "task-state", string(th.Task.State))
		for _, ls := range th.Leases {
			if ls.State == taskserver.LeaseCompleted && !strings.Contains(bodies["/tasks/{id}"], fmt.Sprintf(`href="/submissions/%d"`, ls.ID)) {
				t.Errorf("task page lacks submission %d", ls.ID)
			}
		}
		sv, err := api.Submission(ctx, l.ID)
		must(t, err)
		acc := 0
		for _, v := range sv.Verdicts {
			if v.Accepted {
				acc++
			}
		}
		page := bodies["/submissions/{id}"]
		if !strings.Contains(page, sv.Lease.Commitment) || !strings.Contains(page, fmt.Sprintf("published verdicts: %d accept, %d reject", acc, len(sv.Verdicts)-acc)) ||
			!strings.Contains(page, fmtTAO(sv.Tally.AcceptStake)+" α") {
			t.Errorf("submission page does not say the API's %d/%d verdicts, stake %d", acc, len(sv.Verdicts), sv.Tally.AcceptStake)
		}
		pay, err := api.Payouts(ctx, "", 500)
		must(t, err)
		totals := between(bodies["/payouts"], `<table id="payout-totals">`, "</table>")
		if len(pay.Totals) == 0 || strings.Count(totals, "<tr>") != len(pay.Totals)+1 {
			t.Errorf("payouts: %d totals from the API, page %s", len(pay.Totals), totals)
		}
		for _, p := range pay.Totals {
			if !strings.Contains(totals, fmtTAO(p.Total)) {
				t.Errorf("payouts page lacks %s's total %d", p.Hotkey, p.Total)
			}
		}

		st, err := api.Stats(ctx)
		must(t, err)
		var ov Overview
		must(t, json.Unmarshal([]byte(bodies["/v1/site/overview"]), &ov))
		if ov.Stats.Accepted != st.Accepted || ov.Stats.Counts != st.Counts || ov.Stats.Validators != st.Validators ||
			ov.Stats.ActiveValidators != st.ActiveValidators || st.Accepted.Tokens != f.wantTokens {
			t.Errorf("site overview %+v, API %+v", ov.Stats, st)
		}
		var tok Series
		must(t, json.Unmarshal([]byte(bodies["/v1/site/charts/tokens"]), &tok))
		if last := tok.Series[0].Values[len(tok.Series[0].Values)-1]; last == nil || int64(*last) != st.Accepted.Tokens {
			t.Errorf("tokens chart ends at %v, the API says %d", last, st.Accepted.Tokens)
		}
		mg, err := api.Metagraph(ctx)
		must(t, err)
		var inc Series
		must(t, json.Unmarshal([]byte(bodies["/v1/site/charts/miners/{hotkey}/incentive"]), &inc))
		for _, n := range mg.Neurons {
			if n.Hotkey != mk {
				continue
			}
			vals := inc.Series[0].Values
			if len(vals) == 0 || vals[len(vals)-1] == nil || *vals[len(vals)-1] != chain.Fraction(n.Incentive) {
				t.Errorf("incentive chart %v, the API's metagraph %v", vals, chain.Fraction(n.Incentive))
			}
		}
	})

	// The task server goes away: what read it fails, in one envelope.
	t.Run("task server gone", func(t *testing.T) {
		rec.srv.Close()
		for _, route := range routes {
			p, ok := paths[route]
			if !ok {
				continue
			}
			st, body := c.get(p.path)
			switch {
			case !readsAPI[route]:
				if st != p.status {
					t.Errorf("GET %s (the site's own): %d without the task server, %d with it", p.path, st, p.status)
				}
			case st != http.StatusBadGateway:
				t.Errorf("GET %s without the task server: %d, want 502: %.200s", p.path, st, body)
			case strings.HasPrefix(p.path, "/v1/site/"):
				var eb taskserver.ErrorBody
				if json.Unmarshal([]byte(body), &eb) != nil || eb.Error.Code != "upstream" || eb.Error.Message == "" {
					t.Errorf("GET %s: not the error envelope: %s", p.path, body)
				}
			default:
				if !strings.Contains(body, "did not answer") {
					t.Errorf("GET %s: the error page does not say the API did not answer", p.path)
				}
			}
		}
	})
}
