// Package hub is a dataset store on the Hugging Face Hub: each miner
// publishes to a dataset repository, one commit per submission, and the
// commit sha is the pinned revision that validators read.
//
// Hub endpoints used (all under Options.Endpoint, default
// https://huggingface.co; documented in docs/store.md):
//
//	POST /api/repos/create                              create the dataset repo
//	POST /api/datasets/{repo}/preupload/{rev}           which files go through LFS
//	POST /datasets/{repo}.git/info/lfs/objects/batch    LFS batch API (basic transfer)
//	PUT  <upload href>, POST <verify href>              LFS object upload and verify
//	POST /api/datasets/{repo}/commit/{rev}              NDJSON commit (header, file, lfsFile lines)
//	GET  /api/datasets/{repo}/tree/{rev}?recursive=true list files (paginated by Link headers)
//	GET  /datasets/{repo}/resolve/{rev}/{path}          read a file at a revision
package hub

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/datarefine/refine/store"
)

// Options configures a Hub store.
type Options struct {
	// Endpoint is the Hub's base URL (default https://huggingface.co, or
	// $HF_ENDPOINT).
	Endpoint string
	// Token is a Hub access token; default $HF_TOKEN, else the token file
	// ($HF_TOKEN_PATH, $HF_HOME/token, ~/.cache/huggingface/token).
	Token string
	// Client is the HTTP client (default: 10-minute timeout per request).
	Client *http.Client
	// Private creates new repositories as private.
	Private bool
}

// Store is a Hugging Face Hub dataset store.
type Store struct {
	base   string
	token  string
	client *http.Client
	priv   bool
}

var _ store.Store = (*Store)(nil)

// New returns a Hub store. Reading public repos needs no token; publishing does.
func New(opts Options) *Store {
	if opts.Endpoint == "" {
		opts.Endpoint = os.Getenv("HF_ENDPOINT")
	}
	if opts.Endpoint == "" {
		opts.Endpoint = "https://huggingface.co"
	}
	if opts.Token == "" {
		opts.Token = Token()
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Minute}
	}
	return &Store{base: strings.TrimRight(opts.Endpoint, "/"), token: opts.Token, client: opts.Client, priv: opts.Private}
}

// Token finds a Hub token the way huggingface_hub does: $HF_TOKEN, then the
// token file.
func Token() string {
	if t := strings.TrimSpace(os.Getenv("HF_TOKEN")); t != "" {
		return t
	}
	var paths []string
	if p := os.Getenv("HF_TOKEN_PATH"); p != "" {
		paths = append(paths, p)
	}
	if h := os.Getenv("HF_HOME"); h != "" {
		paths = append(paths, filepath.Join(h, "token"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		paths = append(paths, filepath.Join(home, ".cache", "huggingface", "token"))
	}
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			if t := strings.TrimSpace(string(b)); t != "" {
				return t
			}
		}
	}
	return ""
}

// APIError is a Hub response with an error status.
type APIError struct {
	Status  int
	Method  string
	URL     string
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("hub: %s %s: HTTP %d: %s", e.Method, e.URL, e.Status, e.Message)
}

// Is makes 404 responses match store.ErrNotFound.
func (e *APIError) Is(target error) bool {
	return target == store.ErrNotFound && e.Status == http.StatusNotFound
}

func (s *Store) do(ctx context.Context, method, u string, hdr http.Header, body io.Reader, out any) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if s.token != "" && strings.HasPrefix(u, s.base) {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("hub: %s %s: %w", method, u, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(msg, &e) == nil && e.Error != "" {
			msg = []byte(e.Error)
		}
		return resp, &APIError{Status: resp.StatusCode, Method: method, URL: u, Message: strings.TrimSpace(string(msg))}
	}
	if out != nil {
		defer resp.Body.Close()
		if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out); err != nil {
			return resp, fmt.Errorf("hub: %s %s: decode response: %w", method, u, err)
		}
	}
	return resp, nil
}

func jsonBody(v any) (io.Reader, http.Header) {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b), http.Header{"Content-Type": {"application/json"}}
}

func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i := range parts {
		parts[i] = url.PathEscape(parts[i])
	}
	return strings.Join(parts, "/")
}

// Create implements store.Store: it creates the dataset repository; an
// existing one is fine.
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
	body, hdr := jsonBody(req)
	_, err := s.do(ctx, http.MethodPost, s.base+"/api/repos/create", hdr, body, nil)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusConflict {
		return nil
	}
	return err
}

var errNoToken = errors.New("hub: no token: set HF_TOKEN or log in with `hf auth login`")

type localFile struct {
	path, full string
	size       int64
	sha        string
	sample     []byte
}

