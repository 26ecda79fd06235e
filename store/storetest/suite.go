// Package storetest is the conformance suite every store.Store passes.
package storetest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/datarefine/refine/store"
	"github.com/datarefine/refine/submission"
)

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func read(t *testing.T, s store.Store, repo, rev, path string) string {
	t.Helper()
	rc, err := s.Open(context.Background(), repo, rev, path)
	if err != nil {
		t.Fatalf("Open(%s@%s:%s): %v", repo, rev, path, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Run runs the suite against stores made by newStore (a fresh, empty
// store each call).
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	ctx := context.Background()
	big := strings.Repeat("0123456789abcdef", 4096) // 64 KiB: large-file path on the Hub
	v1 := map[string]string{
		"manifest.json":                      `{"format":"refine-dataset/1"}`,
		"data/CC-MAIN-2024-10/00000.parquet": big,
		"records.jsonl":                      "{}\n",
	}
	const repo = "miner1/refined"
	created := func(t *testing.T) store.Store {
		s := newStore(t)
		if err := s.Create(ctx, repo); err != nil {
			t.Fatal(err)
		}
		return s
	}

	t.Run("PublishListOpen", func(t *testing.T) {
		s := created(t)
		rev, err := s.Publish(ctx, repo, writeTree(t, v1), "task 1")
		if err != nil {
			t.Fatal(err)
		}
		if rev == "" {
			t.Fatal("empty revision")
		}
		files, err := s.List(ctx, repo, rev)
		if err != nil {
			t.Fatal(err)
		}
		var paths []string
		for _, f := range files {
			paths = append(paths, f.Path)
			if c, ok := v1[f.Path]; ok && f.Size != int64(len(c)) {
				t.Errorf("%s: size %d, want %d", f.Path, f.Size, len(c))
			}
		}
		// A new repository starts with .gitattributes, as on the Hub.
		if strings.Join(paths, ",") != ".gitattributes,data/CC-MAIN-2024-10/00000.parquet,manifest.json,records.jsonl" {
			t.Fatalf("List = %v", paths)
		}
		for p, c := range v1 {
			if got := read(t, s, repo, rev, p); got != c {
				t.Fatalf("%s: read %d bytes, want %d", p, len(got), len(c))
			}
		}
	})

	t.Run("CreateOnceThenPublish", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Publish(ctx, repo, writeTree(t, v1), "x"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Publish to a repo never created: %v, want ErrNotFound", err)
		}
		for range 2 {
			if err := s.Create(ctx, repo); err != nil {
				t.Fatalf("Create (again): %v", err)
			}
		}
		if _, err := s.Publish(ctx, repo, writeTree(t, v1), "x"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("CommitsApplyOnTopAndRevisionsAreImmutable", func(t *testing.T) {
		s := created(t)
		rev1, err := s.Publish(ctx, repo, writeTree(t, v1), "one")
		if err != nil {
			t.Fatal(err)
		}
		v2 := map[string]string{"manifest.json": `{"format":"refine-dataset/1","task":"2"}`, "b/new.txt": "new"}
		rev2, err := s.Publish(ctx, repo, writeTree(t, v2), "two")
		if err != nil {
			t.Fatal(err)
		}
		if rev1 == rev2 {
			t.Fatal("different content, same revision")
		}
		if got := read(t, s, repo, rev1, "manifest.json"); got != v1["manifest.json"] {
			t.Fatalf("old revision changed: %q", got)
		}
		if _, err := s.Open(ctx, repo, rev1, "b/new.txt"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a later commit's file at the earlier revision: %v", err)
		}
		// Files the second commit does not mention stay, as on the Hub.
		if got := read(t, s, repo, rev2, "records.jsonl"); got != v1["records.jsonl"] {
			t.Fatalf("records.jsonl at revision 2: %q", got)
		}
		if got := read(t, s, repo, rev2, "manifest.json"); got != v2["manifest.json"] {
			t.Fatalf("manifest.json at revision 2: %q", got)
		}
		files, err := s.List(ctx, repo, rev2)
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != 5 {
			t.Fatalf("revision 2 lists %v", files)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		s := created(t)
		rev, err := s.Publish(ctx, repo, writeTree(t, v1), "one")
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ repo, rev, path string }{
			{"nobody/none", rev, "manifest.json"},
			{repo, strings.Repeat("0", 40), "manifest.json"},
			{repo, rev, "missing.json"},
		} {
			if _, err := s.Open(ctx, tc.repo, tc.rev, tc.path); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Open(%+v) = %v, want ErrNotFound", tc, err)
			}
		}
		if _, err := s.List(ctx, "nobody/none", rev); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("List of a missing repo: %v", err)
		}
	})

	t.Run("BadRepoName", func(t *testing.T) {
		s := newStore(t)
		for _, repo := range []string{"", "../etc", "a/b/c", "a b", "/abs"} {
			if err := s.Create(ctx, repo); err == nil {
				t.Errorf("Create %q accepted", repo)
			}
			if _, err := s.Publish(ctx, repo, writeTree(t, v1), "x"); err == nil {
				t.Errorf("Publish to %q accepted", repo)
			}
		}
	})

	t.Run("Submissions", func(t *testing.T) { runSubmissions(t, created(t), repo) })
	t.Run("Tags", func(t *testing.T) {
		s := created(t)
		tg, ok := s.(store.Tagger)
		if !ok {
			t.Skip("the store does not tag")
		}
		r1, err := s.Publish(ctx, repo, writeTree(t, map[string]string{"a.txt": "1"}), "one")
		if err != nil {
			t.Fatal(err)
		}
		r2, err := s.Publish(ctx, repo, writeTree(t, map[string]string{"a.txt": "2"}), "two")
		if err != nil {
			t.Fatal(err)
		}
		if err := tg.Tag(ctx, repo, r1, "v1"); err != nil {
			t.Fatal(err)
		}
		if err := tg.Tag(ctx, repo, r1, "v1"); err != nil {
			t.Fatalf("tagging the same revision again: %v", err)
		}
		if err := tg.Tag(ctx, repo, r2, "v1"); !errors.Is(err, store.ErrTagExists) {
			t.Fatalf("moving a tag: %v, want ErrTagExists", err)
		}
		if err := tg.Tag(ctx, repo, r2, "main"); err == nil {
			t.Fatal("a tag named main was accepted")
		}
		for ref, want := range map[string]string{"v1": r1, "main": r2} {
			got, err := tg.Resolve(ctx, repo, ref)
			if err != nil || got != want {
				t.Fatalf("Resolve(%s) = %s, %v; want %s", ref, got, err, want)
			}
		}
		if got := read(t, s, repo, r1, "a.txt"); got != "1" {
			t.Fatalf("tagged revision reads %q", got)
		}
		if _, err := tg.Resolve(ctx, repo, "v9"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown tag: %v", err)
		}
	})
}

// Remote is a store that talks to a service over HTTP, with that service
// (a faithful fake) able to fail on purpose.
type Remote interface {
	// Fail makes the next uploads (FailUpload) or downloads
	// (FailDownload) fail once per status given, in order: 429 with the
	// service's rate-limit headers, or a 5xx.
	FailUpload(statuses ...int)
	FailDownload(statuses ...int)
	// Served is the number of injected failures served so far.
	Served() int
	// Redirects is the number of downloads redirected to another host.
	Redirects() int
	// Leaks lists requests that brought the store's credentials to
	// another host.
	Leaks() []string
}

// RunRemote runs the network part of the suite: transient failures are
// retried on publish and on read, and a download redirected to another
// host does not take the credentials along.
func RunRemote(t *testing.T, newStore func(t *testing.T) (store.Store, Remote)) {
	ctx := context.Background()
	const repo = "miner1/refined"

	t.Run("RateLimitsAndServerErrorsAreRetried", func(t *testing.T) {
		s, r := newStore(t)
		if err := s.Create(ctx, repo); err != nil {
			t.Fatal(err)
		}
		dir, sum, paths, _ := writeSubmission(t, 7, 32<<10)
		r.FailUpload(http.StatusTooManyRequests, http.StatusServiceUnavailable)
		rev, err := s.Publish(ctx, repo, dir, "task 7")
		if err != nil {
			t.Fatalf("publish through a 429 and a 503: %v", err)
		}
		r.FailDownload(http.StatusInternalServerError, http.StatusTooManyRequests, http.StatusBadGateway)
		dst := t.TempDir()
		if _, err := submission.Fetch(ctx, s, commitment(t, repo, rev, 7, sum), dst, store.Limits{}); err != nil {
			t.Fatalf("fetch through a 500, a 429 and a 502: %v", err)
		}
		if got, _ := store.Walk(dst); !slices.Equal(got, paths) {
			t.Fatalf("fetched %v", got)
		}
		if r.Served() != 5 {
			t.Fatalf("%d injected failures served, want 5", r.Served())
		}
	})

	t.Run("RedirectToAnotherHostDropsToken", func(t *testing.T) {
		s, r := newStore(t)
		if err := s.Create(ctx, repo); err != nil {
			t.Fatal(err)
		}
		dir, sum, _, _ := writeSubmission(t, 8, 64<<10)
		rev, err := s.Publish(ctx, repo, dir, "task 8")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := submission.Fetch(ctx, s, commitment(t, repo, rev, 8, sum), t.TempDir(), store.Limits{}); err != nil {
			t.Fatal(err)
		}
		if r.Redirects() == 0 {
			t.Fatal("no download was redirected: the test shows nothing")
		}
		if leaks := r.Leaks(); len(leaks) != 0 {
			t.Fatalf("credentials sent to another host: %v", leaks)
		}
	})
}
