package assets

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datarefine/refine/internal/testdata"
)

func TestImportAndPath(t *testing.T) {
	src := testdata.Path(t, "filters_dedup", "datatrove_assets")
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
	src := testdata.Path(t, "filters_dedup", "datatrove_assets")
	tamper := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(filepath.Join(src, filepath.Base(r.URL.Path)))
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
	saved := Known
	defer func() { Known = saved }()
	Known = append([]Spec(nil), saved...)
	for i := range Known {
		Known[i].URL = srv.URL + "/" + filepath.Base(Known[i].Name)
	}
	dir := t.TempDir()
	if err := Fetch(context.Background(), dir, srv.Client(), nil); err != nil {
		t.Fatal(err)
	}
	if err := Check(dir); err != nil {
		t.Fatal(err)
	}
	tamper = true
	dir2 := t.TempDir()
	if err := Fetch(context.Background(), dir2, srv.Client(), nil); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("tampered download accepted: %v", err)
	}
}
