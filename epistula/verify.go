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
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/datarefine/refine/wallet"
)

// Defaults for Options.
const (
	DefaultMaxSkew         = 8 * time.Second
	DefaultMaxBodyBytes    = 16 << 20
	DefaultReplayCacheSize = 1 << 18
)

// Options configure a Verifier. The zero value is usable.
type Options struct {
	// MaxSkew is how far the request's timestamp may be from the server's
	// clock, in either direction (default 8 s). The timestamp is in
	// milliseconds; one in seconds is always rejected.
	MaxSkew time.Duration
	// SignedFor is the server's own hotkey (SS58), required: every request
	// must be signed for it (Epistula-Signed-For), so that a request a
	// client signed for another service (another subnet's neuron, a
	// validator's axon) cannot be replayed here within the clock window.
	SignedFor string
	// MaxBodyBytes limits the request body (default 16 MiB; -1: no limit).
	MaxBodyBytes int64
	// ReplayCacheSize bounds the remembered uuids (default 1<<18: ~50 MB at
	// worst, and room for 16k requests/s over the ±8 s window, beyond what
	// one core can verify). When it is full of unexpired entries new
	// requests get 503 rather than an entry being forgotten early.
	ReplayCacheSize int
	// Allow authorises a verified hotkey (e.g. registered on the subnet,
	// has a validator permit). A non-nil error rejects the request with 403
	// and code "forbidden", or with the status and code of an *Error.
	Allow func(ctx context.Context, hotkey string) error
	// Verify checks an sr25519 signature; nil means wallet.Verify.
	Verify func(ss58 string, msg, sig []byte) bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// WriteError renders a rejection; nil means WriteError (JSON).
	WriteError func(w http.ResponseWriter, r *http.Request, err *Error)
}

// Error is a rejected request: an HTTP status and a machine-readable code.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"error"`
}

func (e *Error) Error() string { return fmt.Sprintf("epistula: %s: %s", e.Code, e.Message) }

// Error codes.
const (
	CodeMissingHeader      = "missing_header"       // 401
	CodeUnsupportedVersion = "unsupported_version"  // 400
	CodeBadTimestamp       = "bad_timestamp"        // 400
	CodeStaleTimestamp     = "stale_timestamp"      // 401
	CodeBadUUID            = "bad_uuid"             // 400
	CodeBadSignedBy        = "bad_signed_by"        // 400
	CodeBadSignatureFormat = "bad_signature_format" // 400
	CodeWrongSignedFor     = "wrong_signed_for"     // 401
	CodeBodyTooLarge       = "body_too_large"       // 413
	CodeBodyRead           = "body_read_error"      // 400
	CodeBadSignature       = "bad_signature"        // 401
	CodeReplayed           = "replayed"             // 401
	CodeForbidden          = "forbidden"            // 403
	CodeReplayCacheFull    = "replay_cache_full"    // 503
)

func errf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Verifier checks Epistula requests. It is safe for concurrent use; keep
// one per server so the replay cache is shared.
type Verifier struct {
	opts   Options
	replay *replayCache
}

// ErrNoSignedFor is returned by NewVerifier when Options.SignedFor is not
// a hotkey: a server that accepts requests signed for anybody accepts
// requests replayed from any other service its clients talk to.
var ErrNoSignedFor = errors.New("epistula: the server's own hotkey (SignedFor) is required")

// NewVerifier applies defaults to opts; opts.SignedFor must be the
// server's hotkey.
func NewVerifier(opts Options) (*Verifier, error) {
	if opts.SignedFor == "" {
		return nil, ErrNoSignedFor
	}
	if _, err := wallet.DecodeSS58(opts.SignedFor); err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrNoSignedFor, opts.SignedFor, err)
	}
	if opts.MaxSkew <= 0 {
		opts.MaxSkew = DefaultMaxSkew
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.ReplayCacheSize <= 0 {
		opts.ReplayCacheSize = DefaultReplayCacheSize
	}
	if opts.Verify == nil {
		opts.Verify = wallet.Verify
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.WriteError == nil {
		opts.WriteError = WriteError
	}
	return &Verifier{opts: opts, replay: newReplayCache(opts.ReplayCacheSize)}, nil
}

// Middleware verifies every request before next runs; see Verifier.Verify.
func Middleware(opts Options) (func(http.Handler) http.Handler, error) {
	v, err := NewVerifier(opts)
	if err != nil {
		return nil, err
	}
	return v.Middleware, nil
}

// Middleware wraps next: rejected requests get the error response, others
// reach next with the signer in the context and the body re-readable.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		signer, err := v.Verify(r)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				e = errf(http.StatusUnauthorized, CodeBadSignature, "%v", err)
			}
			v.opts.WriteError(w, r, e)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithSigner(r.Context(), signer)))
	})
}

