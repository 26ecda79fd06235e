// Package hub is a dataset store on the Hugging Face Hub: each miner
// publishes to a dataset repository, one commit per submission, and the
// commit sha is the pinned revision that validators read.
//
// It speaks the Hub's HTTP API as huggingface_hub does (hf_api.py,
// _commit_api.py, lfs.py), through the retrying HTTP layer (package retry):
// 429 (honouring RateLimit and Retry-After), 5xx, timeouts and resets are
// retried; other 4xx are not. Hub endpoints used (all under
// Options.Endpoint, default https://huggingface.co; docs/store.md):
//
//	POST /api/repos/create                              create the dataset repo (once)
//	POST /api/datasets/{repo}/preupload/main            which files go through LFS
//	POST /datasets/{repo}.git/info/lfs/objects/batch    LFS batch API (basic and multipart)
//	PUT  <upload href>, POST <verify href>              LFS object upload and verify
//	PUT  <part urls>, POST <completion href>            LFS multipart upload (chunk_size)
//	POST /api/datasets/{repo}/commit/main               NDJSON commit (header, file, lfsFile lines)
//	GET  /api/datasets/{repo}/tree/{rev}?recursive=true list files (paginated by Link headers)
//	GET  /datasets/{repo}/resolve/{rev}/{path}          read a file (LFS: a redirect to storage)
package hub

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/datarefine/refine/retry"
	"github.com/datarefine/refine/store"
)

// MaxSinglePut is the largest object uploaded in one PUT: S3, behind the
// Hub's LFS storage, refuses larger single uploads. Larger files need the
// Hub's multipart upload.
const MaxSinglePut = 5 << 30

// Options configures a Hub store.
type Options struct {
	// Endpoint is the Hub's base URL (default $HF_ENDPOINT, else
	// https://huggingface.co).
	Endpoint string
	// Token is a Hub access token (default: FindToken).
	Token string
	// Client is the HTTP client (default: retry.NewClient(Retry), which
	// also drops the token on a redirect to another host).
	Client *http.Client
	// Retry is the retry policy of the default client.
	Retry retry.Policy
	// Private creates new repositories as private.
	Private bool
	// Log receives upload progress (default: discard).
	Log *slog.Logger

	// maxSinglePut overrides MaxSinglePut (tests).
	maxSinglePut int64
}

// Store is a Hugging Face Hub dataset store.
type Store struct {
	base      string
	token     string
	tokenFrom string
	client    *http.Client
	priv      bool
	log       *slog.Logger
	maxPut    int64
}

var _ store.Store = (*Store)(nil)

// New returns a Hub store. Reading public repos needs no token; creating
// a repo and publishing do.
func New(opts Options) *Store {
	if opts.Endpoint == "" {
		opts.Endpoint = os.Getenv("HF_ENDPOINT")
	}
	if opts.Endpoint == "" {
		opts.Endpoint = "https://huggingface.co"
	}
	from := "Options.Token"
	if opts.Token == "" {
		opts.Token, from = FindToken()
	}
	if opts.Client == nil {
		opts.Client = retry.NewClient(opts.Retry)
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.maxSinglePut <= 0 {
		opts.maxSinglePut = MaxSinglePut
	}
	return &Store{base: strings.TrimRight(opts.Endpoint, "/"), token: opts.Token, tokenFrom: from, client: opts.Client,
		priv: opts.Private, log: opts.Log, maxPut: opts.maxSinglePut}
}

// HasToken reports whether the store has a token, and where it came from.
func (s *Store) HasToken() (bool, string) { return s.token != "", s.tokenFrom }

// FindToken finds a Hub token the way huggingface_hub does
// (utils/_auth.py, constants.py): $HF_TOKEN, else $HUGGING_FACE_HUB_TOKEN,
// else the token file — $HF_TOKEN_PATH, default $HF_HOME/token, where
// HF_HOME defaults to $XDG_CACHE_HOME/huggingface, else
// ~/.cache/huggingface (what `hf auth login` writes). It returns the token
// (newlines removed, spaces trimmed; "" if none) and where it was found.
func FindToken() (token, from string) {
	for _, env := range []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"} {
		if t := cleanToken(os.Getenv(env)); t != "" {
			return t, "$" + env
		}
	}
	p := TokenPath()
	if b, err := os.ReadFile(p); err == nil {
		if t := cleanToken(string(b)); t != "" {
			return t, p
		}
	}
	return "", ""
}

