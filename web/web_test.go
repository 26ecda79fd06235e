package web

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/clientip"
	"github.com/datarefine/refine/wallet"
)

// client is a browser: a cookie jar that does not follow redirects.
type client struct {
	t    testing.TB
	base string
	hc   *http.Client
	csrf string
}

func newClient(t testing.TB, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (c *client) do(method, path, ctype string, body io.Reader, hdr map[string]string) (int, string, http.Header) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func (c *client) get(path string) (int, string) {
	c.t.Helper()
	st, b, _ := c.do("GET", path, "", nil, nil)
	return st, b
}

func (c *client) getJSON(path string, v any) {
	c.t.Helper()
	st, b := c.get(path)
	if st != 200 {
		c.t.Fatalf("GET %s: %d %s", path, st, b)
	}
	if err := json.Unmarshal([]byte(b), v); err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
}

// sendJSON sends v with the session's CSRF token (when withCSRF).
func (c *client) sendJSON(method, path string, v any, withCSRF bool) (int, string) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	hdr := map[string]string{}
	if withCSRF && c.csrf != "" {
		hdr[csrfHeader] = c.csrf
	}
	st, body, _ := c.do(method, path, "application/json", bytes.NewReader(b), hdr)
	return st, body
}

func (c *client) postForm(path string, form url.Values) (int, string, http.Header) {
	c.t.Helper()
	return c.do("POST", path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), nil)
}

// challenge asks for a sign-in challenge.
func (c *client) challenge(hotkey string) Challenge {
	c.t.Helper()
	st, b := c.sendJSON("POST", "/v1/site/auth/challenge", map[string]string{"hotkey": hotkey}, false)
	if st != 200 {
		c.t.Fatalf("challenge: %d %s", st, b)
	}
	var ch Challenge
	if err := json.Unmarshal([]byte(b), &ch); err != nil {
		c.t.Fatal(err)
	}
	return ch
}

