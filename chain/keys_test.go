package chain

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

func TestSignerFromURIAndVerify(t *testing.T) {
	alice, err := SignerFromURI("//Alice")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := alice.SS58(), "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"; got != want {
		t.Fatalf("//Alice SS58 = %s, want %s", got, want)
	}
	// A long message: signed raw, not blake2-hashed first, so Verify over the
	// same bytes must succeed.
	msg := bytes.Repeat([]byte("x"), 1000)
	sig, err := alice.Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(alice.SS58(), msg, sig); err != nil {
		t.Fatalf("valid signature rejected: %v", err)
	}
	bob, _ := SignerFromURI("//Bob")
	tampered := append([]byte(nil), msg...)
	tampered[0] = 'y'
	for name, tc := range map[string]struct {
		who string
		msg []byte
		sig []byte
	}{
		"tampered message": {alice.SS58(), tampered, sig},
		"other signer":     {bob.SS58(), msg, sig},
		"short signature":  {alice.SS58(), msg, sig[:10]},
		"bad address":      {"5notanaddress", msg, sig},
	} {
		if err := Verify(tc.who, tc.msg, tc.sig); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: err = %v, want ErrBadSignature", name, err)
		}
	}
}

func TestCommitHashEncoding(t *testing.T) {
	// SCALE compact integers (parity-scale-codec's documented examples).
	for _, tc := range []struct {
		v    uint64
		want string
	}{{0, "00"}, {1, "04"}, {42, "a8"}, {69, "1501"}, {65535, "feff0300"}, {1 << 30, "0300000040"}} {
		if got := hex.EncodeToString(appendCompact(nil, tc.v)); got != tc.want {
			t.Errorf("compact(%d) = %s, want %s", tc.v, got, tc.want)
		}
	}
	alice, _ := SignerFromURI("//Alice")
	h1, err := CommitHash(alice.SS58(), 1, []uint16{0, 1}, []uint16{65535, 100}, []uint16{7}, 0)
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := CommitHash(alice.SS58(), 1, []uint16{0, 1}, []uint16{65535, 100}, []uint16{8}, 0)
	h3, _ := CommitHash(alice.SS58(), 2, []uint16{0, 1}, []uint16{65535, 100}, []uint16{7}, 0)
	if h1 == h2 || h1 == h3 {
		t.Error("commit hash ignores salt or netuid")
	}
	if _, err := CommitHash("bogus", 1, nil, nil, nil, 0); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("bad hotkey: err = %v", err)
	}
}

func TestErrorCodesRoundTrip(t *testing.T) {
	for code, sentinel := range AllErrors {
		if got := ErrorCode(errors.Join(errors.New("context"), sentinel)); got != code {
			t.Errorf("ErrorCode(%v) = %s, want %s", sentinel, got, code)
		}
	}
	if ErrorCode(errors.New("other")) != "internal" {
		t.Error("unknown error should map to internal")
	}
}
