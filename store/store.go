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
	"fmt"
	"io"
	"regexp"
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

// Tagger is a Store that names revisions, as the Hub's tags and branches
// do. `refine dataset build` tags every build it publishes; a reader that
// wants "the latest" (the website's Dataset page) resolves main or a tag
// to a revision and then reads that pinned revision with List and Open,
// which take revisions only.
type Tagger interface {
	// Tag names revision of repo for good: tagging the same revision
	// again is a no-op, another revision ErrTagExists. Tag names are
	// letters, digits, '.', '_' and '-', and not "main".
	Tag(ctx context.Context, repo, revision, tag string) error
	// Resolve returns the revision that ref, a tag or the branch "main",
	// names now. ErrNotFound when there is none.
	Resolve(ctx context.Context, repo, ref string) (string, error)
}

// ErrTagExists reports a tag that already names another revision.
var ErrTagExists = errors.New("tag exists")

// CheckTag validates a tag name.
func CheckTag(tag string) error {
	if !tagRe.MatchString(tag) || tag == "main" {
		return fmt.Errorf("tag %q: want letters, digits, '.', '_' and '-', not main", tag)
	}
	return nil
}

var tagRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

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
