package wallet

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/nacl/secretbox"
)

// Keyfile encryption, as bittensor-wallet (btwallet src/keyfile.rs) and the
// Python SDK write it:
//
//	"$NACL" || nonce (24 bytes) || secretbox(XSalsa20-Poly1305) output
//
// with the key derived by libsodium's crypto_pwhash_argon2i (Argon2i v1.3,
// OPSLIMIT_SENSITIVE = 8 passes, MEMLIMIT_SENSITIVE = 512 MiB, one lane)
// from the password and a salt that is the same for every file.
const naclPrefix = "$NACL"

// naclSalt is btwallet's fixed NACL_SALT.
var naclSalt = []byte("\x13q\x83\xdf\xf1Z\t\xbc\x9c\x90\xb5Q\x879\xe9\xb1")

// kdfParams are the Argon2i parameters; a variable only so tests of our own
// round trips can run with cheap ones. Files for btcli always use these.
var kdfParams = struct{ time, memKiB uint32 }{8, 512 * 1024}

var (
	// ErrWrongPassword: the password does not open the encrypted keyfile.
	ErrWrongPassword = errors.New("wrong password (or corrupt keyfile)")
	// ErrPasswordRequired: the keyfile is encrypted and no password was given.
	ErrPasswordRequired = errors.New("keyfile is encrypted: a password is required")
	// ErrCorruptKeyfile: the keyfile's content is malformed or inconsistent.
	ErrCorruptKeyfile = errors.New("corrupt keyfile")
)

// Encryption names the keyfile's encryption: "NaCl", "Ansible Vault",
// "legacy" (Fernet), or "" for plaintext, as btwallet reports it.
func Encryption(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte(naclPrefix)):
		return "NaCl"
	case bytes.HasPrefix(data, []byte("$ANSIBLE_VAULT")):
		return "Ansible Vault"
	case bytes.HasPrefix(data, []byte("gAAAAA")):
		return "legacy"
	}
	return ""
}

// deriveKey is the Argon2i password hash of btwallet's derive_key.
func deriveKey(password string) *[32]byte {
	var key [32]byte
	copy(key[:], argon2.Key([]byte(password), naclSalt, kdfParams.time, kdfParams.memKiB, 1, 32))
	return &key
}

// Encrypt seals keyfile data with password in btwallet's $NACL format.
// It costs one Argon2i hash: about a second and 512 MiB of memory.
func Encrypt(plaintext []byte, password string) ([]byte, error) {
	var nonce [24]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, fmt.Errorf("wallet: nonce: %w", err)
	}
	out := append([]byte(naclPrefix), nonce[:]...)
	return secretbox.Seal(out, plaintext, &nonce, deriveKey(password)), nil
}

// Decrypt opens an encrypted keyfile: $NACL (one Argon2i hash), or the
// legacy Ansible Vault and Fernet formats of older bittensor releases.
func Decrypt(data []byte, password string) ([]byte, error) {
	switch Encryption(data) {
	case "NaCl":
		return openNaCl(data, deriveKey(password))
	case "Ansible Vault":
		return decryptAnsible(data, password)
	case "legacy":
		return decryptFernetLegacy(data, password)
	default:
		return nil, fmt.Errorf("wallet: keyfile is not encrypted")
	}
}

func openNaCl(data []byte, key *[32]byte) ([]byte, error) {
	body := data[len(naclPrefix):]
	if len(body) < 24+secretbox.Overhead {
		return nil, fmt.Errorf("wallet: %w: NaCl keyfile is truncated (%d bytes)", ErrCorruptKeyfile, len(data))
	}
	var nonce [24]byte
	copy(nonce[:], body[:24])
	pt, ok := secretbox.Open(nil, body[24:], &nonce, key)
	if !ok {
		return nil, fmt.Errorf("wallet: %w", ErrWrongPassword)
	}
	return pt, nil
}

// keyfileJSON is the keyfile's plaintext. Readers accept both the Python
// SDK's layout (all six fields, null when absent) and btwallet's (only
// present fields); we write btwallet's, in a fixed order.
type keyfileJSON struct {
	AccountID    *string `json:"accountId,omitempty"`
	PublicKey    *string `json:"publicKey,omitempty"`
	PrivateKey   *string `json:"privateKey,omitempty"`
	SecretPhrase *string `json:"secretPhrase,omitempty"`
	SecretSeed   *string `json:"secretSeed,omitempty"`
	SS58Address  *string `json:"ss58Address,omitempty"`
}

func strp(s string) *string { return &s }

