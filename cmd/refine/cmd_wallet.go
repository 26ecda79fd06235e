package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/datarefine/refine/wallet"
)

// walletOptions select a wallet the way btcli does.
type walletOptions struct {
	Path   string // --wallet.path
	Name   string // --wallet.name
	Hotkey string // --wallet.hotkey
}

func (o *walletOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Path, "wallet.path", wallet.DefaultRoot(), "wallets folder ($"+wallet.EnvWalletPath+" overrides the default)")
	fs.StringVar(&o.Name, "wallet.name", wallet.DefaultName(), "wallet (coldkey) name ($"+wallet.EnvWalletName+" overrides the default)")
	fs.StringVar(&o.Hotkey, "wallet.hotkey", wallet.DefaultHotkey(), "hotkey name ($"+wallet.EnvWalletHotkey+" overrides the default)")
}

func (o walletOptions) root() string { return wallet.ExpandHome(o.Path) }

func newWalletCommand() *cobra.Command {
	var w walletOptions
	cmd := &cobra.Command{
		Use:   "wallet",
		Short: "Create, import, list and sign with bittensor-compatible (btcli) wallets",
		Long: `Wallets use btcli's layout and file formats, so keys made by btcli work here and
the other way round:

  <wallet.path>/<wallet.name>/coldkey            encrypted (NaCl, Argon2i) keyfile
  <wallet.path>/<wallet.name>/coldkeypub.txt     public keyfile
  <wallet.path>/<wallet.name>/hotkeys/<hotkey>   keyfile (plaintext, like btcli)

A password is read from --password-file, else $` + wallet.EnvPassword + `, else asked on the
terminal. It is never taken from a plain command-line value.`,
	}
	w.AddFlags(cmd.PersistentFlags())
	cmd.AddCommand(newWalletCreateCommand(&w), newWalletRegenCommand(&w), newWalletListCommand(&w),
		newWalletSignCommand(&w), newWalletVerifyCommand())
	return cmd
}

// --- create ---

type walletCreateOptions struct {
	Wallet       walletOptions
	Words        int
	PasswordFile string
	NoPassword   bool // plaintext coldkey (btcli --no-use-password)
	Overwrite    bool // replace an existing hotkey (never the coldkey)
}

