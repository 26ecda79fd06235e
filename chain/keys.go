package chain

import (
	"encoding/binary"
	"fmt"

	subkey "github.com/vedhavyas/go-subkey/v2"
	"github.com/vedhavyas/go-subkey/v2/sr25519"
	"golang.org/x/crypto/blake2b"
)

// SS58Prefix is Bittensor's address format (the generic Substrate one).
const SS58Prefix = 42

// URISigner is a Signer from a Substrate secret URI ("//Alice", a mnemonic
// with an optional derivation path, or a 0x seed). It is the stop-gap key
// source for dev tools until wallets are loaded from btcli files.
type URISigner struct {
	kp subkey.KeyPair
}

// SignerFromURI derives an sr25519 key from uri.
func SignerFromURI(uri string) (*URISigner, error) {
	kp, err := subkey.DeriveKeyPair(sr25519.Scheme{}, uri)
	if err != nil {
		return nil, fmt.Errorf("derive key from uri: %w", err)
	}
	return &URISigner{kp: kp}, nil
}

// SS58 returns the address with prefix 42.
func (s *URISigner) SS58() string { return s.kp.SS58Address(SS58Prefix) }

// Sign signs msg with the "substrate" context and no pre-hash.
func (s *URISigner) Sign(msg []byte) ([]byte, error) { return s.kp.Sign(msg) }

// PublicKey decodes an SS58 address into its 32-byte public key.
func PublicKey(ss58 string) ([32]byte, error) {
	var pk [32]byte
	_, b, err := subkey.SS58Decode(ss58)
	if err != nil {
		return pk, fmt.Errorf("decode ss58 %q: %w: %v", ss58, ErrInvalidArgument, err)
	}
	if len(b) != 32 {
		return pk, fmt.Errorf("decode ss58 %q: %w: %d-byte key", ss58, ErrInvalidArgument, len(b))
	}
	copy(pk[:], b)
	return pk, nil
}

// Verify checks an sr25519 signature by the account ss58 over msg; it
// returns an error wrapping ErrBadSignature when it does not verify.
func Verify(ss58 string, msg, sig []byte) error {
	pk, err := PublicKey(ss58)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	pub, err := sr25519.Scheme{}.FromPublicKey(pk[:])
	if err != nil {
		return fmt.Errorf("%w: public key: %v", ErrBadSignature, err)
	}
	if len(sig) != 64 || !pub.Verify(msg, sig) {
		return fmt.Errorf("%w: signature by %s does not verify", ErrBadSignature, ss58)
	}
	return nil
}

// CommitHash is subtensor's commit-reveal v2 hash: BlakeTwo256 of the SCALE
// encoding of (account, netuid_index, uids, values, salt, version_key). The
// netuid index equals the netuid for a subnet's main mechanism.
func CommitHash(hotkey string, netuid uint16, uids, values, salt []uint16, versionKey uint64) ([32]byte, error) {
	pk, err := PublicKey(hotkey)
	if err != nil {
		return [32]byte{}, err
	}
	buf := append([]byte(nil), pk[:]...)
	buf = binary.LittleEndian.AppendUint16(buf, netuid)
	for _, v := range [][]uint16{uids, values, salt} {
		buf = appendCompact(buf, uint64(len(v)))
		for _, x := range v {
			buf = binary.LittleEndian.AppendUint16(buf, x)
		}
	}
	buf = binary.LittleEndian.AppendUint64(buf, versionKey)
	return blake2b.Sum256(buf), nil
}

// appendCompact is SCALE's compact integer encoding.
func appendCompact(b []byte, v uint64) []byte {
	switch {
	case v < 1<<6:
		return append(b, byte(v<<2))
	case v < 1<<14:
		return binary.LittleEndian.AppendUint16(b, uint16(v<<2|1))
	case v < 1<<30:
		return binary.LittleEndian.AppendUint32(b, uint32(v<<2|2))
	default:
		var tmp [8]byte
		binary.LittleEndian.PutUint64(tmp[:], v)
		n := 8
		for n > 4 && tmp[n-1] == 0 {
			n--
		}
		b = append(b, byte((n-4)<<2|3))
		return append(b, tmp[:n]...)
	}
}
