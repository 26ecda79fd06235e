// Package local is a dataset store in a folder that behaves like a Hugging
// Face Hub dataset repository: Create makes a repository whose first
// revision holds a .gitattributes file, and each Publish is a commit on
// top of the branch head, so a revision holds its parent's files plus the
// commit's. Files are kept once by content hash, and a revision is the
// sha256 of its commit record (parent, message, full listing), so a
// revision pins its bytes and can never change. It is the embedded default
// for devnets and tests.
//
// Layout under the root:
//
//	objects/ab/abcdef…                   file contents by sha256
//	repos/<owner>/<name>/<rev>.json      commits (parent, message, files)
//	repos/<owner>/<name>/refs/main       the branch head's revision
//	repos/<owner>/<name>/refs/tags/<tag> a tag's revision
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
	"strings"
	"sync"

	"github.com/datarefine/refine/internal/atomicfile"
	"github.com/datarefine/refine/store"
)

// Store is a local folder store.
type Store struct {
	root string
	// mu serialises commits, as the Hub serialises commits to a branch.
	// One process owns a store folder's writes (a devnet, or one miner).
	mu sync.Mutex
}

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

// commit is one revision's record.
type commit struct {
	Parent  string       `json:"parent,omitempty"`
	Message string       `json:"message"`
	Files   []store.File `json:"files"`
}

func (s *Store) objectPath(sum string) string {
	return filepath.Join(s.root, "objects", sum[:2], sum)
}

func (s *Store) repoDir(repo string) string {
	return filepath.Join(s.root, "repos", filepath.FromSlash(repo))
}

func (s *Store) revPath(repo, rev string) string {
	return filepath.Join(s.repoDir(repo), rev+".json")
}

func (s *Store) headPath(repo string) string {
	return filepath.Join(s.repoDir(repo), "refs", "main")
}

// Create implements store.Store: the first revision holds .gitattributes,
// as a new Hub repository's does.
func (s *Store) Create(ctx context.Context, repo string) error {
	if err := store.CheckRepo(repo); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.head(repo); err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	f, err := s.putObject(strings.NewReader(store.GitAttributes))
	if err != nil {
		return fmt.Errorf("create %s: %w", repo, err)
	}
	f.Path = ".gitattributes"
	_, err = s.writeCommit(repo, commit{Message: "initial commit", Files: []store.File{f}})
	return err
}

func (s *Store) tagPath(repo, tag string) string {
	return filepath.Join(s.repoDir(repo), "refs", "tags", tag)
}

var _ store.Tagger = (*Store)(nil)

// Tag implements store.Tagger.
func (s *Store) Tag(ctx context.Context, repo, revision, tag string) error {
	if err := store.CheckRepo(repo); err != nil {
		return err
	}
	if err := store.CheckTag(tag); err != nil {
		return err
	}
	if _, err := s.readCommit(repo, revision); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, err := s.Resolve(ctx, repo, tag); err == nil {
		if old == revision {
			return nil
		}
		return fmt.Errorf("%s: tag %s names %s: %w", repo, tag, old, store.ErrTagExists)
	}
	if err := os.MkdirAll(filepath.Dir(s.tagPath(repo, tag)), 0o755); err != nil {
		return err
	}
	return writeAtomic(s.tagPath(repo, tag), strings.NewReader(revision+"\n"))
}

// Resolve implements store.Tagger.
func (s *Store) Resolve(ctx context.Context, repo, ref string) (string, error) {
	if err := store.CheckRepo(repo); err != nil {
		return "", err
	}
	if ref == "main" {
		return s.head(repo)
	}
	if err := store.CheckTag(ref); err != nil {
		return "", fmt.Errorf("%s: %v: %w", repo, err, store.ErrNotFound)
	}
	b, err := os.ReadFile(s.tagPath(repo, ref))
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("%s: tag %s: %w", repo, ref, store.ErrNotFound)
	}
	if err != nil {
		return "", err
	}
	rev := strings.TrimSpace(string(b))
	if !revRe.MatchString(rev) {
		return "", fmt.Errorf("%s: corrupt tag %s %q", repo, ref, rev)
	}
	return rev, nil
}

// head returns the branch head's revision; ErrNotFound for a repository
// never created.
func (s *Store) head(repo string) (string, error) {
	b, err := os.ReadFile(s.headPath(repo))
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("repository %s: %w (create it first)", repo, store.ErrNotFound)
	}
	if err != nil {
		return "", err
	}
	rev := strings.TrimSpace(string(b))
	if !revRe.MatchString(rev) {
		return "", fmt.Errorf("repository %s: corrupt head %q", repo, rev)
	}
	return rev, nil
}

