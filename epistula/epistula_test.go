package epistula

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/datarefine/refine/wallet"
)

func key(t testing.TB, uri string) *wallet.Keypair {
	t.Helper()
	k, err := wallet.FromURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// fixedClock is a settable clock shared by client and server in a test.
type fixedClock struct{ t atomic.Int64 }

func newClock() *fixedClock {
	c := &fixedClock{}
	c.t.Store(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *fixedClock) Now() time.Time           { return time.Unix(0, c.t.Load()) }
func (c *fixedClock) Add(d time.Duration)      { c.t.Add(int64(d)) }
func (c *fixedClock) UnixMilli() int64         { return c.Now().UnixMilli() }
func (c *fixedClock) ms(d time.Duration) int64 { return c.Now().Add(d).UnixMilli() }

// signed builds a request signed with explicit fields, so tests can craft
// bad timestamps and other edge cases.
func signed(t testing.TB, s Signer, body []byte, ts int64, id, signedFor string) *http.Request {
	t.Helper()
	sig, err := s.Sign(Message(body, id, ts, signedFor))
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/v1/lease", bytes.NewReader(body))
	r.Header.Set(HeaderVersion, "2")
	r.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	r.Header.Set(HeaderUUID, id)
	r.Header.Set(HeaderSignedBy, s.SS58())
	if signedFor != "" {
		r.Header.Set(HeaderSignedFor, signedFor)
	}
	r.Header.Set(HeaderSignature, "0x"+hex.EncodeToString(sig))
	return r
}

type result struct {
	status int
	code   string
	msg    string
	body   string // what the handler read
	signer string
}

// serve runs r through the middleware and an echo handler.
// server is the receiving hotkey (//Bob) that the tests' verifiers name.
const server = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"

// newVerifier builds a verifier for server unless o names another.
func newVerifier(t testing.TB, o Options) *Verifier {
	t.Helper()
	if o.SignedFor == "" {
		o.SignedFor = server
	}
	v, err := NewVerifier(o)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSignedForRequired: a server cannot be built without its own
// hotkey, so no server accepts requests signed for another service.
func TestSignedForRequired(t *testing.T) {
	for _, sf := range []string{"", "not-an-address"} {
		if _, err := NewVerifier(Options{SignedFor: sf}); !errors.Is(err, ErrNoSignedFor) {
			t.Errorf("NewVerifier(SignedFor %q) = %v, want ErrNoSignedFor", sf, err)
		}
		if _, err := Middleware(Options{SignedFor: sf}); !errors.Is(err, ErrNoSignedFor) {
			t.Errorf("Middleware(SignedFor %q) = %v, want ErrNoSignedFor", sf, err)
		}
	}
}

func serve(v *Verifier, r *http.Request) result {
	var res result
	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		res.body = string(b)
		res.signer, _ = SignerFrom(r.Context())
		w.WriteHeader(http.StatusOK)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	res.status = rec.Code
	if rec.Code != http.StatusOK {
		var e struct{ Code, Error string }
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		res.code, res.msg = e.Code, e.Error
	}
	return res
}

func TestMessageFormat(t *testing.T) {
	// sha256("") is the well-known e3b0c442…; the layout is hash.uuid.ts.for
	got := string(Message(nil, "u", 1700000000123, ""))
	want := "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855.u.1700000000123."
	if got != want {
		t.Errorf("Message = %q, want %q", got, want)
	}
	if !strings.HasSuffix(string(Message([]byte("x"), "u", 1, "5F")), ".u.1.5F") {
		t.Error("signed_for not appended")
	}
}

func TestRoundTripOverHTTP(t *testing.T) {
	alice, bob := key(t, "//Alice"), key(t, "//Bob")
	v := newVerifier(t, Options{SignedFor: bob.SS58()})
	srv := httptest.NewServer(v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		who, _ := SignerFrom(r.Context())
		fmt.Fprintf(w, "%s|%s", who, b)
	})))
	defer srv.Close()
	client := &http.Client{Transport: &Transport{Signer: alice, SignedFor: bob.SS58()}}
	for _, body := range []string{"", `{"task":"CC-MAIN-2024-10/0001"}`, strings.Repeat("x", 100_000)} {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/lease", rd)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(got) != alice.SS58()+"|"+body {
			t.Errorf("status %d, body %.80q", resp.StatusCode, got)
		}
	}
	// Per-request receiver via context: signed for someone else → 401.
	req, _ := http.NewRequestWithContext(WithSignedFor(context.Background(), alice.SS58()), http.MethodGet, srv.URL, nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("signed for wrong receiver: %d", resp.StatusCode)
	}
	// SignRequest + default client.
	body := []byte("hello")
	req, _ = http.NewRequest(http.MethodPut, srv.URL, nil)
	if err := SignRequest(req, body, alice, bob.SS58()); err != nil {
		t.Fatal(err)
	}
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(got) != alice.SS58()+"|hello" {
		t.Errorf("SignRequest: %d %q", resp.StatusCode, got)
	}
}

