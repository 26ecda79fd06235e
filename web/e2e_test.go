package web

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/datarefine/refine/wallet"
)

// TestBrowser drives headless Chromium (playwright-core, e2e/run.mjs)
// through the site served on 127.0.0.1 over the fixture: real numbers,
// charts, sign-in with a real and a forged signature, profile edits by the
// owner and by another hotkey, an inert <script> post, phone width.
// Screenshots go to $REFINE_ARTIFACTS/web-e2e (default: a temp folder).
// Without Chromium or node_modules it skips, except under CI.
func TestBrowser(t *testing.T) {
	chromium := os.Getenv("REFINE_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	node, nodeErr := exec.LookPath("node")
	_, chromeErr := os.Stat(chromium)
	_, pwErr := os.Stat(filepath.Join("e2e", "node_modules", "playwright-core", "package.json"))
	if nodeErr != nil || chromeErr != nil || pwErr != nil {
		msg := "browser tests need node, " + chromium + " and web/e2e/node_modules (npm ci --prefix web/e2e)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	f := newFixture(t)
	srv := startServer(t, f.site)

	// The test wallet signs what the browser gives it, as a user would
	// with `refine wallet sign`.
	signer := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ URI, Message string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		k, err := wallet.FromURI(in.URI)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"signature": sign(t, k, in.Message)})
	}))

	artifacts := os.Getenv("REFINE_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	}
	artifacts = filepath.Join(artifacts, "web-e2e")
	var miners []string
	for _, m := range f.miners {
		miners = append(miners, m.SS58())
	}
	cfg := map[string]any{
		"base": srv, "signer": signer + "/sign", "artifacts": artifacts, "chromium": chromium,
		"tokens": fmtInt(f.wantTokens), "documents": fmtInt(f.wantDocs),
		"miners": miners, "minerURIs": []string{"//Miner1", "//Miner2"}, "forger": "//Miner3",
		"validator": f.vals[0].SS58(), "task": f.completedLease.TaskID, "lease": f.completedLease.ID,
	}
	b, _ := json.Marshal(cfg)
	cfgPath := filepath.Join(t.TempDir(), "e2e.json")
	must(t, os.WriteFile(cfgPath, b, 0o600))

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("e2e", "run.mjs"), cfgPath)
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
	t.Logf("%d browser checks passed; screenshots in %s", len(rep.Checks), artifacts)
	if testing.Verbose() {
		t.Logf("checks: %s", strings.Join(rep.Checks, "\n"))
	}
	for _, f := range rep.Failures {
		t.Errorf("browser: %s", f)
	}
	if runErr != nil || !rep.OK || len(rep.Checks) < 30 {
		t.Fatalf("run.mjs: %v, ok %v, %d checks\nstderr: %s", runErr, rep.OK, len(rep.Checks), strings.TrimSpace(errb.String()))
	}
}

// startServer serves h on a fresh 127.0.0.1 port.
func startServer(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}
