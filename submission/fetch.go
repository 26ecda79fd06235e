package submission

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/store"
)

// FaultKind names what a miner got wrong in a submission it committed.
type FaultKind string

// The kinds of Fault. Every one is the miner's doing: the revision it
// committed does not hold what the commitment promises.
const (
	// NoManifest: the repo, the revision or the submission's manifest
	// (submissions/T/manifest.json) does not exist.
	NoManifest FaultKind = "no_manifest"
	// ManifestHash: the manifest's sha256 does not start with the
	// committed prefix.
	ManifestHash FaultKind = "manifest_hash"
	// BadManifest: the manifest does not parse, or seals paths that are not
	// files of the submission.
	BadManifest FaultKind = "manifest"
	// TooLarge: the manifest, a sealed file, the number of files or their
	// total is over the reader's limits (by the manifest's word or while
	// reading).
	TooLarge FaultKind = "too_large"
	// MissingFile: a file the manifest seals is absent at the revision.
	MissingFile FaultKind = "missing_file"
	// FileMismatch: a sealed file's bytes differ from the size or sha256
	// the manifest states.
	FileMismatch FaultKind = "file_mismatch"
	// WrongTask: the manifest names another task than the commitment.
	WrongTask FaultKind = "wrong_task"
	// WrongHotkey: the manifest names another hotkey than the one that
	// committed it.
	WrongHotkey FaultKind = "wrong_hotkey"
)

// Fault is a failure of Fetch that the miner is responsible for. Any other
// error Fetch returns (a store that is down, rate-limited past its retries,
// a timeout, a cancelled context, a full disk) is the reader's side: retry
// later and never score it against the miner.
type Fault struct {
	Kind FaultKind
	Err  error
}

func (f *Fault) Error() string { return fmt.Sprintf("%s: %v", f.Kind, f.Err) }
func (f *Fault) Unwrap() error { return f.Err }

// AsFault returns err's Fault, if it is one.
func AsFault(err error) (*Fault, bool) {
	var f *Fault
	ok := errors.As(err, &f)
	return f, ok
}

func fault(kind FaultKind, format string, args ...any) error {
	return &Fault{Kind: kind, Err: fmt.Errorf(format, args...)}
}

// Fetched is a submission Fetch downloaded and verified.
type Fetched struct {
	// Manifest is the parsed manifest; ManifestPath is where it lies under
	// the destination folder (and in the repository).
	Manifest     *dataset.Manifest
	ManifestPath string
	// ManifestSHA256 is the manifest's full sha256 (hex).
	ManifestSHA256 string
	// Bytes is the total of the files fetched, the manifest included.
	Bytes int64
}

