package corpus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/datarefine/refine/dataset"
)

// Submission is one input of a build: a submission the network accepted,
// or a dataset folder.
type Submission struct {
	// Key identifies the input across builds, so that it is added once:
	// the commitment, or for a folder the sha256 of its manifest (its
	// path when it has none).
	Key        string `json:"key"`
	Commitment string `json:"commitment,omitempty"`
	Hotkey     string `json:"hotkey,omitempty"`
	Block      uint64 `json:"block,omitempty"`
	TaskID     int64  `json:"task,omitempty"`
	Folder     string `json:"folder,omitempty"`
}

// Fetched is an input made available on disk, its integrity checked.
type Fetched struct {
	// Root is the folder the shard paths are relative to.
	Root string `json:"root"`
	// Hotkey and Task are the manifest's (for a folder: claims nobody
	// checked; for a submission, bound to the commitment).
	Hotkey string `json:"hotkey,omitempty"`
	Task   string `json:"task,omitempty"`
	// Shards are the parquet shards, repository-relative, in order.
	Shards []string `json:"shards"`
}

// Source is where a build's inputs come from. Implementations must be
// deterministic: the same state of the network gives the same list.
type Source interface {
	// Info describes the source and its acceptance rule; it is recorded
	// in the build's plan and the dataset's summary.
	Info() SourceInfo
	// Submissions lists the inputs, earliest commitment first.
	Submissions(ctx context.Context) ([]Submission, error)
	// Fetch makes s's files available, under dst if they must be
	// downloaded, and checks their integrity. An error wrapping
	// ErrBadSubmission excludes the input from the build (recorded with
	// its reason); any other error stops the stage, to be retried.
	Fetch(ctx context.Context, s Submission, dst string) (*Fetched, error)
}

// SourceInfo is a source's description.
type SourceInfo struct {
	Kind string `json:"kind"` // "folders" or "network"
	// Rule is the acceptance rule and its parameter, e.g. "stake share > 0.5".
	Rule  string  `json:"rule,omitempty"`
	Share float64 `json:"share,omitempty"`
	URL   string  `json:"url,omitempty"`
}

// ErrBadSubmission marks an input whose content is unusable; the build
// leaves it out and says why.
var ErrBadSubmission = fmt.Errorf("bad submission")

// Folders is the plain-list source: dataset folders, in the order given
// (earliest first), for builds outside a subnet. A folder is what
// `refine process` writes (manifest.json, its files verified against it)
// or any folder of FineWeb-layout shards (data/**/*.parquet).
type Folders []string

// Info implements Source.
func (f Folders) Info() SourceInfo { return SourceInfo{Kind: "folders"} }

// Submissions implements Source.
func (f Folders) Submissions(ctx context.Context) ([]Submission, error) {
	var out []Submission
	seen := map[string]bool{}
	for _, dir := range f {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, err
		}
		key := "folder:" + abs
		b, err := os.ReadFile(filepath.Join(abs, dataset.ManifestName))
		switch {
		case err == nil:
			sum := sha256.Sum256(b)
			key = "manifest:" + hex.EncodeToString(sum[:])
		case !os.IsNotExist(err):
			return nil, fmt.Errorf("dataset folder %s: %w", dir, err)
		default:
			if st, err := os.Stat(abs); err != nil || !st.IsDir() {
				return nil, fmt.Errorf("dataset folder %s: not a folder", dir)
			}
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, Submission{Key: key, Folder: abs})
	}
	return out, nil
}

// Fetch implements Source: the folder is used in place.
func (f Folders) Fetch(ctx context.Context, s Submission, dst string) (*Fetched, error) {
	if strings.HasPrefix(s.Key, "manifest:") {
		b, err := os.ReadFile(filepath.Join(s.Folder, dataset.ManifestName))
		if err != nil {
			return nil, err
		}
		if sum := sha256.Sum256(b); "manifest:"+hex.EncodeToString(sum[:]) != s.Key {
			return nil, fmt.Errorf("%w: %s: manifest changed since the build was planned", ErrBadSubmission, s.Folder)
		}
		m, err := dataset.ParseManifest(b)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrBadSubmission, s.Folder, err)
		}
		if err := dataset.Verify(s.Folder, m); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrBadSubmission, s.Folder, err)
		}
		out := &Fetched{Root: s.Folder, Hotkey: m.Hotkey, Task: m.Task}
		for _, sh := range m.Shards {
			out.Shards = append(out.Shards, sh.Path)
		}
		return out, nil
	}
	shards, err := DirDataset{Root: s.Folder}.Shards(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSubmission, err)
	}
	out := &Fetched{Root: s.Folder}
	for _, sh := range shards {
		if exists(filepath.Join(s.Folder, filepath.FromSlash(sh.Name))) {
			out.Shards = append(out.Shards, sh.Name)
		}
	}
	return out, nil
}
