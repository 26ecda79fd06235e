package wallet

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/datarefine/refine/internal/atomicfile"
)

// Wallet folders follow btcli / bittensor-wallet:
//
//	<root>/<name>/coldkey               encrypted keyfile ($NACL)
//	<root>/<name>/coldkeypub.txt        public keyfile (JSON)
//	<root>/<name>/hotkeys/<hotkey>      keyfile, usually plaintext JSON
//	<root>/<name>/hotkeys/<hotkey>pub.txt  public keyfile (btwallet ≥ 3)
//
// Keyfiles are written with mode 0600, folders with 0700.

// Environment variables btcli also reads for its defaults.
const (
	EnvWalletPath   = "BT_WALLET_PATH"
	EnvWalletName   = "BT_WALLET_NAME"
	EnvWalletHotkey = "BT_WALLET_HOTKEY"
)

// ErrExists is returned when a keyfile would be overwritten without leave.
var ErrExists = errors.New("keyfile already exists")

// DefaultRoot returns $BT_WALLET_PATH, else ~/.bittensor/wallets.
func DefaultRoot() string {
	if p := os.Getenv(EnvWalletPath); p != "" {
		return ExpandHome(p)
	}
	return ExpandHome("~/.bittensor/wallets")
}

// DefaultName returns $BT_WALLET_NAME, else "default".
func DefaultName() string { return envOr(EnvWalletName, "default") }

// DefaultHotkey returns $BT_WALLET_HOTKEY, else "default".
func DefaultHotkey() string { return envOr(EnvWalletHotkey, "default") }

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// ExpandHome replaces a leading "~/" with the user's home folder.
func ExpandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if h, err := os.UserHomeDir(); err == nil {
			return filepath.Join(h, p[1:])
		}
	}
	return p
}

