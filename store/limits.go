package store

import (
	"fmt"
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

// Limits bound what a reader downloads from an untrusted repository (see
// submission.Fetch).
type Limits struct {
	MaxManifestBytes int64 // the submission's manifest (0: 4 MiB)
	MaxFileBytes     int64 // per file (0: 4 GiB)
	MaxTotalBytes    int64 // whole submission (0: 16 GiB)
	MaxFiles         int   // (0: 10,000)
}

// WithDefaults fills the zero fields.
func (l Limits) WithDefaults() Limits {
	if l.MaxManifestBytes <= 0 {
		l.MaxManifestBytes = 4 << 20
	}
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
