// Package hubtest is an in-process Hugging Face Hub for tests: the
// endpoints store/hub uses, served over real HTTP on loopback, behaving as
// the Hub does as far as huggingface_hub's client (hf_api.py,
// _commit_api.py, lfs.py, utils/_http.py) and the Hub's answers show:
//
//   - a new repository's first commit adds .gitattributes;
//   - a commit applies on top of the branch head: files it does not
//     mention stay (parentCommit, when given, must be the head: 412);
//   - preupload says "lfs" for paths the repository's .gitattributes marks,
//     for files over LFSThreshold and for binary samples, else "regular";
//   - the LFS batch API answers with upload and verify actions, and for
//     objects over MultipartThreshold (when the client offers "multipart")
//     with a multipart upload: a chunk_size and one signed URL per part in
//     the upload action's header, and the Hub's completion endpoint as its
//     href; parts answer with an ETag the completion must list;
//   - uploads and LFS downloads go to a storage host of their own (another
//     origin on loopback) by signed URL: a request that brings the Hub
//     token there is recorded as a leak; a single PUT over MaxSinglePut is
//     refused, as S3 refuses one over 5 GB;
//   - resolve answers 200 for regular files and 302 to the storage host
//     for LFS files; the tree listing pages with Link headers;
//   - errors carry X-Error-Code (RepoNotFound, RevisionNotFound,
//     EntryNotFound) and X-Error-Message; a missing repository is a 401 to
//     an anonymous reader and a 404 to an authenticated one; a wrong token
//     is a 401 "Invalid credentials in Authorization header";
//   - Fail injects 429s (with the RateLimit, RateLimit-Policy and
//     Retry-After headers the Hub sends), 5xx and connection resets.
package hubtest

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datarefine/refine/store"
)

// Hub is a fake Hugging Face Hub.
type Hub struct {
	// URL is the Hub's endpoint; StorageURL the storage host's base.
	URL, StorageURL string
	// Token is the one valid access token.
	Token string

	// LFSThreshold: preupload sends larger files to LFS (the Hub: 10 MB).
	LFSThreshold int64
	// MultipartThreshold and ChunkSize: LFS objects over the threshold are
	// uploaded in parts of ChunkSize when the client offers "multipart".
	MultipartThreshold, ChunkSize int64
	// MaxSinglePut is the largest single PUT the storage accepts (S3: 5 GB).
	MaxSinglePut int64
	// PageSize is the tree listing's page size.
	PageSize int
	// RetryAfter is the wait, in seconds, a 429 asks for.
	RetryAfter int

	hub, storage *httptest.Server

	mu         sync.Mutex
	repos      map[string]*repo
	lfs        map[string][]byte // oid → content, uploaded
	pending    map[string]bool   // uploaded, not verified
	uploads    map[string]*multipart
	faults     map[string][]int
	served     int
	requests   []string
	leaks      []string
	redirects  int
	lastCommit []map[string]any
}

type repo struct {
	head    string
	tags    map[string]string          // tag → commit
	commits map[string]map[string]file // commit → path → file
}

type file struct {
	content []byte
	lfsOID  string // "" for a regular file
}

type multipart struct {
	oid   string
	size  int64
	parts map[int][]byte
}

// Routes that Fail can target.
const (
	RouteCreate    = "create"
	RoutePreupload = "preupload"
	RouteBatch     = "batch"
	RouteUpload    = "upload"   // storage: single PUT
	RoutePart      = "part"     // storage: one part of a multipart upload
	RouteComplete  = "complete" // Hub: multipart completion
	RouteVerify    = "verify"
	RouteCommit    = "commit"
	RouteTree      = "tree"
	RouteResolve   = "resolve"
	RouteDownload  = "download" // storage: an LFS object by signed URL
	RouteTag       = "tag"
	RouteRevision  = "revision"
)

// Reset is the status Fail takes for a connection closed without answer.
const Reset = 0

