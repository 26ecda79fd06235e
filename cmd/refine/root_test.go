package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/datarefine/refine/internal/buildinfo"
)

// TestVersion: `refine --version` names the module version the toolchain
// stamped (dev under go test) and the toolchain.
func TestVersion(t *testing.T) {
	root := newRootCommand()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"--version"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	want := "refine version " + buildinfo.Get().Version
	if got := out.String(); !strings.HasPrefix(got, want) || !strings.Contains(got, "go1.") {
		t.Fatalf("--version printed %q, want %q…", got, want)
	}
}
