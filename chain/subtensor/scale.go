package subtensor

import (
	"encoding/binary"
	"fmt"

	"github.com/datarefine/refine/scale"
)

// The few SCALE shapes the client reads and writes, hand-written so that the
// decoders state exactly the layouts they expect (runtime API results are
// not described by the V14 metadata that state_getMetadata returns). The
// compact integer rule is package scale's.

func appendU16s(b []byte, vs []uint16) []byte {
	b = scale.AppendCompact(b, uint64(len(vs)))
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint16(b, v)
	}
	return b
}

// decoder reads SCALE values from a byte slice; the first error sticks and
// later reads return zero values, so callers check err once at the end.
type decoder struct {
	b   []byte
	off int
	err error
}

func newDecoder(b []byte) *decoder { return &decoder{b: b} }

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = fmt.Errorf("%w at offset %d", err, d.off)
	}
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || len(d.b)-d.off < n {
		d.fail(scale.ErrShort)
		return nil
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p
}

func (d *decoder) remaining() int { return len(d.b) - d.off }

func (d *decoder) u8() uint8 {
	p := d.take(1)
	if p == nil {
		return 0
	}
	return p[0]
}

func (d *decoder) bool() bool {
	switch v := d.u8(); v {
	case 0:
		return false
	case 1:
		return true
	default:
		d.fail(fmt.Errorf("scale: bad bool byte %d", v))
		return false
	}
}

func (d *decoder) u16() uint16 {
	p := d.take(2)
	if p == nil {
		return 0
	}
	return binary.LittleEndian.Uint16(p)
}

func (d *decoder) u32() uint32 {
	p := d.take(4)
	if p == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(p)
}

func (d *decoder) u64() uint64 {
	p := d.take(8)
	if p == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(p)
}

func (d *decoder) compact() uint64 {
	if d.err != nil {
		return 0
	}
	v, n, err := scale.DecodeCompact(d.b[d.off:])
	if err != nil {
		d.fail(err)
		return 0
	}
	d.off += n
	return v
}

// compactBig skips a compact integer of any width (u128 balances included).
func (d *decoder) compactBig() {
	if p := d.take(1); p != nil {
		d.take(scale.CompactSize(p[0]) - 1)
	}
}

// compactU16 reads a compact that must fit a u16.
func (d *decoder) compactU16() uint16 {
	v := d.compact()
	if v > 0xffff {
		d.fail(fmt.Errorf("scale: compact %d overflows u16", v))
	}
	return uint16(v)
}

// length reads a compact collection length, bounded by the bytes left so
// that corrupt input cannot make us allocate wildly.
func (d *decoder) length() int {
	n := d.compact()
	if d.err == nil && n > uint64(d.remaining()) {
		d.fail(fmt.Errorf("scale: length %d exceeds the %d bytes left", n, d.remaining()))
		return 0
	}
	return int(n)
}

func (d *decoder) account() [32]byte {
	var a [32]byte
	copy(a[:], d.take(32))
	return a
}

func (d *decoder) bytes() []byte {
	n := d.length()
	return append([]byte(nil), d.take(n)...)
}

// end fails unless every byte was consumed: a layout that leaves bytes over
// is the wrong layout.
func (d *decoder) end() error {
	if d.err == nil && d.off != len(d.b) {
		d.fail(fmt.Errorf("scale: %d trailing bytes", len(d.b)-d.off))
	}
	return d.err
}
