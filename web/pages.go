package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/datarefine/refine/taskserver"
)

// pageTemplate is the layout with one page's "content" block.
type pageTemplate struct{ t *template.Template }

var funcs = template.FuncMap{
	"short":  shortKey,
	"num":    fmtInt,
	"numf":   fmtFloat,
	"tao":    fmtTAO,
	"pct":    func(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" },
	"f3":     func(f float64) string { return strconv.FormatFloat(f, 'f', 3, 64) },
	"dur":    fmtDuration,
	"ts":     func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
	"bytes":  fmtBytes,
	"iso":    func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"u64":    func(v uint64) int64 { return int64(v) },
	"u64sum": func(a, b uint64) uint64 { return a + b },
	"deref":  func(b *bool) bool { return b != nil && *b },
	"share": func(part, whole int64) float64 {
		if whole <= 0 {
			return 0
		}
		return float64(part) / float64(whole)
	},
	"evtext": eventText,
	// args builds the argument of a partial: key, value, key, value…
	"args": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, errors.New("args: odd number of arguments")
		}
		m := map[string]any{}
		for i := 0; i < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, fmt.Errorf("args: key %v is not a string", kv[i])
			}
			m[k] = kv[i+1]
		}
		return m, nil
	},
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
	// Names are the profiles' display names by hotkey.
	Names map[string]string
	// Dataset says whether the site shows the published dataset.
	Dataset bool
}

// Name is a hotkey's display name, else its short form.
func (p page) Name(hotkey string) string {
	if n := p.Names[hotkey]; n != "" {
		return n
	}
	return shortKey(hotkey)
}

// Named says whether a hotkey has a display name.
func (p page) Named(hotkey string) bool { return p.Names[hotkey] != "" }

func (s *Site) render(w http.ResponseWriter, r *http.Request, status int, name, title, nav string, data any, flash string) {
	p := page{Title: title, Site: s.opts.Title, Nav: nav, Data: data, Flash: flash, Dataset: s.opts.Dataset != nil}
	if mg := s.mg.Load(); mg != nil {
		p.Netuid = mg.Netuid
	}
	if sess, err := s.session(r); err == nil {
		p.Session = &sess
	}
	if names, err := s.db.displayNames(r.Context()); err == nil {
		p.Names = names
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
	if status >= 500 {
		s.opts.Logger.Error("web: page failed", "path", r.URL.Path, "err", err)
		msg = "Something went wrong."
		if status == http.StatusBadGateway {
			msg = "The task server's API did not answer; try again in a moment."
		}
	}
	s.render(w, r, status, "error", http.StatusText(status), "", nil, msg)
}

// eventKinds are the events the overview lists: every transition but
// heartbeats, which would drown the rest.
var eventKinds = slices.DeleteFunc(slices.Clone(taskserver.EventKinds), func(k string) bool { return k == "heartbeat" })

type overviewPage struct {
	Stats   taskserver.Stats
	Events  []taskserver.Event
	Dataset *DatasetSummary
}

func (s *Site) pageOverview(w http.ResponseWriter, r *http.Request) {
	ctx := s.reads(r)
	st, err := s.api.Stats(ctx)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	evs, err := s.api.EventsOf(ctx, 0, 25, eventKinds)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	d := overviewPage{Stats: st, Events: evs}
	if s.opts.Dataset != nil {
		if sum, err := s.opts.Dataset.Summary(r.Context()); err == nil {
			d.Dataset = sum
		} else {
			s.opts.Logger.Debug("web: dataset summary", "err", err)
		}
	}
	s.render(w, r, http.StatusOK, "overview", "Overview", "overview", d, r.URL.Query().Get("flash"))
}

// eventText is the verb of an event by a miner: "<miner> <verb> task N".
func eventText(e taskserver.Event) string {
	switch e.Kind {
	case "completed":
		return "submitted"
	case "expired":
		return "let the lease expire on"
	case "released":
		return "gave back"
	}
	return e.Kind
}

type boardPage struct {
	Since time.Time
	Block uint64
	Rows  any
}

// leaderboardWindow is how far back the leaderboards count activity.
const leaderboardWindow = 7 * 24 * time.Hour

func (s *Site) pageMiners(w http.ResponseWriter, r *http.Request) {
	res, err := s.api.MinerList(s.reads(r), leaderboardWindow)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	// Highest incentive first, as the chain pays; ties by accepted tokens.
	slices.SortStableFunc(res.Miners, func(a, b taskserver.MinerRow) int {
		if a.Incentive != b.Incentive {
			return cmpF(b.Incentive, a.Incentive)
		}
		return cmpF(float64(b.Tokens), float64(a.Tokens))
	})
	s.render(w, r, http.StatusOK, "miners", "Miners", "miners", boardPage{res.Since, res.MetagraphBlock, res.Miners}, "")
}

func (s *Site) pageValidators(w http.ResponseWriter, r *http.Request) {
	res, err := s.api.Validators(s.reads(r), leaderboardWindow)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	slices.SortStableFunc(res.Validators, func(a, b taskserver.ValidatorRow) int {
		return cmpF(float64(b.Stake), float64(a.Stake))
	})
	s.render(w, r, http.StatusOK, "validators", "Validators", "validators", boardPage{res.Since, res.MetagraphBlock, res.Validators}, "")
}

func cmpF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

type minerPage struct {
	taskserver.MinerDetail
	Profile Profile
}

func (s *Site) minerPage(ctx context.Context, r *http.Request, hotkey string) (minerPage, error) {
	d, err := s.api.Miner(ctx, hotkey)
	if err != nil {
		return minerPage{}, err
	}
	p, err := s.db.profile(r.Context(), hotkey)
	return minerPage{d, p}, err
}

func (s *Site) pageMiner(w http.ResponseWriter, r *http.Request) {
	hotkey := chi.URLParam(r, "hotkey")
	d, err := s.minerPage(s.reads(r), r, hotkey)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "miner", "Miner "+shortKey(hotkey), "miners", d, "")
}