// TokenPath is where huggingface_hub keeps the token file.
func TokenPath() string {
	if p := os.Getenv("HF_TOKEN_PATH"); p != "" {
		return expandHome(p)
	}
	home := os.Getenv("HF_HOME")
	if home == "" {
		cache := os.Getenv("XDG_CACHE_HOME")
		if cache == "" {
			cache = filepath.Join("~", ".cache")
		}
		home = filepath.Join(cache, "huggingface")
	}
	return filepath.Join(expandHome(home), "token")
}

func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if h, err := os.UserHomeDir(); err == nil {
			return filepath.Join(h, p[1:])
		}
	}
	return os.ExpandEnv(p)
}

func cleanToken(t string) string {
	return strings.TrimSpace(strings.NewReplacer("\r", "", "\n", "").Replace(t))
}

// APIError is a Hub response with an error status.
type APIError struct {
	Status  int
	Code    string // X-Error-Code: RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo…
	Method  string
	URL     string
	Message string
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("hub: %s %s: HTTP %d", e.Method, e.URL, e.Status)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// invalidCredentials is the Hub's message for a wrong token.
const invalidCredentials = "Invalid credentials in Authorization header"

// Is makes missing repos, revisions and files match store.ErrNotFound, as
// huggingface_hub's hf_raise_for_status reads them: a 404, an
// X-Error-Code naming what is missing, or a 401 that is not about the
// credentials (the Hub answers 401 for a repo an anonymous reader cannot
// see). A gated or disabled repo counts as missing too: its owner made it
// unreadable, which is theirs to answer for, not a reader's failure.
func (e *APIError) Is(target error) bool {
	if target != store.ErrNotFound {
		return false
	}
	switch {
	case e.Status == http.StatusNotFound:
		return true
	case e.Code == "RepoNotFound" || e.Code == "RevisionNotFound" || e.Code == "EntryNotFound" || e.Code == "GatedRepo":
		return true
	case e.Message == "Access to this resource is disabled.":
		return true
	}
	return e.Status == http.StatusUnauthorized && e.Message != invalidCredentials && e.Code != ""
}

// Temporary reports whether the same call may succeed later: the retrying
// layer already retried it.
func (e *APIError) Temporary() bool { return retry.RetryableStatus(e.Status) }

// request sends one API call. The token goes only to the Hub's own
// endpoint; the client drops it on a redirect to another host.
func (s *Store) request(ctx context.Context, method, u string, hdr http.Header, body []byte, withToken bool) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body) // replayable: retried requests resend it
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if withToken && s.token != "" && strings.HasPrefix(u, s.base+"/") {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("hub: %s %s: %w", method, u, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		return nil, apiError(method, u, resp)
	}
	return resp, nil
}

func apiError(method, u string, resp *http.Response) error {
	msg := resp.Header.Get("X-Error-Message")
	if msg == "" {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			msg = e.Error
		} else {
			msg = strings.TrimSpace(string(b))
		}
	}
	return &APIError{Status: resp.StatusCode, Code: resp.Header.Get("X-Error-Code"), Method: method, URL: u, Message: msg}
}

// call sends a JSON API call and decodes the answer into out (if not nil).
func (s *Store) call(ctx context.Context, method, u string, hdr http.Header, in, out any) (*http.Response, error) {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return nil, err
		}
		if hdr == nil {
			hdr = http.Header{}
		}
		if hdr.Get("Content-Type") == "" {
			hdr.Set("Content-Type", "application/json")
		}
	}
	resp, err := s.request(ctx, method, u, hdr, body, true)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out); err != nil {
			return resp, fmt.Errorf("hub: %s %s: decode response: %w", method, u, err)
		}
	}
	return resp, nil
}

func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i := range parts {
		parts[i] = url.PathEscape(parts[i])
	}
	return strings.Join(parts, "/")
}

var errNoToken = errors.New("hub: no Hugging Face token: set HF_TOKEN (a token with write access, https://huggingface.co/settings/tokens) or run `hf auth login`")

// ErrNoToken reports a write without a token.
var ErrNoToken = errNoToken

