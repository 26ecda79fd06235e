package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
)

// pageTemplate is the layout with one page's "content" block.
type pageTemplate struct{ t *template.Template }

var funcs = template.FuncMap{
	"short": shortKey,
	"num":   fmtInt,
	"numf":  fmtFloat,
	"tao":   fmtTAO,
	"pct":   func(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" },
	"f3":    func(f float64) string { return strconv.FormatFloat(f, 'f', 3, 64) },
	"dur":   fmtDuration,
	"ago":   func(t time.Time) string { return fmtAgo(t, time.Now()) },
	"ts":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
	"bytes": fmtBytes,
	"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"deref": func(b *bool) bool { return b != nil && *b },
	"isnil": func(b *bool) bool { return b == nil },
	"u64":   func(v uint64) int64 { return int64(v) },
}

func parsePages() (map[string]*pageTemplate, error) {
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	out := map[string]*pageTemplate{}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" || base == "partials.html" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/partials.html", n)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", n, err)
		}
		out[strings.TrimSuffix(base, ".html")] = &pageTemplate{t: t}
	}
	return out, nil
}

// page is what every template gets.
type page struct {
	Title   string
	Site    string
	Nav     string
	Session *Session
	Netuid  uint16
	Flash   string
	Error   string
	Data    any
}

func (s *Site) render(w http.ResponseWriter, r *http.Request, status int, name, title, nav string, data any, flash string) {
	p := page{Title: title, Site: s.opts.Title, Nav: nav, Netuid: s.opts.Netuid, Data: data, Flash: flash}
	if sess, err := s.session(r); err == nil {
		p.Session = &sess
	}
	if status >= 400 {
		p.Error, p.Flash = flash, ""
	}
	t, ok := s.pages[name]
	if !ok {
		http.Error(w, "no template "+name, http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if h, ok := data.(template.HTML); ok {
		buf.Grow(len(h) + 16<<10) // a cached body: one allocation, not a doubling series
	}
	if err := t.t.Execute(&buf, p); err != nil {
		s.opts.Logger.Error("web: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// Pages show session-specific navigation: never cache them.
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (s *Site) pageError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.render(w, r, status, "error", http.StatusText(status), "", nil, msg)
}

// pageFail shows err as an error page with its status.
func (s *Site) pageFail(w http.ResponseWriter, r *http.Request, err error) {
	status, _ := errorStatus(err)
	msg := err.Error()
	if status == http.StatusInternalServerError {
		s.opts.Logger.Error("web: page failed", "path", r.URL.Path, "err", err)
		msg = "Something went wrong."
	}
	s.render(w, r, status, "error", http.StatusText(status), "", nil, msg)
}

func (s *Site) pageOverview(w http.ResponseWriter, r *http.Request) {
	snap, err := s.current(r.Context())
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.renderCached(w, r, snap, "overview", "Overview", "overview", func() (any, error) { return snap.overview, nil })
}

// renderCached renders a page whose content depends on the snapshot and
// the query only (not on the session): the content is rendered once per
// snapshot and view, and only the layout per request.
func (s *Site) renderCached(w http.ResponseWriter, r *http.Request, snap *snapshot, name, title, nav string, data func() (any, error)) {
	content := func() ([]byte, error) {
		d, err := data()
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := s.pages[name].t.ExecuteTemplate(&buf, "content", page{Title: title, Site: s.opts.Title, Netuid: s.opts.Netuid, Data: d}); err != nil {
			return nil, fmt.Errorf("render %s: %w", name, err)
		}
		return buf.Bytes(), nil
	}
	var b []byte
	var err error
	if key, ok := viewKey(r, "page "+name); ok {
		b, err = snap.cached(key, content)
	} else {
		b, err = content()
	}
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	// The content was rendered by html/template from the snapshot.
	s.render(w, r, http.StatusOK, "cached", title, nav, template.HTML(b), r.URL.Query().Get("flash"))
}

type boardPage struct {
	Rows any
	Sort string
	Desc bool
}

func (s *Site) pageMiners(w http.ResponseWriter, r *http.Request) {
	snap, err := s.current(r.Context())
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.renderCached(w, r, snap, "miners", "Miners", "miners", func() (any, error) {
		rows, key, desc, err := s.minerBoard(r)
		return boardPage{rows, key, desc}, err
	})
}

func (s *Site) pageValidators(w http.ResponseWriter, r *http.Request) {
	snap, err := s.current(r.Context())
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.renderCached(w, r, snap, "validators", "Validators", "validators", func() (any, error) {
		rows, key, desc, err := s.validatorBoard(r)
		return boardPage{rows, key, desc}, err
	})
}

func (s *Site) pageMiner(w http.ResponseWriter, r *http.Request) {
	d, err := s.minerDetail(r.Context(), chi.URLParam(r, "hotkey"))
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "miner", "Miner "+shortKey(d.Miner.Hotkey), "miners", d, "")
}

func (s *Site) pageValidator(w http.ResponseWriter, r *http.Request) {
	d, err := s.validatorDetail(r.Context(), chi.URLParam(r, "hotkey"))
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "validator", "Validator "+shortKey(d.Validator.Hotkey), "validators", d, "")
}

func (s *Site) pageTask(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		var d TaskDetail
		if d, err = s.taskDetail(r.Context(), id); err == nil {
			s.render(w, r, http.StatusOK, "task", fmt.Sprintf("Task %d", id), "", d, "")
			return
		}
	}
	s.pageFail(w, r, err)
}

func (s *Site) pageSubmission(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		var d SubmissionDetail
		if d, err = s.submissionDetail(r.Context(), id); err == nil {
			s.render(w, r, http.StatusOK, "submission", fmt.Sprintf("Submission %d", id), "", d, "")
			return
		}
	}
	s.pageFail(w, r, err)
}

