package hub

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/datarefine/refine/retry"
	"github.com/datarefine/refine/store"
	"github.com/datarefine/refine/store/hub/hubtest"
	"github.com/datarefine/refine/store/storetest"
)

// quick retries without the default's second-long backoff (a server's
// Retry-After is still honoured).
var quick = retry.Policy{BaseDelay: 5 * time.Millisecond, MaxDelay: 20 * time.Millisecond}

func newStore(h *hubtest.Hub, token string) *Store {
	return New(Options{Endpoint: h.URL, Token: token, Retry: quick})
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return newStore(hubtest.New(t), "hf_test")
	})
}

// remote injects faults into the fake Hub's routes in turn.
type remote struct{ *hubtest.Hub }

func (r remote) FailUpload(statuses ...int) {
	routes := []string{hubtest.RouteUpload, hubtest.RouteCommit, hubtest.RoutePreupload, hubtest.RouteBatch}
	for i, s := range statuses {
		r.Fail(routes[i%len(routes)], s)
	}
}

func (r remote) FailDownload(statuses ...int) {
	routes := []string{hubtest.RouteResolve, hubtest.RouteDownload}
	for i, s := range statuses {
		r.Fail(routes[i%len(routes)], s)
	}
}

func TestRemoteConformance(t *testing.T) {
	storetest.RunRemote(t, func(t *testing.T) (store.Store, storetest.Remote) {
		h := hubtest.New(t)
		return newStore(h, h.Token), remote{h}
	})
}