func TestVerifyRejections(t *testing.T) {
	alice, bob, charlie := key(t, "//Alice"), key(t, "//Bob"), key(t, "//Charlie")
	clk := newClock()
	body := []byte(`{"x":1}`)
	newV := func(o Options) *Verifier { o.Now = clk.Now; return newVerifier(t, o) }
	ok := func() *http.Request { return signed(t, alice, body, clk.UnixMilli(), uuid.NewString(), bob.SS58()) }
	withHeader := func(name, val string) *http.Request {
		r := ok()
		r.Header.Set(name, val)
		return r
	}
	tampered := ok()
	tampered.Body = io.NopCloser(strings.NewReader(`{"x":2}`))
	claimsBob := withHeader(HeaderSignedBy, bob.SS58()) // signed by Alice
	sigNo0x := ok()
	sigNo0x.Header.Set(HeaderSignature, strings.TrimPrefix(sigNo0x.Header.Get(HeaderSignature), "0x"))
	sigFlipped := ok()
	s := []byte(sigFlipped.Header.Get(HeaderSignature))
	if s[10] == 'a' {
		s[10] = 'b'
	} else {
		s[10] = 'a'
	}
	sigFlipped.Header.Set(HeaderSignature, string(s))

	cases := []struct {
		name   string
		opts   Options
		req    *http.Request
		status int
		code   string
	}{
		{"valid", Options{SignedFor: bob.SS58()}, ok(), 200, ""},
		{"tampered body", Options{SignedFor: bob.SS58()}, tampered, 401, CodeBadSignature},
		{"signed-by mismatch", Options{SignedFor: bob.SS58()}, claimsBob, 401, CodeBadSignature},
		{"flipped signature", Options{SignedFor: bob.SS58()}, sigFlipped, 401, CodeBadSignature},
		{"wrong signed-for", Options{SignedFor: charlie.SS58()}, ok(), 401, CodeWrongSignedFor},
		{"empty signed-for required",
			Options{SignedFor: bob.SS58()}, signed(t, alice, body, clk.UnixMilli(), uuid.NewString(), ""), 401, CodeWrongSignedFor},
		{"signed for another service", Options{SignedFor: bob.SS58()}, signed(t, alice, body, clk.UnixMilli(), uuid.NewString(), charlie.SS58()), 401, CodeWrongSignedFor},
		{"header signed-for removed after signing",
			Options{}, func() *http.Request { r := ok(); r.Header.Del(HeaderSignedFor); return r }(), 401, CodeWrongSignedFor},
		{"malformed hex", Options{}, withHeader(HeaderSignature, "0x"+strings.Repeat("zz", 64)), 400, CodeBadSignatureFormat},
		{"short signature", Options{}, withHeader(HeaderSignature, "0xabcd"), 400, CodeBadSignatureFormat},
		{"signature without 0x", Options{}, sigNo0x, 400, CodeBadSignatureFormat},
		{"version 1", Options{}, withHeader(HeaderVersion, "1"), 400, CodeUnsupportedVersion},
		{"timestamp not a number", Options{}, withHeader(HeaderTimestamp, "12.5"), 400, CodeBadTimestamp},
		{"bad uuid", Options{}, withHeader(HeaderUUID, "not-a-uuid"), 400, CodeBadUUID},
		{"bad ss58 checksum", Options{}, withHeader(HeaderSignedBy, alice.SS58()[:47]+"X"), 400, CodeBadSignedBy},
		{"oversized body", Options{MaxBodyBytes: 4}, ok(), 413, CodeBodyTooLarge},
	}
	for _, name := range []string{HeaderVersion, HeaderTimestamp, HeaderUUID, HeaderSignedBy, HeaderSignature} {
		r := ok()
		r.Header.Del(name)
		cases = append(cases, struct {
			name   string
			opts   Options
			req    *http.Request
			status int
			code   string
		}{"missing " + name, Options{}, r, 401, CodeMissingHeader})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := serve(newV(c.opts), c.req)
			if res.status != c.status || res.code != c.code {
				t.Fatalf("got %d %q (%s), want %d %q", res.status, res.code, res.msg, c.status, c.code)
			}
			if c.status == 200 && (res.signer != alice.SS58() || res.body != string(body)) {
				t.Errorf("handler saw signer %q body %q", res.signer, res.body)
			}
			if c.status != 200 && res.msg == "" {
				t.Error("error response has no message")
			}
		})
	}
}

