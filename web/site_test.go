package web

import (
	"context"
	"fmt"
	"go/build"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/sqldb/sqldbtest"
	"github.com/datarefine/refine/taskserver/client"
)

// TestSite runs the site against a task server it reaches only over HTTP
// (the fixture's, on a loopback port): every number it shows is the task
// server's public API's, and the API's are the fixture's and the chain's.
func TestSite(t *testing.T) {
	f := newFixture(t, "sqlite")
	srv := serve(t, f)
	ctx := context.Background()
	api := client.New(client.Options{URL: f.apiURL})
	st, err := api.Stats(ctx)
	must(t, err)

	t.Run("overview numbers", func(t *testing.T) {
		if st.Accepted.Tokens != f.wantTokens || st.Accepted.Documents != f.wantDocs || st.Accepted.Submissions != f.wantAccepted ||
			st.Accepted.Counted != f.wantAccepted {
			t.Fatalf("API accepted %+v; want %d tokens, %d documents, %d submissions", st.Accepted, f.wantTokens, f.wantDocs, f.wantAccepted)
		}
		if len(st.Crawls) != 2 {
			t.Fatalf("crawls %+v", st.Crawls)
		}
		for _, cr := range st.Crawls {
			if cr.Tokens != f.wantCrawlTokens[cr.Crawl] || cr.Tasks != f.wantCrawlTasks[cr.Crawl] {
				t.Errorf("crawl %s: %d tasks, %d tokens; want %d, %d", cr.Crawl, cr.Tasks, cr.Tokens, f.wantCrawlTasks[cr.Crawl], f.wantCrawlTokens[cr.Crawl])
			}
		}
		c := newBrowser(t, srv.URL)
		code, page := c.get("/")
		if code != 200 {
			t.Fatalf("overview: %d", code)
		}
		want := map[string]string{
			`data-k="stats.accepted.tokens">`:      fmtInt(f.wantTokens),
			`data-k="stats.accepted.documents">`:   fmtInt(f.wantDocs),
			`data-k="stats.accepted.submissions">`: fmtInt(f.wantAccepted),
			`data-k="stats.counts.tasks">`:         "24",
			`data-k="stats.active_validators">`:    fmt.Sprint(st.ActiveValidators),
		}
		for k, v := range want {
			if got := between(page, k, "<"); got != v {
				t.Errorf("overview %s%s, want %s", k, got, v)
			}
		}
		// Per crawl: every task of the crawl, not only accepted ones.
		for crawl, n := range f.wantCrawlTasks {
			row := between(page, "<td>"+crawl+"</td>", "</tr>")
			if !strings.HasPrefix(row, `<td class="n">`+fmtInt(n)+"</td>") || !strings.Contains(row, fmtInt(f.wantCrawlTokens[crawl])) {
				t.Errorf("crawl %s row %q, want %d tasks and %d tokens", crawl, row, n, f.wantCrawlTokens[crawl])
			}
		}
		// Events: no heartbeats, and decisions among them.
		events := between(page, `<ul class="events" id="events">`, "</ul>")
		if strings.Contains(events, "ev-heartbeat") || !strings.Contains(events, "ev-accepted") || strings.Count(events, "<li") < 10 {
			t.Errorf("events: %s", events)
		}
		var ov Overview
		c.getJSON("/v1/site/overview", &ov)
		if ov.Stats.Accepted != st.Accepted || len(ov.Events) == 0 {
			t.Errorf("live overview %+v", ov.Stats.Accepted)
		}
		for _, e := range ov.Events {
			if e.Kind == "heartbeat" {
				t.Errorf("live overview lists heartbeats")
			}
		}
	})

	t.Run("leaderboards", func(t *testing.T) {
		c := newBrowser(t, srv.URL)
		ms, err := api.Miners(ctx, leaderboardWindow)
		must(t, err)
		_, page := c.get("/miners")
		if len(ms) != 4 || strings.Count(between(page, "<tbody>", "</tbody>"), "<tr") != 4 {
			t.Fatalf("miners: API %d, page rows %d", len(ms), strings.Count(between(page, "<tbody>", "</tbody>"), "<tr"))
		}
		for _, m := range ms {
			n := f.chainNeuron(t, m.Hotkey)
			if m.Incentive != chain.Fraction(n.Incentive) || m.Emission != n.Emission || m.UID != int(n.UID) {
				t.Errorf("API miner %+v, chain %+v", m, n)
			}
			row := between(page, `href="/miners/`+m.Hotkey+`"`, "</tr>")
			for _, v := range []string{fmt.Sprintf(`data-v="%v"`, m.Incentive), fmt.Sprintf(`data-v="%d"`, m.Emission), fmt.Sprintf(`data-v="%d"`, m.Tokens)} {
				if !strings.Contains(row, v) {
					t.Errorf("miner %s row lacks %s: %s", m.Hotkey, v, row)
				}
			}
		}
		vs, err := api.Validators(ctx, leaderboardWindow)
		must(t, err)
		_, vpage := c.get("/validators")
		body := between(vpage, "<tbody>", "</tbody>")
		if len(vs.Validators) != 2 || strings.Count(body, "<tr") != 2 {
			t.Fatalf("validators: API %+v, page %s", vs.Validators, body)
		}
		for _, m := range f.miners {
			if strings.Contains(body, m.SS58()) {
				t.Errorf("a miner on the validators' leaderboard: %s", m.SS58())
			}
		}
		for _, v := range vs.Validators {
			n := f.chainNeuron(t, v.Hotkey)
			if v.Stake != n.Stake || v.Dividends != chain.Fraction(n.Dividends) || v.Released != f.wantSubmissions || !v.ValidatorPermit {
				t.Errorf("validator %+v, chain %+v", v, n)
			}
			if !strings.Contains(body, fmt.Sprintf(`data-v="%v"`, v.Agreement)) {
				t.Errorf("validator %s agreement %v not on the page", v.Hotkey, v.Agreement)
			}
		}
		// Val1 holds the most stake: it agreed with every decision; Val2
		// disagreed on the split submission only.
		if a := vs.Validators[0]; a.Hotkey != f.vals[0].SS58() || a.Agreement != 1 {
			t.Errorf("Val1: %+v", a)
		}
		if b := vs.Validators[1]; b.Decided != f.wantSubmissions || b.Agreed != f.wantSubmissions-1 {
			t.Errorf("Val2: %+v", b)
		}
	})

	t.Run("submission checks", func(t *testing.T) {
		c := newBrowser(t, srv.URL)
		_, page := c.get(fmt.Sprintf("/submissions/%d", f.rejectedLease.ID))
		if !strings.Contains(page, "Rejected") || strings.Count(page, "✗ failed") < 2 || !strings.Contains(page, "3 of 20 drawn documents not derived from their records") ||
			!strings.Contains(page, "at most 0% may differ") || !strings.Contains(page, "What to do:") || !strings.Contains(page, "– not run") {
			t.Errorf("rejected submission page lacks its failed check:\n%s", between(page, "<main>", "</main>"))
		}
		_, page = c.get(fmt.Sprintf("/submissions/%d", f.splitLease.ID))
		if !strings.Contains(page, "agrees") || !strings.Contains(page, "disagrees") || !strings.Contains(page, "1 accept, 1 reject") {
			t.Errorf("split verdicts not side by side:\n%s", between(page, `<table id="checks"`, "</table>"))
		}
		_, page = c.get(fmt.Sprintf("/submissions/%d", f.completedLease.ID))
		if !strings.Contains(page, "Accepted") || !strings.Contains(page, "20 of 20 drawn documents re-derived") || !strings.Contains(page, "21 of 21 draws on records the reference keeps found them") ||
			!strings.Contains(page, `id="revision-link"`) {
			t.Errorf("accepted submission page:\n%s", between(page, "<main>", "</main>"))
		}
	})

	t.Run("pages", func(t *testing.T) {
		c := newBrowser(t, srv.URL)
		l := f.completedLease
		pages := map[string]string{
			"/miners/" + l.Hotkey:                   "Scores by validator",
			"/validators/" + f.vals[1].SS58():       "Validator trust and dividends",
			fmt.Sprintf("/tasks/%d", l.TaskID):      fmt.Sprintf(`href="/submissions/%d"`, l.ID),
			"/payouts":                              "Per epoch",
			"/payouts?hotkey=" + f.miners[0].SS58(): shortKey(f.miners[0].SS58()),
			"/v1/site/openapi.yaml":                 "openapi: 3.0.3",
			"/static/vendor/uplot-1.6.32.min.js":    "uPlot",
			"/static/site.js":                       "uPlot",
			"/static/favicon.svg":                   "<svg",
			"/favicon.ico":                          "<svg",
			"/board":                                "Discussion",
			"/signin":                               "Get a challenge",
		}
		for p, want := range pages {
			st, body := c.get(p)
			if st != 200 || !strings.Contains(body, want) {
				t.Errorf("GET %s: %d, want %q in the page", p, st, want)
			}
		}
		// Errors: the API's 404s are the site's, in the API's envelope.
		for _, p := range []string{"/miners/5Nobody", "/validators/" + f.miners[0].SS58(), "/tasks/99999", "/submissions/99999", "/nope", "/v1/site/nope", "/dataset"} {
			if st, _ := c.get(p); st != 404 {
				t.Errorf("GET %s: %d, want 404", p, st)
			}
		}
		st, body := c.get("/v1/site/charts/miners/x/scores?x")
		if st != 200 || !strings.Contains(body, `"x":[]`) {
			t.Errorf("chart of an unknown miner: %d %s", st, body)
		}
		if st, body := c.get("/v1/stats"); st != 404 || !strings.Contains(body, `{"error":{"code":"not_found"`) {
			t.Errorf("the task server's API through a site that does not mount it: %d %s", st, body)
		}
	})

	t.Run("charts", func(t *testing.T) {
		c := newBrowser(t, srv.URL)
		var tok, comp, scores, rewards, trust Series
		c.getJSON("/v1/site/charts/tokens", &tok)
		last := tok.Series[0].Values[len(tok.Series[0].Values)-1]
		if last == nil || int64(*last) != f.wantTokens || tok.Y.Min != 0 || tok.Axis != "time" || tok.Step <= 0 {
			t.Errorf("tokens chart ends at %v (want %d), y from %v", last, f.wantTokens, tok.Y.Min)
		}
		for i := 1; i < len(tok.X); i++ {
			if *tok.Series[0].Values[i] < *tok.Series[0].Values[i-1] {
				t.Fatalf("the cumulative tokens fall at %d", tok.X[i])
			}
		}
		c.getJSON("/v1/site/charts/completions", &comp)
		var sum float64
		for _, v := range comp.Series[0].Values {
			sum += *v
		}
		bs, err := api.Throughput(ctx, 48*time.Hour, time.Hour)
		must(t, err)
		var want int64
		for _, b := range bs {
			want += b.Count
		}
		if len(comp.X) < 40 || comp.Step != 3600 || int64(sum) != want || want == 0 || comp.Y.Min != 0 {
			t.Errorf("completions: %d buckets of %d s, %v in all; want %d", len(comp.X), comp.Step, sum, want)
		}
		m := f.miners[1].SS58()
		c.getJSON("/v1/site/charts/miners/"+m+"/scores", &scores)
		c.getJSON("/v1/site/charts/miners/"+m+"/rewards", &rewards)
		c.getJSON("/v1/site/charts/validators/"+f.vals[0].SS58()+"/trust", &trust)
		if len(scores.X) == 0 || len(scores.Series) != 2 || len(rewards.X) == 0 || len(trust.X) < 4 {
			t.Errorf("miner scores %d×%d, rewards %d, trust %d points", len(scores.X), len(scores.Series), len(rewards.X), len(trust.X))
		}
		if trust.Y.Min != 0 || trust.Y.Max == nil || *trust.Y.Max != 1 {
			t.Errorf("trust chart's y axis %+v, want [0, 1]", trust.Y)
		}
	})

	t.Run("security headers", func(t *testing.T) {
		c := newBrowser(t, srv.URL)
		_, _, h := c.do("GET", "/", "", nil, nil)
		if !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") || h.Get("X-Frame-Options") != "DENY" ||
			h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("headers %v", h)
		}
	})
}