// New starts a fake Hub, stopped when the test ends.
func New(t testing.TB) *Hub {
	h := &Hub{
		Token: "hf_test", LFSThreshold: 10_000, MultipartThreshold: 200_000, ChunkSize: 64 << 10,
		MaxSinglePut: 5 << 30, PageSize: 3, RetryAfter: 1,
		repos: map[string]*repo{}, lfs: map[string][]byte{}, pending: map[string]bool{},
		uploads: map[string]*multipart{}, faults: map[string][]int{},
	}
	h.hub = httptest.NewServer(http.HandlerFunc(h.serveHub))
	h.storage = httptest.NewServer(http.HandlerFunc(h.serveStorage))
	t.Cleanup(h.hub.Close)
	t.Cleanup(h.storage.Close)
	h.URL = h.hub.URL
	// Another origin on loopback (another port), as the Hub's CDN is
	// another host. Go's own redirect rule would keep the token for the
	// same host name on another port; the client must drop it itself.
	h.StorageURL = h.storage.URL
	return h
}

// Fail makes the next requests to route fail, one status each, in order:
// 429 (with RateLimit headers), 5xx, or Reset.
func (h *Hub) Fail(route string, statuses ...int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults[route] = append(h.faults[route], statuses...)
}

// Served is the number of injected failures served so far.
func (h *Hub) Served() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.served
}

// Pending is the number of injected failures not served yet.
func (h *Hub) Pending() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, f := range h.faults {
		n += len(f)
	}
	return n
}

// Leaks lists requests that brought the Hub token to the storage host.
func (h *Hub) Leaks() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.leaks)
}

// Redirects is the number of downloads redirected to the storage host.
func (h *Hub) Redirects() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.redirects
}

// Requests is the log of requests, "route METHOD path".
func (h *Hub) Requests() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.requests)
}

// LastCommit is the last commit's NDJSON lines.
func (h *Hub) LastCommit() []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.lastCommit)
}

// Head is the commit main points at in repo ("" if no such repo).
func (h *Hub) Head(repoID string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r, ok := h.repos[repoID]; ok {
		return r.head
	}
	return ""
}

// fault serves an injected failure for route, if one is queued.
func (h *Hub) fault(w http.ResponseWriter, route string) bool {
	q := h.faults[route]
	if len(q) == 0 {
		return false
	}
	status := q[0]
	h.faults[route] = q[1:]
	h.served++
	switch status {
	case Reset:
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
		}
	case http.StatusTooManyRequests:
		ra := strconv.Itoa(h.RetryAfter)
		w.Header().Set("RateLimit", `"api";r=0;t=`+ra)
		w.Header().Set("RateLimit-Policy", `"fixed window";"api";q=500;w=300`)
		w.Header().Set("Retry-After", ra)
		h.fail(w, status, "", "You have exceeded our hourly quotas for action: api. We invite you to retry later.")
	default:
		h.fail(w, status, "", http.StatusText(status))
	}
	return true
}

