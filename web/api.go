package web

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/datarefine/refine/taskserver"
)

func (s *Site) routes() chi.Router {
	r := chi.NewRouter()
	r.Use(securityHeaders)
	// Pages.
	r.Get("/", s.pageOverview)
	r.Get("/miners", s.pageMiners)
	r.Get("/miners/{hotkey}", s.pageMiner)
	r.Get("/validators", s.pageValidators)
	r.Get("/validators/{hotkey}", s.pageValidator)
	r.Get("/tasks/{id}", s.pageTask)
	r.Get("/submissions/{id}", s.pageSubmission)
	r.Get("/payouts", s.pagePayouts)
	r.Get("/dataset", s.pageDataset)
	r.Get("/board", s.pageBoard)
	r.Post("/board", s.formNewThread)
	r.Get("/board/{id}", s.pageThread)
	r.Post("/board/{id}", s.formReply)
	r.Post("/board/posts/{id}/hide", s.formHide)
	r.Get("/signin", s.pageSignIn)
	r.Post("/signin", s.formChallenge)
	r.Post("/signin/verify", s.formSignIn)
	r.Post("/signout", s.formSignOut)
	r.Get("/dashboard", s.pageDashboard)
	r.Post("/dashboard/profile", s.formProfile)
	r.Get("/static/*", s.serveStatic)
	r.Get("/favicon.ico", s.serveFavicon)

	// The site's JSON: live numbers and charts (shaped from the task
	// server's public API, which has every other read), and the site's
	// own state: profiles, sign-in, the board.
	r.Route("/v1/site", func(r chi.Router) {
		r.Get("/openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/yaml")
			w.Write(OpenAPI)
		})
		r.Get("/overview", s.apiOverview)
		r.Get("/charts/tokens", s.chart(func(r *http.Request) (Series, error) { return s.tokensChart(s.reads(r)) }))
		r.Get("/charts/completions", s.chart(func(r *http.Request) (Series, error) { return s.completionsChart(s.reads(r)) }))
		r.Get("/charts/miners/{hotkey}/scores", s.chart(func(r *http.Request) (Series, error) {
			names, err := s.db.displayNames(r.Context())
			if err != nil {
				return Series{}, err
			}
			return s.minerScoresChart(s.reads(r), chi.URLParam(r, "hotkey"), names)
		}))
		r.Get("/charts/miners/{hotkey}/rewards", s.chart(func(r *http.Request) (Series, error) { return s.rewardsChart(s.reads(r), chi.URLParam(r, "hotkey")) }))
		r.Get("/charts/miners/{hotkey}/incentive", s.chart(func(r *http.Request) (Series, error) { return s.incentiveChart(r.Context(), chi.URLParam(r, "hotkey")) }))
		r.Get("/charts/validators/{hotkey}/trust", s.chart(func(r *http.Request) (Series, error) { return s.trustChart(r.Context(), chi.URLParam(r, "hotkey")) }))
		r.Get("/charts/dataset", s.chart(s.datasetChart))
		r.Get("/dataset/samples", s.apiDatasetSamples)
		r.Get("/profiles/{hotkey}", s.apiProfile)
		r.Put("/profiles/{hotkey}", s.apiPutProfile)
		r.Post("/auth/challenge", s.apiChallenge)
		r.Post("/auth/signin", s.apiSignIn)
		r.Get("/auth/session", s.apiSession)
		r.Post("/auth/signout", s.apiSignOut)
		r.Get("/threads", s.apiThreads)
		r.Post("/threads", s.apiNewThread)
		r.Get("/threads/{id}", s.apiThread)
		r.Post("/threads/{id}/replies", s.apiReply)
		r.Post("/posts/{id}/hide", s.apiHide)
		r.NotFound(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusNotFound, "not_found", "no route "+r.URL.Path)
		})
		r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" not allowed on "+r.URL.Path)
		})
	})
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		if s.opts.Fallback != nil {
			s.opts.Fallback.ServeHTTP(w, r)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/v1/") {
			writeError(w, http.StatusNotFound, "not_found", "no route "+r.URL.Path+" (the task server's API is not served here)")
			return
		}
		s.pageError(w, r, http.StatusNotFound, "Page not found")
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		if s.opts.Fallback != nil {
			s.opts.Fallback.ServeHTTP(w, r)
			return
		}
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" not allowed on "+r.URL.Path)
	})
	return r
}