func sign(t testing.TB, k *wallet.Keypair, msg string) string {
	t.Helper()
	sig, err := k.Sign([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	return "0x" + hex.EncodeToString(sig)
}

// signIn signs in as k through the JSON API.
func (c *client) signIn(k *wallet.Keypair) Session {
	c.t.Helper()
	ch := c.challenge(k.SS58())
	st, b := c.sendJSON("POST", "/v1/site/auth/signin", map[string]string{"hotkey": k.SS58(), "nonce": ch.Nonce, "signature": sign(c.t, k, ch.Message)}, false)
	if st != 200 {
		c.t.Fatalf("signin: %d %s", st, b)
	}
	var s Session
	if err := json.Unmarshal([]byte(b), &s); err != nil {
		c.t.Fatal(err)
	}
	c.csrf = s.CSRF
	return s
}

func serve(t testing.TB, f *fixture) *httptest.Server {
	srv := httptest.NewServer(f.site)
	t.Cleanup(srv.Close)
	return srv
}

func TestSite(t *testing.T) {
	f := newFixture(t)
	srv := serve(t, f)

	t.Run("overview numbers", func(t *testing.T) {
		c := newClient(t, srv.URL)
		var ov Overview
		c.getJSON("/v1/site/overview", &ov)
		if ov.Tokens != f.wantTokens || ov.Documents != f.wantDocs || ov.Bytes != f.wantBytes || ov.Accepted != f.wantAccepted {
			t.Errorf("overview tokens %d docs %d bytes %d accepted %d; want %d %d %d %d", ov.Tokens, ov.Documents, ov.Bytes, ov.Accepted,
				f.wantTokens, f.wantDocs, f.wantBytes, f.wantAccepted)
		}
		if ov.Submissions != f.wantAccepted+1 {
			t.Errorf("submissions %d, want %d", ov.Submissions, f.wantAccepted+1)
		}
		for _, cr := range ov.Crawls {
			if cr.Tokens != f.wantCrawlTokens[cr.Crawl] {
				t.Errorf("crawl %s: %d tokens, want %d", cr.Crawl, cr.Tokens, f.wantCrawlTokens[cr.Crawl])
			}
		}
		if len(ov.Crawls) != len(f.wantCrawlTokens) {
			t.Errorf("crawls %+v, want %v", ov.Crawls, f.wantCrawlTokens)
		}
		if ov.Tasks.Tasks != 24 || ov.Tasks.LiveLeases != 3 {
			t.Errorf("tasks %+v", ov.Tasks)
		}
		// The last leases are within the hour: their miners are active;
		// both validators reported within the window or hold dividends.
		if ov.ActiveMiners == 0 || ov.ActiveValidators != 2 || ov.RegisteredNeurons != 6 {
			t.Errorf("active miners %d validators %d registered %d", ov.ActiveMiners, ov.ActiveValidators, ov.RegisteredNeurons)
		}
		if len(ov.Events) == 0 || ov.Block == 0 {
			t.Errorf("events %d block %d", len(ov.Events), ov.Block)
		}
		st, page := c.get("/")
		if st != 200 || !strings.Contains(page, fmtInt(f.wantTokens)) || !strings.Contains(page, "CC-MAIN-2024-18") {
			t.Errorf("overview page %d lacks the token total %s", st, fmtInt(f.wantTokens))
		}
	})

	t.Run("charts", func(t *testing.T) {
		c := newClient(t, srv.URL)
		var tok, comp, scores, rewards, trust Series
		c.getJSON("/v1/site/charts/tokens", &tok)
		var sum float64
		for _, v := range tok.Series[0].Values {
			sum += v
		}
		if int64(sum) != f.wantTokens || len(tok.X) < 3 {
			t.Errorf("tokens per day sum %v over %d days, want %d over ≥3", sum, len(tok.X), f.wantTokens)
		}
		c.getJSON("/v1/site/charts/completions", &comp)
		if len(comp.X) != 48 {
			t.Errorf("completions: %d hours", len(comp.X))
		}
		m := f.miners[1].SS58()
		c.getJSON("/v1/site/charts/miners/"+m+"/scores", &scores)
		c.getJSON("/v1/site/charts/miners/"+m+"/rewards", &rewards)
		c.getJSON("/v1/site/charts/validators/"+f.vals[0].SS58()+"/trust", &trust)
		if len(scores.X) == 0 || len(rewards.X) == 0 || len(trust.X) < 4 {
			t.Errorf("miner scores %d, rewards %d, trust %d points", len(scores.X), len(rewards.X), len(trust.X))
		}
	})

	t.Run("leaderboards", func(t *testing.T) {
		c := newClient(t, srv.URL)
		for key := range minerSorts {
			for _, order := range []string{"asc", "desc"} {
				var b struct{ Miners []MinerRow }
				c.getJSON("/v1/site/leaderboard/miners?sort="+key+"&order="+order, &b)
				if len(b.Miners) != 4 {
					t.Fatalf("%s: %d miners", key, len(b.Miners))
				}
				for i := 1; i < len(b.Miners); i++ {
					x := minerSorts[key](&b.Miners[i-1], &b.Miners[i])
					if (order == "desc" && x < 0) || (order == "asc" && x > 0) {
						t.Errorf("miners not sorted by %s %s: %+v", key, order, b.Miners)
					}
				}
			}
		}
		var v struct{ Validators []ValidatorRow }
		c.getJSON("/v1/site/leaderboard/validators", &v)
		if len(v.Validators) != 2 || v.Validators[0].Stake < v.Validators[1].Stake {
			t.Fatalf("validators %+v", v.Validators)
		}
		for _, row := range v.Validators {
			n := f.chainNeuron(t, row.Hotkey)
			if row.Stake != n.Stake || row.Dividends != chain.Fraction(n.Dividends) || row.Reports != f.wantAccepted+1 || !row.Permit {
				t.Errorf("validator %+v, chain %+v", row, n)
			}
			if row.Agreement <= 0.9 || row.Agreement >= 1 {
				t.Errorf("agreement %v", row.Agreement)
			}
		}
		var mb struct{ Miners []MinerRow }
		c.getJSON("/v1/site/leaderboard/miners", &mb)
		for _, row := range mb.Miners {
			n := f.chainNeuron(t, row.Hotkey)
			if row.Incentive != chain.Fraction(n.Incentive) || row.Emission != n.Emission || row.UID != int(n.UID) {
				t.Errorf("miner %+v, chain %+v", row, n)
			}
			if row.Score <= 0 || row.VerifiedTokens <= 0 || row.AvgSeconds <= 0 {
				t.Errorf("miner %+v lacks scores", row)
			}
		}
		if st, _ := c.get("/v1/site/leaderboard/miners?sort=nope"); st != 400 {
			t.Errorf("bad sort: %d", st)
		}
		for _, p := range []string{"/miners", "/validators", "/miners?sort=emission&order=asc"} {
			if st, body := c.get(p); st != 200 || !strings.Contains(body, shortKey(f.miners[0].SS58())) && !strings.Contains(body, shortKey(f.vals[0].SS58())) {
				t.Errorf("%s: %d", p, st)
			}
		}
	})

	t.Run("detail pages", func(t *testing.T) {
		c := newClient(t, srv.URL)
		l := f.completedLease
		pages := map[string]string{
			"/miners/" + l.Hotkey:                        "Score history",
			"/validators/" + f.vals[1].SS58():            "Trust and dividends",
			fmt.Sprintf("/tasks/%d", l.TaskID):           fmt.Sprintf(`href="/submissions/%d"`, l.ID),
			fmt.Sprintf("/submissions/%d", l.ID):         "provenance.matched",
			fmt.Sprintf("/tasks/%d", f.rejectedTask):     "rejected",
			"/payouts":                                   "Per epoch",
			"/payouts?hotkey=" + f.miners[0].SS58():      shortKey(f.miners[0].SS58()),
			"/v1/site/miners/" + l.Hotkey:                `"leases"`,
			"/v1/site/validators/" + f.vals[0].SS58():    `"reports"`,
			fmt.Sprintf("/v1/site/tasks/%d", l.TaskID):   `"leases"`,
			fmt.Sprintf("/v1/site/submissions/%d", l.ID): `"revision_url":"https://huggingface.co/datasets/`,
			"/v1/site/payouts":                           `"source":"ledger"`,
			"/v1/site/openapi.yaml":                      "openapi: 3.0.3",
			"/static/vendor/uplot-1.6.32.min.js":         "uPlot",
			"/static/site.js":                            "uPlot",
			"/board":                                     "Discussion",
			"/signin":                                    "Get a challenge",
		}
		for p, want := range pages {
			st, body := c.get(p)
			if st != 200 || !strings.Contains(body, want) {
				t.Errorf("GET %s: %d, want %q in the page", p, st, want)
			}
		}
		for _, p := range []string{"/miners/5Nobody", "/validators/" + f.miners[0].SS58(), "/miners/" + f.vals[0].SS58(), "/tasks/99999", "/submissions/99999", "/v1/site/tasks/x", "/nope", "/v1/site/nope"} {
			if st, _ := c.get(p); st != 404 && st != 400 {
				t.Errorf("GET %s: %d, want 404", p, st)
			}
		}
		var p Payouts
		c.getJSON("/v1/site/payouts?hotkey="+f.vals[0].SS58(), &p)
		if len(p.Entries) == 0 || p.Totals[0].Hotkey != f.vals[0].SS58() || p.Totals[0].ValidatorEmission == 0 {
			t.Errorf("payouts of a validator: %+v", p.Totals)
		}
	})

	t.Run("security headers", func(t *testing.T) {
		c := newClient(t, srv.URL)
		_, _, h := c.do("GET", "/", "", nil, nil)
		if !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") || h.Get("X-Frame-Options") != "DENY" ||
			h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("headers %v", h)
		}
	})
}

func TestSignIn(t *testing.T) {
	f := newFixture(t)
	srv := serve(t, f)
	m := f.miners[0]

	t.Run("real signature", func(t *testing.T) {
		c := newClient(t, srv.URL)
		s := c.signIn(m)
		if s.Hotkey != m.SS58() || s.CSRF == "" || s.Owner {
			t.Fatalf("session %+v", s)
		}
		var got Session
		c.getJSON("/v1/site/auth/session", &got)
		if got.Hotkey != m.SS58() {
			t.Fatalf("session %+v", got)
		}
		if st, body := c.get("/dashboard"); st != 200 || !strings.Contains(body, m.SS58()) || !strings.Contains(body, "As a miner") ||
			strings.Contains(body, "As a validator") {
			t.Fatalf("dashboard %d", st)
		}
	})

	t.Run("polkadot.js wrapped signature", func(t *testing.T) {
		c := newClient(t, srv.URL)
		ch := c.challenge(m.SS58())
		st, b := c.sendJSON("POST", "/v1/site/auth/signin", map[string]string{"hotkey": m.SS58(), "nonce": ch.Nonce,
			"signature": sign(t, m, "<Bytes>"+ch.Message+"</Bytes>")}, false)
		if st != 200 {
			t.Fatalf("wrapped: %d %s", st, b)
		}
	})

	t.Run("forged and replayed", func(t *testing.T) {
		cases := []struct {
			name  string
			setup func(c *client, ch Challenge) map[string]string
		}{
			{"signed by another key", func(c *client, ch Challenge) map[string]string {
				return map[string]string{"hotkey": m.SS58(), "nonce": ch.Nonce, "signature": sign(t, f.miners[1], ch.Message)}
			}},
			{"another message", func(c *client, ch Challenge) map[string]string {
				return map[string]string{"hotkey": m.SS58(), "nonce": ch.Nonce, "signature": sign(t, m, ch.Message+" ")}
			}},
			{"garbage", func(c *client, ch Challenge) map[string]string {
				return map[string]string{"hotkey": m.SS58(), "nonce": ch.Nonce, "signature": "0x" + strings.Repeat("ab", 64)}
			}},
			{"unknown nonce", func(c *client, ch Challenge) map[string]string {
				return map[string]string{"hotkey": m.SS58(), "nonce": "00" + ch.Nonce[2:], "signature": sign(t, m, ch.Message)}
			}},
			{"challenge of another hotkey", func(c *client, ch Challenge) map[string]string {
				return map[string]string{"hotkey": f.miners[1].SS58(), "nonce": ch.Nonce, "signature": sign(t, f.miners[1], ch.Message)}
			}},
		}
		for _, tc := range cases {
			c := newClient(t, srv.URL)
			ch := c.challenge(m.SS58())
			if st, b := c.sendJSON("POST", "/v1/site/auth/signin", tc.setup(c, ch), false); st != 401 {
				t.Errorf("%s: %d %s", tc.name, st, b)
			}
			if st, _ := c.get("/v1/site/auth/session"); st != 401 {
				t.Errorf("%s: signed in anyway", tc.name)
			}
		}
		// A used challenge does not sign in twice.
		c := newClient(t, srv.URL)
		ch := c.challenge(m.SS58())
		in := map[string]string{"hotkey": m.SS58(), "nonce": ch.Nonce, "signature": sign(t, m, ch.Message)}
		if st, _ := c.sendJSON("POST", "/v1/site/auth/signin", in, false); st != 200 {
			t.Fatal("first use refused")
		}
		c2 := newClient(t, srv.URL)
		c2.challenge(m.SS58())
		u, _ := url.Parse(srv.URL)
		c2.hc.Jar.SetCookies(u, []*http.Cookie{{Name: challengeCookie, Value: ch.Nonce, Path: "/"}})
		if st, _ := c2.sendJSON("POST", "/v1/site/auth/signin", in, false); st != 401 {
			t.Errorf("replayed challenge: %d", st)
		}
		// A challenge issued to another browser (login CSRF) is refused.
		c3 := newClient(t, srv.URL)
		ch3 := c3.challenge(m.SS58())
		c4 := newClient(t, srv.URL)
		if st, _ := c4.sendJSON("POST", "/v1/site/auth/signin", map[string]string{"hotkey": m.SS58(), "nonce": ch3.Nonce, "signature": sign(t, m, ch3.Message)}, false); st != 401 {
			t.Errorf("challenge without its cookie: %d", st)
		}
		// An expired challenge is refused.
		c5 := newClient(t, srv.URL)
		ch5 := c5.challenge(m.SS58())
		f.clock.t = f.now.Add(6 * time.Minute)
		defer func() { f.clock.t = f.now }()
		if st, _ := c5.sendJSON("POST", "/v1/site/auth/signin", map[string]string{"hotkey": m.SS58(), "nonce": ch5.Nonce, "signature": sign(t, m, ch5.Message)}, false); st != 401 {
			t.Errorf("expired challenge: %d", st)
		}
	})

	t.Run("secure cookies over TLS", func(t *testing.T) {
		req := httptest.NewRequest("POST", "https://site.test/v1/site/auth/challenge", strings.NewReader(`{"hotkey":"`+m.SS58()+`"}`))
		rec := httptest.NewRecorder()
		f.site.ServeHTTP(rec, req)
		ck := rec.Header().Get("Set-Cookie")
		if rec.Code != 200 || !strings.Contains(ck, "; Secure") || !strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "SameSite=Strict") {
			t.Errorf("over TLS: %d, cookie %q", rec.Code, ck)
		}
		if rec.Header().Get("Strict-Transport-Security") == "" {
			t.Errorf("no HSTS over TLS")
		}
	})

	t.Run("form sign-in", func(t *testing.T) {
		c := newClient(t, srv.URL)
		st, body, _ := c.postForm("/signin", url.Values{"hotkey": {m.SS58()}})
		if st != 200 || !strings.Contains(body, "refine wallet sign") {
			t.Fatalf("challenge form: %d", st)
		}
		nonce := between(body, `name="nonce" id="nonce" value="`, `"`)
		msg := htmlUnescape(between(body, `<pre id="challenge">`, `</pre>`))
		st, _, h := c.postForm("/signin/verify", url.Values{"hotkey": {m.SS58()}, "nonce": {nonce}, "signature": {sign(t, m, msg)}})
		if st != 303 || !strings.HasPrefix(h.Get("Location"), "/dashboard") {
			t.Fatalf("verify form: %d %v", st, h)
		}
		if !strings.Contains(h.Get("Set-Cookie"), "HttpOnly") || !strings.Contains(h.Get("Set-Cookie"), "SameSite=Strict") {
			t.Errorf("cookie %q", h.Get("Set-Cookie"))
		}
		if st, _ := c.get("/dashboard"); st != 200 {
			t.Fatalf("dashboard after form sign-in: %d", st)
		}
	})
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	j := strings.Index(s, b)
	if j < 0 {
		return ""
	}
	return s[:j]
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&amp;", "&", "&#43;", "+").Replace(s)
}

