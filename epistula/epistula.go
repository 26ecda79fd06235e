// Package epistula signs and verifies HTTP requests between neurons with
// Epistula v2: the sender's sr25519 hotkey signs
//
//	"{sha256hex(body)}.{uuid}.{timestamp_ms}.{signed_for or ''}"
//
// and sends the result in headers:
//
//	Epistula-Version: 2
//	Epistula-Timestamp: <unix milliseconds>
//	Epistula-Uuid: <uuid v4>
//	Epistula-Signed-By: <sender SS58>
//	Epistula-Signed-For: <receiver SS58; this package's servers require it>
//	Epistula-Request-Signature: 0x<128 hex digits>
//
// Client side: SignRequest, or Transport as an http.RoundTripper. Server
// side: Middleware (or Verifier.Verify) checks version, clock skew, uuid
// reuse, receiver, body size, signature and an authorisation hook, and puts
// the verified hotkey in the request context (SignerFrom). The receiver
// check is not optional: a server names its own hotkey and refuses requests
// signed for anybody else or for nobody, so that a request signed for one
// service cannot be replayed at another.
package epistula

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Header names and the protocol version.
const (
	HeaderVersion   = "Epistula-Version"
	HeaderTimestamp = "Epistula-Timestamp"
	HeaderUUID      = "Epistula-Uuid"
	HeaderSignedBy  = "Epistula-Signed-By"
	HeaderSignedFor = "Epistula-Signed-For"
	HeaderSignature = "Epistula-Request-Signature"
	Version         = "2"
)

// Signer is a hotkey that can sign: *wallet.Keypair satisfies it.
// Sign must sign the raw message (sr25519, "substrate" context), not a hash.
type Signer interface {
	SS58() string
	Sign(msg []byte) ([]byte, error)
}

// Message is the byte string that is signed for a request.
func Message(body []byte, uuid string, timestampMs int64, signedFor string) []byte {
	h := sha256.Sum256(body)
	msg := make([]byte, 0, 64+len(uuid)+len(signedFor)+24)
	msg = hex.AppendEncode(msg, h[:])
	msg = append(msg, '.')
	msg = append(msg, uuid...)
	msg = append(msg, '.')
	msg = strconv.AppendInt(msg, timestampMs, 10)
	msg = append(msg, '.')
	return append(msg, signedFor...)
}

// Headers returns the Epistula headers for body, signed now by s for the
// receiver hotkey signedFor ("" for none), with a fresh uuid.
func Headers(body []byte, s Signer, signedFor string, now time.Time) (http.Header, error) {
	ts := now.UnixMilli()
	id := uuid.NewString()
	sig, err := s.Sign(Message(body, id, ts, signedFor))
	if err != nil {
		return nil, fmt.Errorf("epistula: sign: %w", err)
	}
	h := http.Header{}
	h.Set(HeaderVersion, Version)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(HeaderUUID, id)
	h.Set(HeaderSignedBy, s.SS58())
	if signedFor != "" {
		h.Set(HeaderSignedFor, signedFor)
	}
	h.Set(HeaderSignature, "0x"+hex.EncodeToString(sig))
	return h, nil
}

// SignRequest signs req with body (which becomes req's body, replayable via
// GetBody, so redirects and retries resend the same bytes).
func SignRequest(req *http.Request, body []byte, s Signer, signedFor string) error {
	h, err := Headers(body, s, signedFor, time.Now())
	if err != nil {
		return err
	}
	if req.Header == nil {
		req.Header = http.Header{}
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if signedFor == "" {
		req.Header.Del(HeaderSignedFor)
	}
	setBody(req, body)
	return nil
}

func setBody(req *http.Request, body []byte) {
	req.ContentLength = int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	if len(body) == 0 {
		req.Body = http.NoBody
		return
	}
	req.Body, _ = req.GetBody()
}

type signedForKey struct{}

// WithSignedFor makes Transport sign the request carrying ctx for the
// receiver hotkey, overriding Transport.SignedFor.
func WithSignedFor(ctx context.Context, hotkey string) context.Context {
	return context.WithValue(ctx, signedForKey{}, hotkey)
}

// Transport is an http.RoundTripper that Epistula-signs every request.
// It buffers each request body in memory to hash it.
type Transport struct {
	Base      http.RoundTripper // nil means http.DefaultTransport
	Signer    Signer
	SignedFor string // receiver hotkey; per request: WithSignedFor
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// RoundTrip signs a clone of req and sends it.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.Signer == nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, errors.New("epistula: Transport has no Signer")
	}
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("epistula: read request body: %w", err)
		}
	}
	signedFor := t.SignedFor
	if v, ok := req.Context().Value(signedForKey{}).(string); ok {
		signedFor = v
	}
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	h, err := Headers(body, t.Signer, signedFor, now())
	if err != nil {
		return nil, err
	}
	out := req.Clone(req.Context())
	out.Header.Del(HeaderSignedFor)
	for k, v := range h {
		out.Header[k] = v
	}
	setBody(out, body)
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(out)
}
