package hub

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datarefine/refine/store"
	"github.com/datarefine/refine/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		h := newFakeHub(t)
		return New(Options{Endpoint: h.srv.URL, Token: h.token, Client: h.srv.Client()})
	})
}

// TestProtocol checks what went over the wire: the large file through
// preupload + LFS batch + upload + verify and an lfsFile commit line, the
// small ones inline as base64 file lines after the header line.
func TestProtocol(t *testing.T) {
	h := newFakeHub(t)
	s := New(Options{Endpoint: h.srv.URL, Token: h.token, Client: h.srv.Client()})
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "data"), 0o755)
	os.WriteFile(filepath.Join(dir, "manifest.json"), []byte("{}"), 0o644)
	os.WriteFile(filepath.Join(dir, "data", "00000.parquet"), []byte(strings.Repeat("x", 50_000)), 0o644)
	if err := s.Create(context.Background(), "miner/refined"); err != nil {
		t.Fatal(err)
	}
	rev, err := s.Publish(context.Background(), "miner/refined", dir, "task 7")
	if err != nil {
		t.Fatal(err)
	}
	log := strings.Join(h.seen, "\n")
	for _, want := range []string{
		"POST /api/repos/create",
		"POST /api/datasets/miner/refined/preupload/main",
		"POST /datasets/miner/refined.git/info/lfs/objects/batch",
		"PUT /lfs-storage/",
		"POST /lfs-verify",
		"POST /api/datasets/miner/refined/commit/main",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("no request %q in\n%s", want, log)
		}
	}
	if len(h.ndjson) != 3 || h.ndjson[0]["key"] != "header" {
		t.Fatalf("commit lines: %v", h.ndjson)
	}
	keys := map[string]string{}
	for _, l := range h.ndjson[1:] {
		v := l["value"].(map[string]any)
		keys[v["path"].(string)] = l["key"].(string)
	}
	if keys["data/00000.parquet"] != "lfsFile" || keys["manifest.json"] != "file" {
		t.Fatalf("commit line kinds: %v", keys)
	}
	files, err := s.List(context.Background(), "miner/refined", rev)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 || files[0].Path != ".gitattributes" {
		t.Fatalf("List = %+v: want .gitattributes and the two files", files)
	}
	files = files[1:]
	if len(files) != 2 || files[0].Size != 50_000 || files[0].SHA256 == "" {
		t.Fatalf("List = %+v (LFS size and oid must come from the lfs entry)", files)
	}
	// Publishing the same big file again does not re-upload it.
	n := strings.Count(log, "PUT /lfs-storage/")
	if _, err := s.Publish(context.Background(), "miner/refined", dir, "again"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(strings.Join(h.seen, "\n"), "PUT /lfs-storage/"); got != n {
		t.Fatalf("an object the Hub has was uploaded again (%d puts)", got)
	}
}

func TestAuthAndRevisions(t *testing.T) {
	h := newFakeHub(t)
	anon := New(Options{Endpoint: h.srv.URL, Token: "", Client: h.srv.Client()})
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	anon.token = ""
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a"), []byte("a"), 0o644)
	if _, err := anon.Publish(context.Background(), "m/r", dir, "x"); err == nil || !strings.Contains(err.Error(), "HF_TOKEN") {
		t.Fatalf("publish without token: %v", err)
	}
	wrong := New(Options{Endpoint: h.srv.URL, Token: "hf_wrong", Client: h.srv.Client()})
	var ae *APIError
	if _, err := wrong.Publish(context.Background(), "m/r", dir, "x"); !errors.As(err, &ae) || ae.Status != 401 {
		t.Fatalf("publish with a wrong token: %v", err)
	}
	// Branch names are not pinned revisions.
	if _, err := anon.List(context.Background(), "m/r", "main"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("List at a branch name: %v", err)
	}
}

func TestTokenDiscovery(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_TOKEN_PATH", "")
	t.Setenv("HF_HOME", filepath.Join(home, "hf"))
	os.MkdirAll(filepath.Join(home, "hf"), 0o755)
	os.WriteFile(filepath.Join(home, "hf", "token"), []byte("hf_fromfile\n"), 0o600)
	if got := Token(); got != "hf_fromfile" {
		t.Fatalf("Token() = %q", got)
	}
	t.Setenv("HF_TOKEN", "hf_env")
	if got := Token(); got != "hf_env" {
		t.Fatalf("Token() = %q", got)
	}
}