func TestSessions(t *testing.T) {
	f := newFixture(t)
	srv := serve(t, f)
	m := f.miners[0]
	c := newClient(t, srv.URL)
	c.signIn(m)
	u, _ := url.Parse(srv.URL)
	var tok string
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == sessionCookie {
			tok = ck.Value
		}
	}
	if tok == "" {
		t.Fatal("no session cookie")
	}
	with := func(v string) int {
		cl := newClient(t, srv.URL)
		cl.hc.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: v, Path: "/"}})
		st, _ := cl.get("/v1/site/auth/session")
		return st
	}
	if with(tok) != 200 {
		t.Fatal("the real token does not work")
	}
	parts := strings.Split(tok, ".")
	var claims map[string]any
	payload, _ := jwtDecode(parts[1])
	json.Unmarshal(payload, &claims)
	claims["sub"] = f.miners[1].SS58()
	forgedPayload, _ := json.Marshal(claims)
	otherKey, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims(claims)).SignedString([]byte("not the key"))
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims(claims)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	cases := map[string]string{
		"payload swapped": parts[0] + "." + jwtEncode(forgedPayload) + "." + parts[2],
		"signature bit":   parts[0] + "." + parts[1] + "." + flip(parts[2]),
		"other key":       otherKey,
		"alg none":        none,
		"garbage":         "x.y.z",
	}
	for name, v := range cases {
		if st := with(v); st != 401 {
			t.Errorf("%s: %d, want 401", name, st)
		}
	}
	// Expired: the clock moves past the session's lifetime.
	f.clock.t = f.now.Add(2*time.Hour + time.Second)
	if st := with(tok); st != 401 {
		t.Errorf("expired session: %d", st)
	}
	f.clock.t = f.now
	// Signed out: the same token stops working.
	if st, _ := c.sendJSON("POST", "/v1/site/auth/signout", nil, true); st != 204 {
		t.Fatalf("signout: %d", st)
	}
	if st := with(tok); st != 401 {
		t.Errorf("token after sign-out: %d", st)
	}
}

