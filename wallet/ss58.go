package wallet

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/decred/base58"
	subkey "github.com/vedhavyas/go-subkey/v2"
	"golang.org/x/crypto/blake2b"
)

// ErrBadAddress is wrapped by every SS58 decoding error.
var ErrBadAddress = errors.New("invalid SS58 address")

// EncodeSS58 returns the SS58 address (prefix 42) of a public key.
func EncodeSS58(pub [32]byte) string { return subkey.SS58Encode(pub[:], SS58Prefix) }

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
	h := blake2b.Sum512(append([]byte("SS58PRE"), raw[:33]...))
	if !bytes.Equal(h[:2], raw[33:]) {
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
