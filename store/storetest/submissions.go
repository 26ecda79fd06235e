package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/store"
	"github.com/datarefine/refine/submission"
)

// sealed builds a dataset.File for content written at rel under dir.
func sealed(t *testing.T, dir, rel, content string) dataset.File {
	t.Helper()
	full := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(content))
	return dataset.File{Path: rel, Bytes: int64(len(content)), SHA256: hex.EncodeToString(sum[:])}
}

// writeSubmission writes task's submission in the repository layout: two
// shards with signatures, records and the manifest. It returns the folder,
// the manifest's sha256, the paths it holds and their total size.
func writeSubmission(t *testing.T, task int64, shardBytes int) (string, string, []string, int64) {
	t.Helper()
	dir := t.TempDir()
	l := dataset.SubmissionLayout(task)
	m := &dataset.Manifest{Format: dataset.Format, PipelineVersion: "test", Task: fmt.Sprint(task), Dump: "CC-MAIN-2024-10"}
	for n := range 2 {
		p, err := l.ShardPath(m.Dump, n)
		if err != nil {
			t.Fatal(err)
		}
		sh := dataset.Shard{File: sealed(t, dir, p, strings.Repeat(fmt.Sprintf("task %d shard %d;", task, n), shardBytes/16))}
		sig := sealed(t, dir, dataset.SignaturePath(p), fmt.Sprintf("signatures of task %d shard %d", task, n))
		sh.Signatures = &sig
		m.Shards = append(m.Shards, sh)
	}
	rec := sealed(t, dir, l.RecordsPath(), fmt.Sprintf("{\"task\":%d}\n", task))
	m.Records = &rec
	sum, err := l.WriteManifest(dir, m)
	if err != nil {
		t.Fatal(err)
	}
	paths, err := store.Walk(dir)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, p := range paths {
		st, _ := os.Stat(filepath.Join(dir, p))
		total += st.Size()
	}
	return dir, sum, paths, total
}

func commitment(t *testing.T, repo, rev string, task int64, sum string) submission.Commitment {
	t.Helper()
	c, err := submission.New(repo, rev, task, sum)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantFault(t *testing.T, what string, err error, kind submission.FaultKind) {
	t.Helper()
	f, ok := submission.AsFault(err)
	if !ok || f.Kind != kind {
		t.Errorf("%s: %v, want a %s fault", what, err, kind)
	}
}

// runSubmissions: a repository accumulates submissions (a Hub commit
// applies on top of the branch), yet a reader of one submission fetches its
// manifest and the files it seals, nothing else, and limits apply to that
// submission alone — so an honest miner's later submissions are not
// refused as too large because its repository grew.
func runSubmissions(t *testing.T, s store.Store, repo string) {
	ctx := context.Background()
	dir1, sum1, paths1, _ := writeSubmission(t, 1, 32<<10)
	dir2, sum2, paths2, size2 := writeSubmission(t, 2, 32<<10)
	rev1, err := s.Publish(ctx, repo, dir1, "task 1")
	if err != nil {
		t.Fatal(err)
	}
	rev2, err := s.Publish(ctx, repo, dir2, "task 2")
	if err != nil {
		t.Fatal(err)
	}
	listed, err := s.List(ctx, repo, rev2)
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1+len(paths1)+len(paths2) {
		t.Fatalf("revision 2 lists %d files, want .gitattributes and both submissions' %d", len(listed), len(paths1)+len(paths2))
	}

	// Only submission 2's files, within limits that the whole revision
	// would exceed.
	lim := store.Limits{MaxFiles: len(paths2) - 1, MaxTotalBytes: size2}
	dst := t.TempDir()
	got, err := submission.Fetch(ctx, s, commitment(t, repo, rev2, 2, sum2), dst, lim)
	if err != nil {
		t.Fatalf("Fetch of submission 2 at its revision: %v", err)
	}
	fetched, _ := store.Walk(dst)
	if !slices.Equal(fetched, paths2) {
		t.Fatalf("fetched %v, want only submission 2's %v", fetched, paths2)
	}
	if got.ManifestSHA256 != sum2 || got.Manifest.Task != "2" || got.Bytes != size2 {
		t.Fatalf("Fetch = %+v", got)
	}
	// The earlier submission is still readable at the later revision.
	if _, err := submission.Fetch(ctx, s, commitment(t, repo, rev2, 1, sum1), t.TempDir(), store.Limits{}); err != nil {
		t.Fatalf("Fetch of submission 1 at revision 2: %v", err)
	}

	// The miner's faults, each named.
	_, err = submission.Fetch(ctx, s, commitment(t, repo, rev1, 2, sum2), t.TempDir(), store.Limits{})
	wantFault(t, "submission 2 at revision 1", err, submission.NoManifest)
	_, err = submission.Fetch(ctx, s, commitment(t, "nobody/none", rev2, 2, sum2), t.TempDir(), store.Limits{})
	wantFault(t, "a repository that does not exist", err, submission.NoManifest)
	_, err = submission.Fetch(ctx, s, commitment(t, repo, rev2, 2, sum1), t.TempDir(), store.Limits{})
	wantFault(t, "another manifest's hash", err, submission.ManifestHash)
	for _, lim := range []store.Limits{{MaxFiles: len(paths2) - 2}, {MaxTotalBytes: size2 / 2}, {MaxFileBytes: 1000}, {MaxManifestBytes: 100}} {
		_, err = submission.Fetch(ctx, s, commitment(t, repo, rev2, 2, sum2), t.TempDir(), lim)
		wantFault(t, fmt.Sprintf("limits %+v", lim), err, submission.TooLarge)
		if !errors.Is(err, store.ErrTooLarge) {
			t.Errorf("limits %+v: %v is not ErrTooLarge", lim, err)
		}
	}

	// A later commit that overwrites a sealed file does not change the
	// pinned revision, and a commitment to the later one fails by name.
	overwritten := paths2[0] // data/CC-MAIN-2024-10/2_00000.minhash.sig
	rev3, err := s.Publish(ctx, repo, writeTree(t, map[string]string{overwritten: "other bytes"}), "overwrite")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := submission.Fetch(ctx, s, commitment(t, repo, rev2, 2, sum2), t.TempDir(), store.Limits{}); err != nil {
		t.Fatalf("revision 2 after a later commit: %v", err)
	}
	_, err = submission.Fetch(ctx, s, commitment(t, repo, rev3, 2, sum2), t.TempDir(), store.Limits{})
	wantFault(t, "a sealed file overwritten", err, submission.FileMismatch)

	// A manifest that seals a file the revision lacks.
	dir4, sum4, _, _ := writeSubmission(t, 4, 1<<10)
	os.Remove(filepath.Join(dir4, filepath.FromSlash(dataset.SubmissionDir(4)), dataset.RecordsName))
	rev4, err := s.Publish(ctx, repo, dir4, "task 4")
	if err != nil {
		t.Fatal(err)
	}
	_, err = submission.Fetch(ctx, s, commitment(t, repo, rev4, 4, sum4), t.TempDir(), store.Limits{})
	wantFault(t, "a sealed file missing", err, submission.MissingFile)
}
