package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/datarefine/refine/wallet"
)

// Sign-in: the server issues a one-time challenge naming the hotkey; the
// user signs it with `refine wallet sign` (or a polkadot.js extension's
// signRaw, which wraps it in <Bytes>…</Bytes>); the server checks the
// sr25519 signature and issues a session: a short-lived HS256 JWT in an
// HttpOnly, SameSite=Strict cookie whose id is also recorded, so that
// signing out revokes it. Forms and API writes carry a CSRF token derived
// from the session id (HMAC), checked in constant time. The challenge is
// bound to the browser by a cookie holding its nonce, so that nobody can
// sign a victim into the attacker's account (login CSRF).

const (
	sessionCookie   = "refine_session"
	challengeCookie = "refine_challenge"
	csrfHeader      = "X-CSRF-Token"
	csrfField       = "csrf"
)

// Session is a signed-in hotkey.
type Session struct {
	Hotkey    string    `json:"hotkey"`
	ID        string    `json:"-"`
	ExpiresAt time.Time `json:"expires_at"`
	CSRF      string    `json:"csrf_token"`
	Owner     bool      `json:"owner"` // the subnet owner's hotkey (moderator)
}

// Challenge is what a user signs to sign in.
type Challenge struct {
	Hotkey    string    `json:"hotkey"`
	Nonce     string    `json:"nonce"`
	Message   string    `json:"message"`
	ExpiresAt time.Time `json:"expires_at"`
	Command   string    `json:"command"` // how to sign it with the CLI
}

var (
	errAuth    = errors.New("not signed in")
	errCSRF    = errors.New("missing or wrong CSRF token")
	errBadSig  = errors.New("signature does not verify for this hotkey and challenge")
	errHotkey  = errors.New("not a valid SS58 hotkey")
	errForbid  = errors.New("forbidden")
	errLimited = errors.New("rate limited")
)

func randomID(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

// newChallenge issues a challenge for hotkey.
func (s *Site) newChallenge(ctx context.Context, hotkey, host string) (Challenge, error) {
	hotkey = strings.TrimSpace(hotkey)
	if _, err := wallet.DecodeSS58(hotkey); err != nil {
		return Challenge{}, errHotkey
	}
	now := s.opts.Now().UTC()
	var netuid uint16
	if mg, err := s.metagraph(ctx); err == nil {
		netuid = mg.Netuid
	}
	c := Challenge{Hotkey: hotkey, Nonce: randomID(16), ExpiresAt: now.Add(s.opts.ChallengeTTL).Truncate(time.Second)}
	c.Message = fmt.Sprintf("Sign in to %s (Data Refine subnet %d website)\nhotkey: %s\nnonce: %s\nexpires: %s",
		host, netuid, hotkey, c.Nonce, c.ExpiresAt.Format(time.RFC3339))
	c.Command = "refine wallet sign -q " + shellQuote(c.Message)
	if err := s.db.addChallenge(ctx, c.Nonce, hotkey, c.Message, c.ExpiresAt, now); err != nil {
		return Challenge{}, err
	}
	return c, nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// decodeSignature reads "0x" + 128 hex digits (or without the 0x).
func decodeSignature(s string) ([]byte, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "0x")
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 64 {
		return nil, errBadSig
	}
	return b, nil
}

// signIn checks the signature of a challenge and starts a session.
func (s *Site) signIn(ctx context.Context, hotkey, nonce, signature string) (Session, string, error) {
	hotkey = strings.TrimSpace(hotkey)
	sig, err := decodeSignature(signature)
	if err != nil {
		return Session{}, "", err
	}
	now := s.opts.Now().UTC()
	msg, err := s.db.useChallenge(ctx, strings.TrimSpace(nonce), hotkey, now)
	if err != nil {
		return Session{}, "", err
	}
	if !wallet.VerifyWrapped(hotkey, []byte(msg), sig) {
		return Session{}, "", errBadSig
	}
	sess := Session{Hotkey: hotkey, ID: randomID(16), ExpiresAt: now.Add(s.opts.SessionTTL).Truncate(time.Second)}
	if err := s.db.addSession(ctx, sess.ID, hotkey, now, sess.ExpiresAt); err != nil {
		return Session{}, "", err
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Issuer:    "refine-web",
		Subject:   hotkey,
		ID:        sess.ID,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(sess.ExpiresAt),
	}).SignedString(s.jwtKey)
	if err != nil {
		return Session{}, "", fmt.Errorf("sign session: %w", err)
	}
	s.fill(&sess)
	return sess, tok, nil
}

func (s *Site) fill(sess *Session) {
	sess.CSRF = s.csrfToken(sess.ID)
	sess.Owner = s.opts.OwnerHotkey != "" && sess.Hotkey == s.opts.OwnerHotkey
}

func (s *Site) csrfToken(sessionID string) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte("csrf|" + sessionID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// session returns the request's live session, or errAuth.
func (s *Site) session(r *http.Request) (Session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return Session{}, errAuth
	}
	var claims jwt.RegisteredClaims
	_, err = jwt.ParseWithClaims(c.Value, &claims, func(*jwt.Token) (any, error) { return s.jwtKey, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithIssuer("refine-web"),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(s.opts.Now))
	if err != nil || claims.Subject == "" || claims.ID == "" {
		return Session{}, errAuth
	}
	live, err := s.db.sessionLive(r.Context(), claims.ID, claims.Subject)
	if err != nil {
		return Session{}, err
	}
	if !live {
		return Session{}, errAuth
	}
	sess := Session{Hotkey: claims.Subject, ID: claims.ID, ExpiresAt: claims.ExpiresAt.Time.UTC()}
	s.fill(&sess)
	return sess, nil
}

// checkCSRF checks the token of a state-changing request: the form field
// or the X-CSRF-Token header.
func (s *Site) checkCSRF(r *http.Request, sess Session) error {
	tok := r.Header.Get(csrfHeader)
	if tok == "" {
		tok = r.PostFormValue(csrfField)
	}
	if tok == "" || !hmac.Equal([]byte(tok), []byte(sess.CSRF)) {
		return errCSRF
	}
	return nil
}

func (s *Site) secure(r *http.Request) bool { return s.opts.Secure || r.TLS != nil }

func (s *Site) setSessionCookie(w http.ResponseWriter, r *http.Request, tok string, exp time.Time) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: tok, Path: "/", Expires: exp, MaxAge: int(time.Until(exp).Seconds()),
		HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteStrictMode})
}

func (s *Site) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteStrictMode})
}

func (s *Site) setChallengeCookie(w http.ResponseWriter, r *http.Request, c Challenge) {
	http.SetCookie(w, &http.Cookie{Name: challengeCookie, Value: c.Nonce, Path: "/", Expires: c.ExpiresAt, MaxAge: int(s.opts.ChallengeTTL.Seconds()),
		HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteStrictMode})
}

// challengeBound reports whether the request's challenge cookie names nonce.
func challengeBound(r *http.Request, nonce string) bool {
	c, err := r.Cookie(challengeCookie)
	return err == nil && c.Value != "" && hmac.Equal([]byte(c.Value), []byte(strings.TrimSpace(nonce)))
}
