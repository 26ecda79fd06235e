// Package wallet holds bittensor-compatible sr25519 keys: generation,
// mnemonics, seeds and substrate URIs (//Alice, phrase//hard/soft///password),
// SS58 addresses (prefix 42), raw-message signing and verification, and the
// btcli / bittensor-wallet keyfile layout on disk (see keyfile.go, store.go).
//
// Keys made here load in btcli and keys made by btcli load here: the
// mnemonic-to-seed rule is substrate-bip39 (PBKDF2 over the BIP39 entropy, not
// the phrase), the secret key is schnorrkel's Ed25519-mode expansion of the
// 32-byte mini secret, and signatures use the "substrate" signing context.
package wallet

import (
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	schnorrkel "github.com/ChainSafe/go-schnorrkel"
	bip39 "github.com/cosmos/go-bip39"
)

// SS58Prefix is the bittensor (generic substrate) network prefix.
const SS58Prefix = 42

// signingContext is the schnorrkel context substrate uses for sr25519.
var signingContext = []byte("substrate")

// ErrNoSecret is returned when signing with a public-only keypair
// (e.g. one loaded from coldkeypub.txt).
var ErrNoSecret = errors.New("wallet: keypair has no secret key (public only)")

// Keypair is an sr25519 key. A Keypair loaded from a public file holds only
// the public key and cannot sign. Keypairs are immutable and safe for
// concurrent use.
type Keypair struct {
	pub    [32]byte
	secret *schnorrkel.SecretKey // nil when public-only
	// nonce is the secret key's nonce half; go-schnorrkel keeps it private
	// (and does not use it to sign), but the keyfile's privateKey holds it.
	nonce [32]byte
	// Provenance kept so the keyfile can be written the way btwallet writes
	// it: the phrase and the 32-byte mini secret ("secretSeed") when known.
	mnemonic string
	seed     []byte
}

// SS58 returns the key's SS58 address with prefix 42 (e.g. 5Grwva…).
func (k *Keypair) SS58() string { return EncodeSS58(k.pub) }

// PublicKey returns the 32-byte sr25519 public key (the AccountId).
func (k *Keypair) PublicKey() [32]byte { return k.pub }

// CanSign reports whether the keypair holds a secret key.
func (k *Keypair) CanSign() bool { return k.secret != nil }

// Mnemonic returns the BIP39 phrase the key was made from, or "".
func (k *Keypair) Mnemonic() string { return k.mnemonic }

// Seed returns a copy of the 32-byte mini secret (btwallet's "secretSeed"),
// or nil when unknown (soft-derived keys and keys loaded from a privateKey).
func (k *Keypair) Seed() []byte { return append([]byte(nil), k.seed...) }

// PrivateKey returns the 64-byte schnorrkel secret key (32-byte scalar ||
// 32-byte nonce), the keyfile's "privateKey"; nil when public-only.
func (k *Keypair) PrivateKey() []byte {
	if k.secret == nil {
		return nil
	}
	b := k.secret.Encode() // scalar
	out := make([]byte, 0, 64)
	out = append(out, b[:]...)
	return append(out, k.nonce[:]...)
}

// String returns the SS58 address, never secret material.
func (k *Keypair) String() string { return k.SS58() }

// Sign signs msg as is (no hashing, whatever its length) with the
// "substrate" signing context and returns the 64-byte signature.
// Signatures are randomised: signing twice gives different bytes, both valid.
//
// This deliberately differs from substrate's extrinsic signing, which
// blake2-hashes payloads over 256 bytes: Epistula and login challenges sign
// the raw message.
func (k *Keypair) Sign(msg []byte) ([]byte, error) {
	if k.secret == nil {
		return nil, ErrNoSecret
	}
	sig, err := k.secret.Sign(schnorrkel.NewSigningContext(signingContext, msg))
	if err != nil {
		return nil, fmt.Errorf("wallet: sign: %w", err)
	}
	b := sig.Encode()
	return b[:], nil
}

// Verify reports whether sig is this key's signature of msg.
func (k *Keypair) Verify(msg, sig []byte) bool { return VerifyPublicKey(k.pub, msg, sig) }

// Verify reports whether sig is a valid sr25519 signature of the raw msg by
// the key with SS58 address ss58 (prefix 42). A malformed address or
// signature is simply invalid.
func Verify(ss58 string, msg, sig []byte) bool {
	pub, err := DecodeSS58(ss58)
	if err != nil {
		return false
	}
	return VerifyPublicKey(pub, msg, sig)
}

// VerifyWrapped is Verify that also accepts a signature of
// "<Bytes>"+msg+"</Bytes>", the wrapping polkadot.js browser extensions apply
// in signRaw (and that bittensor-wallet's Keypair.verify accepts). Use it
// where people sign from a browser (website login), not for Epistula.
func VerifyWrapped(ss58 string, msg, sig []byte) bool {
	pub, err := DecodeSS58(ss58)
	if err != nil {
		return false
	}
	if VerifyPublicKey(pub, msg, sig) {
		return true
	}
	wrapped := make([]byte, 0, len(msg)+15)
	wrapped = append(wrapped, "<Bytes>"...)
	wrapped = append(wrapped, msg...)
	wrapped = append(wrapped, "</Bytes>"...)
	return VerifyPublicKey(pub, wrapped, sig)
}

// VerifyPublicKey is Verify for a raw 32-byte public key.
func VerifyPublicKey(pub [32]byte, msg, sig []byte) bool {
	if len(sig) != 64 {
		return false
	}
	pk, err := schnorrkel.NewPublicKey(pub)
	if err != nil {
		return false
	}
	var sb [64]byte
	copy(sb[:], sig)
	s := new(schnorrkel.Signature)
	// Decode rejects signatures without schnorrkel's marker bit, as
	// substrate's current verify does.
	if err := s.Decode(sb); err != nil {
		return false
	}
	ok, err := pk.Verify(s, schnorrkel.NewSigningContext(signingContext, msg))
	return err == nil && ok
}