// fail writes an error as the Hub does: JSON {"error"} with X-Error-Code
// and X-Error-Message headers.
func (h *Hub) fail(w http.ResponseWriter, status int, code, msg string) {
	if code != "" {
		w.Header().Set("X-Error-Code", code)
	}
	w.Header().Set("X-Error-Message", msg)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// auth checks the Authorization header: "" (anonymous), "ok", or "bad"
// (answered with the Hub's 401).
func (h *Hub) auth(w http.ResponseWriter, r *http.Request) string {
	a := r.Header.Get("Authorization")
	switch {
	case a == "":
		return ""
	case a == "Bearer "+h.Token:
		return "ok"
	}
	h.fail(w, http.StatusUnauthorized, "", "Invalid credentials in Authorization header")
	return "bad"
}

// needAuth answers 401 unless the request carries the token.
func (h *Hub) needAuth(w http.ResponseWriter, r *http.Request) bool {
	switch h.auth(w, r) {
	case "ok":
		return true
	case "":
		h.fail(w, http.StatusUnauthorized, "", "Invalid username or password.")
	}
	return false
}

// repoOf finds a repository, answering as the Hub does when it is missing.
func (h *Hub) repoOf(w http.ResponseWriter, authed bool, id string) *repo {
	if rp, ok := h.repos[id]; ok {
		return rp
	}
	status := http.StatusNotFound
	if !authed {
		status = http.StatusUnauthorized // the Hub hides private repos this way
	}
	h.fail(w, status, "RepoNotFound", "Repository not found")
	return nil
}

// commitOf resolves a revision (a commit sha or "main").
func (h *Hub) commitOf(w http.ResponseWriter, rp *repo, rev string) (string, map[string]file) {
	if rev == "main" {
		rev = rp.head
	}
	files, ok := rp.commits[rev]
	if !ok {
		h.fail(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return "", nil
	}
	return rev, files
}

func (h *Hub) log(route string, r *http.Request) {
	h.requests = append(h.requests, route+" "+r.Method+" "+r.URL.Path)
}

func (h *Hub) serveHub(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := r.URL.Path
	var route string
	switch {
	case r.Method == http.MethodPost && p == "/api/repos/create":
		route = RouteCreate
	case r.Method == http.MethodPost && strings.HasPrefix(p, "/api/datasets/") && strings.Contains(p, "/preupload/"):
		route = RoutePreupload
	case r.Method == http.MethodPost && strings.HasPrefix(p, "/datasets/") && strings.HasSuffix(p, ".git/info/lfs/objects/batch"):
		route = RouteBatch
	case r.Method == http.MethodPost && strings.HasPrefix(p, "/lfs/complete/"):
		route = RouteComplete
	case r.Method == http.MethodPost && p == "/lfs/verify":
		route = RouteVerify
	case r.Method == http.MethodPost && strings.HasPrefix(p, "/api/datasets/") && strings.Contains(p, "/commit/"):
		route = RouteCommit
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/api/datasets/") && strings.Contains(p, "/tree/"):
		route = RouteTree
	case (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.HasPrefix(p, "/datasets/") && strings.Contains(p, "/resolve/"):
		route = RouteResolve
	case r.Method == http.MethodPost && strings.HasPrefix(p, "/api/datasets/") && strings.Contains(p, "/tag/"):
		route = RouteTag
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/api/datasets/") && strings.Contains(p, "/revision/"):
		route = RouteRevision
	default:
		h.fail(w, http.StatusNotFound, "", "no route "+r.Method+" "+p)
		return
	}
	h.log(route, r)
	if h.fault(w, route) {
		return
	}
	switch route {
	case RouteCreate:
		h.create(w, r)
	case RoutePreupload:
		h.preupload(w, r)
	case RouteBatch:
		h.batch(w, r)
	case RouteComplete:
		h.complete(w, r)
	case RouteVerify:
		h.verify(w, r)
	case RouteCommit:
		h.commit(w, r)
	case RouteTree:
		h.tree(w, r)
	case RouteResolve:
		h.resolve(w, r)
	case RouteTag:
		h.tag(w, r)
	case RouteRevision:
		h.revision(w, r)
	}
}

// tag is create_tag: POST /api/datasets/{repo}/tag/{revision} {"tag",
// "message"}; 409 when the tag exists, 404 for an unknown revision.
func (h *Hub) tag(w http.ResponseWriter, r *http.Request) {
	if !h.needAuth(w, r) {
		return
	}
	id, rev := repoFromAPI(r.URL.Path, "tag")
	rp := h.repoOf(w, true, id)
	if rp == nil {
		return
	}
	var body struct {
		Tag     string `json:"tag"`
		Message string `json:"message"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Tag == "" {
		h.fail(w, http.StatusBadRequest, "", "bad tag request")
		return
	}
	commit, files := h.commitOf(w, rp, rev)
	if files == nil {
		return
	}
	if _, ok := rp.tags[body.Tag]; ok || body.Tag == "main" {
		h.fail(w, http.StatusConflict, "", "Tag reference exists already")
		return
	}
	if rp.tags == nil {
		rp.tags = map[string]string{}
	}
	rp.tags[body.Tag] = commit
	json.NewEncoder(w).Encode(map[string]any{"name": body.Tag})
}

// revision is the repo info at a revision (a branch, tag or sha): its
// "sha" is the commit it names now.
func (h *Hub) revision(w http.ResponseWriter, r *http.Request) {
	a := h.auth(w, r)
	if a == "bad" {
		return
	}
	id, ref := repoFromAPI(r.URL.Path, "revision")
	rp := h.repoOf(w, a == "ok", id)
	if rp == nil {
		return
	}
	if sha, ok := rp.tags[ref]; ok {
		ref = sha
	}
	commit, files := h.commitOf(w, rp, ref)
	if files == nil {
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"id": id, "sha": commit})
}

func (h *Hub) create(w http.ResponseWriter, r *http.Request) {
	if !h.needAuth(w, r) {
		return
	}
	var req struct {
		Type, Name, Organization string
		Private                  bool
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		h.fail(w, http.StatusBadRequest, "", "bad JSON")
		return
	}
	if req.Type != "dataset" {
		h.fail(w, http.StatusBadRequest, "", "this fake serves dataset repos only")
		return
	}
	id := req.Name
	if req.Organization != "" {
		id = req.Organization + "/" + req.Name
	}
	if store.CheckRepo(id) != nil {
		h.fail(w, http.StatusBadRequest, "", "Invalid repo name")
		return
	}
	if _, ok := h.repos[id]; ok {
		h.fail(w, http.StatusConflict, "", "You already created this dataset repo")
		return
	}
	// The Hub's first commit of a repository adds .gitattributes.
	init := hexSHA1([]byte("initial commit of " + id))
	h.repos[id] = &repo{head: init, commits: map[string]map[string]file{
		init: {".gitattributes": {content: []byte(store.GitAttributes)}},
	}}
	json.NewEncoder(w).Encode(map[string]string{"url": h.URL + "/datasets/" + id, "name": id})
}

// repoFromAPI extracts the repo id from /api/datasets/{repo}/{verb}/{rev}.
func repoFromAPI(p, verb string) (id, rest string) {
	p = strings.TrimPrefix(p, "/api/datasets/")
	i := strings.Index(p, "/"+verb+"/")
	return p[:i], p[i+len(verb)+2:]
}

// lfsPatterns reads the LFS patterns of a .gitattributes file.
func lfsPatterns(ga []byte) []string {
	var out []string
	for _, line := range strings.Split(string(ga), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && slices.Contains(f[1:], "filter=lfs") {
			out = append(out, f[0])
		}
	}
	return out
}

func (h *Hub) preupload(w http.ResponseWriter, r *http.Request) {
	if !h.needAuth(w, r) {
		return
	}
	id, rev := repoFromAPI(r.URL.Path, "preupload")
	rp := h.repoOf(w, true, id)
	if rp == nil {
		return
	}
	_, head := h.commitOf(w, rp, rev)
	if head == nil {
		return
	}
	var req struct {
		Files []struct {
			Path, Sample string
			Size         int64
		}
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		h.fail(w, http.StatusBadRequest, "", "bad JSON")
		return
	}
	patterns := lfsPatterns(head[".gitattributes"].content)
	var out []map[string]any
	for _, f := range req.Files {
		sample, err := base64.StdEncoding.DecodeString(f.Sample)
		if err != nil || len(sample) > 512 {
			h.fail(w, http.StatusBadRequest, "", "sample must be base64 of at most 512 bytes")
			return
		}
		mode := "regular"
		matched := slices.ContainsFunc(patterns, func(pat string) bool { ok, _ := path.Match(pat, path.Base(f.Path)); return ok })
		if matched || f.Size > h.LFSThreshold || bytes.IndexByte(sample, 0) >= 0 {
			mode = "lfs"
		}
		e := map[string]any{"path": f.Path, "uploadMode": mode, "shouldIgnore": false}
		if cur, ok := head[f.Path]; ok {
			e["oid"] = cur.oid()
		}
		out = append(out, e)
	}
	json.NewEncoder(w).Encode(map[string]any{"files": out, "commitOid": rp.head})
}

// oid is a file's id in listings: the LFS sha256, or the git blob sha1.
func (f file) oid() string {
	if f.lfsOID != "" {
		return f.lfsOID
	}
	return hexSHA1([]byte(fmt.Sprintf("blob %d\x00%s", len(f.content), f.content)))
}

func (h *Hub) sign(p string) string {
	return h.StorageURL + p + "?X-Amz-Signature=" + hexSHA1([]byte(p + h.Token))[:16]
}

func (h *Hub) signed(r *http.Request) bool {
	return r.URL.Query().Get("X-Amz-Signature") == hexSHA1([]byte(r.URL.Path + h.Token))[:16]
}

func (h *Hub) batch(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Accept") != "application/vnd.git-lfs+json" {
		h.fail(w, http.StatusNotAcceptable, "", "Accept must be application/vnd.git-lfs+json")
		return
	}
	if !h.needAuth(w, r) {
		return
	}
	id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/datasets/"), ".git/info/lfs/objects/batch")
	if h.repoOf(w, true, id) == nil {
		return
	}
	var req struct {
		Operation string
		Transfers []string
		HashAlgo  string `json:"hash_algo"`
		Objects   []struct {
			OID  string
			Size int64
		}
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Operation != "upload" {
		h.fail(w, http.StatusBadRequest, "", "want an upload batch")
		return
	}
	multi := slices.Contains(req.Transfers, "multipart")
	transfer := "basic"
	var objs []map[string]any
	for _, o := range req.Objects {
		obj := map[string]any{"oid": o.OID, "size": o.Size}
		if len(o.OID) != 64 || o.Size < 0 {
			obj["error"] = map[string]any{"code": 422, "message": "invalid object"}
			objs = append(objs, obj)
			continue
		}
		if b, ok := h.lfs[o.OID]; ok && !h.pending[o.OID] && int64(len(b)) == o.Size {
			objs = append(objs, obj) // already stored: no actions
			continue
		}
		verify := map[string]any{"href": h.URL + "/lfs/verify"}
		switch {
		case multi && o.Size > h.MultipartThreshold:
			transfer = "multipart"
			uid := hexSHA1([]byte(fmt.Sprintf("%s-%d", o.OID, len(h.uploads))))[:12]
			h.uploads[uid] = &multipart{oid: o.OID, size: o.Size, parts: map[int][]byte{}}
			hdr := map[string]string{"chunk_size": strconv.FormatInt(h.ChunkSize, 10)}
			for n := 1; int64(n-1)*h.ChunkSize < o.Size; n++ {
				hdr[fmt.Sprintf("%05d", n)] = h.sign(fmt.Sprintf("/part/%s/%d", uid, n))
			}
			obj["actions"] = map[string]any{
				"upload": map[string]any{"href": h.URL + "/lfs/complete/" + o.OID + "/" + uid, "header": hdr},
				"verify": verify,
			}
		case o.Size > h.MaxSinglePut:
			obj["error"] = map[string]any{"code": 422, "message": "object too large for a single upload; use multipart"}
		default:
			obj["actions"] = map[string]any{
				"upload": map[string]any{"href": h.sign("/upload/" + o.OID)},
				"verify": verify,
			}
		}
		objs = append(objs, obj)
	}
	w.Header().Set("Content-Type", "application/vnd.git-lfs+json")
	json.NewEncoder(w).Encode(map[string]any{"transfer": transfer, "objects": objs, "hash_algo": "sha256"})
}

func (h *Hub) complete(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/lfs/complete/")
	oid, uid, _ := strings.Cut(rest, "/")
	up, ok := h.uploads[uid]
	if !ok || up.oid != oid {
		h.fail(w, http.StatusNotFound, "", "no such upload")
		return
	}
	var req struct {
		OID   string
		Parts []struct {
			PartNumber int
			ETag       string
		}
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.OID != oid {
		h.fail(w, http.StatusBadRequest, "", "bad completion payload")
		return
	}
	if len(req.Parts) != len(up.parts) {
		h.fail(w, http.StatusBadRequest, "", fmt.Sprintf("%d parts listed, %d uploaded", len(req.Parts), len(up.parts)))
		return
	}
	var all []byte
	for i, p := range req.Parts {
		b, ok := up.parts[p.PartNumber]
		if p.PartNumber != i+1 || !ok || p.ETag != partETag(b) {
			h.fail(w, http.StatusBadRequest, "", fmt.Sprintf("part %d: wrong number or etag", i+1))
			return
		}
		all = append(all, b...)
	}
	if int64(len(all)) != up.size || hexSHA256(all) != oid {
		h.fail(w, http.StatusBadRequest, "", "parts do not make the object")
		return
	}
	h.lfs[oid] = all
	h.pending[oid] = true
	delete(h.uploads, uid)
	json.NewEncoder(w).Encode(map[string]any{"success": true})
}

func partETag(b []byte) string { return `"` + hexSHA1(b) + `"` }

func (h *Hub) verify(w http.ResponseWriter, r *http.Request) {
	if !h.needAuth(w, r) {
		return
	}
	var o struct {
		OID  string
		Size int64
	}
	json.NewDecoder(r.Body).Decode(&o)
	b, ok := h.lfs[o.OID]
	if !ok || int64(len(b)) != o.Size {
		h.fail(w, http.StatusNotFound, "", "object not found")
		return
	}
	delete(h.pending, o.OID)
	json.NewEncoder(w).Encode(map[string]any{"success": true})
}

func (h *Hub) commit(w http.ResponseWriter, r *http.Request) {
	if !h.needAuth(w, r) {
		return
	}
	id, rev := repoFromAPI(r.URL.Path, "commit")
	rp := h.repoOf(w, true, id)
	if rp == nil {
		return
	}
	if rev != "main" {
		h.fail(w, http.StatusBadRequest, "", "this fake commits to main only")
		return
	}
	if r.Header.Get("Content-Type") != "application/x-ndjson" {
		h.fail(w, http.StatusBadRequest, "", "want application/x-ndjson")
		return
	}
	// A commit applies on top of the branch: the head's files stay unless
	// the commit replaces them.
	files := map[string]file{}
	for p, f := range rp.commits[rp.head] {
		files[p] = f
	}
	sum := sha1.New()
	sum.Write([]byte(rp.head))
	var lines []map[string]any
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(nil, 64<<20)
	for n := 0; sc.Scan(); n++ {
		var line struct {
			Key   string          `json:"key"`
			Value json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			h.fail(w, http.StatusBadRequest, "", "bad NDJSON line")
			return
		}
		var generic map[string]any
		json.Unmarshal(sc.Bytes(), &generic)
		lines = append(lines, generic)
		sum.Write(sc.Bytes())
		if (n == 0) != (line.Key == "header") {
			h.fail(w, http.StatusBadRequest, "", "the header line must come first, once")
			return
		}
		switch line.Key {
		case "header":
			var v struct {
				Summary      string
				ParentCommit string `json:"parentCommit"`
			}
			json.Unmarshal(line.Value, &v)
			if v.Summary == "" {
				h.fail(w, http.StatusBadRequest, "", "commit summary is required")
				return
			}
			if v.ParentCommit != "" && v.ParentCommit != rp.head {
				h.fail(w, http.StatusPreconditionFailed, "", "A commit has happened since. Please refresh and try again.")
				return
			}
		case "file":
			var v struct{ Path, Content, Encoding string }
			json.Unmarshal(line.Value, &v)
			b, err := base64.StdEncoding.DecodeString(v.Content)
			if err != nil || v.Encoding != "base64" {
				h.fail(w, http.StatusBadRequest, "", "bad file content")
				return
			}
			files[v.Path] = file{content: b}
		case "lfsFile":
			var v struct {
				Path, Algo, OID string
				Size            int64
			}
			json.Unmarshal(line.Value, &v)
			b, ok := h.lfs[v.OID]
			if !ok || h.pending[v.OID] || int64(len(b)) != v.Size || v.Algo != "sha256" {
				h.fail(w, http.StatusBadRequest, "", "LFS object "+v.OID+" missing or unverified")
				return
			}
			files[v.Path] = file{content: b, lfsOID: v.OID}
		default:
			h.fail(w, http.StatusBadRequest, "", "unknown key "+line.Key)
			return
		}
	}
	if err := sc.Err(); err != nil {
		h.fail(w, http.StatusBadRequest, "", err.Error())
		return
	}
	oid := hex.EncodeToString(sum.Sum(nil))
	rp.commits[oid] = files
	rp.head = oid
	h.lastCommit = lines
	json.NewEncoder(w).Encode(map[string]any{"success": true, "commitOid": oid, "commitUrl": h.URL + "/datasets/" + id + "/commit/" + oid})
}

func (h *Hub) tree(w http.ResponseWriter, r *http.Request) {
	a := h.auth(w, r)
	if a == "bad" {
		return
	}
	id, rest := repoFromAPI(r.URL.Path, "tree")
	rp := h.repoOf(w, a == "ok", id)
	if rp == nil {
		return
	}
	rev, _, _ := strings.Cut(rest, "/")
	_, files := h.commitOf(w, rp, rev)
	if files == nil {
		return
	}
	// Entries as the Hub lists them recursively: folders and files, by path.
	type entry struct {
		path string
		f    *file
	}
	var entries []entry
	dirs := map[string]bool{}
	for p := range files {
		f := files[p]
		entries = append(entries, entry{p, &f})
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if !dirs[d] {
				dirs[d] = true
				entries = append(entries, entry{d, nil})
			}
		}
	}
	if r.URL.Query().Get("recursive") != "true" {
		h.fail(w, http.StatusBadRequest, "", "this fake lists recursively only")
		return
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.path, b.path) })
	start, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
	end := min(start+h.PageSize, len(entries))
	out := []map[string]any{}
	for _, e := range entries[min(start, end):end] {
		if e.f == nil {
			out = append(out, map[string]any{"type": "directory", "oid": hexSHA1([]byte(e.path)), "size": 0, "path": e.path})
			continue
		}
		m := map[string]any{"type": "file", "oid": e.f.oid(), "size": len(e.f.content), "path": e.path}
		if e.f.lfsOID != "" {
			m["lfs"] = map[string]any{"oid": e.f.lfsOID, "size": len(e.f.content), "pointerSize": 134}
			m["size"] = len(e.f.content)
			m["oid"] = hexSHA1([]byte("pointer " + e.f.lfsOID)) // the pointer's blob
		}
		out = append(out, m)
	}
	if end < len(entries) {
		q := r.URL.Query()
		q.Set("cursor", strconv.Itoa(end))
		w.Header().Set("Link", fmt.Sprintf(`<%s%s?%s>; rel="next"`, h.URL, r.URL.Path, q.Encode()))
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

func (h *Hub) resolve(w http.ResponseWriter, r *http.Request) {
	a := h.auth(w, r)
	if a == "bad" {
		return
	}
	rest := strings.TrimPrefix(r.URL.Path, "/datasets/")
	i := strings.Index(rest, "/resolve/")
	rp := h.repoOf(w, a == "ok", rest[:i])
	if rp == nil {
		return
	}
	rev, p, _ := strings.Cut(rest[i+len("/resolve/"):], "/")
	commit, files := h.commitOf(w, rp, rev)
	if files == nil {
		return
	}
	f, ok := files[p]
	if !ok {
		h.fail(w, http.StatusNotFound, "EntryNotFound", "Entry not found")
		return
	}
	w.Header().Set("X-Repo-Commit", commit)
	if f.lfsOID != "" {
		// LFS content lives on the storage host; the Hub redirects there
		// with a signed URL that needs no token.
		h.redirects++
		w.Header().Set("X-Linked-Etag", `"`+f.lfsOID+`"`)
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(f.content)))
		http.Redirect(w, r, h.sign("/obj/"+f.lfsOID), http.StatusFound)
		return
	}
	w.Header().Set("ETag", `"`+f.oid()+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.content))
}

func (h *Hub) serveStorage(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := r.URL.Path
	var route string
	switch {
	case r.Method == http.MethodPut && strings.HasPrefix(p, "/upload/"):
		route = RouteUpload
	case r.Method == http.MethodPut && strings.HasPrefix(p, "/part/"):
		route = RoutePart
	case (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.HasPrefix(p, "/obj/"):
		route = RouteDownload
	default:
		http.Error(w, "<Error><Code>NoSuchKey</Code></Error>", http.StatusNotFound)
		return
	}
	h.log(route, r)
	if a := r.Header.Get("Authorization"); a != "" {
		h.leaks = append(h.leaks, route+" "+r.Method+" "+p+" carried "+a)
	}
	if !h.signed(r) {
		http.Error(w, "<Error><Code>SignatureDoesNotMatch</Code></Error>", http.StatusForbidden)
		return
	}
	if h.fault(w, route) {
		return
	}
	switch route {
	case RouteUpload:
		oid := strings.TrimPrefix(p, "/upload/")
		if r.ContentLength > h.MaxSinglePut {
			http.Error(w, "<Error><Code>EntityTooLarge</Code></Error>", http.StatusBadRequest)
			return
		}
		b, _ := io.ReadAll(io.LimitReader(r.Body, h.MaxSinglePut+1))
		if int64(len(b)) > h.MaxSinglePut {
			http.Error(w, "<Error><Code>EntityTooLarge</Code></Error>", http.StatusBadRequest)
			return
		}
		if hexSHA256(b) != oid {
			http.Error(w, "<Error><Code>BadDigest</Code></Error>", http.StatusBadRequest)
			return
		}
		h.lfs[oid] = b
		h.pending[oid] = true
		w.Header().Set("ETag", `"`+hexSHA1(b)+`"`)
	case RoutePart:
		uid, n, _ := strings.Cut(strings.TrimPrefix(p, "/part/"), "/")
		up, ok := h.uploads[uid]
		num, err := strconv.Atoi(n)
		if !ok || err != nil {
			http.Error(w, "<Error><Code>NoSuchUpload</Code></Error>", http.StatusNotFound)
			return
		}
		b, _ := io.ReadAll(io.LimitReader(r.Body, h.ChunkSize+1))
		last := int64(num)*h.ChunkSize >= up.size
		if int64(len(b)) > h.ChunkSize || !last && int64(len(b)) != h.ChunkSize {
			http.Error(w, "<Error><Code>InvalidPart</Code></Error>", http.StatusBadRequest)
			return
		}
		up.parts[num] = b
		w.Header().Set("ETag", partETag(b))
	case RouteDownload:
		oid := strings.TrimPrefix(p, "/obj/")
		b, ok := h.lfs[oid]
		if !ok {
			http.Error(w, "<Error><Code>NoSuchKey</Code></Error>", http.StatusNotFound)
			return
		}
		w.Header().Set("ETag", `"`+oid+`"`)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
	}
}

func hexSHA1(b []byte) string {
	s := sha1.Sum(b)
	return hex.EncodeToString(s[:])
}

func hexSHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