func (s *Site) serveStatic(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	s.static.ServeHTTP(w, r)
}

// serveFavicon answers browsers that ask for /favicon.ico regardless of
// the page's icon link.
func (s *Site) serveFavicon(w http.ResponseWriter, r *http.Request) {
	b, err := assets.ReadFile("static/favicon.svg")
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write(b)
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%w: id %q", errInvalid, chi.URLParam(r, "id"))
	}
	return id, nil
}

// decodeBody reads a JSON body of at most 64 KiB.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: body: %v", errInvalid, err)
	}
	return nil
}

// Overview is the live part of the overview: the task server's stats and
// its newest events (no heartbeats).
type Overview struct {
	Stats  taskserver.Stats   `json:"stats"`
	Events []taskserver.Event `json:"events"`
	// Names are the profiles' display names of the events' hotkeys.
	Names map[string]string `json:"names"`
}

func (s *Site) apiOverview(w http.ResponseWriter, r *http.Request) {
	ctx := s.reads(r)
	st, err := s.api.Stats(ctx)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	evs, err := s.api.EventsOf(ctx, 0, 25, eventKinds)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	names, err := s.db.displayNames(r.Context())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	o := Overview{Stats: st, Events: nonNil(evs), Names: map[string]string{}}
	for _, e := range evs {
		for _, hk := range []string{e.Hotkey, e.Detail} {
			if n := names[hk]; n != "" {
				o.Names[hk] = n
			}
		}
	}
	writeJSON(w, http.StatusOK, o)
}

// chart answers with a chart's data.
func (s *Site) chart(f func(r *http.Request) (Series, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sr, err := f(r)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, sr)
	}
}

func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