func flip(s string) string {
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

func TestCSRFOnEveryWrite(t *testing.T) {
	f := newFixture(t)
	srv := serve(t, f)
	m := f.miners[0]
	c := newClient(t, srv.URL)
	c.signIn(m)
	thread := mustThread(t, c, "csrf", "text")
	// Every state-changing route, found by walking the router, must refuse
	// a signed-in request without the token. Sign-in routes have no
	// session yet: they are bound to the challenge cookie instead (tested
	// in TestSignIn).
	preSession := map[string]bool{"/v1/site/auth/challenge": true, "/v1/site/auth/signin": true, "/signin": true, "/signin/verify": true}
	n := 0
	err := walkRoutes(f.site, func(method, route string) {
		if method == "GET" || method == "HEAD" || preSession[route] {
			return
		}
		n++
		p := strings.NewReplacer("{hotkey}", m.SS58(), "{id}", fmt.Sprint(thread)).Replace(route)
		var st int
		if strings.HasPrefix(p, "/v1/") {
			st, _, _ = c.do(method, p, "application/json", strings.NewReader(`{"title":"t","body":"b","hidden":true}`), nil)
			if st2, _, _ := c.do(method, p, "application/json", strings.NewReader(`{}`), map[string]string{csrfHeader: "wrong"}); st2 != 403 {
				t.Errorf("%s %s with a wrong token: %d", method, p, st2)
			}
		} else {
			st, _, _ = c.postForm(p, url.Values{"title": {"t"}, "body": {"b"}, "hotkey": {m.SS58()}})
			if st2, _, _ := c.postForm(p, url.Values{"csrf": {"wrong"}, "body": {"b"}}); st2 != 403 {
				t.Errorf("%s %s with a wrong token: %d", method, p, st2)
			}
		}
		if st != 403 {
			t.Errorf("%s %s without a CSRF token: %d, want 403", method, p, st)
		}
	})
	if err != nil || n < 9 {
		t.Fatalf("walked %d writes: %v", n, err)
	}
	// The token of one session does not work with another.
	c2 := newClient(t, srv.URL)
	c2.signIn(f.miners[1])
	c2.csrf = c.csrf
	if st, _ := c2.sendJSON("PUT", "/v1/site/profiles/"+f.miners[1].SS58(), ProfileInput{DisplayName: "x"}, true); st != 403 {
		t.Errorf("another session's token: %d", st)
	}
}

func mustThread(t testing.TB, c *client, title, body string) int64 {
	t.Helper()
	st, b := c.sendJSON("POST", "/v1/site/threads", PostInput{Title: title, Body: body}, true)
	if st != 201 {
		t.Fatalf("new thread: %d %s", st, b)
	}
	var p Post
	json.Unmarshal([]byte(b), &p)
	return p.ID
}

func TestProfiles(t *testing.T) {
	f := newFixture(t)
	srv := serve(t, f)
	owner, other := f.miners[0], f.miners[1]
	c := newClient(t, srv.URL)
	c.signIn(owner)
	in := ProfileInput{DisplayName: "Deep Miner", DatasetRepo: "deep/refined", Contact: "@deep", Description: "GPU farm"}
	if st, b := c.sendJSON("PUT", "/v1/site/profiles/"+owner.SS58(), in, true); st != 200 {
		t.Fatalf("own profile: %d %s", st, b)
	}
	// Form edit by the owner.
	st, _, h := c.postForm("/dashboard/profile", url.Values{"csrf": {c.csrf}, "hotkey": {owner.SS58()}, "display_name": {"Deeper Miner"},
		"dataset_repo": {"deep/refined"}, "contact": {"@deep"}, "description": {"GPU farm"}})
	if st != 303 || !strings.Contains(h.Get("Location"), "Profile+saved") {
		t.Fatalf("profile form: %d %v", st, h)
	}
	var p Profile
	c.getJSON("/v1/site/profiles/"+owner.SS58(), &p)
	if p.DisplayName != "Deeper Miner" || p.DatasetRepo != "deep/refined" {
		t.Fatalf("profile %+v", p)
	}
	if st, body := c.get("/miners/" + owner.SS58()); st != 200 || !strings.Contains(body, "Deeper Miner") {
		t.Errorf("miner page lacks the display name")
	}
	// Another hotkey cannot change it, by API or form.
	c2 := newClient(t, srv.URL)
	c2.signIn(other)
	if st, _ := c2.sendJSON("PUT", "/v1/site/profiles/"+owner.SS58(), ProfileInput{DisplayName: "pwned"}, true); st != 403 {
		t.Errorf("another hotkey's API edit: %d", st)
	}
	if st, _, _ := c2.postForm("/dashboard/profile", url.Values{"csrf": {c2.csrf}, "hotkey": {owner.SS58()}, "display_name": {"pwned"}}); st != 403 {
		t.Errorf("another hotkey's form edit: %d", st)
	}
	anon := newClient(t, srv.URL)
	if st, _ := anon.sendJSON("PUT", "/v1/site/profiles/"+owner.SS58(), ProfileInput{DisplayName: "pwned"}, false); st != 401 {
		t.Errorf("anonymous edit: %d", st)
	}
	c.getJSON("/v1/site/profiles/"+owner.SS58(), &p)
	if p.DisplayName != "Deeper Miner" {
		t.Fatalf("profile changed by another: %+v", p)
	}
	// Validation.
	for _, bad := range []ProfileInput{{DatasetRepo: "not a repo"}, {DisplayName: strings.Repeat("x", 65)}, {Description: "a\x00b"}} {
		if st, _ := c.sendJSON("PUT", "/v1/site/profiles/"+owner.SS58(), bad, true); st != 400 {
			t.Errorf("%+v: %d", bad, st)
		}
	}
}

// xss is a payload for every user-supplied field.
const xss = `<script>alert(1)</script>"'><img src=x onerror=alert(2)><a href="javascript:alert(3)">j</a>`

func TestXSS(t *testing.T) {
	f := newFixture(t)
	srv := serve(t, f)
	m := f.miners[0]
	c := newClient(t, srv.URL)
	c.signIn(m)
	if st, b := c.sendJSON("PUT", "/v1/site/profiles/"+m.SS58(), ProfileInput{DisplayName: xss[:60], Contact: xss, Description: xss}, true); st != 200 {
		t.Fatalf("profile: %d %s", st, b)
	}
	thread := mustThread(t, c, xss, xss+"\n\n**bold** `<b>code</b>` http://x.test/?a=1&b=\"><script>")
	if st, b := c.sendJSON("POST", fmt.Sprintf("/v1/site/threads/%d/replies", thread), PostInput{Body: xss}, true); st != 201 {
		t.Fatalf("reply: %d %s", st, b)
	}
	// The refused repository comes back in the form: escaped too.
	_, formBody, _ := c.postForm("/dashboard/profile", url.Values{"csrf": {c.csrf}, "hotkey": {m.SS58()}, "dataset_repo": {xss}})
	must(t, f.site.Refresh(context.Background()))
	pages := map[string]string{"form": formBody}
	for _, p := range []string{"/miners/" + m.SS58(), "/miners", "/board", fmt.Sprintf("/board/%d", thread), "/dashboard",
		"/miners/" + url.PathEscape(xss), "/signin?x=" + url.QueryEscape(xss)} {
		_, pages[p] = c.get(p)
	}
	_, bad, _ := c.postForm("/signin", url.Values{"hotkey": {xss}})
	pages["signin error"] = bad
	for name, body := range pages {
		for _, raw := range []string{"<script>alert", "<img src=x", `href="javascript:`, `"><script>`} {
			if strings.Contains(body, raw) {
				t.Errorf("%s: raw %q in the page", name, raw)
			}
		}
	}
	if !strings.Contains(pages[fmt.Sprintf("/board/%d", thread)], "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("thread page does not show the script as text")
	}
	if !strings.Contains(pages[fmt.Sprintf("/board/%d", thread)], "<strong>bold</strong>") {
		t.Errorf("thread page lost the safe formatting")
	}
	// JSON answers escape HTML too, so a sniffing browser never sees tags.
	_, js := c.get(fmt.Sprintf("/v1/site/threads/%d", thread))
	if strings.Contains(js, "<script>") {
		t.Errorf("JSON carries raw <script>")
	}
}

func TestBoard(t *testing.T) {
	f := newFixture(t)
	srv := serve(t, f)
	c := newClient(t, srv.URL)
	c.signIn(f.miners[0])
	thread := mustThread(t, c, "Hello", "first")
	for i := 0; i < 3; i++ {
		if st, _ := c.sendJSON("POST", fmt.Sprintf("/v1/site/threads/%d/replies", thread), PostInput{Body: fmt.Sprint("reply ", i)}, true); st != 201 {
			t.Fatalf("reply %d: %d", i, st)
		}
	}
	// Five posts per window: the sixth is refused; later it is fine.
	if st, _ := c.sendJSON("POST", "/v1/site/threads", PostInput{Title: "x", Body: "y"}, true); st != 201 {
		t.Fatalf("fifth post refused")
	}
	if st, _ := c.sendJSON("POST", "/v1/site/threads", PostInput{Title: "x", Body: "y"}, true); st != 429 {
		t.Errorf("sixth post: %d, want 429", st)
	}
	f.clock.t = f.now.Add(2 * time.Minute)
	if st, _ := c.sendJSON("POST", "/v1/site/threads", PostInput{Title: "later", Body: "y"}, true); st != 201 {
		t.Errorf("post after the window: %d", st)
	}
	f.clock.t = f.now
	// Only the owner hides.
	if st, _ := c.sendJSON("POST", fmt.Sprintf("/v1/site/posts/%d/hide", thread), map[string]bool{"hidden": true}, true); st != 403 {
		t.Errorf("non-owner hide: %d", st)
	}
	o := newClient(t, srv.URL)
	if s := o.signIn(f.owner); !s.Owner {
		t.Fatal("owner session not marked owner")
	}
	if st, _ := o.sendJSON("POST", fmt.Sprintf("/v1/site/posts/%d/hide", thread+1), map[string]bool{"hidden": true}, true); st != 204 {
		t.Fatalf("owner hide: %d", st)
	}
	var tp struct{ Posts []PostView }
	c.getJSON(fmt.Sprintf("/v1/site/threads/%d", thread), &tp)
	if len(tp.Posts) != 4 || !tp.Posts[1].Hidden || tp.Posts[1].Body != "" || tp.Posts[2].Body != "reply 1" {
		t.Fatalf("thread %+v", tp.Posts)
	}
	_, page := c.get(fmt.Sprintf("/board/%d", thread))
	if strings.Contains(page, "reply 0") || !strings.Contains(page, "hidden by the subnet owner") {
		t.Errorf("hidden reply still shown")
	}
	if st, _ := c.sendJSON("POST", "/v1/site/threads/99999/replies", PostInput{Body: "x"}, true); st != 404 {
		t.Errorf("reply to a missing thread: %d", st)
	}
}

func TestFallback(t *testing.T) {
	f := newFixture(t)
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) })
	site, err := New(context.Background(), Options{Store: f.store, DB: t.TempDir() + "/w.db", Fallback: api})
	must(t, err)
	defer site.Close()
	for _, p := range []string{"/v1/lease", "/healthz", "/v1/miners"} {
		rec := httptest.NewRecorder()
		site.ServeHTTP(rec, httptest.NewRequest("POST", p, nil))
		if rec.Code != 299 {
			t.Errorf("%s: %d, want the fallback", p, rec.Code)
		}
	}
	rec := httptest.NewRecorder()
	site.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/site/overview", nil))
	if rec.Code != 200 {
		t.Errorf("overview without a chain: %d %s", rec.Code, rec.Body)
	}
}

