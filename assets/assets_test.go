package assets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datarefine/refine/internal/shareddata"
)

func TestImportAndPath(t *testing.T) {
	src := shareddata.Path(t, "filters_dedup", "datatrove_assets")
	dir := t.TempDir()
	if _, _, err := Path(dir, Known[0].Name); !errors.Is(err, ErrMissing) ||
		!strings.Contains(err.Error(), "refine assets fetch") || !strings.Contains(err.Error(), "refine assets import") {
		t.Fatalf("missing asset error should name both commands: %v", err)
	}
	if err := Import(src, dir, ""); err != nil {
		t.Fatal(err)
	}
	if err := Check(dir); err != nil {
		t.Fatal(err)
	}
	for _, s := range Known {
		p, sha, err := Path(dir, s.Name)
		if err != nil {
			t.Fatal(err)
		}
		if sha != s.SHA256 || !strings.HasPrefix(p, dir) {
			t.Fatalf("%s: %s %s", s.Name, p, sha)
		}
	}
	// An altered asset is refused.
	p := filepath.Join(dir, filepath.FromSlash(Known[0].Name))
	os.WriteFile(p, []byte("porn\n"), 0o644)
	if _, _, err := Path(dir, Known[0].Name); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("altered asset accepted: %v", err)
	}
}

func TestImportRejectsWrongFile(t *testing.T) {
	src := t.TempDir()
	for _, s := range Known {
		os.WriteFile(filepath.Join(src, filepath.Base(s.Name)), []byte("something else\n"), 0o644)
	}
	dir := t.TempDir()
	if err := Import(src, dir, ""); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("Import of wrong files: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(Known[0].Name))); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a file with the wrong hash was installed")
	}
}

// TestFetch serves the real files from a local HTTP server standing in for
// their public homes and checks that Fetch verifies what it downloads.
func TestFetch(t *testing.T) {
	root := shareddata.Dir(t)
	files := map[string]string{} // URL path -> local file
	saved, savedEval := Known, Eval
	defer func() { Known, Eval = saved, savedEval }()
	Known = append([]Spec(nil), saved...)
	Eval = append([]Spec(nil), savedEval...)
	tamper := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(files[r.URL.Path])
		if err != nil {
			http.NotFound(w, r)
			return
		}
		if tamper {
			b = append(b, "extra\n"...)
		}
		w.Write(b)
	}))
	defer srv.Close()
	for i := range Known {
		files["/"+Known[i].Name] = filepath.Join(root, "filters_dedup", "datatrove_assets", filepath.Base(Known[i].Name))
		Known[i].URL = srv.URL + "/" + Known[i].Name
	}
	for i := range Eval {
		files["/"+Eval[i].Name] = filepath.Join(root, filepath.FromSlash(Eval[i].Alt[0]))
		Eval[i].URL = srv.URL + "/" + Eval[i].Name
	}
	dir := t.TempDir()
	if err := Fetch(context.Background(), dir, srv.Client(), nil); err != nil {
		t.Fatal(err)
	}
	if err := Check(dir); err != nil {
		t.Fatal(err)
	}
	for _, s := range Eval {
		if _, _, err := Path(dir, s.Name); err != nil {
			t.Fatal(err)
		}
	}
	tamper = true
	dir2 := t.TempDir()
	if err := Fetch(context.Background(), dir2, srv.Client(), nil); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("tampered download accepted: %v", err)
	}
}

// TestBuiltin checks the word lists built into the binary against their
// pins and the order Read takes copies in: the folder's (verified), else the
// built-in one.
func TestBuiltin(t *testing.T) {
	empty := t.TempDir()
	for _, s := range Known {
		if !s.Builtin {
			t.Errorf("%s is not built in", s.Name)
			continue
		}
		b, err := builtin.ReadFile(s.Name)
		if err != nil {
			t.Fatal(err)
		}
		if got := hashBytes(b); got != s.SHA256 {
			t.Errorf("built-in %s has sha256 %s, want the pinned %s", s.Name, got, s.SHA256)
		}
		data, sha, err := Read(empty, s.Name)
		if err != nil || sha != s.SHA256 || string(data) != string(b) {
			t.Errorf("Read from an empty folder: %s %v", sha, err)
		}
		if InFolder(empty, s.Name) {
			t.Errorf("%s reported in the empty folder", s.Name)
		}
	}
	if err := Check(empty); err != nil {
		t.Fatalf("Check of an empty folder: %v", err)
	}
	// An altered copy in the folder is an error, not replaced by the built-in one.
	dir := t.TempDir()
	p := filepath.Join(dir, filepath.FromSlash(Known[1].Name))
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, []byte("casino\n"), 0o644)
	if _, _, err := Read(dir, Known[1].Name); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("altered copy accepted: %v", err)
	}
	if err := Check(dir); err == nil {
		t.Fatal("Check accepted an altered copy")
	}
	// The evaluation data is not built in.
	if _, _, err := Read(empty, EvalReference); !errors.Is(err, ErrMissing) {
		t.Fatalf("evaluation reference: %v", err)
	}
}