// Create implements store.Store: it creates the dataset repository; an
// existing one (409) is fine.
func (s *Store) Create(ctx context.Context, repo string) error {
	if err := store.CheckRepo(repo); err != nil {
		return err
	}
	if s.token == "" {
		return errNoToken
	}
	owner, name, ok := strings.Cut(repo, "/")
	if !ok {
		owner, name = "", repo
	}
	req := map[string]any{"type": "dataset", "name": name, "private": s.priv}
	if owner != "" {
		req["organization"] = owner
	}
	_, err := s.call(ctx, http.MethodPost, s.base+"/api/repos/create", nil, req, nil)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusConflict {
		return nil
	}
	return err
}

type localFile struct {
	path, full string
	size       int64
	sha        string
	sample     []byte
}

// Publish implements store.Store: one commit on main with every file under
// dir, on top of what main holds; files the Hub wants in LFS (by its
// preupload answer) are uploaded through the LFS batch API first.
//
// The commit is retried like any call. If a commit went through but its
// answer was lost, the retry commits the same files again on top: the
// revision it returns holds them just the same.
func (s *Store) Publish(ctx context.Context, repo, dir, message string) (string, error) {
	if err := store.CheckRepo(repo); err != nil {
		return "", err
	}
	if s.token == "" {
		return "", errNoToken
	}
	paths, err := store.Walk(dir)
	if err != nil {
		return "", fmt.Errorf("publish %s: %w", dir, err)
	}
	files := make([]localFile, 0, len(paths))
	for _, p := range paths {
		f, err := describe(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			return "", err
		}
		f.path = p
		files = append(files, f)
	}
	const rev = "main"
	modes, err := s.preupload(ctx, repo, rev, files)
	if err != nil {
		return "", err
	}
	var lfs []localFile
	for _, f := range files {
		if modes[f.path] == "lfs" {
			lfs = append(lfs, f)
		}
	}
	if err := s.uploadLFS(ctx, repo, rev, lfs); err != nil {
		return "", err
	}
	// The commit body is NDJSON: a header line, then one line per file.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.Encode(map[string]any{"key": "header", "value": map[string]any{"summary": message, "description": ""}})
	for _, f := range files {
		if modes[f.path] == "lfs" {
			enc.Encode(map[string]any{"key": "lfsFile", "value": map[string]any{"path": f.path, "algo": "sha256", "oid": f.sha, "size": f.size}})
			continue
		}
		b, err := os.ReadFile(f.full)
		if err != nil {
			return "", err
		}
		enc.Encode(map[string]any{"key": "file", "value": map[string]any{"path": f.path, "encoding": "base64", "content": base64.StdEncoding.EncodeToString(b)}})
	}
	var out struct {
		CommitOid string `json:"commitOid"`
		CommitURL string `json:"commitUrl"`
	}
	u := fmt.Sprintf("%s/api/datasets/%s/commit/%s", s.base, repo, rev)
	resp, err := s.request(ctx, http.MethodPost, u, http.Header{"Content-Type": {"application/x-ndjson"}}, buf.Bytes(), true)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil {
		return "", fmt.Errorf("hub: commit to %s: decode response: %w", repo, err)
	}
	if !shaRe.MatchString(out.CommitOid) {
		return "", fmt.Errorf("hub: commit returned no commit sha (%q)", out.CommitOid)
	}
	return out.CommitOid, nil
}

var shaRe = regexp.MustCompile(`^[0-9a-f]{40}$`)

func describe(full string) (localFile, error) {
	f, err := os.Open(full)
	if err != nil {
		return localFile{}, err
	}
	defer f.Close()
	h := sha256.New()
	sample := make([]byte, 512)
	n, _ := io.ReadFull(f, sample)
	h.Write(sample[:n])
	rest, err := io.Copy(h, f)
	if err != nil {
		return localFile{}, err
	}
	return localFile{full: full, size: int64(n) + rest, sha: hex.EncodeToString(h.Sum(nil)), sample: sample[:n]}, nil
}