// TestWritesNeedRegistration: a hotkey that is not registered on the
// subnet signs in (reading its dashboard is harmless) but can neither
// post nor make a profile, so "Opentensor Foundation (official)" cannot
// be claimed for free; the subnet owner may write without a uid.
func TestWritesNeedRegistration(t *testing.T) {
	f := newFixture(t)
	srv := serve(t, f)
	mallory := key(t, "//Mallory")
	c := newClient(t, srv.URL)
	c.signIn(mallory)
	fake := ProfileInput{DisplayName: "Opentensor Foundation (official)"}
	if st, b := c.sendJSON("PUT", "/v1/site/profiles/"+mallory.SS58(), fake, true); st != 403 || !strings.Contains(b, "not registered") {
		t.Fatalf("unregistered profile edit: %d %s", st, b)
	}
	if st, _, _ := c.postForm("/dashboard/profile", url.Values{"csrf": {c.csrf}, "hotkey": {mallory.SS58()}, "display_name": {fake.DisplayName}}); st != 403 {
		t.Fatalf("unregistered profile form: %d", st)
	}
	if st, _ := c.sendJSON("POST", "/v1/site/threads", PostInput{Title: "Official", Body: "send TAO here"}, true); st != 403 {
		t.Fatalf("unregistered post: %d", st)
	}
	var p Profile
	c.getJSON("/v1/site/profiles/"+mallory.SS58(), &p)
	if p.DisplayName != "" {
		t.Fatalf("the unregistered hotkey got a profile: %+v", p)
	}
	// A registered miner and the (unregistered) owner may.
	m := newClient(t, srv.URL)
	m.signIn(f.miners[0])
	if st, b := m.sendJSON("POST", "/v1/site/threads", PostInput{Title: "Hi", Body: "from a miner"}, true); st != 201 {
		t.Fatalf("registered post: %d %s", st, b)
	}
	o := newClient(t, srv.URL)
	o.signIn(f.owner)
	if st, b := o.sendJSON("POST", "/v1/site/threads", PostInput{Title: "Rules", Body: "from the owner"}, true); st != 201 {
		t.Fatalf("owner post: %d %s", st, b)
	}
}