// Generate makes a new key from a fresh 12-word mnemonic, like
// `btcli wallet new_hotkey` with its default --n-words 12.
func Generate() (*Keypair, error) {
	phrase, err := NewMnemonic(12)
	if err != nil {
		return nil, err
	}
	return FromMnemonic(phrase, "")
}

// NewMnemonic returns a random English BIP39 phrase of 12, 15, 18, 21 or 24
// words.
func NewMnemonic(words int) (string, error) {
	switch words {
	case 12, 15, 18, 21, 24:
	default:
		return "", fmt.Errorf("wallet: mnemonic must have 12, 15, 18, 21 or 24 words, not %d", words)
	}
	ent, err := bip39.NewEntropy(words * 32 / 3)
	if err != nil {
		return "", fmt.Errorf("wallet: entropy: %w", err)
	}
	phrase, err := bip39.NewMnemonic(ent)
	if err != nil {
		return "", fmt.Errorf("wallet: mnemonic: %w", err)
	}
	return phrase, nil
}

// normalizeMnemonic folds case and runs of whitespace, which users paste in.
func normalizeMnemonic(phrase string) string {
	return strings.ToLower(strings.Join(strings.Fields(phrase), " "))
}

// FromMnemonic derives the key of a BIP39 phrase the substrate way
// (substrate-bip39: PBKDF2-HMAC-SHA512 over the entropy, salt
// "mnemonic"+password, mini secret = first 32 bytes). password is the
// optional BIP39 passphrase ("" for btcli wallets). The checksum word is
// verified.
func FromMnemonic(phrase, password string) (*Keypair, error) {
	phrase = normalizeMnemonic(phrase)
	switch n := len(strings.Fields(phrase)); n {
	case 12, 15, 18, 21, 24:
	default:
		return nil, fmt.Errorf("wallet: mnemonic has %d words; want 12, 15, 18, 21 or 24", n)
	}
	ms, err := schnorrkel.MiniSecretKeyFromMnemonic(phrase, password)
	if err != nil {
		return nil, fmt.Errorf("wallet: invalid mnemonic (unknown word or bad checksum): %w", err)
	}
	kp, err := fromMini(ms)
	if err != nil {
		return nil, err
	}
	kp.mnemonic = phrase
	return kp, nil
}

// FromSeed makes a key from a 32-byte mini secret (btwallet "secretSeed",
// subkey "Secret seed") or a 64-byte schnorrkel secret key (btwallet
// "privateKey": scalar || nonce).
func FromSeed(seed []byte) (*Keypair, error) {
	switch len(seed) {
	case 32:
		var b [32]byte
		copy(b[:], seed)
		ms, err := schnorrkel.NewMiniSecretKeyFromRaw(b)
		if err != nil {
			return nil, fmt.Errorf("wallet: seed: %w", err)
		}
		return fromMini(ms)
	case 64:
		var key, nonce [32]byte
		copy(key[:], seed[:32])
		copy(nonce[:], seed[32:])
		// The scalar must be canonical, as schnorrkel's SecretKey::from_bytes
		// requires; otherwise this is not a real private key.
		if _, err := schnorrkel.ScalarFromBytes(key); err != nil {
			return nil, fmt.Errorf("wallet: private key is not a canonical scalar: %w", err)
		}
		return fromSecret(schnorrkel.NewSecretKey(key, nonce), nonce, nil)
	default:
		return nil, fmt.Errorf("wallet: seed must be 32 bytes (mini secret) or 64 bytes (private key), got %d", len(seed))
	}
}

// FromSeedHex is FromSeed for a hex string, with or without "0x".
func FromSeedHex(s string) (*Keypair, error) {
	b, err := decodeHex(s)
	if err != nil {
		return nil, fmt.Errorf("wallet: seed hex: %w", err)
	}
	return FromSeed(b)
}

// FromPublicKey makes a public-only keypair (it can verify, not sign).
func FromPublicKey(pub [32]byte) (*Keypair, error) {
	if _, err := schnorrkel.NewPublicKey(pub); err != nil {
		return nil, fmt.Errorf("wallet: invalid sr25519 public key: %w", err)
	}
	return &Keypair{pub: pub}, nil
}

// FromSS58 makes a public-only keypair from an address.
func FromSS58(addr string) (*Keypair, error) {
	pub, err := DecodeSS58(addr)
	if err != nil {
		return nil, err
	}
	return FromPublicKey(pub)
}

func fromMini(ms *schnorrkel.MiniSecretKey) (*Keypair, error) {
	seed := ms.Encode()
	// ExpandEd25519's nonce is the upper half of sha512(mini secret).
	h := sha512.Sum512(seed[:])
	var nonce [32]byte
	copy(nonce[:], h[32:])
	return fromSecret(ms.ExpandEd25519(), nonce, seed[:])
}

func fromSecret(sk *schnorrkel.SecretKey, nonce [32]byte, seed []byte) (*Keypair, error) {
	pk, err := sk.Public()
	if err != nil {
		return nil, fmt.Errorf("wallet: public key: %w", err)
	}
	return &Keypair{pub: pk.Encode(), secret: sk, nonce: nonce, seed: seed}, nil
}

// equalPub compares public keys in constant time (not secret, but cheap).
func equalPub(a, b [32]byte) bool { return subtle.ConstantTimeCompare(a[:], b[:]) == 1 }

// decodeHex accepts "0x"-prefixed or bare hex.
func decodeHex(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	return hex.DecodeString(s)
}
