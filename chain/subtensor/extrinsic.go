package subtensor

import (
	"encoding/binary"
	"fmt"
	"math/bits"

	"golang.org/x/crypto/blake2b"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/scale"
)

// txContext is what a signed extrinsic commits to besides its call.
type txContext struct {
	SpecVersion uint32
	TxVersion   uint32
	Genesis     [32]byte
	// Era is the encoded mortality; BirthHash the hash of its birth block
	// (the genesis hash when immortal).
	Era       []byte
	BirthHash [32]byte
	Nonce     uint64
	Tip       uint64
}

// mortalEra encodes a mortal era of period blocks born at block birth
// (Substrate's Era::Mortal encoding: 2 bytes, low 4 bits log2(period)-1,
// the rest the quantized phase).
func mortalEra(period, birth uint64) []byte {
	p := uint64(1) << (bits.Len64(period - 1)) // next power of two
	p = max(4, min(p, 65536))
	phase := birth % p
	quantize := max(p>>12, 1)
	enc := uint16(min(15, max(1, bits.TrailingZeros64(p)-1))) | uint16(phase/quantize)<<4
	return binary.LittleEndian.AppendUint16(nil, enc)
}

// extrinsicParts returns the extension bytes of the extrinsic ("extra")
// and of the signed payload only ("implicit"), walking the runtime's
// transaction extension list in order. Unknown extensions are accepted only
// when they encode to nothing on both sides; subtensor's own ones
// (SubtensorTransactionExtension, DrandPriority, SudoTransactionExtension,
// CheckShieldedTxValidity) do.
func extrinsicParts(m *runtimeMeta, tx txContext) (extra, implicit []byte, err error) {
	for _, e := range m.extensions {
		switch e.name {
		case "CheckSpecVersion":
			implicit = binary.LittleEndian.AppendUint32(implicit, tx.SpecVersion)
		case "CheckTxVersion":
			implicit = binary.LittleEndian.AppendUint32(implicit, tx.TxVersion)
		case "CheckGenesis":
			implicit = append(implicit, tx.Genesis[:]...)
		case "CheckMortality", "CheckEra":
			extra = append(extra, tx.Era...)
			implicit = append(implicit, tx.BirthHash[:]...)
		case "CheckNonce":
			extra = scale.AppendCompact(extra, tx.Nonce)
		case "ChargeTransactionPayment":
			// subtensor's ChargeTransactionPaymentWrapper encodes as the
			// inner extension: a compact tip.
			extra = scale.AppendCompact(extra, tx.Tip)
		case "CheckMetadataHash":
			extra = append(extra, 0)       // Mode::Disabled
			implicit = append(implicit, 0) // Option::None
		default:
			if !e.extraEmpty || !e.implicitEmpty {
				return nil, nil, fmt.Errorf("transaction extension %s is not supported", e.name)
			}
		}
	}
	return extra, implicit, nil
}

// signingPayload is what the signer signs: call, extra and implicit,
// blake2-256 hashed when longer than 256 bytes (Substrate's rule for
// extrinsics).
func signingPayload(call, extra, implicit []byte) []byte {
	p := make([]byte, 0, len(call)+len(extra)+len(implicit))
	p = append(append(append(p, call...), extra...), implicit...)
	if len(p) > 256 {
		h := blake2b.Sum256(p)
		return h[:]
	}
	return p
}

// signedExtrinsic builds a version-4 signed extrinsic: compact length,
// 0x84, MultiAddress::Id, MultiSignature::Sr25519, extra, call.
func signedExtrinsic(m *runtimeMeta, signer chain.Signer, call []byte, tx txContext) ([]byte, error) {
	pk, err := chain.PublicKey(signer.SS58())
	if err != nil {
		return nil, err
	}
	extra, implicit, err := extrinsicParts(m, tx)
	if err != nil {
		return nil, err
	}
	sig, err := signer.Sign(signingPayload(call, extra, implicit))
	if err != nil {
		return nil, fmt.Errorf("sign extrinsic: %w", err)
	}
	if len(sig) != 64 {
		return nil, fmt.Errorf("sign extrinsic: %d-byte signature", len(sig))
	}
	body := []byte{0x84, 0x00}
	body = append(body, pk[:]...)
	body = append(body, 0x01) // sr25519
	body = append(body, sig...)
	body = append(body, extra...)
	body = append(body, call...)
	return append(scale.AppendCompact(nil, uint64(len(body))), body...), nil
}

// Call encoders. Indices come from the runtime's metadata.

func callSetWeights(ci [2]byte, netuid uint16, uids, weights []uint16, versionKey uint64) []byte {
	b := append(ci[:], u16LE(netuid)...)
	b = appendU16s(b, uids)
	b = appendU16s(b, weights)
	return binary.LittleEndian.AppendUint64(b, versionKey)
}

func callCommitWeights(ci [2]byte, netuid uint16, hash [32]byte) []byte {
	return append(append(ci[:], u16LE(netuid)...), hash[:]...)
}

func callRevealWeights(ci [2]byte, netuid uint16, uids, values, salt []uint16, versionKey uint64) []byte {
	b := append(ci[:], u16LE(netuid)...)
	b = appendU16s(b, uids)
	b = appendU16s(b, values)
	b = appendU16s(b, salt)
	return binary.LittleEndian.AppendUint64(b, versionKey)
}

func callBurnedRegister(ci [2]byte, netuid uint16, hotkey [32]byte) []byte {
	return append(append(ci[:], u16LE(netuid)...), hotkey[:]...)
}

func callAddStake(ci [2]byte, hotkey [32]byte, netuid uint16, amount uint64) []byte {
	b := append(ci[:], hotkey[:]...)
	b = append(b, u16LE(netuid)...)
	return binary.LittleEndian.AppendUint64(b, amount)
}

// callSetCommitment encodes set_commitment(netuid, CommitmentInfo { fields:
// [data] }) with data as Raw or BigRaw.
func callSetCommitment(ci [2]byte, netuid uint16, data []byte) ([]byte, error) {
	enc, err := encodeData(data)
	if err != nil {
		return nil, err
	}
	b := append(ci[:], u16LE(netuid)...)
	b = scale.AppendCompact(b, 1)
	return append(b, enc...), nil
}

// CommitHash is the commit-reveal v2 hash validators commit with
// commit_weights; it is chain.CommitHash, exposed here so callers of this
// client need not look elsewhere.
func CommitHash(hotkey string, netuid uint16, uids, values, salt []uint16, versionKey uint64) ([32]byte, error) {
	return chain.CommitHash(hotkey, netuid, uids, values, salt, versionKey)
}