func newWalletCreateCommand(w *walletOptions) *cobra.Command {
	var o walletCreateOptions
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create the wallet's coldkey (if missing) and hotkey (if missing)",
		Long: `Creates a new coldkey (encrypted) and coldkeypub.txt when the wallet has none, and a
new hotkey --wallet.hotkey when it has none. An existing coldkey is never replaced
(use "regen --overwrite"). The new mnemonics are printed once: write them down.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Wallet = *w
			return runWalletCreate(cmd.Context(), o, cmd.OutOrStdout())
		},
	}
	fs := cmd.Flags()
	fs.IntVar(&o.Words, "n-words", 12, "mnemonic length (12, 15, 18, 21 or 24)")
	fs.StringVar(&o.PasswordFile, "password-file", "", "read the coldkey password from this file's first line")
	fs.BoolVar(&o.NoPassword, "no-password", false, "store the coldkey unencrypted (not recommended)")
	fs.BoolVar(&o.Overwrite, "overwrite", false, "replace an existing hotkey of that name")
	return cmd
}

func runWalletCreate(_ context.Context, o walletCreateOptions, stdout io.Writer) error {
	root := o.Wallet.root()
	coldExists := fileExists(wallet.ColdkeyPath(root, o.Wallet.Name)) || fileExists(wallet.ColdkeyPubPath(root, o.Wallet.Name))
	hotExists := fileExists(wallet.HotkeyPath(root, o.Wallet.Name, o.Wallet.Hotkey))
	if coldExists && hotExists && !o.Overwrite {
		return fmt.Errorf("wallet %q already has a coldkey and hotkey %q (use --overwrite to replace the hotkey, or another --wallet.hotkey)",
			o.Wallet.Name, o.Wallet.Hotkey)
	}
	if !coldExists {
		phrase, err := wallet.NewMnemonic(o.Words)
		if err != nil {
			return err
		}
		kp, err := wallet.FromMnemonic(phrase, "")
		if err != nil {
			return err
		}
		if err := saveColdkey(root, o.Wallet.Name, kp, o.PasswordFile, o.NoPassword, false); err != nil {
			return err
		}
		printNewKey(stdout, "coldkey", wallet.ColdkeyPath(root, o.Wallet.Name), kp)
	}
	if !hotExists || o.Overwrite {
		phrase, err := wallet.NewMnemonic(o.Words)
		if err != nil {
			return err
		}
		kp, err := wallet.FromMnemonic(phrase, "")
		if err != nil {
			return err
		}
		if err := wallet.SaveHotkey(root, o.Wallet.Name, o.Wallet.Hotkey, kp, wallet.SaveOptions{Overwrite: o.Overwrite}); err != nil {
			return err
		}
		printNewKey(stdout, "hotkey", wallet.HotkeyPath(root, o.Wallet.Name, o.Wallet.Hotkey), kp)
	}
	return nil
}

func saveColdkey(root, name string, kp *wallet.Keypair, passwordFile string, noPassword, overwrite bool) error {
	opts := wallet.SaveOptions{NoEncrypt: noPassword, Overwrite: overwrite}
	if !noPassword {
		pw, err := wallet.Password(wallet.PasswordOptions{
			File: passwordFile, Prompt: "New coldkey password: ", Confirm: true,
		})()
		if err != nil {
			return err
		}
		if pw == "" {
			return errors.New("the coldkey password is empty (use --no-password to store it unencrypted)")
		}
		opts.Password = pw
	}
	return wallet.SaveColdkey(root, name, kp, opts)
}

func printNewKey(w io.Writer, kind, path string, kp *wallet.Keypair) {
	fmt.Fprintf(w, "%s %s\n  file: %s\n", kind, kp.SS58(), path)
	if m := kp.Mnemonic(); m != "" {
		fmt.Fprintf(w, "  mnemonic: %s\n  Anyone with this mnemonic controls the key; store it safely, offline.\n", m)
	}
}

func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// --- regen ---

type walletRegenOptions struct {
	Wallet       walletOptions
	Key          string // coldkey | hotkey | coldkeypub
	Mnemonic     string
	Seed         string
	URI          string
	SS58         string // coldkeypub only
	PasswordFile string
	NoPassword   bool
	Overwrite    bool
}

func newWalletRegenCommand(w *walletOptions) *cobra.Command {
	var o walletRegenOptions
	cmd := &cobra.Command{
		Use:   "regen coldkey|hotkey|coldkeypub",
		Short: "Recreate a key from its mnemonic, seed or URI (or coldkeypub from an address)",
		Long: `Recreates a keyfile from a mnemonic (--mnemonic), a 32-byte hex seed (--seed) or a
substrate URI (--uri, e.g. //Alice for development). With none of them the secret is
read from the first line of standard input (kept out of shell history); a line with
12-24 words is a mnemonic, 0x… a seed, anything else a URI.
"regen coldkeypub --ss58 ADDR" writes a watch-only coldkeypub.txt.`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"coldkey", "hotkey", "coldkeypub"},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Wallet, o.Key = *w, args[0]
			return runWalletRegen(cmd.Context(), o, cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.Mnemonic, "mnemonic", "", "BIP39 mnemonic (12-24 words)")
	fs.StringVar(&o.Seed, "seed", "", "32-byte secret seed in hex (0x…)")
	fs.StringVar(&o.URI, "uri", "", "substrate secret URI (e.g. //Alice, <mnemonic>//hard/soft)")
	fs.StringVar(&o.SS58, "ss58", "", "address, for coldkeypub")
	fs.StringVar(&o.PasswordFile, "password-file", "", "read the coldkey password from this file's first line")
	fs.BoolVar(&o.NoPassword, "no-password", false, "store the coldkey unencrypted (not recommended)")
	fs.BoolVar(&o.Overwrite, "overwrite", false, "replace existing files")
	return cmd
}

func runWalletRegen(_ context.Context, o walletRegenOptions, stdin io.Reader, stdout io.Writer) error {
	root := o.Wallet.root()
	if o.Key == "coldkeypub" {
		kp, err := wallet.FromSS58(strings.TrimSpace(o.SS58))
		if err != nil {
			return fmt.Errorf("regen coldkeypub needs --ss58: %w", err)
		}
		return writePubOnly(root, o.Wallet.Name, kp, o.Overwrite, stdout)
	}
	if o.Key != "coldkey" && o.Key != "hotkey" {
		return fmt.Errorf("regen: unknown key %q (want coldkey, hotkey or coldkeypub)", o.Key)
	}
	kp, err := regenKeypair(o, stdin)
	if err != nil {
		return err
	}
	if o.Key == "coldkey" {
		if err := saveColdkey(root, o.Wallet.Name, kp, o.PasswordFile, o.NoPassword, o.Overwrite); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "coldkey %s\n  file: %s\n", kp.SS58(), wallet.ColdkeyPath(root, o.Wallet.Name))
		return nil
	}
	if err := wallet.SaveHotkey(root, o.Wallet.Name, o.Wallet.Hotkey, kp, wallet.SaveOptions{Overwrite: o.Overwrite}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "hotkey %s\n  file: %s\n", kp.SS58(), wallet.HotkeyPath(root, o.Wallet.Name, o.Wallet.Hotkey))
	return nil
}

func regenKeypair(o walletRegenOptions, stdin io.Reader) (*wallet.Keypair, error) {
	n := 0
	for _, s := range []string{o.Mnemonic, o.Seed, o.URI} {
		if s != "" {
			n++
		}
	}
	if n > 1 {
		return nil, errors.New("give only one of --mnemonic, --seed and --uri")
	}
	switch {
	case o.Mnemonic != "":
		return wallet.FromMnemonic(o.Mnemonic, "")
	case o.Seed != "":
		return wallet.FromSeedHex(o.Seed)
	case o.URI != "":
		return wallet.FromURI(o.URI)
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read secret from stdin: %w", err)
	}
	line = strings.TrimSpace(line)
	switch words := len(strings.Fields(line)); {
	case line == "":
		return nil, errors.New("no secret: give --mnemonic, --seed or --uri, or one line on standard input")
	case strings.HasPrefix(line, "0x") && !strings.Contains(line, "/"):
		return wallet.FromSeedHex(line)
	case words >= 12 && !strings.Contains(line, "/"):
		return wallet.FromMnemonic(line, "")
	default:
		return wallet.FromURI(line)
	}
}

func writePubOnly(root, name string, kp *wallet.Keypair, overwrite bool, stdout io.Writer) error {
	if err := wallet.SaveColdkeyPub(root, name, kp, overwrite); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "coldkeypub %s\n  file: %s\n", kp.SS58(), wallet.ColdkeyPubPath(root, name))
	return nil
}

// --- list ---

type walletListOptions struct {
	Wallet walletOptions
	JSON   bool
}

func newWalletListCommand(w *walletOptions) *cobra.Command {
	var o walletListOptions
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List wallets and their hotkeys with SS58 addresses (decrypts nothing)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Wallet = *w
			return runWalletList(cmd.Context(), o, cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print JSON")
	return cmd
}

func runWalletList(_ context.Context, o walletListOptions, stdout io.Writer) error {
	infos, err := wallet.List(o.Wallet.root())
	if err != nil {
		return err
	}
	if o.JSON {
		if infos == nil {
			infos = []wallet.Info{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(infos)
	}
	if len(infos) == 0 {
		fmt.Fprintf(stdout, "no wallets in %s\n", o.Wallet.root())
		return nil
	}
	fmt.Fprintf(stdout, "Wallets in %s\n", o.Wallet.root())
	for _, in := range infos {
		cold := in.Coldkey
		if cold == "" {
			cold = "(no coldkeypub.txt)"
		}
		fmt.Fprintf(stdout, "%s  %s  [coldkey: %s]\n", in.Name, cold, describeEncryption(in.ColdkeyEncryption))
		if in.Err != "" {
			fmt.Fprintf(stdout, "  ! %s\n", in.Err)
		}
		for _, h := range in.Hotkeys {
			addr := h.SS58
			switch {
			case h.Err != "":
				addr = "! " + h.Err
			case addr == "":
				addr = "(encrypted)"
			}
			fmt.Fprintf(stdout, "  hotkey %s  %s\n", h.Name, addr)
		}
	}
	return nil
}

func describeEncryption(e string) string {
	switch e {
	case "":
		return "unencrypted"
	case "missing":
		return "missing"
	}
	return e
}

// --- sign ---

type walletSignOptions struct {
	Wallet       walletOptions
	UseColdkey   bool
	Message      *string // nil: read standard input
	Hex          bool    // the message is hex-encoded bytes
	Quiet        bool    // print only the signature
	JSON         bool
	PasswordFile string
}

func newWalletSignCommand(w *walletOptions) *cobra.Command {
	var o walletSignOptions
	cmd := &cobra.Command{
		Use:   "sign [MESSAGE]",
		Short: "Sign a message (e.g. a website login challenge) with the hotkey or coldkey",
		Long: `Signs the raw bytes of MESSAGE (sr25519, "substrate" context, no hashing) with the
wallet's hotkey, or with --coldkey the coldkey, and prints the 0x-hex signature.
Without MESSAGE the message is read from standard input; one trailing newline is
removed (so "echo challenge | refine wallet sign -q" signs "challenge"). --hex takes
the message as hex bytes instead, for exact control.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Wallet = *w
			if len(args) == 1 {
				o.Message = &args[0]
			}
			return runWalletSign(cmd.Context(), o, cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&o.UseColdkey, "coldkey", false, "sign with the coldkey (asks for its password)")
	fs.BoolVar(&o.Hex, "hex", false, "the message is hex-encoded bytes (0x optional)")
	fs.BoolVarP(&o.Quiet, "quiet", "q", false, "print only the signature")
	fs.BoolVar(&o.JSON, "json", false, "print {ss58, message, signature} as JSON")
	fs.StringVar(&o.PasswordFile, "password-file", "", "read the keyfile password from this file's first line")
	return cmd
}

func runWalletSign(_ context.Context, o walletSignOptions, stdin io.Reader, stdout io.Writer) error {
	msg, err := readMessage(o.Message, o.Hex, stdin)
	if err != nil {
		return err
	}
	root := o.Wallet.root()
	pw := wallet.Password(wallet.PasswordOptions{File: o.PasswordFile, Prompt: "Password for " + o.Wallet.Name + ": "})
	var kp *wallet.Keypair
	if o.UseColdkey {
		kp, err = wallet.ReadKeyfile(wallet.ColdkeyPath(root, o.Wallet.Name), pw)
	} else {
		kp, err = wallet.LoadHotkeyWithPassword(root, o.Wallet.Name, o.Wallet.Hotkey, pw)
	}
	if err != nil {
		return err
	}
	sig, err := kp.Sign(msg)
	if err != nil {
		return err
	}
	sigHex := "0x" + hex.EncodeToString(sig)
	switch {
	case o.JSON:
		return json.NewEncoder(stdout).Encode(map[string]string{"ss58": kp.SS58(), "message": string(msg), "signature": sigHex})
	case o.Quiet:
		_, err = fmt.Fprintln(stdout, sigHex)
	default:
		_, err = fmt.Fprintf(stdout, "Signer:    %s\nSignature: %s\n", kp.SS58(), sigHex)
	}
	return err
}

// readMessage takes the argument or standard input (one trailing newline
// removed), decoding hex when asked.
func readMessage(arg *string, isHex bool, stdin io.Reader) ([]byte, error) {
	var msg []byte
	if arg != nil {
		msg = []byte(*arg)
	} else if stdin == nil {
		return nil, errors.New("no message: give it as an argument or on standard input")
	} else {
		b, err := io.ReadAll(io.LimitReader(stdin, 16<<20))
		if err != nil {
			return nil, fmt.Errorf("read message from stdin: %w", err)
		}
		s := strings.TrimSuffix(string(b), "\n")
		msg = []byte(strings.TrimSuffix(s, "\r"))
	}
	if isHex {
		s := strings.TrimPrefix(strings.TrimSpace(string(msg)), "0x")
		b, err := hex.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("--hex message: %w", err)
		}
		msg = b
	}
	return msg, nil
}

