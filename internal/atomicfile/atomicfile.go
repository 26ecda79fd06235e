// Package atomicfile writes a file so that it appears whole or not at all:
// the content goes to a temporary file in a folder on the same file system
// (by default the target's own folder), which is synced, closed and renamed
// onto the target; on any error the temporary file is removed. It is the
// one copy of that rule: the dataset build's working files, signature
// files, keyfiles, assets and the local store all write through it.
//
// Temporary files are named ".tmp-<target's name>-<random>", so a folder
// listing that skips dot files never sees them and a clean-up of an
// interrupted run can find them by the ".tmp-" prefix.
package atomicfile

import (
	"io"
	"os"
	"path/filepath"
)

// Options says how a file is written. The zero value writes in the
// target's folder, syncs before the rename, and gives the file mode 0600
// (os.CreateTemp's).
type Options struct {
	// Perm is the file's mode; 0 means 0600.
	Perm os.FileMode
	// TempDir holds the temporary file; it must be on the target's file
	// system. "" means the target's folder.
	TempDir string
	// NoSync skips the fsync before the rename (a crash may then lose the
	// file's last writes), for files that are checked when read or rebuilt
	// from their inputs: content-addressed objects, signature files, a
	// dedup run's removal list. The rename still makes a failed write
	// leave no partial file under the target's name.
	NoSync bool
}

// Write writes path with mode perm through a synced temporary file in
// path's folder: fill writes the content; if fill fails, path is left as
// it was and no temporary file remains.
func Write(path string, perm os.FileMode, fill func(io.Writer) error) error {
	return WriteWith(path, Options{Perm: perm}, fill)
}

// WriteWith is Write with Options.
func WriteWith(path string, opts Options, fill func(io.Writer) error) error {
	f, err := Create(path, opts)
	if err != nil {
		return err
	}
	if err := fill(f); err != nil {
		f.Abort()
		return err
	}
	return f.Commit()
}

// File is a temporary file that becomes its target on Commit. It is for
// writers that stay open across calls (a stream of lines written as a
// run goes); Write is simpler where one function fills the file.
type File struct {
	f      *os.File
	path   string
	noSync bool
	done   bool
}

// Create opens a temporary file for path. The caller must end it with
// Commit or Abort. path may be "" when the target's name is known only
// once the content is written (a content-addressed store): then
// opts.TempDir is required and the file ends with CommitTo.
func Create(path string, opts Options) (*File, error) {
	dir, pattern := opts.TempDir, ".tmp-*"
	if path != "" {
		if dir == "" {
			dir = filepath.Dir(path)
		}
		pattern = ".tmp-" + filepath.Base(path) + "-*"
	}
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	perm := opts.Perm
	if perm == 0 {
		perm = 0o600
	}
	// Chmod rather than trusting CreateTemp's 0600 under the umask: the
	// mode is exact, and set before any content is written (a keyfile is
	// never readable by others, not even while it is being written).
	if err := f.Chmod(perm); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &File{f: f, path: path, noSync: opts.NoSync}, nil
}

// Write writes to the temporary file.
func (f *File) Write(p []byte) (int, error) { return f.f.Write(p) }

// Name is the temporary file's path.
func (f *File) Name() string { return f.f.Name() }

// Commit syncs (unless NoSync), closes and renames the temporary file
// onto the target. On error the temporary file is removed and the target
// is left as it was.
func (f *File) Commit() error { return f.CommitTo(f.path) }

// CommitTo is Commit onto path instead of the target given to Create.
func (f *File) CommitTo(path string) (err error) {
	if f.done {
		return os.ErrClosed
	}
	f.done = true
	defer func() {
		if err != nil {
			os.Remove(f.f.Name())
		}
	}()
	if !f.noSync {
		err = f.f.Sync()
	}
	if cerr := f.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(f.f.Name(), path)
}

// Abort closes and removes the temporary file; the target is left as it
// was. After Commit it does nothing, so `defer f.Abort()` is safe.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.f.Close()
	os.Remove(f.f.Name())
}