// MarshalKeyfile serialises a keypair to keyfile JSON. With public true only
// the public fields are written (coldkeypub.txt, hotkeys/<name>pub.txt).
func MarshalKeyfile(k *Keypair, public bool) []byte {
	pubHex := "0x" + hex.EncodeToString(k.pub[:])
	j := keyfileJSON{AccountID: strp(pubHex), PublicKey: strp(pubHex), SS58Address: strp(k.SS58())}
	if !public && k.secret != nil {
		j.PrivateKey = strp("0x" + hex.EncodeToString(k.PrivateKey()))
		if k.mnemonic != "" {
			j.SecretPhrase = strp(k.mnemonic)
		}
		if k.seed != nil {
			j.SecretSeed = strp("0x" + hex.EncodeToString(k.seed))
		}
	}
	b, err := json.Marshal(j)
	if err != nil {
		panic(err) // strings only: cannot fail
	}
	return b
}

// UnmarshalKeyfile rebuilds a keypair from plaintext keyfile data the way
// btwallet does (secretPhrase, else secretSeed, else privateKey, else the
// public fields), and checks that every address or public key recorded in
// the file belongs to that key, so a damaged file is an error, not a
// different key. A bare hex public key (very old coldkeypub.txt) is read too.
func UnmarshalKeyfile(data []byte) (*Keypair, error) {
	data = bytes.TrimSpace(data)
	if enc := Encryption(data); enc != "" {
		return nil, fmt.Errorf("wallet: keyfile is encrypted (%s)", enc)
	}
	if len(data) > 0 && data[0] != '{' {
		if b, err := decodeHex(string(data)); err == nil && len(b) == 32 {
			var pub [32]byte
			copy(pub[:], b)
			return FromPublicKey(pub)
		}
		return nil, fmt.Errorf("wallet: %w: neither JSON nor a hex public key", ErrCorruptKeyfile)
	}
	var j keyfileJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("wallet: %w: %v", ErrCorruptKeyfile, err)
	}
	var (
		kp  *Keypair
		err error
	)
	switch {
	case j.SecretPhrase != nil && *j.SecretPhrase != "":
		kp, err = FromMnemonic(*j.SecretPhrase, "")
	case j.SecretSeed != nil && *j.SecretSeed != "":
		var b []byte
		// btwallet may write the seed's hex text after its own "0x".
		if b, err = decodeHex(strings.Replace(*j.SecretSeed, "0x0x", "0x", 1)); err == nil {
			kp, err = FromSeed(b)
		}
	case j.PrivateKey != nil && *j.PrivateKey != "":
		var b []byte
		if b, err = decodeHex(*j.PrivateKey); err == nil {
			kp, err = FromSeed(b)
		}
	case j.SS58Address != nil && *j.SS58Address != "":
		kp, err = FromSS58(*j.SS58Address)
	case j.PublicKey != nil && *j.PublicKey != "":
		kp, err = publicFromHex(*j.PublicKey)
	case j.AccountID != nil && *j.AccountID != "":
		kp, err = publicFromHex(*j.AccountID)
	default:
		return nil, fmt.Errorf("wallet: %w: no key material in keyfile", ErrCorruptKeyfile)
	}
	if err != nil {
		return nil, fmt.Errorf("wallet: %w: %v", ErrCorruptKeyfile, err)
	}
	if err := checkConsistent(kp, j); err != nil {
		return nil, err
	}
	return kp, nil
}

func publicFromHex(s string) (*Keypair, error) {
	b, err := decodeHex(s)
	if err != nil {
		return nil, err
	}
	if len(b) != 32 {
		return nil, fmt.Errorf("public key is %d bytes, want 32", len(b))
	}
	var pub [32]byte
	copy(pub[:], b)
	return FromPublicKey(pub)
}

func checkConsistent(kp *Keypair, j keyfileJSON) error {
	for name, v := range map[string]*string{"accountId": j.AccountID, "publicKey": j.PublicKey} {
		if v == nil || *v == "" {
			continue
		}
		b, err := decodeHex(*v)
		if err != nil || len(b) != 32 || !equalPub([32]byte(b), kp.pub) {
			return fmt.Errorf("wallet: %w: %s does not match the key", ErrCorruptKeyfile, name)
		}
	}
	if j.SS58Address != nil && *j.SS58Address != "" && *j.SS58Address != kp.SS58() {
		return fmt.Errorf("wallet: %w: ss58Address %s does not match the key (%s)", ErrCorruptKeyfile, *j.SS58Address, kp.SS58())
	}
	return nil
}