func (s *Site) apiProfile(w http.ResponseWriter, r *http.Request) {
	p, err := s.db.profile(r.Context(), chi.URLParam(r, "hotkey"))
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// authed returns the session of a state-changing request after checking
// its CSRF token.
func (s *Site) authed(r *http.Request) (Session, error) {
	sess, err := s.session(r)
	if err != nil {
		return sess, err
	}
	return sess, s.checkCSRF(r, sess)
}

func (s *Site) apiPutProfile(w http.ResponseWriter, r *http.Request) {
	sess, err := s.authed(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	var in ProfileInput
	if err := decodeBody(r, &in); err != nil {
		s.apiFail(w, r, err)
		return
	}
	p, err := s.updateProfile(r.Context(), sess, s.clients.Key(r), chi.URLParam(r, "hotkey"), in)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Site) apiChallenge(w http.ResponseWriter, r *http.Request) {
	if !s.authLim.allow(s.clients.Key(r), s.opts.Now()) {
		s.apiFail(w, r, errLimited)
		return
	}
	var in struct {
		Hotkey string `json:"hotkey"`
	}
	if err := decodeBody(r, &in); err != nil {
		s.apiFail(w, r, err)
		return
	}
	c, err := s.newChallenge(r.Context(), in.Hotkey, r.Host)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	s.setChallengeCookie(w, r, c)
	writeJSON(w, http.StatusOK, c)
}

func (s *Site) apiSignIn(w http.ResponseWriter, r *http.Request) {
	if !s.authLim.allow(s.clients.Key(r), s.opts.Now()) {
		s.apiFail(w, r, errLimited)
		return
	}
	var in struct {
		Hotkey    string `json:"hotkey"`
		Nonce     string `json:"nonce"`
		Signature string `json:"signature"`
	}
	if err := decodeBody(r, &in); err != nil {
		s.apiFail(w, r, err)
		return
	}
	if !challengeBound(r, in.Nonce) {
		s.apiFail(w, r, fmt.Errorf("%w: the challenge was issued to another browser", errBadChallenge))
		return
	}
	sess, tok, err := s.signIn(r.Context(), in.Hotkey, in.Nonce, in.Signature)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	s.clearCookie(w, r, challengeCookie)
	s.setSessionCookie(w, r, tok, sess.ExpiresAt)
	writeJSON(w, http.StatusOK, sess)
}

func (s *Site) apiSession(w http.ResponseWriter, r *http.Request) {
	sess, err := s.session(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sess)
}

func (s *Site) apiSignOut(w http.ResponseWriter, r *http.Request) {
	sess, err := s.authed(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	if err := s.db.revokeSession(r.Context(), sess.ID); err != nil {
		s.apiFail(w, r, err)
		return
	}
	s.clearCookie(w, r, sessionCookie)
	w.WriteHeader(http.StatusNoContent)
}

// PostView is a post as shown: hidden posts lose their text.
type PostView struct {
	Post
	Name string `json:"author_name,omitempty"`
	HTML string `json:"html,omitempty"` // the body with the safe formatting applied
}

func (s *Site) viewPosts(r *http.Request, posts []Post) ([]PostView, error) {
	names, err := s.db.displayNames(r.Context())
	if err != nil {
		return nil, err
	}
	out := make([]PostView, 0, len(posts))
	for _, p := range posts {
		v := PostView{Post: p, Name: names[p.Author]}
		if p.Hidden {
			v.Body, v.Title = "", ""
			if p.ThreadID == 0 {
				v.Title = "[hidden]"
			}
		} else {
			v.HTML = string(formatPost(p.Body))
		}
		out = append(out, v)
	}
	return out, nil
}

func (s *Site) apiThreads(w http.ResponseWriter, r *http.Request) {
	ts, err := s.db.threads(r.Context(), 200)
	if err == nil {
		var v []PostView
		if v, err = s.viewPosts(r, ts); err == nil {
			writeJSON(w, http.StatusOK, map[string]any{"threads": v})
			return
		}
	}
	s.apiFail(w, r, err)
}

func (s *Site) apiThread(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		var posts []Post
		if posts, err = s.db.thread(r.Context(), id); err == nil {
			var v []PostView
			if v, err = s.viewPosts(r, posts); err == nil {
				writeJSON(w, http.StatusOK, map[string]any{"posts": v})
				return
			}
		}
	}
	s.apiFail(w, r, err)
}

func (s *Site) apiNewThread(w http.ResponseWriter, r *http.Request) { s.apiPost(w, r, false) }
func (s *Site) apiReply(w http.ResponseWriter, r *http.Request)     { s.apiPost(w, r, true) }

func (s *Site) apiPost(w http.ResponseWriter, r *http.Request, reply bool) {
	sess, err := s.authed(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	var thread int64
	if reply {
		if thread, err = pathID(r); err != nil {
			s.apiFail(w, r, err)
			return
		}
	}
	var in PostInput
	if err := decodeBody(r, &in); err != nil {
		s.apiFail(w, r, err)
		return
	}
	p, err := s.addPost(r.Context(), sess, s.clients.Key(r), thread, in)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, p)
}

func (s *Site) apiHide(w http.ResponseWriter, r *http.Request) {
	sess, err := s.authed(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	id, err := pathID(r)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	in := struct {
		Hidden *bool `json:"hidden"`
	}{}
	if err := decodeBody(r, &in); err != nil {
		s.apiFail(w, r, err)
		return
	}
	if in.Hidden == nil {
		s.apiFail(w, r, fmt.Errorf("%w: hidden is required", errInvalid))
		return
	}
	if err := s.hidePost(r.Context(), sess, id, *in.Hidden); err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