func (s *Site) pagePayouts(w http.ResponseWriter, r *http.Request) {
	p, err := s.payouts(r.Context(), r.URL.Query().Get("hotkey"), 500)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "payouts", "Payouts", "payouts", p, "")
}

type threadsPage struct {
	Threads []PostView
}

func (s *Site) pageBoard(w http.ResponseWriter, r *http.Request) {
	ts, err := s.db.threads(r.Context(), 200)
	if err == nil {
		var v []PostView
		if v, err = s.viewPosts(r, ts); err == nil {
			s.render(w, r, http.StatusOK, "board", "Discussion", "board", threadsPage{v}, r.URL.Query().Get("flash"))
			return
		}
	}
	s.pageFail(w, r, err)
}

type threadPage struct {
	ID    int64
	Posts []threadPost
}

type threadPost struct {
	PostView
	Body template.HTML
}

func (s *Site) pageThread(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.showThread(w, r, id, http.StatusOK, r.URL.Query().Get("flash"))
}

func (s *Site) showThread(w http.ResponseWriter, r *http.Request, id int64, status int, msg string) {
	posts, err := s.db.thread(r.Context(), id)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	views, err := s.viewPosts(r, posts)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	tp := threadPage{ID: id}
	for _, v := range views {
		// The HTML was built by formatPost from escaped text only.
		tp.Posts = append(tp.Posts, threadPost{PostView: v, Body: template.HTML(v.HTML)})
	}
	s.render(w, r, status, "thread", views[0].Title, "board", tp, msg)
}

// formSession returns the session of a form post after checking its CSRF
// token; on failure it has already answered.
func (s *Site) formSession(w http.ResponseWriter, r *http.Request) (Session, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.pageError(w, r, http.StatusBadRequest, "Bad form.")
		return Session{}, false
	}
	sess, err := s.authed(r)
	if err != nil {
		if errors.Is(err, errAuth) {
			s.pageError(w, r, http.StatusUnauthorized, "Please sign in first.")
		} else {
			s.pageFail(w, r, err)
		}
		return Session{}, false
	}
	return sess, true
}

func redirect(w http.ResponseWriter, r *http.Request, to, flash string) {
	if flash != "" {
		to += "?flash=" + url.QueryEscape(flash)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (s *Site) formNewThread(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.formSession(w, r)
	if !ok {
		return
	}
	p, err := s.addPost(r.Context(), sess, s.clients.Key(r), 0, PostInput{Title: r.PostFormValue("title"), Body: r.PostFormValue("body")})
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	redirect(w, r, fmt.Sprintf("/board/%d", p.ID), "")
}

func (s *Site) formReply(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.formSession(w, r)
	if !ok {
		return
	}
	id, err := pathID(r)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	if _, err := s.addPost(r.Context(), sess, s.clients.Key(r), id, PostInput{Body: r.PostFormValue("body")}); err != nil {
		s.pageFail(w, r, err)
		return
	}
	redirect(w, r, fmt.Sprintf("/board/%d", id), "")
}

func (s *Site) formHide(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.formSession(w, r)
	if !ok {
		return
	}
	id, err := pathID(r)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	hidden := r.PostFormValue("hidden") != "0"
	if err := s.hidePost(r.Context(), sess, id, hidden); err != nil {
		s.pageFail(w, r, err)
		return
	}
	p, err := s.db.post(r.Context(), id)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	thread := p.ThreadID
	if thread == 0 {
		thread = p.ID
	}
	redirect(w, r, fmt.Sprintf("/board/%d", thread), "")
}

type signInPage struct {
	Hotkey    string
	Challenge *Challenge
}

func (s *Site) pageSignIn(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "signin", "Sign in", "signin", signInPage{}, "")
}

func (s *Site) formChallenge(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if !s.authLim.allow(s.clients.Key(r), s.opts.Now()) {
		s.pageFail(w, r, errLimited)
		return
	}
	hotkey := strings.TrimSpace(r.PostFormValue("hotkey"))
	c, err := s.newChallenge(r.Context(), hotkey, r.Host)
	if err != nil {
		s.render(w, r, http.StatusBadRequest, "signin", "Sign in", "signin", signInPage{Hotkey: hotkey}, err.Error())
		return
	}
	s.setChallengeCookie(w, r, c)
	s.render(w, r, http.StatusOK, "signin", "Sign in", "signin", signInPage{Hotkey: hotkey, Challenge: &c}, "")
}

func (s *Site) formSignIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if !s.authLim.allow(s.clients.Key(r), s.opts.Now()) {
		s.pageFail(w, r, errLimited)
		return
	}
	hotkey, nonce := r.PostFormValue("hotkey"), r.PostFormValue("nonce")
	fail := func(err error) {
		status, _ := errorStatus(err)
		s.render(w, r, status, "signin", "Sign in", "signin", signInPage{Hotkey: hotkey}, "Sign-in failed: "+err.Error())
	}
	if !challengeBound(r, nonce) {
		fail(fmt.Errorf("%w: the challenge was issued to another browser", errBadChallenge))
		return
	}
	sess, tok, err := s.signIn(r.Context(), hotkey, nonce, r.PostFormValue("signature"))
	if err != nil {
		fail(err)
		return
	}
	s.clearCookie(w, r, challengeCookie)
	s.setSessionCookie(w, r, tok, sess.ExpiresAt)
	redirect(w, r, "/dashboard", "Signed in as "+sess.Hotkey)
}