type validatorPage struct {
	taskserver.ValidatorDetail
	Profile Profile
}

func (s *Site) validatorPage(ctx context.Context, r *http.Request, hotkey string) (validatorPage, error) {
	d, err := s.api.Validator(ctx, hotkey)
	if err != nil {
		return validatorPage{}, err
	}
	p, err := s.db.profile(r.Context(), hotkey)
	return validatorPage{d, p}, err
}

func (s *Site) pageValidator(w http.ResponseWriter, r *http.Request) {
	hotkey := chi.URLParam(r, "hotkey")
	d, err := s.validatorPage(s.reads(r), r, hotkey)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "validator", "Validator "+shortKey(hotkey), "validators", d, "")
}

func (s *Site) pageTask(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		var d taskserver.TaskHistory
		if d, err = s.api.TaskHistory(s.reads(r), id); err == nil {
			s.render(w, r, http.StatusOK, "task", fmt.Sprintf("Task %d", id), "", d, "")
			return
		}
	}
	s.pageFail(w, r, err)
}

type submissionPage struct {
	taskserver.SubmissionView
	RevisionURL, ManifestURL string
	Verdicts                 []VerdictView
	// Rows are the checks side by side: one cell per verdict (nil where
	// that verdict has no such line).
	Rows             []checkRow
	Accepts, Rejects int
	// Failures are the failed checks, each with the validators that
	// failed it alike.
	Failures []failure
}

type failure struct {
	Check
	Validators []string
}

type checkRow struct {
	Name  string
	Cells []*Check
}

func (s *Site) pageSubmission(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	v, err := s.api.Submission(s.reads(r), id)
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	d := submissionPage{SubmissionView: v}
	if u := s.opts.RevisionURL(v.Repo, v.Revision); u != "" {
		d.RevisionURL = u
		if strings.Contains(u, "/tree/") {
			d.ManifestURL = strings.Replace(u, "/tree/", "/blob/", 1) + fmt.Sprintf("/submissions/%d/manifest.json", v.Task.ID)
		}
	}
	row := map[string]int{}
	for i, vd := range v.Verdicts {
		ex := explain(vd)
		d.Verdicts = append(d.Verdicts, ex)
		if vd.Accepted {
			d.Accepts++
		} else {
			d.Rejects++
		}
		for _, c := range ex.Checks {
			if c.State == "failed" {
				same := false
				for j := range d.Failures {
					if f := &d.Failures[j]; f.Name == c.Name && f.Measured == c.Measured && f.Threshold == c.Threshold {
						f.Validators, same = append(f.Validators, vd.Validator), true
					}
				}
				if !same {
					d.Failures = append(d.Failures, failure{Check: c, Validators: []string{vd.Validator}})
				}
			}
			if _, ok := row[c.Name]; !ok {
				row[c.Name] = len(d.Rows)
				d.Rows = append(d.Rows, checkRow{Name: c.Name, Cells: make([]*Check, len(v.Verdicts))})
			}
			d.Rows[row[c.Name]].Cells[i] = &c
		}
	}
	s.render(w, r, http.StatusOK, "submission", fmt.Sprintf("Submission %d", id), "", d, "")
}

func (s *Site) pagePayouts(w http.ResponseWriter, r *http.Request) {
	p, err := s.api.Payouts(s.reads(r), r.URL.Query().Get("hotkey"), 500)
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
	Miner     *minerPage
	Validator *validatorPage
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
	ctx := s.reads(r)
	if m, err := s.minerPage(ctx, r, sess.Hotkey); err == nil {
		d.Miner = &m
	} else if !errors.Is(err, taskserver.ErrNotFound) {
		s.pageFail(w, r, err)
		return
	}
	if v, err := s.validatorPage(ctx, r, sess.Hotkey); err == nil {
		d.Validator = &v
	} else if !errors.Is(err, taskserver.ErrNotFound) {
		s.pageFail(w, r, err)
		return
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