var sha256Re = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Fetch downloads the submission c commits to into dst, in the
// repository's layout: first submissions/T/manifest.json, whose sha256
// must start with the committed prefix, then only the files that manifest
// seals, each read up to the size the manifest states (one byte more is an
// error) and checked against its sha256 while it streams. lim bounds the
// manifest, each file, the number of files and their total, all before a
// byte of the files is read. Files of the revision that the manifest does
// not seal (earlier submissions, anything else) are never read.
//
// A *Fault (see AsFault) is the miner's fault; every other error is a
// failure on the reader's side.
func Fetch(ctx context.Context, s store.Store, c Commitment, dst string, lim store.Limits) (*Fetched, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	lim = lim.WithDefaults()
	where := fmt.Sprintf("%s@%s", c.Repo, c.Revision)
	mpath := dataset.SubmissionManifestPath(c.TaskID)
	out := &Fetched{ManifestPath: mpath}

	n, sum, err := get(ctx, s, c, dst, mpath, lim.MaxManifestBytes)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, fault(NoManifest, "%s has no %s: %v", where, mpath, err)
	case errors.Is(err, errOver):
		return nil, &Fault{Kind: TooLarge, Err: fmt.Errorf("%s: %s is over %d bytes: %w", where, mpath, lim.MaxManifestBytes, store.ErrTooLarge)}
	case err != nil:
		return nil, fmt.Errorf("fetch %s from %s: %w", mpath, where, err)
	}
	out.Bytes += n
	out.ManifestSHA256 = sum
	if sum[:HashPrefixLen] != c.ManifestHash {
		return nil, fault(ManifestHash, "%s: %s has sha256 %s…, the commitment says %s", where, mpath, sum[:HashPrefixLen], c.ManifestHash)
	}
	b, err := os.ReadFile(filepath.Join(dst, filepath.FromSlash(mpath)))
	if err != nil {
		return nil, err
	}
	m, err := dataset.ParseManifest(b)
	if err != nil {
		return nil, fault(BadManifest, "%s: %s: %v", where, mpath, err)
	}
	out.Manifest = m

	// Check the whole list against the limits before fetching anything:
	// the sizes are the miner's word, so each is also enforced while
	// reading.
	files := m.Files()
	if len(files) > lim.MaxFiles {
		return nil, &Fault{Kind: TooLarge, Err: fmt.Errorf("%s: manifest seals %d files, limit %d: %w", where, len(files), lim.MaxFiles, store.ErrTooLarge)}
	}
	seen := map[string]bool{mpath: true}
	var total int64
	for _, f := range files {
		if seen[f.Path] {
			return nil, fault(BadManifest, "%s: manifest seals %s twice (or seals itself)", where, f.Path)
		}
		seen[f.Path] = true
		if !sha256Re.MatchString(f.SHA256) || f.Bytes < 0 {
			return nil, fault(BadManifest, "%s: manifest entry %s: size %d, sha256 %q", where, f.Path, f.Bytes, f.SHA256)
		}
		if f.Bytes > lim.MaxFileBytes {
			return nil, &Fault{Kind: TooLarge, Err: fmt.Errorf("%s: %s is %d bytes, limit %d: %w", where, f.Path, f.Bytes, lim.MaxFileBytes, store.ErrTooLarge)}
		}
		total += f.Bytes
		if total > lim.MaxTotalBytes {
			return nil, &Fault{Kind: TooLarge, Err: fmt.Errorf("%s: the manifest seals over %d bytes, limit %d: %w", where, total, lim.MaxTotalBytes, store.ErrTooLarge)}
		}
	}
	// A sealed path that is another's folder could not be written; refuse
	// it as the miner's error rather than fail on the reader's disk.
	paths := slices.Sorted(maps.Keys(seen))
	for i := 1; i < len(paths); i++ {
		if strings.HasPrefix(paths[i], paths[i-1]+"/") {
			return nil, fault(BadManifest, "%s: manifest seals both %s and %s", where, paths[i-1], paths[i])
		}
	}
	for _, f := range files {
		n, sum, err := get(ctx, s, c, dst, f.Path, f.Bytes)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil, fault(MissingFile, "%s: %s, sealed by the manifest, is not in the revision: %v", where, f.Path, err)
		case errors.Is(err, errOver):
			return nil, fault(FileMismatch, "%s: %s is larger than the %d bytes the manifest states", where, f.Path, f.Bytes)
		case err != nil:
			return nil, fmt.Errorf("fetch %s from %s: %w", f.Path, where, err)
		case n != f.Bytes:
			return nil, fault(FileMismatch, "%s: %s is %d bytes, the manifest states %d", where, f.Path, n, f.Bytes)
		case sum != f.SHA256:
			return nil, fault(FileMismatch, "%s: %s has sha256 %s, the manifest states %s", where, f.Path, sum, f.SHA256)
		}
		out.Bytes += n
	}
	return out, nil
}

// errOver reports a file longer than the bound get read it with.
var errOver = errors.New("over its bound")

// get copies one file of the revision to dst, reading at most max bytes
// (errOver past that), and returns its size and sha256.
func get(ctx context.Context, s store.Store, c Commitment, dst, rel string, max int64) (int64, string, error) {
	if !filepath.IsLocal(filepath.FromSlash(rel)) {
		return 0, "", fault(BadManifest, "path %q leaves the submission", rel)
	}
	rc, err := s.Open(ctx, c.Repo, c.Revision, rel)
	if err != nil {
		return 0, "", err
	}
	defer rc.Close()
	p := filepath.Join(dst, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return 0, "", err
	}
	f, err := os.Create(p)
	if err != nil {
		return 0, "", err
	}
	h := sha256.New()
	// One byte past the bound tells "exactly at" from "over".
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(rc, max+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, "", err
	}
	if n > max {
		return n, "", errOver
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// CheckOwner checks that a fetched manifest names the commitment's task
// (its decimal id) and the hotkey that made the commitment on chain: the
// rule every reader of a submission (validators, the dataset build)
// applies, so that a manifest copied from another miner or another task is
// nobody's. A mismatch is a *Fault (WrongTask, WrongHotkey).
func CheckOwner(m *dataset.Manifest, c Commitment, hotkey string) error {
	if m.Task != strconv.FormatInt(c.TaskID, 10) {
		return fault(WrongTask, "manifest names task %q, the commitment task %d", m.Task, c.TaskID)
	}
	if m.Hotkey != hotkey {
		return fault(WrongHotkey, "manifest names hotkey %q, the commitment was made by %s", m.Hotkey, hotkey)
	}
	return nil
}