// TestSiteState: the site's own state (profiles, posts, sessions,
// metagraph history) on each database backend the task server runs on,
// and two site replicas sharing one database: a session made on one is
// good on the other, a post made on one shows on the other.
func TestSiteState(t *testing.T) {
	for _, kind := range sqldbtest.Backends {
		t.Run(kind, func(t *testing.T) {
			f := newFixture(t, kind)
			ctx := context.Background()
			dsn := f.site.opts.DB
			other, err := New(ctx, Options{API: client.New(client.Options{URL: f.apiURL}), DB: dsn, OwnerHotkey: f.owner.SS58(), Now: f.clock.Now})
			must(t, err)
			defer other.Close()
			a, b := serve(t, f), startServer(t, other)
			ca := newBrowser(t, a.URL)
			ca.signIn(f.miners[0])
			if st, body := ca.sendJSON("PUT", "/v1/site/profiles/"+f.miners[0].SS58(), ProfileInput{DisplayName: "Deep Miner"}, true); st != 200 {
				t.Fatalf("profile: %d %s", st, body)
			}
			thread := mustThread(t, ca, "Hello", "from replica A")
			// The session cookie of replica A works on replica B.
			cb := newBrowser(t, b)
			cb.hc.Jar = ca.hc.Jar
			cb.csrf = ca.csrf
			fixCookieHost(t, ca, cb)
			if st, body := cb.sendJSON("POST", fmt.Sprintf("/v1/site/threads/%d/replies", thread), PostInput{Body: "from replica B"}, true); st != 201 {
				t.Fatalf("reply on replica B with replica A's session: %d %s", st, body)
			}
			_, page := ca.get(fmt.Sprintf("/board/%d", thread))
			if !strings.Contains(page, "from replica B") || !strings.Contains(page, "Deep Miner") {
				t.Errorf("replica A does not show replica B's reply or the profile name")
			}
			// The profile name shows on the leaderboard and in the events.
			_, page = newBrowser(t, b).get("/miners")
			if !strings.Contains(page, ">Deep Miner</a>") {
				t.Errorf("leaderboard lacks the display name")
			}
			var ov Overview
			newBrowser(t, a.URL).getJSON("/v1/site/overview", &ov)
			if ov.Names[f.miners[0].SS58()] != "Deep Miner" && !strings.Contains(fmt.Sprint(ov.Events), f.miners[0].SS58()) {
				t.Logf("no event of miner 1 among the newest")
			}
			// Both recorded the metagraph history (one row per hotkey and
			// block: replicas agree on it).
			h, err := other.db.history(ctx, f.miners[0].SS58(), 100)
			must(t, err)
			if len(h) < 4 {
				t.Errorf("history: %d points", len(h))
			}
			must(t, other.Refresh(ctx))
			h2, _ := other.db.history(ctx, f.miners[0].SS58(), 100)
			if len(h2) != len(h) {
				t.Errorf("a replica's refresh at the same block recorded again: %d → %d", len(h), len(h2))
			}
		})
	}
}

