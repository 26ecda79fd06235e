package scale

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	gsrpc "github.com/centrifuge/go-substrate-rpc-client/v4/scale"
)

// Known encodings: the boundaries of each mode and parity-scale-codec's
// documented examples (README "Compact/general integers").
var known = []struct {
	v   uint64
	hex string
}{
	{0, "00"},
	{1, "04"},
	{42, "a8"},
	{63, "fc"},
	{64, "0101"},
	{69, "1501"},
	{16383, "fdff"},
	{16384, "02000100"},
	{65535, "feff0300"},
	{1<<30 - 1, "feffffff"},
	{1 << 30, "0300000040"},
	{1<<32 - 1, "03ffffffff"},
	{1 << 32, "070000000001"},
	{1<<48 - 1, "0bffffffffffff"},
	{1 << 56, "130000000000000001"},
	{math.MaxUint64, "13ffffffffffffffff"},
}

func TestCompactKnownEncodings(t *testing.T) {
	for _, tc := range known {
		got := AppendCompact([]byte{0xaa}, tc.v) // appends, keeps what was there
		if hex.EncodeToString(got) != "aa"+tc.hex {
			t.Errorf("AppendCompact(%d) = %x, want aa%s", tc.v, got, tc.hex)
		}
		enc, _ := hex.DecodeString(tc.hex)
		v, n, err := DecodeCompact(append(enc, 0x55)) // a byte after it is not read
		if err != nil || v != tc.v || n != len(enc) {
			t.Errorf("DecodeCompact(%s) = %d, %d, %v; want %d, %d", tc.hex, v, n, err, tc.v, len(enc))
		}
		if CompactSize(enc[0]) != len(enc) {
			t.Errorf("CompactSize(%#x) = %d, want %d", enc[0], CompactSize(enc[0]), len(enc))
		}
	}
}

// TestCompactMatchesGSRPC compares with go-substrate-rpc-client's codec
// (an independent implementation) over every boundary and random values of
// every width.
func TestCompactMatchesGSRPC(t *testing.T) {
	vals := []uint64{}
	for _, tc := range known {
		vals = append(vals, tc.v)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		vals = append(vals, r.Uint64()>>r.IntN(64))
	}
	for _, v := range vals {
		var want bytes.Buffer
		if err := gsrpc.NewEncoder(&want).EncodeUintCompact(*new(big.Int).SetUint64(v)); err != nil {
			t.Fatal(err)
		}
		if got := AppendCompact(nil, v); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("AppendCompact(%d) = %x, go-substrate-rpc-client %x", v, got, want.Bytes())
		}
		got, n, err := DecodeCompact(want.Bytes())
		if err != nil || got != v || n != want.Len() {
			t.Fatalf("DecodeCompact(%x) = %d, %d, %v; want %d", want.Bytes(), got, n, err, v)
		}
	}
}

func TestDecodeCompactErrors(t *testing.T) {
	for _, in := range []string{"", "01", "020001", "03000000", "13ffffffffffffff"} {
		b, _ := hex.DecodeString(in)
		if _, _, err := DecodeCompact(b); !errors.Is(err, ErrShort) {
			t.Errorf("DecodeCompact(%q): err = %v, want ErrShort", in, err)
		}
	}
	// A 9-byte big integer (u128 balances can be) does not fit a u64; its
	// size is still known to a caller that skips it.
	b, _ := hex.DecodeString("17" + "000000000000000001")
	if _, _, err := DecodeCompact(b); err == nil || errors.Is(err, ErrShort) {
		t.Errorf("9-byte compact: err = %v, want does not fit", err)
	}
	if CompactSize(0x17) != 10 {
		t.Errorf("CompactSize(0x17) = %d, want 10", CompactSize(0x17))
	}
}