// preupload asks the Hub which files go through LFS, 256 files a call as
// huggingface_hub does. Empty files are always regular (S3 refuses empty
// LFS uploads).
func (s *Store) preupload(ctx context.Context, repo, rev string, files []localFile) (map[string]string, error) {
	modes := map[string]string{}
	for i := 0; i < len(files); i += 256 {
		chunk := files[i:min(i+256, len(files))]
		type pf struct {
			Path   string `json:"path"`
			Sample string `json:"sample"`
			Size   int64  `json:"size"`
		}
		req := struct {
			Files []pf `json:"files"`
		}{}
		for _, f := range chunk {
			req.Files = append(req.Files, pf{f.path, base64.StdEncoding.EncodeToString(f.sample), f.size})
		}
		var out struct {
			Files []struct {
				Path       string `json:"path"`
				UploadMode string `json:"uploadMode"`
			} `json:"files"`
		}
		if _, err := s.call(ctx, http.MethodPost, fmt.Sprintf("%s/api/datasets/%s/preupload/%s", s.base, repo, rev), nil, req, &out); err != nil {
			return nil, err
		}
		for _, f := range out.Files {
			modes[f.Path] = f.UploadMode
		}
	}
	for _, f := range files {
		switch {
		case f.size == 0:
			modes[f.path] = "regular"
		case modes[f.path] != "lfs" && modes[f.path] != "regular":
			return nil, fmt.Errorf("hub: preupload gave %s no upload mode (%q)", f.path, modes[f.path])
		}
	}
	return modes, nil
}

type lfsAction struct {
	Href   string            `json:"href"`
	Header map[string]string `json:"header"`
}

var lfsHeaders = http.Header{"Content-Type": {"application/vnd.git-lfs+json"}, "Accept": {"application/vnd.git-lfs+json"}}

// uploadLFS sends large files through the Git LFS batch API, offering the
// basic and multipart transfers: objects the Hub already has come back
// without actions; an upload action whose header has a chunk_size is a
// multipart upload (one PUT per part, then a completion call).
func (s *Store) uploadLFS(ctx context.Context, repo, rev string, files []localFile) error {
	if len(files) == 0 {
		return nil
	}
	type obj struct {
		OID  string `json:"oid"`
		Size int64  `json:"size"`
	}
	req := map[string]any{
		"operation": "upload", "transfers": []string{"basic", "multipart"}, "hash_algo": "sha256",
		"ref": map[string]string{"name": rev},
	}
	var objs []obj
	byOID := map[string]localFile{}
	for _, f := range files {
		objs = append(objs, obj{f.sha, f.size})
		byOID[f.sha] = f
	}
	req["objects"] = objs
	var out struct {
		Objects []struct {
			OID     string               `json:"oid"`
			Size    int64                `json:"size"`
			Actions map[string]lfsAction `json:"actions"`
			Error   *struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		} `json:"objects"`
	}
	if _, err := s.call(ctx, http.MethodPost, fmt.Sprintf("%s/datasets/%s.git/info/lfs/objects/batch", s.base, repo), lfsHeaders.Clone(), req, &out); err != nil {
		return err
	}
	for _, o := range out.Objects {
		f, ok := byOID[o.OID]
		if !ok {
			return fmt.Errorf("hub: LFS batch answered for unknown object %s", o.OID)
		}
		if o.Error != nil {
			return fmt.Errorf("hub: LFS upload of %s: %d %s", f.path, o.Error.Code, o.Error.Message)
		}
		up, ok := o.Actions["upload"]
		if !ok {
			continue // already stored
		}
		var err error
		if cs, ok := up.Header["chunk_size"]; ok {
			err = s.putMultipart(ctx, up, cs, f)
		} else {
			err = s.putSingle(ctx, up, f)
		}
		if err != nil {
			return err
		}
		if v, ok := o.Actions["verify"]; ok {
			h := lfsHeaders.Clone()
			for k, val := range v.Header {
				h.Set(k, val)
			}
			if _, err := s.call(ctx, http.MethodPost, v.Href, h, obj{f.sha, f.size}, nil); err != nil {
				return fmt.Errorf("hub: verify %s: %w", f.path, err)
			}
		}
		s.log.Info("uploaded", "path", f.path, "bytes", f.size)
	}
	return nil
}

// putSection PUTs size bytes of f from off to a signed URL; the body can be
// replayed, so the PUT is retried like any call.
func (s *Store) putSection(ctx context.Context, href string, hdr map[string]string, f localFile, off, size int64) (*http.Response, error) {
	in, err := os.Open(f.full)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, href, io.NewSectionReader(in, off, size))
	if err != nil {
		return nil, err
	}
	req.ContentLength = size
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(io.NewSectionReader(in, off, size)), nil }
	if size == 0 {
		req.Body, req.GetBody = http.NoBody, nil
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("hub: upload %s: %w", f.path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return nil, apiError(http.MethodPut, redact(href), resp)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp, nil
}

// redact drops a signed URL's query (its signature) from error messages.
func redact(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i] + "?…"
	}
	return u
}

