// Package e2etest runs the website's browser tests: headless Chromium
// (Debian's, /usr/bin/chromium or $REFINE_CHROMIUM) driven by playwright-core
// from npm (web/e2e, installed with `npm ci --prefix web/e2e`) through the
// script web/e2e/run.mjs, one scenario per call.
package e2etest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// dir is web/e2e, from the test's working folder (web/).
const dir = "e2e"

func chromium() string {
	if c := os.Getenv("REFINE_CHROMIUM"); c != "" {
		return c
	}
	return "/usr/bin/chromium"
}

// Need skips the test when node, Chromium or playwright-core is missing,
// except under CI, where it fails; and in -short mode.
func Need(t *testing.T) {
	t.Helper()
	_, nodeErr := exec.LookPath("node")
	_, chromeErr := os.Stat(chromium())
	_, pwErr := os.Stat(filepath.Join(dir, "node_modules", "playwright-core", "package.json"))
	if nodeErr != nil || chromeErr != nil || pwErr != nil {
		msg := "browser tests need node, " + chromium() + " and web/e2e/node_modules (npm ci --prefix web/e2e)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
}

// Artifacts is the folder a test's screenshots go to:
// $REFINE_ARTIFACTS/<test>, else web/e2e/artifacts/<test> (ignored by
// git); emptied first.
func Artifacts(t *testing.T) string {
	t.Helper()
	root := os.Getenv("REFINE_ARTIFACTS")
	if root == "" {
		root = filepath.Join(dir, "artifacts")
	}
	out, err := filepath.Abs(filepath.Join(root, t.Name()))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(out); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	return out
}

// Run runs scenario with cfg (plus the artifacts folder and Chromium's
// path) and fails the test on every failed check; it logs the checks and
// the screenshots taken.
func Run(t *testing.T, scenario string, cfg map[string]any) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal(err)
	}
	artifacts := Artifacts(t)
	cfg["scenario"], cfg["artifacts"], cfg["chromium"] = scenario, artifacts, chromium()
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(t.TempDir(), "e2e.json")
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "run.mjs"), cfgPath)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	runErr := cmd.Run()
	var rep struct {
		OK       bool
		Checks   []string
		Failures []string
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("run.mjs: %v, %v\nstdout: %s\nstderr: %s", runErr, err, out.String(), errb.String())
	}
	shots, _ := filepath.Glob(filepath.Join(artifacts, "*.png"))
	sort.Strings(shots)
	t.Logf("%d browser checks passed; %d screenshots in %s:\n  %s", len(rep.Checks), len(shots), artifacts, strings.Join(names(shots), "\n  "))
	if testing.Verbose() {
		t.Logf("checks:\n  %s", strings.Join(rep.Checks, "\n  "))
	}
	for _, f := range rep.Failures {
		t.Errorf("browser: %s", f)
	}
	if runErr != nil || !rep.OK || len(rep.Checks) < 20 {
		t.Fatalf("run.mjs: %v, ok %v, %d checks\nstderr: %s", runErr, rep.OK, len(rep.Checks), strings.TrimSpace(errb.String()))
	}
}

func names(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Base(p)
	}
	return out
}