// Publish implements store.Store: one commit on main with every file;
// files the Hub wants in LFS (by its preupload answer) are uploaded through
// the LFS batch API first.
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
	if _, err := s.do(ctx, http.MethodPost, u, http.Header{"Content-Type": {"application/x-ndjson"}}, &buf, &out); err != nil {
		return "", err
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

func (s *Store) preupload(ctx context.Context, repo, rev string, files []localFile) (map[string]string, error) {
	modes := map[string]string{}
	for i := 0; i < len(files); i += 100 {
		chunk := files[i:min(i+100, len(files))]
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
		body, hdr := jsonBody(req)
		if _, err := s.do(ctx, http.MethodPost, fmt.Sprintf("%s/api/datasets/%s/preupload/%s", s.base, repo, rev), hdr, body, &out); err != nil {
			return nil, err
		}
		for _, f := range out.Files {
			modes[f.Path] = f.UploadMode
		}
	}
	return modes, nil
}

type lfsAction struct {
	Href   string            `json:"href"`
	Header map[string]string `json:"header"`
}

// uploadLFS sends large files through the Git LFS batch API (basic
// transfer): objects the Hub already has come back without actions.
func (s *Store) uploadLFS(ctx context.Context, repo, rev string, files []localFile) error {
	if len(files) == 0 {
		return nil
	}
	type obj struct {
		OID  string `json:"oid"`
		Size int64  `json:"size"`
	}
	req := map[string]any{
		"operation": "upload", "transfers": []string{"basic"}, "hash_algo": "sha256",
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
	b, _ := json.Marshal(req)
	hdr := http.Header{"Content-Type": {"application/vnd.git-lfs+json"}, "Accept": {"application/vnd.git-lfs+json"}}
	if _, err := s.do(ctx, http.MethodPost, fmt.Sprintf("%s/datasets/%s.git/info/lfs/objects/batch", s.base, repo), hdr, bytes.NewReader(b), &out); err != nil {
		return err
	}
	for _, o := range out.Objects {
		if o.Error != nil {
			return fmt.Errorf("hub: LFS object %s: %d %s", o.OID, o.Error.Code, o.Error.Message)
		}
		f, ok := byOID[o.OID]
		if !ok {
			return fmt.Errorf("hub: LFS batch answered for unknown object %s", o.OID)
		}
		up, ok := o.Actions["upload"]
		if !ok {
			continue // already stored
		}
		if err := s.putLFS(ctx, up, f); err != nil {
			return err
		}
		if v, ok := o.Actions["verify"]; ok {
			body, _ := json.Marshal(obj{f.sha, f.size})
			h := http.Header{"Content-Type": {"application/vnd.git-lfs+json"}, "Accept": {"application/vnd.git-lfs+json"}}
			for k, val := range v.Header {
				h.Set(k, val)
			}
			if _, err := s.do(ctx, http.MethodPost, v.Href, h, bytes.NewReader(body), nil); err != nil {
				return fmt.Errorf("hub: verify %s: %w", f.path, err)
			}
		}
	}
	return nil
}

func (s *Store) putLFS(ctx context.Context, a lfsAction, f localFile) error {
	in, err := os.Open(f.full)
	if err != nil {
		return err
	}
	defer in.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, a.Href, in)
	if err != nil {
		return err
	}
	req.ContentLength = f.size
	for k, v := range a.Header {
		req.Header.Set(k, v)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("hub: upload %s: %w", f.path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("hub: upload %s: HTTP %d: %s", f.path, resp.StatusCode, msg)
	}
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
	for u != "" {
		var page []struct {
			Type string `json:"type"`
			Path string `json:"path"`
			Size int64  `json:"size"`
			LFS  *struct {
				OID  string `json:"oid"`
				Size int64  `json:"size"`
			} `json:"lfs"`
		}
		resp, err := s.do(ctx, http.MethodGet, u, nil, nil, &page)
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

// Open implements store.Store.
func (s *Store) Open(ctx context.Context, repo, revision, path string) (io.ReadCloser, error) {
	if err := store.CheckRepo(repo); err != nil {
		return nil, err
	}
	if !shaRe.MatchString(revision) {
		return nil, fmt.Errorf("hub: revision %q of %s is not a commit sha: %w", revision, repo, store.ErrNotFound)
	}
	u := fmt.Sprintf("%s/datasets/%s/resolve/%s/%s", s.base, repo, revision, escapePath(path))
	resp, err := s.do(ctx, http.MethodGet, u, nil, nil, nil)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{bufio.NewReaderSize(resp.Body, 1<<16), resp.Body}, nil
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
	body, hdr := jsonBody(map[string]string{"tag": tag})
	_, err := s.do(ctx, http.MethodPost, fmt.Sprintf("%s/api/datasets/%s/tag/%s", s.base, repo, revision), hdr, body, nil)
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
	if _, err := s.do(ctx, http.MethodGet, fmt.Sprintf("%s/api/datasets/%s/revision/%s", s.base, repo, url.PathEscape(ref)), nil, nil, &out); err != nil {
		return "", err
	}
	if !shaRe.MatchString(out.SHA) {
		return "", fmt.Errorf("hub: %s: %s resolved to %q, not a commit sha", repo, ref, out.SHA)
	}
	return out.SHA, nil
}