// Verify checks r's Epistula headers and body and returns the signer's
// SS58 address. It consumes r.Body and replaces it with an in-memory copy,
// so handlers can read it again. The error is always an *Error.
// Cheap checks run first; the uuid is recorded only after the signature
// and the Allow hook pass, so rejected requests do not fill the cache.
func (v *Verifier) Verify(r *http.Request) (string, error) {
	h := r.Header
	for _, name := range []string{HeaderVersion, HeaderTimestamp, HeaderUUID, HeaderSignedBy, HeaderSignature} {
		if h.Get(name) == "" {
			return "", errf(http.StatusUnauthorized, CodeMissingHeader, "missing header %s", name)
		}
	}
	if got := h.Get(HeaderVersion); got != Version {
		return "", errf(http.StatusBadRequest, CodeUnsupportedVersion, "%s is %q; only %q is supported", HeaderVersion, got, Version)
	}
	ts, err := strconv.ParseInt(h.Get(HeaderTimestamp), 10, 64)
	if err != nil {
		return "", errf(http.StatusBadRequest, CodeBadTimestamp, "%s is not an integer of milliseconds", HeaderTimestamp)
	}
	now := v.opts.Now().UnixMilli()
	skew := v.opts.MaxSkew.Milliseconds()
	if d := now - ts; d > skew || d < -skew {
		msg := fmt.Sprintf("timestamp is %d ms from the server clock (limit %d ms)", d, skew)
		if ts > 0 && ts < 1e11 {
			msg += "; it looks like seconds, but Epistula v2 timestamps are milliseconds"
		}
		return "", errf(http.StatusUnauthorized, CodeStaleTimestamp, "%s", msg)
	}
	id := h.Get(HeaderUUID)
	if len(id) != 36 || uuid.Validate(id) != nil {
		return "", errf(http.StatusBadRequest, CodeBadUUID, "%s is not a canonical uuid", HeaderUUID)
	}
	signedBy := h.Get(HeaderSignedBy)
	if _, err := wallet.DecodeSS58(signedBy); err != nil {
		return "", errf(http.StatusBadRequest, CodeBadSignedBy, "%s: %v", HeaderSignedBy, err)
	}
	sig, err := decodeSignature(h.Get(HeaderSignature))
	if err != nil {
		return "", errf(http.StatusBadRequest, CodeBadSignatureFormat, "%s: %v", HeaderSignature, err)
	}
	signedFor := h.Get(HeaderSignedFor)
	if want := v.opts.SignedFor; signedFor != want {
		if signedFor == "" {
			return "", errf(http.StatusUnauthorized, CodeWrongSignedFor, "request must be signed for %s (%s is missing)", want, HeaderSignedFor)
		}
		return "", errf(http.StatusUnauthorized, CodeWrongSignedFor, "request is signed for %s, not for this server (%s)", signedFor, want)
	}
	key := signedBy + "/" + id
	if v.replay.contains(key) {
		return "", errf(http.StatusUnauthorized, CodeReplayed, "uuid %s was already used", id)
	}
	body, e := v.readBody(r)
	if e != nil {
		return "", e
	}
	if !v.opts.Verify(signedBy, Message(body, id, ts, signedFor), sig) {
		return "", errf(http.StatusUnauthorized, CodeBadSignature, "signature does not match body, headers and %s", signedBy)
	}
	if v.opts.Allow != nil {
		if err := v.opts.Allow(r.Context(), signedBy); err != nil {
			var e *Error
			if errors.As(err, &e) {
				return "", e
			}
			return "", errf(http.StatusForbidden, CodeForbidden, "%s: %v", signedBy, err)
		}
	}
	switch v.replay.add(key, ts+skew, now) {
	case replayed:
		return "", errf(http.StatusUnauthorized, CodeReplayed, "uuid %s was already used", id)
	case cacheFull:
		return "", errf(http.StatusServiceUnavailable, CodeReplayCacheFull, "too many recent requests; retry shortly")
	}
	return signedBy, nil
}

// readBody reads the whole body within the limit and makes it re-readable.
func (v *Verifier) readBody(r *http.Request) ([]byte, *Error) {
	limit := v.opts.MaxBodyBytes
	tooLarge := func() *Error {
		return errf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "request body exceeds %d bytes", limit)
	}
	if limit >= 0 && r.ContentLength > limit {
		return nil, tooLarge()
	}
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		rd := io.Reader(r.Body)
		if limit >= 0 {
			rd = io.LimitReader(r.Body, limit+1)
		}
		var err error
		body, err = io.ReadAll(rd)
		r.Body.Close()
		if err != nil {
			return nil, errf(http.StatusBadRequest, CodeBodyRead, "read body: %v", err)
		}
		if limit >= 0 && int64(len(body)) > limit {
			return nil, tooLarge()
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	r.ContentLength = int64(len(body))
	return body, nil
}

func decodeSignature(s string) ([]byte, error) {
	if !strings.HasPrefix(s, "0x") {
		return nil, errors.New(`must start with "0x"`)
	}
	if len(s) != 2+128 {
		return nil, fmt.Errorf("must be 64 bytes (128 hex digits), got %d characters", len(s)-2)
	}
	b, err := hex.DecodeString(s[2:])
	if err != nil {
		return nil, errors.New("not hex")
	}
	return b, nil
}

// WriteError writes e as JSON: {"error": "...", "code": "..."}.
func WriteError(w http.ResponseWriter, _ *http.Request, e *Error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", "Epistula")
	}
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(e)
}

type signerKey struct{}

// WithSigner returns ctx carrying a verified signer (Middleware does this;
// tests of handlers may too).
func WithSigner(ctx context.Context, ss58 string) context.Context {
	return context.WithValue(ctx, signerKey{}, ss58)
}

// SignerFrom returns the verified signer's SS58 address.
func SignerFrom(ctx context.Context) (string, bool) {
	s, ok := ctx.Value(signerKey{}).(string)
	return s, ok && s != ""
}
