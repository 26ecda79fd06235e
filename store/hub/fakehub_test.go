package hub

import (
	"bufio"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/datarefine/refine/store"
)

// fakeHub implements the Hub endpoints the store uses, as the Hub
// documents them, in memory: repos, commits with NDJSON bodies, the
// preupload decision (files over lfsThreshold go to LFS), the LFS batch
// API with upload and verify actions, the recursive tree listing with
// pagination, and resolve.
type fakeHub struct {
	t     *testing.T
	srv   *httptest.Server
	token string

	mu      sync.Mutex
	repos   map[string]bool
	heads   map[string]string                         // repo → main's commit
	tags    map[string]map[string]string              // repo → tag → commit
	commits map[string]map[string]map[string]fakeFile // repo → commit → path → file
	lfs     map[string][]byte                         // oid → content
	pending map[string]bool                           // uploaded, not verified
	seen    []string                                  // request log: "METHOD path"
	ndjson  []map[string]any                          // last commit's lines
}

type fakeFile struct {
	content []byte
	lfsOID  string
}

const lfsThreshold = 10_000
const pageSize = 2

func newFakeHub(t *testing.T) *fakeHub {
	h := &fakeHub{t: t, token: "hf_test", repos: map[string]bool{}, heads: map[string]string{}, tags: map[string]map[string]string{}, commits: map[string]map[string]map[string]fakeFile{},
		lfs: map[string][]byte{}, pending: map[string]bool{}}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *fakeHub) fail(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func (h *fakeHub) authed(r *http.Request) bool {
	return r.Header.Get("Authorization") == "Bearer "+h.token
}

func (h *fakeHub) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := r.URL.Path
	h.seen = append(h.seen, r.Method+" "+p)
	switch {
	case r.Method == http.MethodPost && p == "/api/repos/create":
		if !h.authed(r) {
			h.fail(w, 401, "Invalid credentials")
			return
		}
		var req struct {
			Type, Name, Organization string
		}
		json.NewDecoder(r.Body).Decode(&req)
		if req.Type != "dataset" {
			h.fail(w, 400, "type must be dataset here")
			return
		}
		id := req.Name
		if req.Organization != "" {
			id = req.Organization + "/" + req.Name
		}
		if h.repos[id] {
			h.fail(w, 409, "You already created this dataset repo")
			return
		}
		h.repos[id] = true
		// The Hub's first commit of a new repository adds .gitattributes.
		h.commits[id] = map[string]map[string]fakeFile{}
		init := fmt.Sprintf("%x", sha1.Sum([]byte("initial commit of "+id)))
		h.commits[id][init] = map[string]fakeFile{".gitattributes": {content: []byte(store.GitAttributes)}}
		h.heads[id] = init
		json.NewEncoder(w).Encode(map[string]string{"url": h.srv.URL + "/datasets/" + id})
	case r.Method == http.MethodPost && strings.HasPrefix(p, "/api/datasets/") && strings.Contains(p, "/preupload/"):
		var req struct {
			Files []struct {
				Path, Sample string
				Size         int64
			}
		}
		json.NewDecoder(r.Body).Decode(&req)
		var out []map[string]any
		for _, f := range req.Files {
			if _, err := base64.StdEncoding.DecodeString(f.Sample); err != nil {
				h.fail(w, 400, "sample not base64")
				return
			}
			mode := "regular"
			if f.Size > lfsThreshold {
				mode = "lfs"
			}
			out = append(out, map[string]any{"path": f.Path, "uploadMode": mode, "shouldIgnore": false})
		}
		json.NewEncoder(w).Encode(map[string]any{"files": out})
	case r.Method == http.MethodPost && strings.HasSuffix(p, ".git/info/lfs/objects/batch"):
		if r.Header.Get("Accept") != "application/vnd.git-lfs+json" {
			h.fail(w, 406, "wrong accept")
			return
		}
		var req struct {
			Operation string
			Objects   []struct {
				OID  string
				Size int64
			}
		}
		json.NewDecoder(r.Body).Decode(&req)
		var objs []map[string]any
		for _, o := range req.Objects {
			obj := map[string]any{"oid": o.OID, "size": o.Size, "authenticated": true}
			if _, ok := h.lfs[o.OID]; !ok {
				obj["actions"] = map[string]any{
					"upload": map[string]any{"href": h.srv.URL + "/lfs-storage/" + o.OID, "header": map[string]string{"X-Upload-Token": "u-" + o.OID[:8]}},
					"verify": map[string]any{"href": h.srv.URL + "/lfs-verify", "header": map[string]string{"Authorization": "Bearer " + h.token}},
				}
			}
			objs = append(objs, obj)
		}
		w.Header().Set("Content-Type", "application/vnd.git-lfs+json")
		json.NewEncoder(w).Encode(map[string]any{"transfer": "basic", "objects": objs})
	case r.Method == http.MethodPut && strings.HasPrefix(p, "/lfs-storage/"):
		oid := strings.TrimPrefix(p, "/lfs-storage/")
		if r.Header.Get("X-Upload-Token") != "u-"+oid[:8] {
			h.fail(w, 403, "bad upload token")
			return
		}
		b, _ := io.ReadAll(r.Body)
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != oid {
			h.fail(w, 400, "content does not match oid")
			return
		}
		h.lfs[oid] = b
		h.pending[oid] = true
	case r.Method == http.MethodPost && p == "/lfs-verify":
		var o struct{ OID string }
		json.NewDecoder(r.Body).Decode(&o)
		if _, ok := h.lfs[o.OID]; !ok {
			h.fail(w, 404, "object not found")
			return
		}
		delete(h.pending, o.OID)
	case r.Method == http.MethodPost && strings.HasPrefix(p, "/api/datasets/") && strings.Contains(p, "/commit/"):
		if !h.authed(r) {
			h.fail(w, 401, "Invalid credentials")
			return
		}
		repo := strings.TrimPrefix(p[:strings.Index(p, "/commit/")], "/api/datasets/")
		if !h.repos[repo] {
			h.fail(w, 404, "Repository not found")
			return
		}
		if r.Header.Get("Content-Type") != "application/x-ndjson" {
			h.fail(w, 400, "want NDJSON")
			return
		}
		// A commit applies on top of the branch: the head's files stay
		// unless the commit replaces them.
		files := map[string]fakeFile{}
		for p, f := range h.commits[repo][h.heads[repo]] {
			files[p] = f
		}
		h.ndjson = nil
		sc := bufio.NewScanner(r.Body)
		sc.Buffer(nil, 64<<20)
		var sum = sha1.New()
		sum.Write([]byte(h.heads[repo]))
		for sc.Scan() {
			var line struct {
				Key   string          `json:"key"`
				Value json.RawMessage `json:"value"`
			}
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				h.fail(w, 400, "bad NDJSON line")
				return
			}
			var generic map[string]any
			json.Unmarshal(sc.Bytes(), &generic)
			h.ndjson = append(h.ndjson, generic)
			sum.Write(sc.Bytes())
			switch line.Key {
			case "header":
			case "file":
				var v struct{ Path, Content, Encoding string }
				json.Unmarshal(line.Value, &v)
				b, err := base64.StdEncoding.DecodeString(v.Content)
				if err != nil || v.Encoding != "base64" {
					h.fail(w, 400, "bad file content")
					return
				}
				files[v.Path] = fakeFile{content: b}
			case "lfsFile":
				var v struct {
					Path, Algo, OID string
					Size            int64
				}
				json.Unmarshal(line.Value, &v)
				b, ok := h.lfs[v.OID]
				if !ok || h.pending[v.OID] || int64(len(b)) != v.Size || v.Algo != "sha256" {
					h.fail(w, 400, "LFS object "+v.OID+" missing or unverified")
					return
				}
				files[v.Path] = fakeFile{content: b, lfsOID: v.OID}
			default:
				h.fail(w, 400, "unknown key "+line.Key)
				return
			}
		}
		oid := hex.EncodeToString(sum.Sum(nil))
		h.commits[repo][oid] = files
		h.heads[repo] = oid
		json.NewEncoder(w).Encode(map[string]any{"commitOid": oid, "commitUrl": h.srv.URL + "/datasets/" + repo + "/commit/" + oid})
	case r.Method == http.MethodPost && strings.HasPrefix(p, "/api/datasets/") && strings.Contains(p, "/tag/"):
		// As the Hub: 409 when the tag exists, 404 for an unknown revision.
		if !h.authed(r) {
			h.fail(w, 401, "Invalid credentials")
			return
		}
		i := strings.Index(p, "/tag/")
		repo, rev := strings.TrimPrefix(p[:i], "/api/datasets/"), p[i+len("/tag/"):]
		var body struct {
			Tag string `json:"tag"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Tag == "" {
			h.fail(w, 400, "bad tag request")
			return
		}
		if _, ok := h.commits[repo][rev]; !ok {
			h.fail(w, 404, "Revision not found")
			return
		}
		if _, ok := h.tags[repo][body.Tag]; ok {
			h.fail(w, 409, "Tag reference exists already")
			return
		}
		if h.tags[repo] == nil {
			h.tags[repo] = map[string]string{}
		}
		h.tags[repo][body.Tag] = rev
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/api/datasets/") && strings.Contains(p, "/revision/"):
		i := strings.Index(p, "/revision/")
		repo, ref := strings.TrimPrefix(p[:i], "/api/datasets/"), p[i+len("/revision/"):]
		sha, ok := h.tags[repo][ref]
		if ref == "main" {
			sha, ok = h.heads[repo]
		}
		if _, isCommit := h.commits[repo][ref]; isCommit {
			sha, ok = ref, true
		}
		if !ok {
			h.fail(w, 404, "Revision not found")
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"id": repo, "sha": sha})
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/api/datasets/") && strings.Contains(p, "/tree/"):
		i := strings.Index(p, "/tree/")
		repo, rev := strings.TrimPrefix(p[:i], "/api/datasets/"), p[i+len("/tree/"):]
		files, ok := h.commits[repo][rev]
		if !ok || r.URL.Query().Get("recursive") != "true" {
			h.fail(w, 404, "Revision not found")
			return
		}
		var paths []string
		for path := range files {
			paths = append(paths, path)
		}
		sort.Strings(paths)
		start := 0
		fmt.Sscan(r.URL.Query().Get("cursor"), &start)
		end := min(start+pageSize, len(paths))
		var out []map[string]any
		for _, path := range paths[start:end] {
			f := files[path]
			e := map[string]any{"type": "file", "path": path, "size": len(f.content), "oid": "blob"}
			if f.lfsOID != "" {
				e["lfs"] = map[string]any{"oid": f.lfsOID, "size": len(f.content), "pointerSize": 130}
				e["size"] = 130 // the pointer's size; the real size is in lfs
			}
			out = append(out, e)
		}
		if end < len(paths) {
			w.Header().Set("Link", fmt.Sprintf(`<%s%s?recursive=true&cursor=%d>; rel="next"`, h.srv.URL, p, end))
		}
		json.NewEncoder(w).Encode(out)
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/datasets/") && strings.Contains(p, "/resolve/"):
		rest := strings.TrimPrefix(p, "/datasets/")
		i := strings.Index(rest, "/resolve/")
		repo := rest[:i]
		rev, path, _ := strings.Cut(rest[i+len("/resolve/"):], "/")
		f, ok := h.commits[repo][rev][path]
		if !ok {
			h.fail(w, 404, "Entry not found")
			return
		}
		w.Write(f.content)
	default:
		h.fail(w, 404, "no route "+r.Method+" "+p)
	}
}
