package dataset

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Parquet keeps its metadata (the footer, every page header) in Thrift's
// compact protocol, and parquet-go's decoder allocates what a header declares
// (a string of n bytes, a list of n elements) before it reads the values. A
// hostile file can declare a list of two billion row groups in a few bytes.
// thriftStructLen walks one encoded struct first and refuses any string,
// list, set or map that does not fit in the bytes that remain, so that what
// the decoder then allocates is bounded by the size of the input.

// errThrift marks metadata that is not a well-formed, bounded Thrift struct.
var errThrift = errors.New("malformed parquet metadata")

// maxThriftDepth bounds the nesting of structs and containers (parquet's
// deepest metadata nests about 6 levels).
const maxThriftDepth = 32

// Compact protocol type codes.
const (
	tStop   = 0
	tTrue   = 1
	tFalse  = 2
	tByte   = 3
	tI16    = 4
	tI32    = 5
	tI64    = 6
	tDouble = 7
	tBinary = 8
	tList   = 9
	tSet    = 10
	tMap    = 11
	tStruct = 12
)

type thriftWalker struct {
	b     []byte
	i     int
	elems int // container elements left
}

// thriftStructLen returns the length of the compact-protocol struct at the
// start of b, after checking every declared size against the bytes left and
// that its containers hold at most maxElems elements in all (the decoder
// allocates a whole struct per element: a few hundred bytes for one byte of
// input).
func thriftStructLen(b []byte, maxElems int) (int, error) {
	w := thriftWalker{b: b, elems: maxElems}
	if err := w.structure(0); err != nil {
		return 0, err
	}
	return w.i, nil
}

func (w *thriftWalker) fail(format string, args ...any) error {
	return fmt.Errorf("%w: %s at byte %d", errThrift, fmt.Sprintf(format, args...), w.i)
}

func (w *thriftWalker) byte() (byte, error) {
	if w.i >= len(w.b) {
		return 0, w.fail("unexpected end")
	}
	c := w.b[w.i]
	w.i++
	return c, nil
}

func (w *thriftWalker) uvarint() (uint64, error) {
	v, n := binary.Uvarint(w.b[w.i:])
	if n <= 0 {
		return 0, w.fail("bad varint")
	}
	w.i += n
	return v, nil
}

// size reads a declared count or length and checks that at least min bytes
// per item remain.
func (w *thriftWalker) size(v uint64, min int) (int, error) {
	left := uint64(len(w.b) - w.i)
	if v > left/uint64(min) {
		return 0, w.fail("declared size %d exceeds the %d bytes left", v, left)
	}
	return int(v), nil
}

// count takes n container elements from the walker's allowance.
func (w *thriftWalker) count(n int) error {
	if n > w.elems {
		return w.fail("more than the allowed container elements")
	}
	w.elems -= n
	return nil
}

func (w *thriftWalker) structure(depth int) error {
	if depth > maxThriftDepth {
		return w.fail("nested too deep")
	}
	for {
		h, err := w.byte()
		if err != nil {
			return err
		}
		typ := h & 0x0f
		if typ == tStop {
			return nil
		}
		if h>>4 == 0 { // long form: the field id follows as a zigzag varint
			if _, err := w.uvarint(); err != nil {
				return err
			}
		}
		if typ == tTrue || typ == tFalse { // a struct field's bool is its type
			continue
		}
		if err := w.value(typ, depth); err != nil {
			return err
		}
	}
}

func (w *thriftWalker) value(typ byte, depth int) error {
	switch typ {
	case tTrue, tFalse, tByte: // in containers a bool takes one byte
		_, err := w.byte()
		return err
	case tI16, tI32, tI64:
		_, err := w.uvarint()
		return err
	case tDouble:
		if len(w.b)-w.i < 8 {
			return w.fail("unexpected end")
		}
		w.i += 8
		return nil
	case tBinary:
		v, err := w.uvarint()
		if err != nil {
			return err
		}
		n, err := w.size(v, 1)
		if err != nil {
			return err
		}
		w.i += n
		return nil
	case tList, tSet:
		h, err := w.byte()
		if err != nil {
			return err
		}
		v := uint64(h >> 4)
		if v == 15 {
			if v, err = w.uvarint(); err != nil {
				return err
			}
		}
		n, err := w.size(v, 1)
		if err != nil {
			return err
		}
		if err := w.count(n); err != nil {
			return err
		}
		for range n {
			if err := w.value(h&0x0f, depth+1); err != nil {
				return err
			}
		}
		return nil
	case tMap:
		v, err := w.uvarint()
		if err != nil {
			return err
		}
		n, err := w.size(v, 2)
		if err != nil || n == 0 {
			return err
		}
		if err := w.count(n); err != nil {
			return err
		}
		kv, err := w.byte()
		if err != nil {
			return err
		}
		for range n {
			if err := w.value(kv>>4, depth+1); err != nil {
				return err
			}
			if err := w.value(kv&0x0f, depth+1); err != nil {
				return err
			}
		}
		return nil
	case tStruct:
		return w.structure(depth + 1)
	}
	return w.fail("unknown type %d", typ)
}
