//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/datarefine/refine/wallet"
)

// envRunAsMain makes the test binary behave as the refine binary: the
// walk-through test puts it on PATH under the name "refine". The test binary
// is built from the same package as the real one, so the doc's commands run
// against exactly the code under test, without a second build.
const envRunAsMain = "REFINE_TEST_RUN_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(envRunAsMain) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// docBlocks returns the ```sh blocks that directly follow the marker comment
// <!-- walkthrough:NAME --> in a Markdown file, in order.
func docBlocks(doc, name string) ([]string, error) {
	marker := "<!-- walkthrough:" + name + " -->"
	var blocks []string
	sc := bufio.NewScanner(strings.NewReader(doc))
	const (
		seek = iota
		expectFence
		inBlock
	)
	state, line := seek, 0
	var cur []string
	for sc.Scan() {
		line++
		l := sc.Text()
		switch state {
		case seek:
			if strings.TrimSpace(l) == marker {
				state = expectFence
			}
		case expectFence:
			if strings.TrimSpace(l) != "```sh" {
				return nil, fmt.Errorf("line %d: %s must be followed by a ```sh block", line, marker)
			}
			state, cur = inBlock, nil
		case inBlock:
			if strings.TrimSpace(l) == "```" {
				blocks = append(blocks, strings.Join(cur, "\n")+"\n")
				state = seek
				continue
			}
			cur = append(cur, l)
		}
	}
	if state != seek {
		return nil, fmt.Errorf("unterminated walkthrough:%s block", name)
	}
	return blocks, sc.Err()
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// metagraphColumn reads column col of the row whose HOTKEY is hotkey from
// the last metagraph table in out.
func metagraphColumn(out, hotkey, col string) (float64, error) {
	lines := strings.Split(out, "\n")
	header := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "UID ") {
			header = i
		}
	}
	if header < 0 {
		return 0, errors.New("no metagraph table in the output")
	}
	names := strings.Fields(lines[header])
	hk, c := -1, -1
	for i, n := range names {
		switch {
		case n == "HOTKEY":
			hk = i
		case n == col:
			c = i
		}
	}
	if hk < 0 || c < 0 {
		return 0, fmt.Errorf("metagraph header %q lacks HOTKEY or %s", lines[header], col)
	}
	for _, l := range lines[header+1:] {
		f := strings.Fields(l)
		if len(f) == len(names) && f[hk] == hotkey {
			return strconv.ParseFloat(f[c], 64)
		}
	}
	return 0, fmt.Errorf("hotkey %s not in the metagraph", hotkey)
}

// TestChainWalkthrough runs the walk-through of docs/chain.md as written:
// the chain-server block in the background, then the chain blocks in one
// shell, with the test's own $CHAIN_PORT and $WALLET_PATH. It needs a shell and
// spends two to three epochs of 500 ms blocks (about 15 s idle; 25-50 s
// on a loaded 2-core machine).
func TestChainWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("walk-through (several epochs of a live devchain) skipped in -short")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on PATH")
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "chain.md"))
	if err != nil {
		t.Fatal(err)
	}
	server, err := docBlocks(string(doc), "chain-server")
	if err != nil {
		t.Fatal(err)
	}
	client, err := docBlocks(string(doc), "chain")
	if err != nil {
		t.Fatal(err)
	}
	if len(server) != 1 || len(client) == 0 {
		t.Fatalf("docs/chain.md: %d chain-server blocks (want 1), %d chain blocks (want some)", len(server), len(client))
	}

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	if err := os.Symlink(self, filepath.Join(bin, "refine")); err != nil {
		t.Fatal(err)
	}
	walletPath := filepath.Join(t.TempDir(), "wallets")
	env := append(os.Environ(),
		envRunAsMain+"=1",
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		fmt.Sprintf("CHAIN_PORT=%d", freePort(t)),
		"WALLET_PATH="+walletPath,
		wallet.EnvPassword+"=", // never prompt: the walk-through is non-interactive
	)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// The chain runs in its own process group, so that it and its shell stop together.
	var chainOut bytes.Buffer
	chain := exec.Command(sh, "-c", server[0])
	chain.Env, chain.Stdout, chain.Stderr = env, &chainOut, &chainOut
	chain.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := chain.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = syscall.Kill(-chain.Process.Pid, syscall.SIGTERM)
		_ = chain.Wait()
		if t.Failed() {
			t.Logf("chain output:\n%s", chainOut.String())
		}
	}()

	var out, stderr bytes.Buffer
	script := exec.CommandContext(ctx, sh, "-e", "-x", "-c", strings.Join(client, ""))
	script.Env, script.Stdout, script.Stderr = env, &out, &stderr
	if err := script.Run(); err != nil {
		t.Fatalf("walk-through: %v\nstdout:\n%s\nstderr (commands):\n%s", err, out.String(), stderr.String())
	}

	t.Logf("walk-through output:\n%s", out.String())

	miner, err := wallet.LoadHotkey(walletPath, "demo", "miner")
	if err != nil {
		t.Fatalf("the walk-through's miner hotkey: %v", err)
	}
	validator, err := wallet.LoadHotkey(walletPath, "demo", "validator")
	if err != nil {
		t.Fatalf("the walk-through's validator hotkey: %v", err)
	}
	checks := []struct{ who, hotkey, col string }{
		{"miner", miner.SS58(), "INCENTIVE"},
		{"validator", validator.SS58(), "DIVIDENDS"},
	}
	for _, c := range checks {
		v, err := metagraphColumn(out.String(), c.hotkey, c.col)
		if err != nil || v <= 0 {
			t.Errorf("%s %s = %v (%v), want > 0; output:\n%s", c.who, c.col, v, err, out.String())
		}
	}
}