// --- verify ---

type walletVerifyOptions struct {
	SS58      string
	Signature string
	Message   *string
	Hex       bool
	Wrapped   bool // also accept polkadot.js <Bytes>…</Bytes> wrapping
	Quiet     bool
}

// errInvalidSignature makes `refine wallet verify` exit non-zero.
var errInvalidSignature = errors.New("signature is NOT valid for this message and address")

func newWalletVerifyCommand() *cobra.Command {
	var o walletVerifyOptions
	cmd := &cobra.Command{
		Use:   "verify --ss58 ADDRESS --signature 0x… [MESSAGE]",
		Short: "Verify a signature of a message by an SS58 address (exit status 1 if invalid)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.Message = &args[0]
			}
			return runWalletVerify(cmd.Context(), o, cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.SS58, "ss58", "", "signer's SS58 address")
	fs.StringVar(&o.Signature, "signature", "", "signature, 0x + 128 hex digits")
	fs.BoolVar(&o.Hex, "hex", false, "the message is hex-encoded bytes (0x optional)")
	fs.BoolVar(&o.Wrapped, "wrapped", false, "also accept a signature of <Bytes>MESSAGE</Bytes> (polkadot.js extensions)")
	fs.BoolVarP(&o.Quiet, "quiet", "q", false, "print nothing; use the exit status")
	_ = cmd.MarkFlagRequired("ss58")
	_ = cmd.MarkFlagRequired("signature")
	return cmd
}

func runWalletVerify(_ context.Context, o walletVerifyOptions, stdin io.Reader, stdout io.Writer) error {
	if _, err := wallet.DecodeSS58(o.SS58); err != nil {
		return err
	}
	sig, err := hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(o.Signature), "0x"))
	if err != nil || len(sig) != 64 {
		return fmt.Errorf("--signature must be 0x followed by 128 hex digits")
	}
	msg, err := readMessage(o.Message, o.Hex, stdin)
	if err != nil {
		return err
	}
	verify := wallet.Verify
	if o.Wrapped {
		verify = wallet.VerifyWrapped
	}
	if !verify(o.SS58, msg, sig) {
		return errInvalidSignature
	}
	if !o.Quiet {
		fmt.Fprintf(stdout, "valid: signed by %s\n", o.SS58)
	}
	return nil
}
