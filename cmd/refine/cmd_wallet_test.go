package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datarefine/refine/internal/shareddata"
	"github.com/datarefine/refine/wallet"
)

func signQuiet(t *testing.T, w walletOptions, msg *string, stdin string) string {
	t.Helper()
	var out bytes.Buffer
	err := runWalletSign(context.Background(), walletSignOptions{Wallet: w, Message: msg, Quiet: true}, strings.NewReader(stdin), &out)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	sig := strings.TrimSpace(out.String())
	if !strings.HasPrefix(sig, "0x") || len(sig) != 130 || strings.Contains(sig, "\n") {
		t.Fatalf("quiet output is not just a signature: %q", out.String())
	}
	return sig
}

func verifyCLI(ss58, sig string, msg *string, stdin string) error {
	return runWalletVerify(context.Background(), walletVerifyOptions{SS58: ss58, Signature: sig, Message: msg, Quiet: true},
		strings.NewReader(stdin), &bytes.Buffer{})
}

func TestWalletCreateListSignVerify(t *testing.T) {
	ctx := context.Background()
	w := walletOptions{Path: t.TempDir(), Name: "miner", Hotkey: "h0"}
	var out bytes.Buffer
	if err := runWalletCreate(ctx, walletCreateOptions{Wallet: w, Words: 12, NoPassword: true}, &out); err != nil {
		t.Fatal(err)
	}
	if strings.Count(out.String(), "mnemonic: ") != 2 {
		t.Errorf("create should show both mnemonics once:\n%s", out.String())
	}
	hot, err := wallet.LoadHotkey(w.Path, "miner", "h0")
	if err != nil {
		t.Fatal(err)
	}
	cold, err := wallet.LoadColdkeyPub(w.Path, "miner")
	if err != nil {
		t.Fatal(err)
	}
	if err := runWalletCreate(ctx, walletCreateOptions{Wallet: w, Words: 12, NoPassword: true}, &out); err == nil {
		t.Error("second create succeeded")
	}
	// A second hotkey joins the same coldkey.
	w2 := w
	w2.Hotkey = "h1"
	out.Reset()
	if err := runWalletCreate(ctx, walletCreateOptions{Wallet: w2, Words: 24, NoPassword: true}, &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "coldkey") {
		t.Errorf("existing coldkey recreated:\n%s", out.String())
	}
	if c, _ := wallet.LoadColdkeyPub(w.Path, "miner"); c.SS58() != cold.SS58() {
		t.Error("coldkey changed")
	}

	// list, text and JSON
	out.Reset()
	if err := runWalletList(ctx, walletListOptions{Wallet: w}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"miner", cold.SS58(), "hotkey h0  " + hot.SS58(), "hotkey h1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("list lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := runWalletList(ctx, walletListOptions{Wallet: w, JSON: true}, &out); err != nil {
		t.Fatal(err)
	}
	var infos []wallet.Info
	if err := json.Unmarshal(out.Bytes(), &infos); err != nil || len(infos) != 1 || len(infos[0].Hotkeys) != 2 {
		t.Fatalf("list --json: %v %s", err, out.String())
	}

	// sign (argument and stdin give the same message) and verify
	challenge := "refine login 7f3a at 2026-11-25T12:00:00Z"
	sigArg := signQuiet(t, w, &challenge, "")
	sigStdin := signQuiet(t, w, nil, challenge+"\n")
	for _, sig := range []string{sigArg, sigStdin} {
		if err := verifyCLI(hot.SS58(), sig, &challenge, ""); err != nil {
			t.Errorf("verify: %v", err)
		}
		if err := verifyCLI(hot.SS58(), sig, nil, challenge+"\n"); err != nil {
			t.Errorf("verify from stdin: %v", err)
		}
	}
	other := challenge + "!"
	if err := verifyCLI(hot.SS58(), sigArg, &other, ""); !errors.Is(err, errInvalidSignature) {
		t.Errorf("tampered message: %v", err)
	}
	if err := verifyCLI(cold.SS58(), sigArg, &challenge, ""); !errors.Is(err, errInvalidSignature) {
		t.Errorf("wrong signer: %v", err)
	}
	// Change the address's last character (to one it is not: the key is
	// random, so its last character may already be "1").
	bad := hot.SS58()[:47] + "1"
	if bad == hot.SS58() {
		bad = hot.SS58()[:47] + "2"
	}
	if err := verifyCLI(bad, sigArg, &challenge, ""); !errors.Is(err, wallet.ErrBadAddress) {
		t.Errorf("bad address: %v", err)
	}
	if err := verifyCLI(hot.SS58(), "0x1234", &challenge, ""); err == nil {
		t.Error("short signature accepted")
	}
	// --hex signs exact bytes; the unencrypted coldkey signs without a password.
	hexMsg := "0x00ff0a"
	var hexOut bytes.Buffer
	if err := runWalletSign(ctx, walletSignOptions{Wallet: w, UseColdkey: true, Message: &hexMsg, Hex: true, JSON: true}, nil, &hexOut); err != nil {
		t.Fatal(err)
	}
	var js struct{ SS58, Signature string }
	_ = json.Unmarshal(hexOut.Bytes(), &js)
	if js.SS58 != cold.SS58() || !wallet.Verify(cold.SS58(), []byte{0, 0xff, 0x0a}, mustHexCLI(t, js.Signature)) {
		t.Errorf("coldkey --hex sign: %s", hexOut.String())
	}
	missing := w
	missing.Hotkey = "nope"
	if err := runWalletSign(ctx, walletSignOptions{Wallet: missing, Message: &challenge}, nil, &out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing hotkey: %v", err)
	}
}

func mustHexCLI(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil {
		t.Fatalf("hex %q: %v", s, err)
	}
	return b
}

func TestWalletRegen(t *testing.T) {
	ctx := context.Background()
	w := walletOptions{Path: t.TempDir(), Name: "dev", Hotkey: "alice"}
	var out bytes.Buffer
	run := func(o walletRegenOptions, stdin string) error {
		o.Wallet = w
		out.Reset()
		return runWalletRegen(ctx, o, strings.NewReader(stdin), &out)
	}
	if err := run(walletRegenOptions{Key: "hotkey", URI: "//Alice"}, ""); err != nil {
		t.Fatal(err)
	}
	const alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
	if !strings.Contains(out.String(), alice) {
		t.Errorf("regen //Alice: %s", out.String())
	}
	if err := run(walletRegenOptions{Key: "hotkey", URI: "//Bob"}, ""); !errors.Is(err, wallet.ErrExists) {
		t.Errorf("regen over existing hotkey: %v", err)
	}
	// Secret from stdin: mnemonic, seed and URI forms name the same key.
	phrase, _ := wallet.NewMnemonic(12)
	want, _ := wallet.FromMnemonic(phrase, "")
	seedHex := "0x" + hex.EncodeToString(want.Seed())
	for i, in := range []string{phrase + "\n", seedHex + "\n", phrase + "//0\n"} {
		w.Hotkey = "k" + string(rune('0'+i))
		if err := run(walletRegenOptions{Key: "hotkey"}, in); err != nil {
			t.Fatalf("stdin %d: %v", i, err)
		}
		kp, err := wallet.LoadHotkey(w.Path, "dev", w.Hotkey)
		if err != nil {
			t.Fatal(err)
		}
		if i < 2 && kp.SS58() != want.SS58() {
			t.Errorf("stdin form %d gave %s, want %s", i, kp.SS58(), want.SS58())
		}
		if i == 2 && kp.SS58() == want.SS58() {
			t.Error("derived URI gave the root key")
		}
	}
	if err := run(walletRegenOptions{Key: "hotkey", Mnemonic: "abandon abandon"}, ""); err == nil {
		t.Error("bad mnemonic accepted")
	}
	if err := run(walletRegenOptions{Key: "hotkey", Seed: "0x12", URI: "//A"}, ""); err == nil {
		t.Error("two secrets accepted")
	}
	if err := run(walletRegenOptions{Key: "coldkeypub", SS58: alice}, ""); err != nil {
		t.Fatal(err)
	}
	if kp, err := wallet.LoadColdkeyPub(w.Path, "dev"); err != nil || kp.SS58() != alice || kp.CanSign() {
		t.Errorf("coldkeypub: %v %v", kp, err)
	}
	if err := run(walletRegenOptions{Key: "coldkeypub", SS58: alice[:47] + "Z", Overwrite: true}, ""); err == nil {
		t.Error("coldkeypub with bad checksum accepted")
	}
}

// TestWalletRealKeyfiles signs with the shared btcli-format wallet: its
// plaintext hotkey, and its NaCl-encrypted coldkey opened with the
// documented password from a --password-file (one real Argon2i hash; the
// encrypted write path is covered with cheap parameters in package wallet).
func TestWalletRealKeyfiles(t *testing.T) {
	dir := filepath.Dir(shareddata.Path(t, "chain", "wallet", "generated_wallet", "coldkey"))
	root := filepath.Dir(dir)
	w := walletOptions{Path: root, Name: "generated_wallet", Hotkey: "default"}
	msg := "hello from refine"
	hot, err := wallet.LoadHotkey(root, w.Name, w.Hotkey)
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyCLI(hot.SS58(), signQuiet(t, w, &msg, ""), &msg, ""); err != nil {
		t.Errorf("hotkey signature: %v", err)
	}
	if testing.Short() {
		t.Skip("Argon2i (512 MiB) skipped in -short")
	}
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("testpassword123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = runWalletSign(context.Background(), walletSignOptions{Wallet: w, UseColdkey: true, Message: &msg, Quiet: true, PasswordFile: pwFile},
		nil, &out)
	if err != nil {
		t.Fatal(err)
	}
	cold, _ := wallet.LoadColdkeyPub(root, w.Name)
	if err := verifyCLI(cold.SS58(), strings.TrimSpace(out.String()), &msg, ""); err != nil {
		t.Errorf("coldkey signature: %v", err)
	}
}
