package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/internal/shareddata"
)

// TestProcessCommand runs the README's main job through the command's own
// run function: import the assets, then process a real CommonCrawl WARC.
func TestProcessCommand(t *testing.T) {
	root := shareddata.Dir(t)
	assetsDir := t.TempDir()
	var out bytes.Buffer
	if err := runAssetsImport(filepath.Join(root, "filters_dedup", "datatrove_assets"), assetsDir, "", &out); err != nil {
		t.Fatal(err)
	}
	outDir := filepath.Join(t.TempDir(), "out")
	opts := processOptions{
		Inputs:    []string{filepath.Join(root, "warc", "commoncrawl", "whirlwind_CC-MAIN-2024-22_warc.gz")},
		Output:    outDir,
		Decisions: filepath.Join(outDir, "decisions.jsonl"),
		Assets:    assetsDir,
		Log:       logOptions{Level: "warn", Format: "json"},
	}
	out.Reset()
	var errBuf bytes.Buffer
	if err := runProcess(context.Background(), opts, &out, &errBuf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "records ") {
		t.Fatalf("no summary printed: %q", out.String())
	}
	m, err := dataset.ReadManifest(outDir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Dump != "CC-MAIN-2024-22" {
		t.Errorf("dump %q not taken from the input name", m.Dump)
	}
	if err := dataset.Verify(outDir, m); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(opts.Decisions); err != nil {
		t.Fatal(err)
	}

	// An altered word list in the asset folder (an empty folder is fine:
	// the word lists are built in).
	altered := t.TempDir()
	os.MkdirAll(filepath.Join(altered, "datatrove"), 0o755)
	os.WriteFile(filepath.Join(altered, "datatrove", "banned_words.txt"), []byte("x\n"), 0o644)

	// Errors name what is wrong.
	for _, tc := range []struct {
		opts processOptions
		want string
	}{
		{processOptions{Output: outDir, Assets: assetsDir}, "no input"},
		{processOptions{Inputs: opts.Inputs, Assets: assetsDir}, "no output"},
		{processOptions{Inputs: []string{"/nonexistent.warc.gz"}, Output: outDir, Assets: assetsDir}, "nonexistent.warc.gz"},
		{processOptions{Inputs: opts.Inputs, Output: outDir, Assets: altered}, "refine assets fetch"},
		{processOptions{Inputs: opts.Inputs, Output: outDir, Assets: t.TempDir()}, "not empty"},
		{processOptions{Inputs: opts.Inputs, Output: t.TempDir(), Dump: "a/b"}, "--dump"},
		{processOptions{Inputs: []string{filepath.Join(root, "SOURCES.md")}, Output: outDir, Assets: assetsDir}, "not a .warc"},
	} {
		tc.opts.Log = logOptions{Level: "error", Format: "text"}
		err := runProcess(context.Background(), tc.opts, &out, &errBuf)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want it to mention %q", tc.opts, err, tc.want)
		}
	}
}