// writeCommit stores c and moves the head to it.
func (s *Store) writeCommit(repo string, c commit) (string, error) {
	sort.Slice(c.Files, func(i, j int) bool { return c.Files[i].Path < c.Files[j].Path })
	rec, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(rec)
	rev := hex.EncodeToString(sum[:])
	if err := os.MkdirAll(filepath.Join(s.repoDir(repo), "refs"), 0o755); err != nil {
		return "", err
	}
	if err := writeAtomic(s.revPath(repo, rev), bytes.NewReader(rec)); err != nil {
		return "", err
	}
	if err := writeAtomic(s.headPath(repo), strings.NewReader(rev+"\n")); err != nil {
		return "", err
	}
	return rev, nil
}

// Publish implements store.Store: one commit on top of the head with every
// file under dir; the head's other files stay.
func (s *Store) Publish(ctx context.Context, repo, dir, message string) (string, error) {
	if err := store.CheckRepo(repo); err != nil {
		return "", err
	}
	paths, err := store.Walk(dir)
	if err != nil {
		return "", fmt.Errorf("publish %s: %w", dir, err)
	}
	files := make(map[string]store.File, len(paths))
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		f, err := s.putFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			return "", fmt.Errorf("publish %s: %w", p, err)
		}
		f.Path = p
		files[p] = f
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	parent, err := s.head(repo)
	if err != nil {
		return "", fmt.Errorf("publish to %s: %w", repo, err)
	}
	pc, err := s.readCommit(repo, parent)
	if err != nil {
		return "", err
	}
	for _, f := range pc.Files {
		if _, ok := files[f.Path]; !ok {
			files[f.Path] = f
		}
	}
	c := commit{Parent: parent, Message: message}
	for _, f := range files {
		c.Files = append(c.Files, f)
	}
	return s.writeCommit(repo, c)
}

func (s *Store) putFile(path string) (store.File, error) {
	in, err := os.Open(path)
	if err != nil {
		return store.File{}, err
	}
	defer in.Close()
	return s.putObject(in)
}

// putObject stores content under its hash.
func (s *Store) putObject(in io.Reader) (store.File, error) {
	// Not synced, as before (the local store is the development backend).
	tmp, err := atomicfile.Create("", atomicfile.Options{TempDir: filepath.Join(s.root, "objects"), NoSync: true})
	if err != nil {
		return store.File{}, err
	}
	defer tmp.Abort()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), in)
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
	if err := tmp.CommitTo(dst); err != nil {
		return store.File{}, err
	}
	return store.File{Size: n, SHA256: sum}, nil
}

func writeAtomic(dst string, r io.Reader) error {
	return atomicfile.WriteWith(dst, atomicfile.Options{NoSync: true}, func(w io.Writer) error {
		_, err := io.Copy(w, r)
		return err
	})
}

// readCommit reads and checks a revision's record.
func (s *Store) readCommit(repo, revision string) (commit, error) {
	if !revRe.MatchString(revision) {
		return commit{}, fmt.Errorf("revision %q of %s: %w", revision, repo, store.ErrNotFound)
	}
	b, err := os.ReadFile(s.revPath(repo, revision))
	if errors.Is(err, os.ErrNotExist) {
		return commit{}, fmt.Errorf("%s@%s: %w", repo, revision, store.ErrNotFound)
	}
	if err != nil {
		return commit{}, err
	}
	// The record is content-addressed: check it before trusting it.
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != revision {
		return commit{}, fmt.Errorf("%s@%s: commit record does not match its revision hash", repo, revision)
	}
	var c commit
	if err := json.Unmarshal(b, &c); err != nil {
		return commit{}, fmt.Errorf("%s@%s: %w", repo, revision, err)
	}
	return c, nil
}

// List implements store.Store.
func (s *Store) List(ctx context.Context, repo, revision string) ([]store.File, error) {
	if err := store.CheckRepo(repo); err != nil {
		return nil, err
	}
	c, err := s.readCommit(repo, revision)
	if err != nil {
		return nil, err
	}
	sort.Slice(c.Files, func(i, j int) bool { return c.Files[i].Path < c.Files[j].Path })
	return c.Files, nil
}

// Open implements store.Store.
func (s *Store) Open(ctx context.Context, repo, revision, path string) (io.ReadCloser, error) {
	files, err := s.List(ctx, repo, revision)
	if err != nil {
		return nil, err
	}
	i := sort.Search(len(files), func(i int) bool { return files[i].Path >= path })
	if i < len(files) && files[i].Path == path {
		rc, err := os.Open(s.objectPath(files[i].SHA256))
		if err != nil {
			return nil, fmt.Errorf("%s@%s: %s: %w", repo, revision, path, err)
		}
		return rc, nil
	}
	return nil, fmt.Errorf("%s@%s: %s: %w", repo, revision, path, store.ErrNotFound)
}
