package wallet

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Legacy keyfile encryptions, read (never written) so that old wallets
// still open; btcli offers to re-encrypt them as $NACL.

// Ansible Vault 1.1/1.2 (bittensor ≤ 2.x): a header line
// "$ANSIBLE_VAULT;1.1;AES256", then hex of "hex(salt)\nhex(hmac)\nhex(ct)";
// PBKDF2-HMAC-SHA256(password, salt, 10000) gives 80 bytes: AES-256 key,
// HMAC-SHA256 key, CTR IV; the plaintext is PKCS#7 padded.
func decryptAnsible(data []byte, password string) ([]byte, error) {
	bad := func(why string) error { return fmt.Errorf("wallet: %w: ansible vault: %s", ErrCorruptKeyfile, why) }
	header, body, ok := bytes.Cut(data, []byte("\n"))
	if !ok {
		return nil, bad("no body")
	}
	fields := strings.Split(strings.TrimSpace(string(header)), ";")
	if len(fields) < 3 || (fields[1] != "1.1" && fields[1] != "1.2") || strings.TrimSpace(fields[2]) != "AES256" {
		return nil, bad("unsupported header " + string(header))
	}
	inner, err := hex.DecodeString(string(bytes.Join(bytes.Fields(body), nil)))
	if err != nil {
		return nil, bad("body is not hex")
	}
	parts := strings.Split(string(inner), "\n")
	if len(parts) != 3 {
		return nil, bad("body has no salt/hmac/ciphertext")
	}
	var raw [3][]byte
	for i, p := range parts {
		if raw[i], err = hex.DecodeString(strings.TrimSpace(p)); err != nil {
			return nil, bad("field is not hex")
		}
	}
	salt, mac, ct := raw[0], raw[1], raw[2]
	keys, err := pbkdf2.Key(sha256.New, password, salt, 10000, 80)
	if err != nil {
		return nil, fmt.Errorf("wallet: pbkdf2: %w", err)
	}
	h := hmac.New(sha256.New, keys[32:64])
	h.Write(ct)
	if !hmac.Equal(h.Sum(nil), mac) {
		return nil, fmt.Errorf("wallet: %w", ErrWrongPassword)
	}
	block, err := aes.NewCipher(keys[:32])
	if err != nil {
		return nil, err
	}
	pt := make([]byte, len(ct))
	cipher.NewCTR(block, keys[64:80]).XORKeyStream(pt, ct)
	return unpad(pt)
}

// legacySalt is the Python SDK's salt for its pre-NaCl Fernet keyfiles.
var legacySalt = []byte("Iguesscyborgslikemyselfhaveatendencytobeparanoidaboutourorigins")

// decryptFernetLegacy opens the Python SDK's "gAAAAA…" keyfiles: a Fernet
// token whose key is urlsafe-base64 of PBKDF2-HMAC-SHA256(password,
// legacySalt, 10,000,000 iterations) — seconds of CPU by design.
func decryptFernetLegacy(data []byte, password string) ([]byte, error) {
	raw, err := parseFernet(bytes.TrimSpace(data))
	if err != nil { // check the format before spending the KDF
		return nil, err
	}
	key, err := pbkdf2.Key(sha256.New, password, legacySalt, 10_000_000, 32)
	if err != nil {
		return nil, fmt.Errorf("wallet: pbkdf2: %w", err)
	}
	return openFernet(raw, key)
}

// parseFernet decodes and checks the layout of a Fernet token (spec:
// github.com/fernet/spec): version 0x80 | timestamp(8) | iv(16) |
// ciphertext (n*16) | hmac(32).
func parseFernet(token []byte) ([]byte, error) {
	raw, err := base64.URLEncoding.DecodeString(string(token))
	if err != nil {
		return nil, fmt.Errorf("wallet: %w: fernet token is not base64", ErrCorruptKeyfile)
	}
	if len(raw) < 1+8+16+16+32 || raw[0] != 0x80 || (len(raw)-57)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("wallet: %w: malformed fernet token", ErrCorruptKeyfile)
	}
	return raw, nil
}

// openFernet verifies and decrypts a parsed token with a 32-byte key:
// signing key = key[:16], encryption key = key[16:]. Token timestamps are
// ignored, as the SDK did (no TTL).
func openFernet(raw, key []byte) ([]byte, error) {
	body, mac := raw[:len(raw)-32], raw[len(raw)-32:]
	h := hmac.New(sha256.New, key[:16])
	h.Write(body)
	if !hmac.Equal(h.Sum(nil), mac) {
		return nil, fmt.Errorf("wallet: %w", ErrWrongPassword)
	}
	block, err := aes.NewCipher(key[16:32])
	if err != nil {
		return nil, err
	}
	ct := body[25:]
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, body[9:25]).CryptBlocks(pt, ct)
	return unpad(pt)
}

// unpad strips PKCS#7 padding (16-byte blocks).
func unpad(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, errors.New("wallet: empty plaintext")
	}
	n := int(b[len(b)-1])
	if n == 0 || n > aes.BlockSize || n > len(b) {
		return nil, fmt.Errorf("wallet: %w: bad padding", ErrCorruptKeyfile)
	}
	for _, c := range b[len(b)-n:] {
		if int(c) != n {
			return nil, fmt.Errorf("wallet: %w: bad padding", ErrCorruptKeyfile)
		}
	}
	return b[:len(b)-n], nil
}
