package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
)

var repoRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,95}(/[A-Za-z0-9][A-Za-z0-9._-]{0,95})?$`)

// CheckRepo validates a repository name: "name" or "owner/name" with
// letters, digits, '.', '_' and '-', as on the Hugging Face Hub.
func CheckRepo(repo string) error {
	if !repoRe.MatchString(repo) || repo != filepath.Clean(repo) {
		return fmt.Errorf("repository name %q: want owner/name of letters, digits, '.', '_' and '-'", repo)
	}
	return nil
}

// Limits bound what Fetch downloads from an untrusted repository.
type Limits struct {
	MaxFileBytes  int64 // per file (0: 4 GiB)
	MaxTotalBytes int64 // whole revision (0: 16 GiB)
	MaxFiles      int   // (0: 10,000)
}

func (l Limits) withDefaults() Limits {
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = 4 << 30
	}
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = 16 << 30
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = 10_000
	}
	return l
}

// Fetch downloads every file of repo at revision into dst, refusing paths
// that leave dst and enforcing lim. Files whose SHA256 the store lists are
// verified.
func Fetch(ctx context.Context, s Store, repo, revision, dst string, lim Limits) ([]File, error) {
	lim = lim.withDefaults()
	files, err := s.List(ctx, repo, revision)
	if err != nil {
		return nil, err
	}
	if len(files) > lim.MaxFiles {
		return nil, fmt.Errorf("%s@%s: %d files, limit %d: %w", repo, revision, len(files), lim.MaxFiles, ErrTooLarge)
	}
	var total int64
	for _, f := range files {
		if !filepath.IsLocal(f.Path) {
			return nil, fmt.Errorf("%s@%s: file path %q leaves the dataset", repo, revision, f.Path)
		}
		if f.Size > lim.MaxFileBytes {
			return nil, fmt.Errorf("%s@%s: %s is %d bytes, limit %d: %w", repo, revision, f.Path, f.Size, lim.MaxFileBytes, ErrTooLarge)
		}
		total += f.Size
	}
	if total > lim.MaxTotalBytes {
		return nil, fmt.Errorf("%s@%s: %d bytes in all, limit %d: %w", repo, revision, total, lim.MaxTotalBytes, ErrTooLarge)
	}
	for _, f := range files {
		if err := fetchOne(ctx, s, repo, revision, dst, f, lim.MaxFileBytes); err != nil {
			return nil, err
		}
	}
	return files, nil
}

func fetchOne(ctx context.Context, s Store, repo, revision, dst string, f File, max int64) error {
	rc, err := s.Open(ctx, repo, revision, f.Path)
	if err != nil {
		return err
	}
	defer rc.Close()
	p := filepath.Join(dst, filepath.FromSlash(f.Path))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	out, err := os.Create(p)
	if err != nil {
		return err
	}
	h := sha256.New()
	// Read one byte past the limit to tell "exactly at" from "over": the
	// listing's size is the miner's word, not a bound.
	n, err := io.Copy(io.MultiWriter(out, h), io.LimitReader(rc, max+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fetch %s: %w", f.Path, err)
	}
	if n > max {
		return fmt.Errorf("fetch %s: over %d bytes: %w", f.Path, max, ErrTooLarge)
	}
	if f.SHA256 != "" && hex.EncodeToString(h.Sum(nil)) != f.SHA256 {
		return fmt.Errorf("fetch %s: content does not match its sha256", f.Path)
	}
	return nil
}

// Walk lists the regular files under dir as slash paths, sorted.
func Walk(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file", p)
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	sort.Strings(out)
	return out, err
}
