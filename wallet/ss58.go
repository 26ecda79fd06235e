package wallet

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/decred/base58"
	"golang.org/x/crypto/blake2b"
)

// ErrBadAddress is wrapped by every SS58 decoding error.
var ErrBadAddress = errors.New("invalid SS58 address")

// ss58Checksum is SS58's 2-byte checksum of prefix || account: the first
// bytes of blake2b-512("SS58PRE" || prefix || account) (sp-core's
// ss58hash).
func ss58Checksum(body []byte) []byte {
	h := blake2b.Sum512(append([]byte("SS58PRE"), body...))
	return h[:2]
}

// EncodeSS58 returns the SS58 address (prefix 42) of a public key: base58
// of the one-byte prefix, the 32-byte account and the checksum.
func EncodeSS58(pub [32]byte) string {
	raw := make([]byte, 0, 35)
	raw = append(raw, SS58Prefix)
	raw = append(raw, pub[:]...)
	return base58.Encode(append(raw, ss58Checksum(raw)...))
}

// DecodeSS58 parses an SS58 address of a 32-byte account with prefix 42 and
// checks its 2-byte blake2b checksum. Addresses of other networks are
// rejected: a key meant for another chain is a mistake here.
func DecodeSS58(addr string) ([32]byte, error) {
	var pub [32]byte
	raw := base58.Decode(addr)
	if len(raw) == 0 {
		return pub, fmt.Errorf("%w %q: not base58", ErrBadAddress, addr)
	}
	// One prefix byte (prefix < 64) + 32-byte account + 2-byte checksum.
	if len(raw) != 35 {
		return pub, fmt.Errorf("%w %q: %d bytes, want 35 (prefix 42, 32-byte account, checksum)", ErrBadAddress, addr, len(raw))
	}
	if raw[0] != SS58Prefix {
		return pub, fmt.Errorf("%w %q: network prefix %d, want %d", ErrBadAddress, addr, raw[0], SS58Prefix)
	}
	if !bytes.Equal(ss58Checksum(raw[:33]), raw[33:]) {
		return pub, fmt.Errorf("%w %q: checksum mismatch", ErrBadAddress, addr)
	}
	copy(pub[:], raw[1:33])
	return pub, nil
}

// ValidSS58 reports whether addr is a well-formed prefix-42 address.
func ValidSS58(addr string) bool {
	_, err := DecodeSS58(addr)
	return err == nil
}