// putSingle is the basic transfer: one PUT of the whole file. S3 refuses a
// single PUT over 5 GB, so a larger file the Hub offers no multipart
// upload for is refused here, before sending a byte.
func (s *Store) putSingle(ctx context.Context, a lfsAction, f localFile) error {
	if f.size > s.maxPut {
		return fmt.Errorf("hub: %s is %d bytes: over the %d a single upload may carry, and the Hub offered no multipart upload (chunk_size) for it", f.path, f.size, s.maxPut)
	}
	_, err := s.putSection(ctx, a.Href, a.Header, f, 0, f.size)
	return err
}

// putMultipart is the Hub's multipart transfer (lfs.py): the upload
// action's header holds chunk_size and one URL per part, keyed by part
// number; each part is PUT (retried on its own) and answers with an ETag;
// the completion call to the action's href lists the parts' ETags.
func (s *Store) putMultipart(ctx context.Context, a lfsAction, chunk string, f localFile) error {
	size, err := strconv.ParseInt(chunk, 10, 64)
	if err != nil || size <= 0 {
		return fmt.Errorf("hub: malformed LFS batch answer for %s: chunk_size %q", f.path, chunk)
	}
	type part struct {
		n   int
		url string
	}
	var parts []part
	for k, v := range a.Header {
		if n, err := strconv.Atoi(k); err == nil && k != "" && strings.Trim(k, "0123456789") == "" {
			parts = append(parts, part{n, v})
		}
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].n < parts[j].n })
	if want := (f.size + size - 1) / size; int64(len(parts)) != want {
		return fmt.Errorf("hub: multipart upload of %s: %d part URLs for %d parts of %d bytes", f.path, len(parts), want, size)
	}
	type done struct {
		PartNumber int    `json:"partNumber"`
		ETag       string `json:"etag"`
	}
	completed := make([]done, 0, len(parts))
	for i, p := range parts {
		off := int64(i) * size
		resp, err := s.putSection(ctx, p.url, nil, f, off, min(size, f.size-off))
		if err != nil {
			return fmt.Errorf("hub: part %d of %s: %w", i+1, f.path, err)
		}
		etag := resp.Header.Get("ETag")
		if etag == "" {
			return fmt.Errorf("hub: part %d of %s: no ETag in the answer", i+1, f.path)
		}
		completed = append(completed, done{i + 1, etag})
	}
	payload := map[string]any{"oid": f.sha, "parts": completed}
	body, _ := json.Marshal(payload)
	// As huggingface_hub: the completion goes with the LFS headers only.
	resp, err := s.request(ctx, http.MethodPost, a.Href, lfsHeaders.Clone(), body, false)
	if err != nil {
		return fmt.Errorf("hub: complete the upload of %s: %w", f.path, err)
	}
	resp.Body.Close()
	return nil
}