func TestOversizedUnknownLength(t *testing.T) {
	alice := key(t, "//Alice")
	body := bytes.Repeat([]byte("a"), 1000)
	r := signed(t, alice, body, time.Now().UnixMilli(), uuid.NewString(), server)
	r.ContentLength = -1 // chunked: the limit must hold while reading
	if res := serve(newVerifier(t, Options{MaxBodyBytes: 999}), r); res.status != 413 {
		t.Errorf("status %d", res.status)
	}
	r = signed(t, alice, body, time.Now().UnixMilli(), uuid.NewString(), server)
	r.ContentLength = -1
	if res := serve(newVerifier(t, Options{MaxBodyBytes: 1000}), r); res.status != 200 {
		t.Errorf("body at the limit: %d %s", res.status, res.msg)
	}
}

func TestClockSkew(t *testing.T) {
	alice := key(t, "//Alice")
	clk := newClock()
	v := newVerifier(t, Options{Now: clk.Now})
	for _, c := range []struct {
		offset time.Duration
		ok     bool
	}{
		{0, true}, {7999 * time.Millisecond, true}, {-7999 * time.Millisecond, true},
		{8001 * time.Millisecond, false}, {-8001 * time.Millisecond, false},
		{time.Hour, false}, {-time.Hour, false},
	} {
		res := serve(v, signed(t, alice, nil, clk.ms(c.offset), uuid.NewString(), server))
		if (res.status == 200) != c.ok {
			t.Errorf("offset %v: status %d %s", c.offset, res.status, res.msg)
		}
		if !c.ok && res.code != CodeStaleTimestamp {
			t.Errorf("offset %v: code %q", c.offset, res.code)
		}
	}
	// A configurable window.
	v2 := newVerifier(t, Options{Now: clk.Now, MaxSkew: 2 * time.Second})
	if res := serve(v2, signed(t, alice, nil, clk.ms(-3*time.Second), uuid.NewString(), server)); res.code != CodeStaleTimestamp {
		t.Errorf("2 s window accepted 3 s: %d", res.status)
	}
}

// TestSecondsTimestampRejected guards against the known bug of reading the
// millisecond timestamp as seconds: a correctly signed request whose
// timestamp is in seconds must fail, and say why.
func TestSecondsTimestampRejected(t *testing.T) {
	alice := key(t, "//Alice")
	clk := newClock()
	v := newVerifier(t, Options{Now: clk.Now})
	secs := clk.Now().Unix()
	res := serve(v, signed(t, alice, []byte("b"), secs, uuid.NewString(), server))
	if res.status != 401 || res.code != CodeStaleTimestamp || !strings.Contains(res.msg, "milliseconds") {
		t.Fatalf("seconds timestamp: %d %q %q", res.status, res.code, res.msg)
	}
	// Signed 1 minute ago in milliseconds: seconds-reading code would call
	// it fresh (it would be far in the future as seconds); we reject it.
	if res := serve(v, signed(t, alice, nil, clk.ms(-time.Minute), uuid.NewString(), server)); res.status != 401 {
		t.Errorf("minute-old request accepted: %d", res.status)
	}
}

