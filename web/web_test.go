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

	"github.com/datarefine/refine/clientip"
	"github.com/datarefine/refine/wallet"
)

// browser is a browser: a cookie jar that does not follow redirects.
type browser struct {
	t    testing.TB
	base string
	hc   *http.Client
	csrf string
}

func newBrowser(t testing.TB, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (c *browser) do(method, path, ctype string, body io.Reader, hdr map[string]string) (int, string, http.Header) {
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

func (c *browser) get(path string) (int, string) {
	c.t.Helper()
	st, b, _ := c.do("GET", path, "", nil, nil)
	return st, b
}

func (c *browser) getJSON(path string, v any) {
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
func (c *browser) sendJSON(method, path string, v any, withCSRF bool) (int, string) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	hdr := map[string]string{}
	if withCSRF && c.csrf != "" {
		hdr[csrfHeader] = c.csrf
	}
	st, body, _ := c.do(method, path, "application/json", bytes.NewReader(b), hdr)
	return st, body
}

func (c *browser) postForm(path string, form url.Values) (int, string, http.Header) {
	c.t.Helper()
	return c.do("POST", path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), nil)
}

// challenge asks for a sign-in challenge.
func (c *browser) challenge(hotkey string) Challenge {
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
func (c *browser) signIn(k *wallet.Keypair) Session {
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

func TestSignIn(t *testing.T) {
	f := newFixture(t, "sqlite")
	srv := serve(t, f)
	m := f.miners[0]

	t.Run("real signature", func(t *testing.T) {
		c := newBrowser(t, srv.URL)
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
		c := newBrowser(t, srv.URL)
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
			setup func(c *browser, ch Challenge) map[string]string
		}{
			{"signed by another key", func(c *browser, ch Challenge) map[string]string {
				return map[string]string{"hotkey": m.SS58(), "nonce": ch.Nonce, "signature": sign(t, f.miners[1], ch.Message)}
			}},
			{"another message", func(c *browser, ch Challenge) map[string]string {
				return map[string]string{"hotkey": m.SS58(), "nonce": ch.Nonce, "signature": sign(t, m, ch.Message+" ")}
			}},
			{"garbage", func(c *browser, ch Challenge) map[string]string {
				return map[string]string{"hotkey": m.SS58(), "nonce": ch.Nonce, "signature": "0x" + strings.Repeat("ab", 64)}
			}},
			{"unknown nonce", func(c *browser, ch Challenge) map[string]string {
				return map[string]string{"hotkey": m.SS58(), "nonce": "00" + ch.Nonce[2:], "signature": sign(t, m, ch.Message)}
			}},
			{"challenge of another hotkey", func(c *browser, ch Challenge) map[string]string {
				return map[string]string{"hotkey": f.miners[1].SS58(), "nonce": ch.Nonce, "signature": sign(t, f.miners[1], ch.Message)}
			}},
		}
		for _, tc := range cases {
			c := newBrowser(t, srv.URL)
			ch := c.challenge(m.SS58())
			if st, b := c.sendJSON("POST", "/v1/site/auth/signin", tc.setup(c, ch), false); st != 401 {
				t.Errorf("%s: %d %s", tc.name, st, b)
			}
			if st, _ := c.get("/v1/site/auth/session"); st != 401 {
				t.Errorf("%s: signed in anyway", tc.name)
			}
		}
		// A used challenge does not sign in twice.
		c := newBrowser(t, srv.URL)
		ch := c.challenge(m.SS58())
		in := map[string]string{"hotkey": m.SS58(), "nonce": ch.Nonce, "signature": sign(t, m, ch.Message)}
		if st, _ := c.sendJSON("POST", "/v1/site/auth/signin", in, false); st != 200 {
			t.Fatal("first use refused")
		}
		c2 := newBrowser(t, srv.URL)
		c2.challenge(m.SS58())
		u, _ := url.Parse(srv.URL)
		c2.hc.Jar.SetCookies(u, []*http.Cookie{{Name: challengeCookie, Value: ch.Nonce, Path: "/"}})
		if st, _ := c2.sendJSON("POST", "/v1/site/auth/signin", in, false); st != 401 {
			t.Errorf("replayed challenge: %d", st)
		}
		// A challenge issued to another browser (login CSRF) is refused.
		c3 := newBrowser(t, srv.URL)
		ch3 := c3.challenge(m.SS58())
		c4 := newBrowser(t, srv.URL)
		if st, _ := c4.sendJSON("POST", "/v1/site/auth/signin", map[string]string{"hotkey": m.SS58(), "nonce": ch3.Nonce, "signature": sign(t, m, ch3.Message)}, false); st != 401 {
			t.Errorf("challenge without its cookie: %d", st)
		}
		// An expired challenge is refused.
		c5 := newBrowser(t, srv.URL)
		ch5 := c5.challenge(m.SS58())
		f.clock.set(f.now.Add(6 * time.Minute))
		defer f.clock.set(f.now)
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
		c := newBrowser(t, srv.URL)
		st, body, _ := c.postForm("/signin", url.Values{"hotkey": {m.SS58()}})
		if st != 200 || !strings.Contains(body, "refine wallet sign") {
			t.Fatalf("challenge form: %d", st)
		}
		nonce := between(body, `name="nonce" id="nonce" value="`, `"`)
		msg := textarea(body, "challenge")
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

// textarea returns the text of the textarea with id in a page, unescaped:
// what a user copies from it.
func textarea(page, id string) string {
	s := between(page, `<textarea id="`+id+`"`, `</textarea>`)
	if i := strings.Index(s, ">"); i >= 0 {
		s = s[i+1:]
	}
	return htmlUnescape(s)
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&amp;", "&", "&#43;", "+").Replace(s)
}

func TestSessions(t *testing.T) {
	f := newFixture(t, "sqlite")
	srv := serve(t, f)
	m := f.miners[0]
	c := newBrowser(t, srv.URL)
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
		cl := newBrowser(t, srv.URL)
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
	f.clock.set(f.now.Add(2*time.Hour + time.Second))
	if st := with(tok); st != 401 {
		t.Errorf("expired session: %d", st)
	}
	f.clock.set(f.now)
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
	f := newFixture(t, "sqlite")
	srv := serve(t, f)
	m := f.miners[0]
	c := newBrowser(t, srv.URL)
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
	c2 := newBrowser(t, srv.URL)
	c2.signIn(f.miners[1])
	c2.csrf = c.csrf
	if st, _ := c2.sendJSON("PUT", "/v1/site/profiles/"+f.miners[1].SS58(), ProfileInput{DisplayName: "x"}, true); st != 403 {
		t.Errorf("another session's token: %d", st)
	}
}

func mustThread(t testing.TB, c *browser, title, body string) int64 {
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
	f := newFixture(t, "sqlite")
	srv := serve(t, f)
	owner, other := f.miners[0], f.miners[1]
	c := newBrowser(t, srv.URL)
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
	c2 := newBrowser(t, srv.URL)
	c2.signIn(other)
	if st, _ := c2.sendJSON("PUT", "/v1/site/profiles/"+owner.SS58(), ProfileInput{DisplayName: "pwned"}, true); st != 403 {
		t.Errorf("another hotkey's API edit: %d", st)
	}
	if st, _, _ := c2.postForm("/dashboard/profile", url.Values{"csrf": {c2.csrf}, "hotkey": {owner.SS58()}, "display_name": {"pwned"}}); st != 403 {
		t.Errorf("another hotkey's form edit: %d", st)
	}
	anon := newBrowser(t, srv.URL)
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
	f := newFixture(t, "sqlite")
	srv := serve(t, f)
	m := f.miners[0]
	c := newBrowser(t, srv.URL)
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
	f := newFixture(t, "sqlite")
	srv := serve(t, f)
	c := newBrowser(t, srv.URL)
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
	f.clock.set(f.now.Add(2 * time.Minute))
	if st, _ := c.sendJSON("POST", "/v1/site/threads", PostInput{Title: "later", Body: "y"}, true); st != 201 {
		t.Errorf("post after the window: %d", st)
	}
	f.clock.set(f.now)
	// Only the owner hides.
	if st, _ := c.sendJSON("POST", fmt.Sprintf("/v1/site/posts/%d/hide", thread), map[string]bool{"hidden": true}, true); st != 403 {
		t.Errorf("non-owner hide: %d", st)
	}
	o := newBrowser(t, srv.URL)
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
	f := newFixture(t, "sqlite")
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) })
	site, err := New(context.Background(), Options{API: f.site.api, DB: t.TempDir() + "/w.db", Fallback: api})
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
		t.Errorf("overview: %d %s", rec.Code, rec.Body)
	}
}

// TestWritesNeedRegistration: a hotkey that is not registered on the
// subnet signs in (reading its dashboard is harmless) but can neither
// post nor make a profile, so "Opentensor Foundation (official)" cannot
// be claimed for free; the subnet owner may write without a uid.
func TestWritesNeedRegistration(t *testing.T) {
	f := newFixture(t, "sqlite")
	srv := serve(t, f)
	mallory := key(t, "//Mallory")
	c := newBrowser(t, srv.URL)
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
	m := newBrowser(t, srv.URL)
	m.signIn(f.miners[0])
	if st, b := m.sendJSON("POST", "/v1/site/threads", PostInput{Title: "Hi", Body: "from a miner"}, true); st != 201 {
		t.Fatalf("registered post: %d %s", st, b)
	}
	o := newBrowser(t, srv.URL)
	o.signIn(f.owner)
	if st, b := o.sendJSON("POST", "/v1/site/threads", PostInput{Title: "Rules", Body: "from the owner"}, true); st != 201 {
		t.Fatalf("owner post: %d %s", st, b)
	}
}

// TestWriteLimitPerClient: writes are limited per browser address as well
// as per hotkey, and behind a trusted proxy the address is the one the
// proxy names, so that one browser with many hotkeys is limited while
// different clients behind the same proxy are not.
func TestWriteLimitPerClient(t *testing.T) {
	f := newFixture(t, "sqlite")
	var err error
	if f.site.clients, err = clientip.New([]string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	f.site.writeLim = newWindowLimiter(2, time.Hour)
	srv := serve(t, f)
	post := func(c *browser, from string) int {
		b, _ := json.Marshal(PostInput{Title: "t", Body: "b"})
		st, _, _ := c.do("POST", "/v1/site/threads", "application/json", bytes.NewReader(b),
			map[string]string{csrfHeader: c.csrf, "X-Forwarded-For": from})
		return st
	}
	a, b := newBrowser(t, srv.URL), newBrowser(t, srv.URL)
	a.signIn(f.miners[0])
	b.signIn(f.miners[1])
	// One browser (203.0.113.1) with two hotkeys: two writes in all.
	if post(a, "203.0.113.1") != 201 || post(b, "203.0.113.1") != 201 {
		t.Fatal("first writes refused")
	}
	if st := post(a, "203.0.113.1"); st != 429 {
		t.Fatalf("third write from the same browser: %d, want 429", st)
	}
	// Another browser behind the same proxy is not limited by it, and a
	// forged hop left of the browser's own address changes nothing.
	if st := post(b, "203.0.113.2"); st != 201 {
		t.Fatalf("another browser: %d", st)
	}
	if st := post(a, "198.51.100.7, 203.0.113.1"); st != 429 {
		t.Fatalf("forged X-Forwarded-For hop: %d, want 429", st)
	}
}
