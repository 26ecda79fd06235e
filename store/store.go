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

// Store is a set of dataset repositories with immutable revisions.
// Implementations are safe for concurrent use.
type Store interface {
	// Publish uploads every file under dir as one new revision of repo
	// (creating the repo if needed) and returns the revision id, which
	// pins exactly these bytes.
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
