package chain

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/blake2b"

	"github.com/datarefine/refine/scale"
	"github.com/datarefine/refine/wallet"
)

// Keys, addresses and signatures are package wallet's (the project's one
// sr25519/SS58 implementation); a *wallet.Keypair is a Signer. The two
// functions below only put the chain's sentinel errors on its answers.

// PublicKey decodes an SS58 address (prefix 42, checksum verified) into its
// 32-byte public key.
func PublicKey(ss58 string) ([32]byte, error) {
	pk, err := wallet.DecodeSS58(ss58)
	if err != nil {
		return pk, fmt.Errorf("decode ss58 %q: %w: %v", ss58, ErrInvalidArgument, err)
	}
	return pk, nil
}

// Verify checks an sr25519 signature by the account ss58 over msg; it
// returns an error wrapping ErrBadSignature when it does not verify.
func Verify(ss58 string, msg, sig []byte) error {
	pk, err := PublicKey(ss58)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	if !wallet.VerifyPublicKey(pk, msg, sig) {
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
		buf = scale.AppendCompact(buf, uint64(len(v)))
		for _, x := range v {
			buf = binary.LittleEndian.AppendUint16(buf, x)
		}
	}
	buf = binary.LittleEndian.AppendUint64(buf, versionKey)
	return blake2b.Sum256(buf), nil
}