func (s *Site) formSignOut(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.formSession(w, r)
	if !ok {
		return
	}
	if err := s.db.revokeSession(r.Context(), sess.ID); err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.clearCookie(w, r, sessionCookie)
	redirect(w, r, "/", "Signed out")
}

type dashboardPage struct {
	Miner     *MinerDetail
	Validator *ValidatorDetail
	Profile   Profile
}

func (s *Site) pageDashboard(w http.ResponseWriter, r *http.Request) {
	sess, err := s.session(r)
	if err != nil {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	s.showDashboard(w, r, sess, http.StatusOK, r.URL.Query().Get("flash"), nil)
}

func (s *Site) showDashboard(w http.ResponseWriter, r *http.Request, sess Session, status int, msg string, edit *Profile) {
	var d dashboardPage
	if m, err := s.minerDetail(r.Context(), sess.Hotkey); err == nil {
		d.Miner = &m
	}
	if v, err := s.validatorDetail(r.Context(), sess.Hotkey); err == nil {
		d.Validator = &v
	}
	var err error
	if d.Profile, err = s.db.profile(r.Context(), sess.Hotkey); err != nil {
		s.pageFail(w, r, err)
		return
	}
	if edit != nil {
		d.Profile = *edit
	}
	s.render(w, r, status, "dashboard", "Dashboard", "dashboard", d, msg)
}

func (s *Site) formProfile(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.formSession(w, r)
	if !ok {
		return
	}
	in := ProfileInput{DisplayName: r.PostFormValue("display_name"), DatasetRepo: r.PostFormValue("dataset_repo"),
		Contact: r.PostFormValue("contact"), Description: r.PostFormValue("description")}
	// The form names its hotkey, so that a form of another hotkey's page
	// is refused rather than silently applied to the signed-in one.
	hotkey := r.PostFormValue("hotkey")
	if _, err := s.updateProfile(r.Context(), sess, s.clients.Key(r), hotkey, in); err != nil {
		status, _ := errorStatus(err)
		if status == http.StatusForbidden {
			s.pageFail(w, r, err)
			return
		}
		s.showDashboard(w, r, sess, status, err.Error(), &Profile{Hotkey: sess.Hotkey, DisplayName: in.DisplayName,
			DatasetRepo: in.DatasetRepo, Contact: in.Contact, Description: in.Description})
		return
	}
	redirect(w, r, "/dashboard", "Profile saved")
}

// Formatting helpers for the templates.

func shortKey(k string) string {
	if len(k) <= 12 {
		return k
	}
	return k[:6] + "…" + k[len(k)-4:]
}

func fmtInt(v int64) string {
	s := strconv.FormatInt(v, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func fmtFloat(f float64) string {
	if math.Abs(f) >= 1000 {
		return fmtInt(int64(math.Round(f)))
	}
	return strconv.FormatFloat(f, 'f', 2, 64)
}

// fmtTAO shows rao as TAO/α with up to 4 decimals.
func fmtTAO(rao uint64) string {
	return strconv.FormatFloat(float64(rao)/1e9, 'f', 4, 64)
}

func fmtBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return strconv.FormatFloat(float64(n)/float64(div), 'f', 1, 64) + " " + string("KMGTPE"[exp]) + "iB"
}

func fmtDuration(sec float64) string {
	if sec <= 0 {
		return "–"
	}
	return (time.Duration(sec * float64(time.Second))).Round(time.Second).String()
}

func fmtAgo(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}
