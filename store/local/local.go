// Package local is a dataset store in a folder: files are kept once by
// content hash, and a revision is the sha256 of its file listing, so a
// revision pins its bytes and can never change. It is the embedded default
// for devnets and tests.
//
// Layout under the root:
//
//	objects/ab/abcdef…            file contents by sha256
//	repos/<owner>/<name>/<rev>.json  revision listings ([]store.File)
package local

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"

	"github.com/datarefine/refine/store"
)

// Store is a local folder store.
type Store struct{ root string }

var _ store.Store = (*Store)(nil)

// New opens (creating) a store rooted at dir.
func New(dir string) (*Store, error) {
	for _, sub := range []string{"objects", "repos"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("local store: %w", err)
		}
	}
	return &Store{root: dir}, nil
}

var revRe = regexp.MustCompile(`^[0-9a-f]{64}$`)

func (s *Store) objectPath(sum string) string {
	return filepath.Join(s.root, "objects", sum[:2], sum)
}

func (s *Store) revPath(repo, rev string) string {
	return filepath.Join(s.root, "repos", filepath.FromSlash(repo), rev+".json")
}

// Publish implements store.Store.
func (s *Store) Publish(ctx context.Context, repo, dir, message string) (string, error) {
	if err := store.CheckRepo(repo); err != nil {
		return "", err
	}
	paths, err := store.Walk(dir)
	if err != nil {
		return "", fmt.Errorf("publish %s: %w", dir, err)
	}
	files := make([]store.File, 0, len(paths))
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		f, err := s.putObject(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			return "", fmt.Errorf("publish %s: %w", p, err)
		}
		f.Path = p
		files = append(files, f)
	}
	listing, err := json.Marshal(files)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(listing)
	rev := hex.EncodeToString(sum[:])
	dst := s.revPath(repo, rev)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", err
	}
	if err := writeAtomic(dst, bytes.NewReader(listing)); err != nil {
		return "", err
	}
	return rev, nil
}

// putObject stores a file's content under its hash.
func (s *Store) putObject(path string) (store.File, error) {
	in, err := os.Open(path)
	if err != nil {
		return store.File{}, err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Join(s.root, "objects"), ".tmp-*")
	if err != nil {
		return store.File{}, err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), in)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return store.File{}, err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	dst := s.objectPath(sum)
	if _, err := os.Stat(dst); err == nil {
		return store.File{Size: n, SHA256: sum}, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return store.File{}, err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return store.File{}, err
	}
	return store.File{Size: n, SHA256: sum}, nil
}

func writeAtomic(dst string, r io.Reader) error {
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, r); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

// List implements store.Store.
func (s *Store) List(ctx context.Context, repo, revision string) ([]store.File, error) {
	if err := store.CheckRepo(repo); err != nil {
		return nil, err
	}
	if !revRe.MatchString(revision) {
		return nil, fmt.Errorf("revision %q of %s: %w", revision, repo, store.ErrNotFound)
	}
	b, err := os.ReadFile(s.revPath(repo, revision))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s@%s: %w", repo, revision, store.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	// The listing is content-addressed: check it before trusting it.
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != revision {
		return nil, fmt.Errorf("%s@%s: listing does not match its revision hash", repo, revision)
	}
	var files []store.File
	if err := json.Unmarshal(b, &files); err != nil {
		return nil, fmt.Errorf("%s@%s: %w", repo, revision, err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

// Open implements store.Store.
func (s *Store) Open(ctx context.Context, repo, revision, path string) (io.ReadCloser, error) {
	files, err := s.List(ctx, repo, revision)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if f.Path == path {
			rc, err := os.Open(s.objectPath(f.SHA256))
			if err != nil {
				return nil, fmt.Errorf("%s@%s: %s: %w", repo, revision, path, err)
			}
			return rc, nil
		}
	}
	return nil, fmt.Errorf("%s@%s: %s: %w", repo, revision, path, store.ErrNotFound)
}