func TestReplay(t *testing.T) {
	alice := key(t, "//Alice")
	clk := newClock()
	v := newVerifier(t, Options{Now: clk.Now})
	id := uuid.NewString()
	ts := clk.UnixMilli()
	if res := serve(v, signed(t, alice, []byte("a"), ts, id, server)); res.status != 200 {
		t.Fatalf("first: %d %s", res.status, res.msg)
	}
	// Byte-identical replay, and a fresh signature reusing the uuid.
	for i := 0; i < 2; i++ {
		res := serve(v, signed(t, alice, []byte("a"), ts, id, server))
		if res.status != 401 || res.code != CodeReplayed {
			t.Errorf("replay %d: %d %q", i, res.status, res.code)
		}
	}
	// After the window the timestamp check rejects it and the entry goes.
	clk.Add(9 * time.Second)
	if res := serve(v, signed(t, alice, []byte("a"), ts, id, server)); res.code != CodeStaleTimestamp {
		t.Errorf("late replay: %q", res.code)
	}
	serve(v, signed(t, alice, nil, clk.UnixMilli(), uuid.NewString(), server)) // triggers the sweep
	if n := v.replay.len(); n != 1 {
		t.Errorf("replay cache holds %d entries after expiry, want 1", n)
	}
}

func TestReplayCacheBounded(t *testing.T) {
	alice := key(t, "//Alice")
	clk := newClock()
	v := newVerifier(t, Options{Now: clk.Now, ReplayCacheSize: 2})
	for i := 0; i < 2; i++ {
		if res := serve(v, signed(t, alice, nil, clk.UnixMilli(), uuid.NewString(), server)); res.status != 200 {
			t.Fatal(res.msg)
		}
	}
	if res := serve(v, signed(t, alice, nil, clk.UnixMilli(), uuid.NewString(), server)); res.status != 503 || res.code != CodeReplayCacheFull {
		t.Errorf("full cache: %d %q", res.status, res.code)
	}
	clk.Add(8*time.Second + time.Millisecond)
	if res := serve(v, signed(t, alice, nil, clk.UnixMilli(), uuid.NewString(), server)); res.status != 200 {
		t.Errorf("after expiry: %d %s", res.status, res.msg)
	}
}

func TestReplayConcurrent(t *testing.T) {
	alice := key(t, "//Alice")
	v := newVerifier(t, Options{})
	body := []byte("same")
	ts, id := time.Now().UnixMilli(), uuid.NewString()
	const n = 16
	reqs := make([]*http.Request, n)
	for i := range reqs {
		reqs[i] = signed(t, alice, body, ts, id, server)
	}
	var okCount atomic.Int32
	var wg sync.WaitGroup
	for _, r := range reqs {
		wg.Add(1)
		go func(r *http.Request) {
			defer wg.Done()
			if serve(v, r).status == 200 {
				okCount.Add(1)
			}
		}(r)
	}
	wg.Wait()
	if okCount.Load() != 1 {
		t.Errorf("%d of %d concurrent replays accepted, want 1", okCount.Load(), n)
	}
}

func TestAllowHook(t *testing.T) {
	alice, bob := key(t, "//Alice"), key(t, "//Bob")
	var registered sync.Map
	registered.Store(bob.SS58(), true)
	v := newVerifier(t, Options{Allow: func(_ context.Context, hk string) error {
		if hk == "5CustomErr" {
			return &Error{Status: 402, Code: "x", Message: "y"}
		}
		if _, ok := registered.Load(hk); !ok {
			return errors.New("hotkey not registered on the subnet")
		}
		return nil
	}})
	r := signed(t, alice, nil, time.Now().UnixMilli(), uuid.NewString(), server)
	id, ts := r.Header.Get(HeaderUUID), r.Header.Get(HeaderTimestamp)
	res := serve(v, r)
	if res.status != 403 || res.code != CodeForbidden || !strings.Contains(res.msg, "not registered") {
		t.Fatalf("unregistered: %d %q %q", res.status, res.code, res.msg)
	}
	// A rejected request does not burn its uuid.
	registered.Store(alice.SS58(), true)
	tsn, _ := strconv.ParseInt(ts, 10, 64)
	if res := serve(v, signed(t, alice, nil, tsn, id, server)); res.status != 200 {
		t.Errorf("after registration: %d %s", res.status, res.msg)
	}
	if res := serve(v, signed(t, bob, nil, time.Now().UnixMilli(), uuid.NewString(), server)); res.status != 200 {
		t.Errorf("registered: %d", res.status)
	}
}

