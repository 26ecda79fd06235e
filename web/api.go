package web

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"
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

	// The public JSON API the pages use.
	r.Route("/v1/site", func(r chi.Router) {
		r.Get("/openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/yaml")
			w.Write(OpenAPI)
		})
		r.Get("/overview", s.apiOverview)
		r.Get("/leaderboard/miners", s.apiMinerBoard)
		r.Get("/leaderboard/validators", s.apiValidatorBoard)
		r.Get("/charts/tokens", s.apiChartTokens)
		r.Get("/charts/completions", s.apiChartCompletions)
		r.Get("/charts/miners/{hotkey}/scores", s.apiChartMinerScores)
		r.Get("/charts/miners/{hotkey}/rewards", s.apiChartMinerRewards)
		r.Get("/charts/validators/{hotkey}/trust", s.apiChartValidator)
		r.Get("/miners/{hotkey}", s.apiMiner)
		r.Get("/validators/{hotkey}", s.apiValidator)
		r.Get("/tasks/{id}", s.apiTask)
		r.Get("/submissions/{id}", s.apiSubmission)
		r.Get("/payouts", s.apiPayouts)
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
	})
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		if s.opts.Fallback != nil {
			s.opts.Fallback.ServeHTTP(w, r)
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

func (s *Site) apiOverview(w http.ResponseWriter, r *http.Request) {
	snap, err := s.current(r.Context())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, snap.overview)
}

// boardParams reads ?sort=&order=asc|desc&limit=.
func boardParams(r *http.Request, def string) (key string, desc bool, limit int, err error) {
	q := r.URL.Query()
	key = q.Get("sort")
	if key == "" {
		key = def
	}
	desc = q.Get("order") != "asc"
	limit = 1000
	if l := q.Get("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil || limit <= 0 {
			return "", false, 0, fmt.Errorf("%w: limit %q", errInvalid, l)
		}
	}
	return key, desc, limit, nil
}

func (s *Site) minerBoard(r *http.Request) ([]MinerRow, string, bool, error) {
	key, desc, limit, err := boardParams(r, "score")
	if err != nil {
		return nil, "", false, err
	}
	snap, err := s.current(r.Context())
	if err != nil {
		return nil, "", false, err
	}
	rows := append([]MinerRow(nil), snap.miners...)
	if !sortMiners(rows, key, desc) {
		return nil, "", false, fmt.Errorf("%w: sort %q", errInvalid, key)
	}
	return rows[:min(len(rows), limit)], key, desc, nil
}

func (s *Site) validatorBoard(r *http.Request) ([]ValidatorRow, string, bool, error) {
	key, desc, limit, err := boardParams(r, "stake")
	if err != nil {
		return nil, "", false, err
	}
	snap, err := s.current(r.Context())
	if err != nil {
		return nil, "", false, err
	}
	rows := append([]ValidatorRow(nil), snap.validators...)
	if !sortValidators(rows, key, desc) {
		return nil, "", false, fmt.Errorf("%w: sort %q", errInvalid, key)
	}
	return rows[:min(len(rows), limit)], key, desc, nil
}

func (s *Site) apiMinerBoard(w http.ResponseWriter, r *http.Request) {
	s.cachedJSON(w, r, "json miners", func() (any, error) {
		rows, _, _, err := s.minerBoard(r)
		return map[string]any{"miners": nonNil(rows)}, err
	})
}

func (s *Site) apiValidatorBoard(w http.ResponseWriter, r *http.Request) {
	s.cachedJSON(w, r, "json validators", func() (any, error) {
		rows, _, _, err := s.validatorBoard(r)
		return map[string]any{"validators": nonNil(rows)}, err
	})
}

// viewKey names a view of the snapshot by its query; views with a limit
// (unbounded in number) are not cached.
func viewKey(r *http.Request, name string) (string, bool) {
	q := r.URL.Query()
	key := q.Get("sort")
	_, m := minerSorts[key]
	_, v := validatorSorts[key]
	if q.Has("limit") || !(key == "" || m || v) {
		return "", false
	}
	// The key is normalised, so that junk in the query cannot grow the cache.
	return name + "|" + key + "|" + strconv.FormatBool(q.Get("order") != "asc"), true
}

// cachedJSON answers with v's JSON, computed once per snapshot and view.
func (s *Site) cachedJSON(w http.ResponseWriter, r *http.Request, name string, v func() (any, error)) {
	snap, err := s.current(r.Context())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	encode := func() ([]byte, error) {
		x, err := v()
		if err != nil {
			return nil, err
		}
		return json.Marshal(x)
	}
	var b []byte
	if key, ok := viewKey(r, name); ok {
		b, err = snap.cached(key, encode)
	} else {
		b, err = encode()
	}
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(append(b, '\n'))
}

func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

func (s *Site) apiChartTokens(w http.ResponseWriter, r *http.Request) {
	snap, err := s.current(r.Context())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, snap.tokensDay)
}

func (s *Site) apiChartCompletions(w http.ResponseWriter, r *http.Request) {
	snap, err := s.current(r.Context())
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, snap.completions)
}

func (s *Site) apiChartMinerScores(w http.ResponseWriter, r *http.Request) {
	scores, _, err := s.minerHistory(r.Context(), chi.URLParam(r, "hotkey"))
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, scores)
}

func (s *Site) apiChartMinerRewards(w http.ResponseWriter, r *http.Request) {
	rw, err := s.rewards(r.Context(), chi.URLParam(r, "hotkey"))
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rw)
}

func (s *Site) apiChartValidator(w http.ResponseWriter, r *http.Request) {
	h, err := s.validatorHistory(r.Context(), chi.URLParam(r, "hotkey"))
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

func (s *Site) apiMiner(w http.ResponseWriter, r *http.Request) {
	d, err := s.minerDetail(r.Context(), chi.URLParam(r, "hotkey"))
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (s *Site) apiValidator(w http.ResponseWriter, r *http.Request) {
	d, err := s.validatorDetail(r.Context(), chi.URLParam(r, "hotkey"))
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (s *Site) apiTask(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		var d TaskDetail
		if d, err = s.taskDetail(r.Context(), id); err == nil {
			writeJSON(w, http.StatusOK, d)
			return
		}
	}
	s.apiFail(w, r, err)
}

func (s *Site) apiSubmission(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		var d SubmissionDetail
		if d, err = s.submissionDetail(r.Context(), id); err == nil {
			writeJSON(w, http.StatusOK, d)
			return
		}
	}
	s.apiFail(w, r, err)
}

func (s *Site) apiPayouts(w http.ResponseWriter, r *http.Request) {
	limit := 500
	if l := r.URL.Query().Get("limit"); l != "" {
		var err error
		if limit, err = strconv.Atoi(l); err != nil || limit <= 0 {
			s.apiFail(w, r, fmt.Errorf("%w: limit %q", errInvalid, l))
			return
		}
	}
	p, err := s.payouts(r.Context(), r.URL.Query().Get("hotkey"), limit)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
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