// fixCookieHost copies a's cookies for b's address (two loopback ports).
func fixCookieHost(t *testing.T, a, b *browser) {
	t.Helper()
	ua, ub := mustURL(t, a.base), mustURL(t, b.base)
	b.hc.Jar = newJar()
	b.hc.Jar.SetCookies(ub, a.hc.Jar.Cookies(ua))
}

// TestNoSecondBackEnd: the site reads the subnet only through the task
// server's public API client: it imports no store and no chain client (the
// chain package's types it may use: the API answers with them).
func TestNoSecondBackEnd(t *testing.T) {
	pkg, err := build.Default.ImportDir(".", 0)
	must(t, err)
	forbidden := regexp.MustCompile(`/(taskserver/sqlstore|chain/devchain|chain/subtensor|validator.*|miner|corpus|devnet)$`)
	for _, imp := range pkg.Imports {
		if forbidden.MatchString(imp) {
			t.Errorf("web imports %s: the site must read through the task server's API", imp)
		}
	}
	// Nor does any of its non-test files type-assert an optional method.
	assert := regexp.MustCompile(`\.\(\s*(interface\s*\{|[A-Z]\w*(Reader|Ledger|er)\b)`)
	for _, name := range pkg.GoFiles {
		b, err := readFile(name)
		must(t, err)
		if m := assert.FindString(b); m != "" {
			t.Errorf("%s: runtime type assertion %q", name, m)
		}
		if m := regexp.MustCompile(`taskserver\.(Store|Service|Roster)\b`).FindString(b); m != "" {
			t.Errorf("%s: uses %s: the site reads through the API", name, m)
		}
	}
}
