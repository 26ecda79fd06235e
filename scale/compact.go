// Package scale holds the one implementation of SCALE's compact integer
// encoding (parity-scale-codec's Compact<T>), the variable-length integer
// every Substrate structure uses for lengths and many numbers: extrinsics,
// call arguments, runtime API results, sr25519 derivation junctions.
//
// Whole structures are encoded and decoded where they are used (the
// subtensor client's decoders state the layouts they expect); this package
// only owns the integer rule so that it is written once. The encoding, by
// the two low bits of the first byte:
//
//	0b00  single byte,  value < 2^6,  value << 2
//	0b01  two bytes LE, value < 2^14, value << 2 | 1
//	0b10  four bytes LE, value < 2^30, value << 2 | 2
//	0b11  big integer: (byte count − 4) << 2 | 3, then the value in that
//	      many little-endian bytes (at least 4, no trailing zero byte)
package scale

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
)

// ErrShort is wrapped when the input ends inside a compact integer.
var ErrShort = errors.New("scale: input too short")

// AppendCompact appends the compact encoding of v to b, in the shortest
// form, as parity-scale-codec writes it.
func AppendCompact(b []byte, v uint64) []byte {
	switch {
	case v < 1<<6:
		return append(b, byte(v<<2))
	case v < 1<<14:
		return binary.LittleEndian.AppendUint16(b, uint16(v<<2|1))
	case v < 1<<30:
		return binary.LittleEndian.AppendUint32(b, uint32(v<<2|2))
	default:
		n := (bits.Len64(v) + 7) / 8 // ≥ 4 since v ≥ 2^30
		b = append(b, byte((n-4)<<2|3))
		for i := range n {
			b = append(b, byte(v>>(8*i)))
		}
		return b
	}
}

// CompactSize is the length in bytes of the compact integer whose first
// byte is first, whatever its width (u128 balances included), for callers
// that skip one.
func CompactSize(first byte) int {
	switch first & 3 {
	case 0:
		return 1
	case 1:
		return 2
	case 2:
		return 4
	default:
		return 1 + int(first>>2) + 4
	}
}

// DecodeCompact reads the compact integer at the start of b and returns
// its value and the number of bytes it took. A big integer wider than 8
// bytes is an error: nothing this project reads as a number needs more.
// It accepts a value in a longer form than the shortest (parity-scale-codec
// refuses that), as the subtensor client's decoders always have.
func DecodeCompact(b []byte) (uint64, int, error) {
	if len(b) == 0 {
		return 0, 0, ErrShort
	}
	n := CompactSize(b[0])
	if n > 9 {
		return 0, 0, fmt.Errorf("scale: compact of %d bytes does not fit u64", n-1)
	}
	if len(b) < n {
		return 0, 0, ErrShort
	}
	switch b[0] & 3 {
	case 0:
		return uint64(b[0] >> 2), 1, nil
	case 1:
		return uint64(binary.LittleEndian.Uint16(b) >> 2), 2, nil
	case 2:
		return uint64(binary.LittleEndian.Uint32(b) >> 2), 4, nil
	}
	var v uint64
	for i := n - 1; i >= 1; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, n, nil
}