func TestCustomErrorWriter(t *testing.T) {
	var got *Error
	v := newVerifier(t, Options{WriteError: func(w http.ResponseWriter, _ *http.Request, e *Error) {
		got = e
		w.WriteHeader(e.Status)
	}})
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if res := serve(v, r); res.status != 401 || got == nil || got.Code != CodeMissingHeader {
		t.Errorf("custom writer: %d %+v", res.status, got)
	}
}

// BenchmarkVerify measures full request verification (headers, body hash,
// sr25519 verify, replay cache) on pre-signed requests.
func BenchmarkVerify(b *testing.B) {
	alice := key(b, "//Alice")
	v := newVerifier(b, Options{})
	body := bytes.Repeat([]byte("x"), 1024)
	reqs := make([]*http.Request, b.N)
	now := time.Now().UnixMilli()
	for i := range reqs {
		reqs[i] = signed(b, alice, body, now, uuid.NewString(), server)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := v.Verify(reqs[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "verifications/s")
}

func BenchmarkSign(b *testing.B) {
	alice := key(b, "//Alice")
	body := bytes.Repeat([]byte("x"), 1024)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Headers(body, alice, "", time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}

// TestInteropPolkadotJS verifies a request signed by another implementation:
// the vector was made with @polkadot/keyring 13 (sr25519, //Alice, raw
// message, no <Bytes> wrapping) and Node's sha256, not with this package.
func TestInteropPolkadotJS(t *testing.T) {
	const (
		body      = `{"task_id":"CC-MAIN-2024-10/segments/1707947473347.0/warc/00000","worker":3}`
		id        = "6f1c2a3e-8b4d-4e5f-9a6b-7c8d9e0f1a2b"
		ts        = int64(1764072000123)
		signedBy  = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY" // //Alice
		signedFor = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty" // //Bob
		msg       = "675ab80e96a933da40f0242add36c48221e88ea059e64820d7c8e99b67f9d641.6f1c2a3e-8b4d-4e5f-9a6b-7c8d9e0f1a2b.1764072000123.5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
		sig       = "0xec6a9fb1b915cec44695f2f1df43ccf47bed03147e9152e242ea9337992db20861bc45aa8935a42b0808872efa5d0d767a397e6f1c24628e28f17c882914b288"
	)
	if got := string(Message([]byte(body), id, ts, signedFor)); got != msg {
		t.Fatalf("Message = %q, want %q", got, msg)
	}
	mk := func(b string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/v1/lease", strings.NewReader(b))
		r.Header.Set(HeaderVersion, "2")
		r.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
		r.Header.Set(HeaderUUID, id)
		r.Header.Set(HeaderSignedBy, signedBy)
		r.Header.Set(HeaderSignedFor, signedFor)
		r.Header.Set(HeaderSignature, sig)
		return r
	}
	clock := func() time.Time { return time.UnixMilli(ts + 1500) }
	v := newVerifier(t, Options{SignedFor: signedFor, Now: clock})
	if res := serve(v, mk(body)); res.status != 200 || res.signer != signedBy || res.body != body {
		t.Fatalf("polkadot.js request: %d %s", res.status, res.msg)
	}
	if res := serve(newVerifier(t, Options{SignedFor: signedFor, Now: clock}), mk(body+" ")); res.code != CodeBadSignature {
		t.Errorf("altered body: %d %q", res.status, res.code)
	}
}