// TestImportSharedLayout imports both kinds of assets from the layout of
// the shared data folder (the word lists under filters_dedup/).
func TestImportSharedLayout(t *testing.T) {
	src := shareddata.Dir(t)
	dir := t.TempDir()
	if err := Import(src, dir, ""); err != nil {
		t.Fatal(err)
	}
	for _, s := range Known {
		if !InFolder(dir, s.Name) {
			t.Errorf("%s not imported", s.Name)
		}
	}
}

// TestImportEval imports the evaluation data from the layout of the shared
// data folder and checks every registered file against its pinned hash.
func TestImportEval(t *testing.T) {
	src := shareddata.Dir(t) // skips (or fails under CI) without the shared data
	dir := t.TempDir()
	if _, _, err := Path(dir, EvalReference); !errors.Is(err, ErrMissing) {
		t.Fatalf("missing reference: %v", err)
	}
	n, err := ImportEval(src, dir)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(Eval) {
		t.Fatalf("imported %d of %d evaluation assets", n, len(Eval))
	}
	for _, s := range Eval {
		if _, sha, err := Path(dir, s.Name); err != nil || sha != s.SHA256 {
			t.Fatalf("%s: %s %v", s.Name, sha, err)
		}
	}
	for _, b := range EvalBenchmarks {
		if _, _, err := Path(dir, b.Asset); err != nil {
			t.Fatalf("benchmark %s: %v", b.Name, err)
		}
	}
	// Importing again from the asset folder itself (its own layout) works.
	if n, err := ImportEval(dir, t.TempDir()); err != nil || n != len(Eval) {
		t.Fatalf("re-import: %d, %v", n, err)
	}
	// A wrong file under a registered name is refused, not installed.
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "wiki.test.raw"), []byte(" = Not WikiText = \n"), 0o644)
	dst := t.TempDir()
	if _, err := ImportEval(bad, dst); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("wrong reference text accepted: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dst, filepath.FromSlash(EvalReference))); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a file with the wrong hash was installed")
	}
}

// TestFetchRetries: downloads go through the retrying HTTP layer. The
// server refuses the first request (503), cuts the next one mid-way (the
// download resumes with a Range request where it stopped) and answers a
// missing file with 404, which stops at once with an error naming it.
func TestFetchRetries(t *testing.T) {
	saved, savedEval := Known, Eval
	defer func() { Known, Eval = saved, savedEval }()
	Known, Eval = append([]Spec(nil), saved[:1]...), nil
	src := shareddata.Path(t, "filters_dedup", "datatrove_assets", filepath.Base(Known[0].Name))
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n := len(seen)
		seen = append(seen, r.Header.Get("Range"))
		mu.Unlock()
		if r.URL.Path != "/asset" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		switch n {
		case 0:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 1:
			// Half the body, then the connection drops.
			w.Header().Set("Content-Length", strconv.Itoa(len(data)))
			w.WriteHeader(http.StatusOK)
			w.Write(data[:len(data)/2])
			w.(http.Flusher).Flush()
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		default:
			http.ServeContent(w, r, "asset", time.Time{}, bytes.NewReader(data))
		}
	}))
	defer srv.Close()
	Known[0].URL = srv.URL + "/asset"
	dir := t.TempDir()
	if err := Fetch(context.Background(), dir, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := Check(dir); err != nil {
		t.Fatal(err)
	}
	if want := []string{"", "", fmt.Sprintf("bytes=%d-", len(data)/2)}; !slices.Equal(seen, want) {
		t.Fatalf("requests' Range headers = %q, want %q (refused, cut, resumed)", seen, want)
	}
	Known[0].URL = srv.URL + "/gone"
	seen = nil
	err = Fetch(context.Background(), t.TempDir(), nil, nil)
	if err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), Known[0].Name) || len(seen) != 1 {
		t.Fatalf("missing asset: %v after %d requests, want one request and a 404 naming %s", err, len(seen), Known[0].Name)
	}
}
