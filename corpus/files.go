package corpus

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/datarefine/refine/internal/atomicfile"
)

// Every file a build leaves for a later stage or run is written to a
// temporary name in its folder, synced and renamed into place: a process
// killed at any point leaves either the whole file or none of it, and a
// completion marker is the last file a unit of work writes.

// writeFileAtomic writes path through a synced temporary file next to it.
func writeFileAtomic(path string, fill func(w io.Writer) error) error {
	return writeFileVia(filepath.Dir(path), path, fill)
}

// writeFileVia writes path through a synced temporary file in tmpDir (on
// the same file system), for folders that must never hold a partial
// file, such as the dataset's working copy, which is published whole.
func writeFileVia(tmpDir, path string, fill func(w io.Writer) error) error {
	for _, d := range []string{tmpDir, filepath.Dir(path)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	return atomicfile.WriteWith(path, atomicfile.Options{TempDir: tmpDir}, fill)
}

// writeJSON writes v as indented JSON (keys in struct order, maps sorted:
// the same value gives the same bytes), atomically.
func writeJSON(path string, v any) error {
	b, err := marshalJSON(v)
	if err != nil {
		return err
	}
	return writeFileAtomic(path, func(w io.Writer) error { _, err := w.Write(b); return err })
}

func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// readJSON reads path into v; (false, nil) when it does not exist.
func readJSON(path string, v any) (bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	return true, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// hashFile returns the size and sha256 of a file.
func hashFile(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", fmt.Errorf("hash %s: %w", path, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}
