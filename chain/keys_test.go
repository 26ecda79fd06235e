package chain

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/datarefine/refine/wallet"
)

func TestVerify(t *testing.T) {
	alice, err := wallet.FromURI("//Alice")
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
	bob, _ := wallet.FromURI("//Bob")
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
		// Alice's own key in Polkadot's format (prefix 0): Bittensor's
		// addresses are prefix 42 (wallet.DecodeSS58), as in btcli.
		"other network": {"15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5", msg, sig},
	} {
		if err := Verify(tc.who, tc.msg, tc.sig); !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: err = %v, want ErrBadSignature", name, err)
		}
	}
}

func TestCommitHashEncoding(t *testing.T) {
	alice, _ := wallet.FromURI("//Alice")
	h1, err := CommitHash(alice.SS58(), 1, []uint16{0, 1}, []uint16{65535, 100}, []uint16{7}, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Pinned from the encoder this one replaced (a regression pin, not an
	// external vector): the bytes hashed must not change with the move of
	// the compact encoding to package scale; the second input has lengths
	// over 63 (two-byte compacts).
	many := make([]uint16, 70)
	for i := range many {
		many[i] = uint16(i * 937)
	}
	hm, _ := CommitHash(alice.SS58(), 23, many, many, []uint16{1, 2, 3}, 1<<40)
	if fmt.Sprintf("%x", h1) != "6f63581b8f9fe9c4540dee173345143c2104399ed7f6f85399df0dfd26efee25" ||
		fmt.Sprintf("%x", hm) != "05248f5b3cbe223a78729095a7f7937be4d038a26f9c634b477d9a668d741b09" {
		t.Errorf("commit hashes changed: %x, %x", h1, hm)
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
