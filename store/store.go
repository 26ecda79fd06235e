// Package store keeps published datasets: a miner publishes a dataset
// folder as an immutable revision of its repository and commits the
// revision on chain; a validator reads the files back at exactly that
// revision.
//
// Implementations: store/local (a folder of content-addressed revisions,
// the embedded default) and store/hub (Hugging Face Hub dataset repos,
// pinned by commit sha). Both pass the conformance suite in
// store/storetest.
package store

import (
	"context"
	"errors"
	"io"
)

// Store is a set of dataset repositories with immutable revisions, which
// behave as Hugging Face Hub repositories do (docs/store.md).
// Implementations are safe for concurrent use.
type Store interface {
	// Create creates repo, whose first revision holds a .gitattributes
	// file as on the Hub; an existing repo is fine. A publisher calls it
	// once, at start: Publish does not create.
	Create(ctx context.Context, repo string) error
	// Publish commits every file under dir to repo's main branch as one
	// new revision and returns the revision id, which pins its bytes
	// forever. Like a Hub commit it applies on top of the branch: files of
	// earlier revisions that dir does not hold stay in the new revision
	// (a repository grows; a reader of one submission reads only the
	// files its manifest seals, see submission.Fetch). ErrNotFound when
	// repo does not exist.
	Publish(ctx context.Context, repo, dir, message string) (string, error)
	// List returns the files of repo at revision, sorted by path.
	// ErrNotFound when the repo or revision does not exist.
	List(ctx context.Context, repo, revision string) ([]File, error)
	// Open returns a file of repo at revision. ErrNotFound.
	Open(ctx context.Context, repo, revision, path string) (io.ReadCloser, error)
}

// File is one file of a revision.
type File struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
	// SHA256 of the content when the store knows it (hex), else "".
	SHA256 string `json:"sha256,omitempty"`
}

// ErrNotFound reports a missing repo, revision or file.
var ErrNotFound = errors.New("not found")

// ErrTooLarge reports a file over a reader's size limit.
var ErrTooLarge = errors.New("file too large")

// GitAttributes is the .gitattributes of a new repository: the Hub makes
// it the first commit of every repository it creates (the Hub's default
// lists many more LFS patterns; readers only need to see that the file is
// there and is no part of any submission).
const GitAttributes = `*.7z filter=lfs diff=lfs merge=lfs -text
*.arrow filter=lfs diff=lfs merge=lfs -text
*.bin filter=lfs diff=lfs merge=lfs -text
*.gz filter=lfs diff=lfs merge=lfs -text
*.parquet filter=lfs diff=lfs merge=lfs -text
*.zst filter=lfs diff=lfs merge=lfs -text
`