// List implements store.Store.
func (s *Store) List(ctx context.Context, repo, revision string) ([]store.File, error) {
	if err := store.CheckRepo(repo); err != nil {
		return nil, err
	}
	if !shaRe.MatchString(revision) {
		// Only a commit sha pins content; branch names move.
		return nil, fmt.Errorf("hub: revision %q of %s is not a commit sha: %w", revision, repo, store.ErrNotFound)
	}
	u := fmt.Sprintf("%s/api/datasets/%s/tree/%s?recursive=true", s.base, repo, revision)
	var files []store.File
	for pages := 0; u != ""; pages++ {
		if pages > 100_000 {
			return nil, fmt.Errorf("hub: %s@%s: the listing does not end", repo, revision)
		}
		var page []struct {
			Type string `json:"type"`
			Path string `json:"path"`
			Size int64  `json:"size"`
			LFS  *struct {
				OID  string `json:"oid"`
				Size int64  `json:"size"`
			} `json:"lfs"`
		}
		resp, err := s.call(ctx, http.MethodGet, u, nil, nil, &page)
		if err != nil {
			return nil, err
		}
		for _, e := range page {
			if e.Type != "file" {
				continue
			}
			f := store.File{Path: e.Path, Size: e.Size}
			if e.LFS != nil {
				f.SHA256, f.Size = e.LFS.OID, e.LFS.Size
			}
			files = append(files, f)
		}
		u = nextLink(resp.Header.Get("Link"))
		if u != "" && !strings.HasPrefix(u, s.base+"/") {
			return nil, fmt.Errorf("hub: listing of %s@%s points to another host (%s)", repo, revision, redact(u))
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

// nextLink returns the rel="next" URL of a Link header.
func nextLink(h string) string {
	for _, part := range strings.Split(h, ",") {
		if strings.Contains(part, `rel="next"`) {
			if i, j := strings.Index(part, "<"), strings.Index(part, ">"); i >= 0 && j > i {
				return part[i+1 : j]
			}
		}
	}
	return ""
}

// Open implements store.Store. The download follows the Hub's redirect to
// its storage host without the token, and a transfer cut mid-way resumes
// with a Range request.
func (s *Store) Open(ctx context.Context, repo, revision, path string) (io.ReadCloser, error) {
	if err := store.CheckRepo(repo); err != nil {
		return nil, err
	}
	if !shaRe.MatchString(revision) {
		return nil, fmt.Errorf("hub: revision %q of %s is not a commit sha: %w", revision, repo, store.ErrNotFound)
	}
	u := fmt.Sprintf("%s/datasets/%s/resolve/%s/%s", s.base, repo, revision, escapePath(path))
	hdr := http.Header{"Accept-Encoding": {"identity"}}
	if s.token != "" {
		hdr.Set("Authorization", "Bearer "+s.token)
	}
	st, err := retry.Open(ctx, u, retry.StreamOptions{Client: s.client, Header: hdr})
	var se *retry.StatusError
	if errors.As(err, &se) {
		return nil, apiError(http.MethodGet, u, se.Response)
	}
	if err != nil {
		return nil, fmt.Errorf("hub: GET %s: %w", u, err)
	}
	return st, nil
}

var _ store.Tagger = (*Store)(nil)

// Tag implements store.Tagger with the Hub's tag endpoint (POST
// /api/datasets/{repo}/tag/{revision}, as huggingface_hub's create_tag); the
// Hub answers 409 for an existing tag, which is fine when it names the
// same revision.
func (s *Store) Tag(ctx context.Context, repo, revision, tag string) error {
	if err := store.CheckRepo(repo); err != nil {
		return err
	}
	if err := store.CheckTag(tag); err != nil {
		return err
	}
	if !shaRe.MatchString(revision) {
		return fmt.Errorf("hub: tag %s: revision %q is not a commit sha", tag, revision)
	}
	if s.token == "" {
		return errNoToken
	}
	_, err := s.call(ctx, http.MethodPost, fmt.Sprintf("%s/api/datasets/%s/tag/%s", s.base, repo, revision), nil, map[string]string{"tag": tag}, nil)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusConflict {
		old, rerr := s.Resolve(ctx, repo, tag)
		if rerr != nil {
			return rerr
		}
		if old != revision {
			return fmt.Errorf("hub: %s: tag %s names %s: %w", repo, tag, old, store.ErrTagExists)
		}
		return nil
	}
	return err
}

// Resolve implements store.Tagger with the Hub's revision endpoint (GET
// /api/datasets/{repo}/revision/{ref}, whose answer carries the sha).
func (s *Store) Resolve(ctx context.Context, repo, ref string) (string, error) {
	if err := store.CheckRepo(repo); err != nil {
		return "", err
	}
	if ref != "main" {
		if err := store.CheckTag(ref); err != nil {
			return "", fmt.Errorf("hub: %s: %v: %w", repo, err, store.ErrNotFound)
		}
	}
	var out struct {
		SHA string `json:"sha"`
	}
	if _, err := s.call(ctx, http.MethodGet, fmt.Sprintf("%s/api/datasets/%s/revision/%s", s.base, repo, url.PathEscape(ref)), nil, nil, &out); err != nil {
		return "", err
	}
	if !shaRe.MatchString(out.SHA) {
		return "", fmt.Errorf("hub: %s: %s resolved to %q, not a commit sha", repo, ref, out.SHA)
	}
	return out.SHA, nil
}
