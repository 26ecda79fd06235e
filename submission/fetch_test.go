package submission_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/store"
	"github.com/datarefine/refine/store/local"
	"github.com/datarefine/refine/submission"
)

// flaky fails every Open of one path with a store-side error.
type flaky struct {
	store.Store
	path string
}

var errDown = errors.New("HTTP 503 after 5 attempts")

func (f flaky) Open(ctx context.Context, repo, rev, path string) (io.ReadCloser, error) {
	if path == f.path {
		return nil, errDown
	}
	return f.Store.Open(ctx, repo, rev, path)
}

func publish(t *testing.T, s store.Store, task int64, m *dataset.Manifest, files map[string]string) submission.Commitment {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(full), 0o755)
		os.WriteFile(full, []byte(c), 0o644)
		h, err := dataset.HashFile(dir, p)
		if err != nil {
			t.Fatal(err)
		}
		m.Shards = append(m.Shards, dataset.Shard{File: *h})
	}
	sum, err := dataset.SubmissionLayout(task).WriteManifest(dir, m)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, "m/r"); err != nil {
		t.Fatal(err)
	}
	rev, err := s.Publish(ctx, "m/r", dir, "x")
	if err != nil {
		t.Fatal(err)
	}
	c, err := submission.New("m/r", rev, task, sum)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestFetchStoreFailureIsNotAFault: a store that fails is the reader's
// problem (retry later), never the miner's.
func TestFetchStoreFailureIsNotAFault(t *testing.T) {
	s, _ := local.New(t.TempDir())
	shard := "data/CC-MAIN-2024-10/3_00000.parquet"
	c := publish(t, s, 3, &dataset.Manifest{Format: dataset.Format, Task: "3"}, map[string]string{shard: "rows"})
	for _, p := range []string{dataset.SubmissionManifestPath(3), shard} {
		_, err := submission.Fetch(context.Background(), flaky{s, p}, c, t.TempDir(), store.Limits{})
		if !errors.Is(err, errDown) {
			t.Fatalf("%s failing: %v", p, err)
		}
		if f, ok := submission.AsFault(err); ok {
			t.Fatalf("%s failing: reported as the miner's fault %v", p, f)
		}
	}
	if _, err := submission.Fetch(context.Background(), s, c, t.TempDir(), store.Limits{}); err != nil {
		t.Fatal(err)
	}
}

// TestFetchRefusesConflictingPaths: a manifest that seals a file and a
// path below it cannot be written; that is the miner's fault, not a disk
// error of the reader's.
func TestFetchRefusesConflictingPaths(t *testing.T) {
	s, _ := local.New(t.TempDir())
	m := &dataset.Manifest{Format: dataset.Format, Task: "5"}
	publish(t, s, 5, m, map[string]string{"data/x/5_00000.parquet": "a"})
	// Re-seal a second manifest naming a path below the first file.
	m.Shards = append(m.Shards, dataset.Shard{File: dataset.File{Path: "data/x/5_00000.parquet/evil", Bytes: 1, SHA256: m.Shards[0].SHA256}})
	dir := t.TempDir()
	sum, _ := dataset.SubmissionLayout(5).WriteManifest(dir, m)
	rev, err := s.Publish(context.Background(), "m/r", dir, "y")
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := submission.New("m/r", rev, 5, sum)
	_, err = submission.Fetch(context.Background(), s, c2, t.TempDir(), store.Limits{})
	if f, ok := submission.AsFault(err); !ok || f.Kind != submission.BadManifest {
		t.Fatalf("conflicting paths: %v", err)
	}
}

// TestCheckOwner: a manifest belongs to the commitment's task (named in
// decimal) and to the hotkey that committed it; anything else is the
// miner's fault of its kind.
func TestCheckOwner(t *testing.T) {
	c := submission.Commitment{Repo: "m/r", Revision: "0123456789abcdef0123456789abcdef01234567", TaskID: 42, ManifestHash: "0123456789abcdef"}
	for _, tc := range []struct {
		name, task, manifestHotkey, committer string
		want                                  submission.FaultKind // "" for none
	}{
		{"its own", "42", "5A", "5A", ""},
		{"another task", "41", "5A", "5A", submission.WrongTask},
		{"no task", "", "5A", "5A", submission.WrongTask},
		{"task not in decimal", "042", "5A", "5A", submission.WrongTask},
		{"another hotkey", "42", "5B", "5A", submission.WrongHotkey},
		{"committer unknown", "42", "5A", "", submission.WrongHotkey},
	} {
		err := submission.CheckOwner(&dataset.Manifest{Task: tc.task, Hotkey: tc.manifestHotkey}, c, tc.committer)
		f, ok := submission.AsFault(err)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (!ok || f.Kind != tc.want):
			t.Errorf("%s: %v, want a %s fault", tc.name, err, tc.want)
		}
	}
}