func writeFiles(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for p, b := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func count(reqs []string, prefix string) int {
	n := 0
	for _, r := range reqs {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func readAll(t *testing.T, s *Store, repo, rev, path string) []byte {
	t.Helper()
	rc, err := s.Open(context.Background(), repo, rev, path)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestProtocol checks what went over the wire: the repo created once; a
// large file through preupload + LFS batch + upload + verify and an lfsFile
// commit line, the small one inline as a base64 file line after the header;
// an object the Hub has is not uploaded again.
func TestProtocol(t *testing.T) {
	ctx := context.Background()
	h := hubtest.New(t)
	s := newStore(h, h.Token)
	dir := writeFiles(t, map[string][]byte{"manifest.json": []byte("{}"), "data/00000.parquet": bytes.Repeat([]byte("x"), 50_000)})
	if err := s.Create(ctx, "miner/refined"); err != nil {
		t.Fatal(err)
	}
	rev, err := s.Publish(ctx, "miner/refined", dir, "task 7")
	if err != nil {
		t.Fatal(err)
	}
	reqs := h.Requests()
	for _, want := range []string{"create POST /api/repos/create", "preupload POST /api/datasets/miner/refined/preupload/main",
		"batch POST /datasets/miner/refined.git/info/lfs/objects/batch", "upload PUT /upload/", "verify POST /lfs/verify",
		"commit POST /api/datasets/miner/refined/commit/main"} {
		if count(reqs, want) != 1 {
			t.Errorf("%d requests %q in\n%s", count(reqs, want), want, strings.Join(reqs, "\n"))
		}
	}
	lines := h.LastCommit()
	if len(lines) != 3 || lines[0]["key"] != "header" {
		t.Fatalf("commit lines: %v", lines)
	}
	kinds := map[string]string{}
	for _, l := range lines[1:] {
		kinds[l["value"].(map[string]any)["path"].(string)] = l["key"].(string)
	}
	if kinds["data/00000.parquet"] != "lfsFile" || kinds["manifest.json"] != "file" {
		t.Fatalf("commit line kinds: %v", kinds)
	}
	files, err := s.List(ctx, "miner/refined", rev)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 || files[0].Path != ".gitattributes" || files[1].Size != 50_000 || files[1].SHA256 == "" {
		t.Fatalf("List = %+v (LFS size and oid must come from the lfs entry)", files)
	}
	if !bytes.Equal(readAll(t, s, "miner/refined", rev, "data/00000.parquet"), bytes.Repeat([]byte("x"), 50_000)) {
		t.Fatal("LFS file read back differs")
	}
	if h.Redirects() != 1 || len(h.Leaks()) != 0 {
		t.Fatalf("redirects %d, leaks %v", h.Redirects(), h.Leaks())
	}
	if _, err := s.Publish(ctx, "miner/refined", dir, "again"); err != nil {
		t.Fatal(err)
	}
	reqs = h.Requests()
	if count(reqs, "upload PUT") != 1 || count(reqs, "create") != 1 {
		t.Fatalf("republish: %d uploads, %d creates", count(reqs, "upload PUT"), count(reqs, "create"))
	}
}

// TestMultipartUpload: an object over the Hub's multipart threshold goes
// in parts of chunk_size to the part URLs, each retried on its own, then
// the completion lists the parts' ETags.
func TestMultipartUpload(t *testing.T) {
	ctx := context.Background()
	h := hubtest.New(t)
	s := newStore(h, h.Token)
	big := make([]byte, 300_000) // 5 parts of 64 KiB
	for i := range big {
		big[i] = byte(i * 7 % 251)
	}
	dir := writeFiles(t, map[string][]byte{"data/x/1_00000.parquet": big})
	if err := s.Create(ctx, "m/r"); err != nil {
		t.Fatal(err)
	}
	h.Fail(hubtest.RoutePart, http.StatusServiceUnavailable, hubtest.Reset)
	h.Fail(hubtest.RouteComplete, http.StatusInternalServerError)
	rev, err := s.Publish(ctx, "m/r", dir, "big")
	if err != nil {
		t.Fatal(err)
	}
	reqs := h.Requests()
	if count(reqs, "part PUT") != 5+2 || count(reqs, "complete POST") != 2 || count(reqs, "upload PUT") != 0 || h.Pending() != 0 {
		t.Fatalf("requests:\n%s", strings.Join(reqs, "\n"))
	}
	if !bytes.Equal(readAll(t, s, "m/r", rev, "data/x/1_00000.parquet"), big) {
		t.Fatal("multipart object read back differs")
	}
}

// TestRefusesOversizedSinglePut: a file over what one PUT may carry, for
// which the Hub offers no multipart upload, is refused before a byte goes.
func TestRefusesOversizedSinglePut(t *testing.T) {
	ctx := context.Background()
	h := hubtest.New(t)
	h.MultipartThreshold = 1 << 40 // the Hub offers basic only
	s := New(Options{Endpoint: h.URL, Token: h.Token, Retry: quick, maxSinglePut: 100_000})
	dir := writeFiles(t, map[string][]byte{"data/x/1_00000.parquet": make([]byte, 150_000)})
	if err := s.Create(ctx, "m/r"); err != nil {
		t.Fatal(err)
	}
	_, err := s.Publish(ctx, "m/r", dir, "too big")
	if err == nil || !strings.Contains(err.Error(), "single upload") || !strings.Contains(err.Error(), "multipart") {
		t.Fatalf("oversized single PUT: %v", err)
	}
	if n := count(h.Requests(), "upload PUT"); n != 0 {
		t.Fatalf("%d uploads sent", n)
	}
}

func TestAuthAndRevisions(t *testing.T) {
	ctx := context.Background()
	h := hubtest.New(t)
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HUGGING_FACE_HUB_TOKEN", "")
	t.Setenv("HF_TOKEN_PATH", "")
	t.Setenv("HF_HOME", t.TempDir())
	anon := New(Options{Endpoint: h.URL, Retry: quick})
	dir := writeFiles(t, map[string][]byte{"a": []byte("a")})
	for _, err := range []error{anon.Create(ctx, "m/r"), func() error { _, err := anon.Publish(ctx, "m/r", dir, "x"); return err }()} {
		if !errors.Is(err, ErrNoToken) || !strings.Contains(err.Error(), "HF_TOKEN") {
			t.Fatalf("without a token: %v", err)
		}
	}
	wrong := newStore(h, "hf_wrong")
	var ae *APIError
	if err := wrong.Create(ctx, "m/r"); !errors.As(err, &ae) || ae.Status != 401 || errors.Is(err, store.ErrNotFound) || ae.Temporary() {
		t.Fatalf("a wrong token: %v", err)
	}
	// A repo an anonymous reader cannot see is a 401 RepoNotFound: not found.
	if _, err := anon.List(ctx, "m/none", strings.Repeat("a", 40)); !errors.Is(err, store.ErrNotFound) || !errors.As(err, &ae) || ae.Status != 401 {
		t.Fatalf("anonymous List of a missing repo: %v", err)
	}
	// Publishing to a repo never created: not found, not retried.
	good := newStore(h, h.Token)
	if _, err := good.Publish(ctx, "m/none", dir, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("publish to a missing repo: %v", err)
	}
	// Branch names are not pinned revisions.
	if _, err := anon.List(ctx, "m/r", "main"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("List at a branch name: %v", err)
	}
}

// TestTokenDiscovery follows huggingface_hub's order: HF_TOKEN, then
// HUGGING_FACE_HUB_TOKEN, then the one token file ($HF_TOKEN_PATH, else
// $HF_HOME/token, else $XDG_CACHE_HOME/huggingface/token, else
// ~/.cache/huggingface/token).
func TestTokenDiscovery(t *testing.T) {
	home := t.TempDir()
	write := func(p, tok string) {
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(tok), 0o600)
	}
	for _, k := range []string{"HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "HF_HOME", "XDG_CACHE_HOME"} {
		t.Setenv(k, "")
	}
	t.Setenv("HOME", home)
	check := func(want, wantFrom string) {
		t.Helper()
		got, from := FindToken()
		if got != want || !strings.HasSuffix(from, wantFrom) {
			t.Fatalf("FindToken() = %q from %q, want %q from …%s", got, from, want, wantFrom)
		}
	}
	check("", "")
	write(filepath.Join(home, ".cache", "huggingface", "token"), "hf_default\n")
	check("hf_default", ".cache/huggingface/token")
	t.Setenv("XDG_CACHE_HOME", filepath.Join(home, "xdg"))
	write(filepath.Join(home, "xdg", "huggingface", "token"), "hf_xdg")
	check("hf_xdg", "xdg/huggingface/token")
	t.Setenv("HF_HOME", filepath.Join(home, "hf"))
	check("", "") // only the one file counts, as in huggingface_hub
	write(filepath.Join(home, "hf", "token"), " hf_home\r\n")
	check("hf_home", "hf/token")
	t.Setenv("HF_TOKEN_PATH", filepath.Join(home, "elsewhere"))
	write(filepath.Join(home, "elsewhere"), "hf_path")
	check("hf_path", "elsewhere")
	t.Setenv("HUGGING_FACE_HUB_TOKEN", "hf_legacy")
	check("hf_legacy", "$HUGGING_FACE_HUB_TOKEN")
	t.Setenv("HF_TOKEN", "hf_env")
	check("hf_env", "$HF_TOKEN")
}

// TestErrorKinds: which Hub answers are "not found" (the owner's doing)
// and which are the reader's or transient, as hf_raise_for_status reads
// them.
func TestErrorKinds(t *testing.T) {
	for _, tc := range []struct {
		e                   APIError
		notFound, temporary bool
	}{
		{APIError{Status: 404}, true, false},
		{APIError{Status: 401, Code: "RepoNotFound", Message: "Repository not found"}, true, false},
		{APIError{Status: 401, Message: invalidCredentials}, false, false},
		{APIError{Status: 403, Code: "GatedRepo", Message: "Access to dataset x is restricted"}, true, false},
		{APIError{Status: 403, Message: "Access to this resource is disabled."}, true, false},
		{APIError{Status: 403, Message: "You don't have the rights to create a dataset under this namespace"}, false, false},
		{APIError{Status: 429}, false, true},
		{APIError{Status: 503}, false, true},
	} {
		if got := errors.Is(&tc.e, store.ErrNotFound); got != tc.notFound {
			t.Errorf("%+v: not found %v, want %v", tc.e, got, tc.notFound)
		}
		if got := tc.e.Temporary(); got != tc.temporary {
			t.Errorf("%+v: temporary %v, want %v", tc.e, got, tc.temporary)
		}
	}
}