// TestWriteLimitPerClient: writes are limited per client address as well
// as per hotkey, and behind a trusted proxy the address is the one the
// proxy names, so that one client with many hotkeys is limited while
// different clients behind the same proxy are not.
func TestWriteLimitPerClient(t *testing.T) {
	f := newFixture(t)
	var err error
	if f.site.clients, err = clientip.New([]string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	f.site.writeLim = newWindowLimiter(2, time.Hour)
	srv := serve(t, f)
	post := func(c *client, from string) int {
		b, _ := json.Marshal(PostInput{Title: "t", Body: "b"})
		st, _, _ := c.do("POST", "/v1/site/threads", "application/json", bytes.NewReader(b),
			map[string]string{csrfHeader: c.csrf, "X-Forwarded-For": from})
		return st
	}
	a, b := newClient(t, srv.URL), newClient(t, srv.URL)
	a.signIn(f.miners[0])
	b.signIn(f.miners[1])
	// One client (203.0.113.1) with two hotkeys: two writes in all.
	if post(a, "203.0.113.1") != 201 || post(b, "203.0.113.1") != 201 {
		t.Fatal("first writes refused")
	}
	if st := post(a, "203.0.113.1"); st != 429 {
		t.Fatalf("third write from the same client: %d, want 429", st)
	}
	// Another client behind the same proxy is not limited by it, and a
	// forged hop left of the client's own address changes nothing.
	if st := post(b, "203.0.113.2"); st != 201 {
		t.Fatalf("another client: %d", st)
	}
	if st := post(a, "198.51.100.7, 203.0.113.1"); st != 429 {
		t.Fatalf("forged X-Forwarded-For hop: %d, want 429", st)
	}
}