// checkName refuses names that would escape the wallet folder.
func checkName(kind, n string) error {
	if n == "" || n == "." || n == ".." || strings.ContainsAny(n, `/\`) || strings.ContainsRune(n, 0) {
		return fmt.Errorf("wallet: invalid %s name %q", kind, n)
	}
	return nil
}

// ColdkeyPath is <root>/<name>/coldkey.
func ColdkeyPath(root, name string) string { return filepath.Join(root, name, "coldkey") }

// ColdkeyPubPath is <root>/<name>/coldkeypub.txt.
func ColdkeyPubPath(root, name string) string { return filepath.Join(root, name, "coldkeypub.txt") }

// HotkeyPath is <root>/<name>/hotkeys/<hotkey>.
func HotkeyPath(root, name, hotkey string) string {
	return filepath.Join(root, name, "hotkeys", hotkey)
}

// HotkeyPubPath is <root>/<name>/hotkeys/<hotkey>pub.txt.
func HotkeyPubPath(root, name, hotkey string) string {
	return filepath.Join(root, name, "hotkeys", hotkey+"pub.txt")
}

// PasswordFunc supplies a password when one is needed (see Password).
type PasswordFunc func() (string, error)

// StaticPassword returns a PasswordFunc for a known password.
func StaticPassword(p string) PasswordFunc { return func() (string, error) { return p, nil } }

// ReadKeyfile reads a keyfile and, when it is encrypted, asks password for
// the password (a nil password then gives ErrPasswordRequired).
func ReadKeyfile(path string, password PasswordFunc) (*Keypair, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("wallet: read keyfile: %w", err)
	}
	if Encryption(data) != "" {
		if password == nil {
			return nil, fmt.Errorf("wallet: %s: %w", path, ErrPasswordRequired)
		}
		pw, err := password()
		if err != nil {
			return nil, fmt.Errorf("wallet: %s: password: %w", path, err)
		}
		if data, err = Decrypt(data, pw); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	kp, err := UnmarshalKeyfile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return kp, nil
}

// LoadHotkey loads <root>/<name>/hotkeys/<hotkey>. Hotkeys are plaintext by
// btcli's default; an encrypted one needs LoadHotkeyWithPassword.
func LoadHotkey(root, name, hotkey string) (*Keypair, error) {
	return LoadHotkeyWithPassword(root, name, hotkey, nil)
}

// LoadHotkeyWithPassword loads a hotkey that may be encrypted.
func LoadHotkeyWithPassword(root, name, hotkey string, password PasswordFunc) (*Keypair, error) {
	if err := checkNames(name, hotkey); err != nil {
		return nil, err
	}
	return ReadKeyfile(HotkeyPath(root, name, hotkey), password)
}

// LoadColdkey decrypts <root>/<name>/coldkey (one Argon2i hash, ~1 s).
func LoadColdkey(root, name, password string) (*Keypair, error) {
	if err := checkName("wallet", name); err != nil {
		return nil, err
	}
	return ReadKeyfile(ColdkeyPath(root, name), StaticPassword(password))
}

// LoadColdkeyPub loads the public coldkey from coldkeypub.txt.
func LoadColdkeyPub(root, name string) (*Keypair, error) {
	if err := checkName("wallet", name); err != nil {
		return nil, err
	}
	return ReadKeyfile(ColdkeyPubPath(root, name), nil)
}

func checkNames(name, hotkey string) error {
	if err := checkName("wallet", name); err != nil {
		return err
	}
	return checkName("hotkey", hotkey)
}

// SaveOptions control how a key is written.
type SaveOptions struct {
	// Password encrypts the keyfile ($NACL). Required for a coldkey unless
	// NoEncrypt; for a hotkey, "" writes plaintext (btcli's default).
	Password string
	// NoEncrypt writes a coldkey in plaintext (btcli --no-use-password).
	NoEncrypt bool
	// Overwrite replaces existing files; otherwise ErrExists.
	Overwrite bool
}

// SaveColdkey writes coldkey (encrypted) and coldkeypub.txt.
func SaveColdkey(root, name string, kp *Keypair, opts SaveOptions) error {
	if err := checkName("wallet", name); err != nil {
		return err
	}
	if !kp.CanSign() {
		return fmt.Errorf("wallet: save coldkey: %w", ErrNoSecret)
	}
	if !opts.NoEncrypt && opts.Password == "" {
		return fmt.Errorf("wallet: save coldkey: a password is required (or choose no encryption)")
	}
	if !opts.Overwrite {
		for _, p := range []string{ColdkeyPath(root, name), ColdkeyPubPath(root, name)} {
			if exists(p) {
				return fmt.Errorf("wallet: %s: %w", p, ErrExists)
			}
		}
	}
	data := MarshalKeyfile(kp, false)
	if !opts.NoEncrypt {
		var err error
		if data, err = Encrypt(data, opts.Password); err != nil {
			return err
		}
	}
	if err := writeFile(ColdkeyPath(root, name), data); err != nil {
		return err
	}
	return writeFile(ColdkeyPubPath(root, name), MarshalKeyfile(kp, true))
}

// SaveColdkeyPub writes only coldkeypub.txt (a watch-only wallet, like
// btcli's regen_coldkeypub); kp may be public-only.
func SaveColdkeyPub(root, name string, kp *Keypair, overwrite bool) error {
	if err := checkName("wallet", name); err != nil {
		return err
	}
	p := ColdkeyPubPath(root, name)
	if !overwrite && exists(p) {
		return fmt.Errorf("wallet: %s: %w", p, ErrExists)
	}
	return writeFile(p, MarshalKeyfile(kp, true))
}

// SaveHotkey writes hotkeys/<hotkey> (plaintext unless opts.Password) and
// hotkeys/<hotkey>pub.txt.
func SaveHotkey(root, name, hotkey string, kp *Keypair, opts SaveOptions) error {
	if err := checkNames(name, hotkey); err != nil {
		return err
	}
	if !kp.CanSign() {
		return fmt.Errorf("wallet: save hotkey: %w", ErrNoSecret)
	}
	if !opts.Overwrite {
		for _, p := range []string{HotkeyPath(root, name, hotkey), HotkeyPubPath(root, name, hotkey)} {
			if exists(p) {
				return fmt.Errorf("wallet: %s: %w", p, ErrExists)
			}
		}
	}
	data := MarshalKeyfile(kp, false)
	if opts.Password != "" {
		var err error
		if data, err = Encrypt(data, opts.Password); err != nil {
			return err
		}
	}
	if err := writeFile(HotkeyPath(root, name, hotkey), data); err != nil {
		return err
	}
	return writeFile(HotkeyPubPath(root, name, hotkey), MarshalKeyfile(kp, true))
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// writeFile writes atomically (temp file + rename) with mode 0600, creating
// folders with 0700, so a crash never leaves a half-written key.
func writeFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("wallet: create %s: %w", dir, err)
	}
	if err := atomicfile.Write(path, 0o600, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}); err != nil {
		return fmt.Errorf("wallet: write %s: %w", path, err)
	}
	return nil
}

// Info describes one wallet folder without decrypting anything.
type Info struct {
	Name string `json:"name"`
	// Coldkey is the coldkey's SS58 from coldkeypub.txt ("" if absent).
	Coldkey string `json:"coldkey,omitempty"`
	// ColdkeyEncryption is "NaCl", "" (plaintext), a legacy name, or
	// "missing" when there is no coldkey file.
	ColdkeyEncryption string       `json:"coldkey_encryption"`
	Hotkeys           []HotkeyInfo `json:"hotkeys"`
	// Err notes a problem reading the wallet (it is listed anyway).
	Err string `json:"error,omitempty"`
}

// HotkeyInfo describes one hotkey file.
type HotkeyInfo struct {
	Name string `json:"name"`
	// SS58 is "" for an encrypted hotkey without a pub file.
	SS58       string `json:"ss58,omitempty"`
	Encryption string `json:"encryption,omitempty"`
	Err        string `json:"error,omitempty"`
}

// List describes every wallet under root, sorted by name; a missing root
// is an empty list.
func List(root string) ([]Info, error) {
	entries, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("wallet: list %s: %w", root, err)
	}
	var out []Info
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		out = append(out, describe(root, e.Name()))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func describe(root, name string) Info {
	info := Info{Name: name, ColdkeyEncryption: "missing", Hotkeys: []HotkeyInfo{}}
	if data, err := os.ReadFile(ColdkeyPath(root, name)); err == nil {
		info.ColdkeyEncryption = Encryption(data)
	}
	if kp, err := LoadColdkeyPub(root, name); err == nil {
		info.Coldkey = kp.SS58()
	} else if !errors.Is(err, fs.ErrNotExist) {
		info.Err = err.Error()
	}
	dir := filepath.Join(root, name, "hotkeys")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return info
	}
	files := map[string]bool{}
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			files[e.Name()] = true
		}
	}
	for f := range files {
		// "<hotkey>pub.txt" is the public twin of hotkey <hotkey>.
		if base, ok := strings.CutSuffix(f, "pub.txt"); ok && files[base] {
			continue
		}
		info.Hotkeys = append(info.Hotkeys, describeHotkey(root, name, f, files[f+"pub.txt"]))
	}
	sort.Slice(info.Hotkeys, func(i, j int) bool { return info.Hotkeys[i].Name < info.Hotkeys[j].Name })
	return info
}

func describeHotkey(root, name, hotkey string, hasPub bool) HotkeyInfo {
	h := HotkeyInfo{Name: hotkey}
	data, err := os.ReadFile(HotkeyPath(root, name, hotkey))
	if err != nil {
		h.Err = err.Error()
		return h
	}
	h.Encryption = Encryption(data)
	var kp *Keypair
	if h.Encryption == "" {
		kp, err = UnmarshalKeyfile(data)
	} else if hasPub {
		kp, err = ReadKeyfile(HotkeyPubPath(root, name, hotkey), nil)
	}
	if err != nil {
		h.Err = err.Error()
	} else if kp != nil {
		h.SS58 = kp.SS58()
	}
	return h
}
