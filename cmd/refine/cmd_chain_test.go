package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/datarefine/refine/chain/devchain"
	"github.com/datarefine/refine/internal/shareddata"
	"github.com/datarefine/refine/wallet"
)

// newTestChain serves an in-process devchain without a block time: it makes
// a block when told, or when a call waits for the block that includes it.
func newTestChain(t *testing.T, netuids []uint16, tempo uint16) (*devchain.Chain, string) {
	t.Helper()
	hp := devchain.DefaultHyperparameters()
	hp.CommitRevealEnabled = false
	hp.WeightsRateLimit = 0
	hp.MaxRegistrationsPerBlock = 8
	c, err := devchain.New(context.Background(), devchain.Options{Hyperparameters: &hp, Tempo: tempo, Netuids: netuids})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	srv := httptest.NewServer(devchain.Handler(c))
	t.Cleanup(srv.Close)
	return c, srv.URL
}

func TestChainClientCommands(t *testing.T) {
	ctx := context.Background()
	_, url := newTestChain(t, nil, 3)
	base := chainClientOptions{URL: url, Netuid: 1}
	keys := chainKeyOptions{KeyURI: "//Alice", ColdkeyURI: "//Alice//cold"}
	var out bytes.Buffer
	steps := []struct {
		name string
		run  func() error
		want string
	}{
		{"faucet", func() error { return runChainFaucet(ctx, chainFaucetOptions{base, keys, 100_000_000_000}, &out) }, "balance 100000000000 rao"},
		{"register", func() error { return runChainRegister(ctx, chainRegisterOptions{base, keys}, &out) }, "as uid 0"},
		{"stake", func() error { return runChainStake(ctx, chainStakeOptions{base, keys, 5_000_000_000}, &out) }, "staked 5000000000"},
		// Each call waits for the block that includes it (the faucet's is block 1).
		{"commit", func() error { return runChainCommit(ctx, chainCommitOptions{base, keys, "v1:repo@abc"}, &out) }, "committed at block 4"},
		{"commitments", func() error { return runChainCommitments(ctx, base, &out) }, `"v1:repo@abc"`},
		{"self-weight", func() error {
			return runChainSetWeights(ctx, chainSetWeightsOptions{chainClientOptions: base, Keys: keys, UIDs: []uint{0}, Weights: []uint{1}}, &out)
		}, "weights set"},
		{"metagraph", func() error { return runChainMetagraph(ctx, base, &out) }, "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"},
		{"block", func() error { return runChainBlock(ctx, base, &out) }, "5 0x"},
	}
	for _, st := range steps {
		out.Reset()
		if err := st.run(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if !strings.Contains(out.String(), st.want) {
			t.Errorf("%s: output %q lacks %q", st.name, out.String(), st.want)
		}
	}
	noKey := keys
	noKey.KeyURI = ""
	if err := runChainRegister(ctx, chainRegisterOptions{base, noKey}, &out); err == nil || !strings.Contains(err.Error(), "--key-uri") {
		t.Errorf("missing key: %v", err)
	}
	other := keys
	other.KeyURI = "//Nobody"
	if err := runChainCommit(ctx, chainCommitOptions{base, other, "x"}, &out); err == nil || !strings.Contains(err.Error(), "not registered") {
		t.Errorf("unregistered commit: %v", err)
	}
	if err := runChainSetWeights(ctx, chainSetWeightsOptions{chainClientOptions: base, Keys: keys, UIDs: []uint{0}, Weights: []uint{1}, Reveal: true}, &out); err == nil {
		t.Error("--reveal without --salt was accepted")
	}
}

// TestChainWalletKeys signs with wallet files: a wallet made by "refine
// wallet create --no-password" (plaintext coldkey: no password is asked),
// and the shared btcli wallet whose NaCl-encrypted coldkey is opened with the
// password from --password-file (one real Argon2i hash, skipped in -short).
func TestChainWalletKeys(t *testing.T) {
	ctx := context.Background()
	_, url := newTestChain(t, nil, 3)
	base := chainClientOptions{URL: url, Netuid: 1}
	w := walletOptions{Path: t.TempDir(), Name: "demo", Hotkey: "validator"}
	if err := runWalletCreate(ctx, walletCreateOptions{Wallet: w, Words: 12, NoPassword: true}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	cold, err := wallet.LoadColdkeyPub(w.Path, w.Name)
	if err != nil {
		t.Fatal(err)
	}
	hot, err := wallet.LoadHotkey(w.Path, w.Name, w.Hotkey)
	if err != nil {
		t.Fatal(err)
	}
	keys := chainKeyOptions{Wallet: w}
	var out bytes.Buffer
	if err := runChainFaucet(ctx, chainFaucetOptions{base, keys, 1_000_000_000}, &out); err != nil {
		t.Fatalf("faucet: %v", err)
	}
	if want := cold.SS58() + " balance 1000000000 rao"; !strings.Contains(out.String(), want) {
		t.Errorf("faucet: %q lacks %q", out.String(), want)
	}
	out.Reset()
	if err := runChainRegister(ctx, chainRegisterOptions{base, keys}, &out); err != nil {
		t.Fatalf("register: %v", err)
	}
	if want := "registered " + hot.SS58() + " on subnet 1 as uid 0"; !strings.Contains(out.String(), want) {
		t.Errorf("register: %q lacks %q", out.String(), want)
	}
	missing := keys
	missing.Wallet.Hotkey = "absent"
	if err := runChainCommit(ctx, chainCommitOptions{base, missing, "x"}, &out); err == nil || !strings.Contains(err.Error(), "--wallet.hotkey") {
		t.Errorf("missing hotkey file: %v", err)
	}
	noWallet := keys
	noWallet.Wallet.Name = "nobody"
	if err := runChainFaucet(ctx, chainFaucetOptions{base, noWallet, 1}, &out); err == nil || !strings.Contains(err.Error(), "--coldkey-uri") {
		t.Errorf("missing coldkey file: %v", err)
	}

	if testing.Short() {
		t.Skip("Argon2i (512 MiB) skipped in -short")
	}
	dir := filepath.Dir(shareddata.Path(t, "chain", "wallet", "generated_wallet", "coldkey"))
	btcli := walletOptions{Path: filepath.Dir(dir), Name: "generated_wallet", Hotkey: "default"}
	btcliCold, err := wallet.LoadColdkeyPub(btcli.Path, btcli.Name)
	if err != nil {
		t.Fatal(err)
	}
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("testpassword123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	enc := chainKeyOptions{Wallet: btcli, PasswordFile: pwFile}
	if err := runChainFaucet(ctx, chainFaucetOptions{base, enc, 1_000_000_000}, &out); err != nil {
		t.Fatalf("faucet with the encrypted btcli coldkey: %v", err)
	}
	if want := btcliCold.SS58() + " balance 1000000000 rao"; !strings.Contains(out.String(), want) {
		t.Errorf("faucet: %q lacks %q", out.String(), want)
	}
}

// TestChainWait waits for an epoch while blocks are produced on demand.
func TestChainWait(t *testing.T) {
	ctx := context.Background()
	c, url := newTestChain(t, nil, 4)
	start, err := c.EpochState(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				_ = c.AdvanceBlocks(ctx, 1)
			}
		}
	}()
	var out bytes.Buffer
	o := chainWaitOptions{chainClientOptions: chainClientOptions{URL: url, Netuid: 1}, Epochs: 1, Timeout: time.Minute, Poll: time.Millisecond}
	if err := runChainWait(ctx, o, &out); err != nil {
		t.Fatal(err)
	}
	var got uint64
	if _, err := fmt.Sscan(out.String(), &got); err != nil || got < start.NextEpochBlock() {
		t.Errorf("wait --epochs 1 returned %q, want a block ≥ %d", out.String(), start.NextEpochBlock())
	}
	// It returns once the chain ran the epoch, whichever block that was.
	if e, err := c.EpochState(ctx, 1); err != nil || e.Index < start.Index+1 {
		t.Errorf("after wait --epochs 1: %+v, %v", e, err)
	}

	o = chainWaitOptions{chainClientOptions: chainClientOptions{URL: "http://127.0.0.1:1"}, Timeout: 100 * time.Millisecond, Poll: 10 * time.Millisecond}
	if err := runChainWait(ctx, o, &out); err == nil {
		t.Error("wait on a chain that is not there returned no error")
	}
}
