// Package shareddata locates the project's shared, read-only test data
// (real WARCs, golden datatrove outputs, models, benchmarks).
//
// The data never lives inside this repository. Tests find it through the
// REFINE_TESTDATA environment variable, or by default in ../shared/data next
// to the repository root. A test that needs it calls Dir(t): when the data is
// absent the test is skipped with a message that says so, except under CI
// (CI=true), where missing data is a failure because CI must run every test.
package shareddata

import (
	"os"
	"path/filepath"
	"testing"
)

// Root returns the test-data folder, or "" when none can be found.
func Root() string {
	if d := os.Getenv("REFINE_TESTDATA"); d != "" {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
		return ""
	}
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			cand := filepath.Join(dir, "..", "shared", "data")
			if st, err := os.Stat(cand); err == nil && st.IsDir() {
				return filepath.Clean(cand)
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Dir returns the test-data folder or skips (fails under CI) the test when it
// is absent.
func Dir(tb testing.TB) string {
	tb.Helper()
	d := Root()
	if d == "" {
		msg := "this test needs the shared test data: set REFINE_TESTDATA or place it at ../shared/data"
		if os.Getenv("CI") != "" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return d
}

// Path joins elements onto Dir(tb) and fails the test when the file is missing.
func Path(tb testing.TB, elem ...string) string {
	tb.Helper()
	p := filepath.Join(append([]string{Dir(tb)}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("test data file missing: %v", err)
	}
	return p
}
