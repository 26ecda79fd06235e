package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// entries lists dir's names.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteWholeWithMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key")
	for _, perm := range []os.FileMode{0o600, 0o644} {
		if err := Write(path, perm, func(w io.Writer) error {
			_, err := io.WriteString(w, "secret")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil || string(b) != "secret" {
			t.Fatalf("content %q, %v", b, err)
		}
		st, _ := os.Stat(path)
		if st.Mode().Perm() != perm {
			t.Fatalf("mode %v, want %v", st.Mode().Perm(), perm)
		}
		if got := entries(t, dir); len(got) != 1 {
			t.Fatalf("folder holds %v, want only key", got)
		}
	}
}

func TestWriteFillErrorLeavesOldFileAndNoTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	boom := errors.New("boom")
	// No file before: none after.
	err := Write(path, 0o644, func(w io.Writer) error {
		io.WriteString(w, "half")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v, want boom", err)
	}
	if got := entries(t, dir); len(got) != 0 {
		t.Fatalf("folder holds %v after a failed write", got)
	}
	// A file before: the same file after, never the half-written one.
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, 0o644, func(w io.Writer) error {
		io.WriteString(w, "new but half")
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Fatalf("content %q, want the old file", b)
	}
	if got := entries(t, dir); len(got) != 1 {
		t.Fatalf("folder holds %v", got)
	}
}

func TestFileInvisibleUntilCommit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "lines.jsonl")
	f, err := Create(path, Options{NoSync: true, Perm: 0o640})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Abort()
	if !strings.HasPrefix(filepath.Base(f.Name()), ".tmp-lines.jsonl-") || filepath.Dir(f.Name()) != dir {
		t.Fatalf("temp file %s", f.Name())
	}
	for range 3 {
		io.WriteString(f, "x\n")
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("target visible before Commit: %v", err)
		}
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	f.Abort() // after Commit: nothing
	if b, _ := os.ReadFile(path); string(b) != "x\nx\nx\n" {
		t.Fatalf("content %q", b)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v, want 0640", st.Mode().Perm())
	}
	if got := entries(t, dir); len(got) != 1 {
		t.Fatalf("folder holds %v", got)
	}
	if err := f.Commit(); err == nil {
		t.Fatal("second Commit succeeded")
	}
}

func TestAbortAndTempDir(t *testing.T) {
	dir, tmp := t.TempDir(), t.TempDir()
	path := filepath.Join(dir, "out")
	f, err := Create(path, Options{TempDir: tmp})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(f.Name()) != tmp {
		t.Fatalf("temp file %s not in %s", f.Name(), tmp)
	}
	if st, err := os.Stat(f.Name()); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("temp file mode before any content: %v, %v", st.Mode().Perm(), err)
	}
	io.WriteString(f, "abc")
	f.Abort()
	if len(entries(t, dir))+len(entries(t, tmp)) != 0 {
		t.Fatal("Abort left files")
	}
	// A content-addressed put: the name is known once written.
	g, err := Create("", Options{TempDir: tmp})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(g, "abc")
	if err := g.CommitTo(filepath.Join(dir, "ab")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "ab")); string(b) != "abc" || len(entries(t, tmp)) != 0 {
		t.Fatalf("content %q, temp %v", b, entries(t, tmp))
	}
}

func TestCommitFailureRemovesTemp(t *testing.T) {
	dir := t.TempDir()
	f, err := Create(filepath.Join(dir, "missing", "x"), Options{TempDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, "abc")
	if err := f.Commit(); err == nil {
		t.Fatal("rename into a missing folder succeeded")
	}
	if got := entries(t, dir); len(got) != 0 {
		t.Fatalf("folder holds %v after a failed commit", got)
	}
}
