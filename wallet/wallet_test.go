package wallet

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"golang.org/x/crypto/blake2b"

	"github.com/datarefine/refine/internal/shareddata"
)

// vectors mirrors the parts of chain/wallet/key_vectors.json the tests use.
type vectors struct {
	MnemonicToKey []struct {
		Phrase, Password string
		Seed             string `json:"mini_secret_secretSeed"`
		PrivateKey       string `json:"privateKey_64B_key_nonce"`
		PublicKey        string `json:"publicKey"`
		SS58             string `json:"ss58"`
	} `json:"mnemonic_to_key"`
	URIDerivation []struct {
		URI        string `json:"uri"`
		SS58       string `json:"ss58"`
		PublicKey  string `json:"publicKey"`
		SecretSeed string `json:"secretSeed"`
	} `json:"uri_derivation"`
	SeedToPublic []struct {
		Seed      string `json:"seed"`
		SeedASCII string `json:"seed_ascii"`
		PublicKey string `json:"publicKey"`
	} `json:"seed_to_public"`
	SignatureVerify []struct {
		PublicKey, Signature string
		Message              string `json:"message_ascii"`
		Valid                *bool  `json:"valid"`
		ValidCurrent         *bool  `json:"valid_with_current_verify"`
	} `json:"signature_verify"`
	Bip39 struct {
		Vectors []struct {
			Phrase, Password string
			MiniSecret       string `json:"mini_secret"`
		}
	} `json:"substrate_bip39_vectors"`
	NaCl struct {
		KeyTest string `json:"derived_key_password_testpassword123"`
		KeyRust string `json:"derived_key_password_rust_to_python_test"`
	} `json:"nacl_keyfile"`
}

func loadVectors(t *testing.T) vectors {
	t.Helper()
	b, err := os.ReadFile(shareddata.Path(t, "chain", "wallet", "key_vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.MnemonicToKey) == 0 || len(v.URIDerivation) == 0 {
		t.Fatal("key_vectors.json: no vectors decoded")
	}
	return v
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := decodeHex(s)
	if err != nil {
		t.Fatalf("hex %q: %v", s, err)
	}
	return b
}

func pubHex(k *Keypair) string { p := k.PublicKey(); return hex.EncodeToString(p[:]) }

func TestMnemonicVectors(t *testing.T) {
	v := loadVectors(t)
	for _, c := range v.MnemonicToKey {
		kp, err := FromMnemonic(c.Phrase, c.Password)
		if err != nil {
			t.Fatalf("%q: %v", c.Phrase, err)
		}
		if got := "0x" + hex.EncodeToString(kp.Seed()); got != c.Seed {
			t.Errorf("%q seed = %s, want %s", c.Phrase, got, c.Seed)
		}
		if got := "0x" + hex.EncodeToString(kp.PrivateKey()); got != c.PrivateKey {
			t.Errorf("%q privateKey = %s, want %s", c.Phrase, got, c.PrivateKey)
		}
		if got := "0x" + pubHex(kp); got != c.PublicKey {
			t.Errorf("%q public = %s, want %s", c.Phrase, got, c.PublicKey)
		}
		if kp.SS58() != c.SS58 {
			t.Errorf("%q ss58 = %s, want %s", c.Phrase, kp.SS58(), c.SS58)
		}
		// The 64-byte private key alone gives the same public key.
		kp2, err := FromSeed(kp.PrivateKey())
		if err != nil || kp2.SS58() != c.SS58 {
			t.Errorf("%q from privateKey: %v %v", c.Phrase, kp2, err)
		}
	}
}

func TestSubstrateBip39Vectors(t *testing.T) {
	v := loadVectors(t)
	for _, c := range v.Bip39.Vectors {
		kp, err := FromMnemonic(c.Phrase, c.Password)
		if err != nil {
			t.Fatalf("%q: %v", c.Phrase, err)
		}
		if got := hex.EncodeToString(kp.Seed()); got != c.MiniSecret {
			t.Errorf("%q mini secret = %s, want %s", c.Phrase, got, c.MiniSecret)
		}
	}
}

func TestURIVectors(t *testing.T) {
	v := loadVectors(t)
	for _, c := range v.URIDerivation {
		kp, err := FromURI(c.URI)
		if err != nil {
			t.Fatalf("%q: %v", c.URI, err)
		}
		if c.SS58 != "" && kp.SS58() != c.SS58 {
			t.Errorf("%q ss58 = %s, want %s", c.URI, kp.SS58(), c.SS58)
		}
		if c.PublicKey != "" && "0x"+pubHex(kp) != c.PublicKey {
			t.Errorf("%q public = %s, want %s", c.URI, pubHex(kp), c.PublicKey)
		}
		if c.SecretSeed != "" && "0x"+hex.EncodeToString(kp.Seed()) != c.SecretSeed {
			t.Errorf("%q seed = %x, want %s", c.URI, kp.Seed(), c.SecretSeed)
		}
	}
}

func TestFromURIForms(t *testing.T) {
	alice, err := FromURI("//Alice")
	if err != nil {
		t.Fatal(err)
	}
	if alice.SS58() != "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY" {
		t.Fatalf("//Alice = %s", alice.SS58())
	}
	// The explicit dev phrase and the 0x seed of //Alice name the same key.
	same := []string{DevPhrase + "//Alice", "0x" + hex.EncodeToString(alice.Seed())}
	for _, u := range same {
		kp, err := FromURI(u)
		if err != nil || kp.SS58() != alice.SS58() {
			t.Errorf("%q = %v, %v; want %s", u, kp, err, alice.SS58())
		}
	}
	// A password changes the key; soft derivation loses the seed.
	pw, err := FromURI("//Alice///secret")
	if err != nil || pw.SS58() == alice.SS58() {
		t.Errorf("//Alice///secret = %v, %v: should differ from //Alice", pw, err)
	}
	soft, err := FromURI("//Alice/0")
	if err != nil || soft.Seed() != nil || !soft.CanSign() {
		t.Errorf("//Alice/0: %v seed=%x", err, soft.Seed())
	}
	// Soft derivation is deterministic in the public key.
	soft2, _ := FromURI("//Alice/0")
	if soft2.SS58() != soft.SS58() {
		t.Errorf("soft derivation not deterministic: %s vs %s", soft.SS58(), soft2.SS58())
	}
	for _, bad := range []string{"not a real mnemonic at all", "0x1234//x", "abandon abandon"} {
		if _, err := FromURI(bad); err == nil {
			t.Errorf("FromURI(%q) accepted", bad)
		}
	}
}

func TestSeedToPublic(t *testing.T) {
	v := loadVectors(t)
	for _, c := range v.SeedToPublic {
		seed := []byte(c.SeedASCII)
		if c.Seed != "" {
			seed = mustHex(t, c.Seed)
		}
		kp, err := FromSeed(seed)
		if err != nil {
			t.Fatal(err)
		}
		if "0x"+pubHex(kp) != c.PublicKey {
			t.Errorf("seed %x: public %s, want %s", seed, pubHex(kp), c.PublicKey)
		}
	}
	if _, err := FromSeed(make([]byte, 31)); err == nil {
		t.Error("31-byte seed accepted")
	}
}

func TestKnownSignatures(t *testing.T) {
	v := loadVectors(t)
	n := 0
	for _, c := range v.SignatureVerify {
		want := false
		switch {
		case c.Valid != nil:
			want = *c.Valid
		case c.ValidCurrent != nil:
			want = *c.ValidCurrent
		default:
			continue
		}
		var pub [32]byte
		copy(pub[:], mustHex(t, c.PublicKey))
		sig := mustHex(t, c.Signature)
		if got := Verify(EncodeSS58(pub), []byte(c.Message), sig); got != want {
			t.Errorf("verify %q by %s = %v, want %v", c.Message, c.PublicKey, got, want)
		}
		if want {
			tampered := append([]byte(c.Message), '!')
			if Verify(EncodeSS58(pub), tampered, sig) {
				t.Errorf("tampered message verified")
			}
		}
		n++
	}
	if n < 2 {
		t.Fatalf("only %d signature vectors", n)
	}
}

func TestSignVerify(t *testing.T) {
	alice, _ := FromURI("//Alice")
	bob, _ := FromURI("//Bob")
	// 1 KiB: above the 256 bytes where substrate's extrinsic signer would hash.
	long := bytes.Repeat([]byte("epistula "), 120)
	for _, msg := range [][]byte{nil, []byte("hello"), long} {
		sig, err := alice.Sign(msg)
		if err != nil {
			t.Fatal(err)
		}
		if len(sig) != 64 {
			t.Fatalf("signature length %d", len(sig))
		}
		if !Verify(alice.SS58(), msg, sig) || !alice.Verify(msg, sig) {
			t.Errorf("own signature of %d bytes rejected", len(msg))
		}
		if Verify(bob.SS58(), msg, sig) {
			t.Error("signature verified under another key")
		}
		bad := append([]byte(nil), sig...)
		bad[5] ^= 1
		if Verify(alice.SS58(), msg, bad) {
			t.Error("corrupted signature verified")
		}
		if Verify(alice.SS58(), msg, sig[:63]) || Verify("5notanaddress", msg, sig) {
			t.Error("short signature or bad address verified")
		}
	}
	// The raw message is signed, not its blake2 hash.
	sig, _ := alice.Sign(long)
	h := subkeyBlake2(long)
	if Verify(alice.SS58(), h, sig) {
		t.Error("signature of long message verifies as signature of its hash")
	}
	// polkadot.js wrapping is accepted only by VerifyWrapped.
	wsig, _ := alice.Sign([]byte("<Bytes>challenge</Bytes>"))
	if Verify(alice.SS58(), []byte("challenge"), wsig) || !VerifyWrapped(alice.SS58(), []byte("challenge"), wsig) {
		t.Error("wrapped signature handling wrong")
	}
	pub, _ := FromSS58(alice.SS58())
	if _, err := pub.Sign([]byte("x")); !errors.Is(err, ErrNoSecret) {
		t.Errorf("public-only Sign: %v", err)
	}
}

func subkeyBlake2(b []byte) []byte {
	h := blake2b.Sum256(b)
	return h[:]
}

func TestSS58(t *testing.T) {
	alice, _ := FromURI("//Alice")
	addr := alice.SS58()
	pub, err := DecodeSS58(addr)
	if err != nil || pub != alice.PublicKey() {
		t.Fatalf("decode %s: %v", addr, err)
	}
	// Change one character: the checksum must catch it.
	last := addr[len(addr)-1]
	repl := byte('A')
	if last == 'A' {
		repl = 'B'
	}
	cases := map[string]string{
		"checksum": addr[:len(addr)-1] + string(repl),
		// //Alice's key in Polkadot's format (prefix 0, as subkey and
		// polkadot.js print it): a valid address of another network.
		"prefix 0":  "15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5",
		"base58":    "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQ0", // '0' is not base58
		"too short": addr[:20],
		"empty":     "",
	}
	for name, a := range cases {
		if _, err := DecodeSS58(a); !errors.Is(err, ErrBadAddress) {
			t.Errorf("%s: %q accepted (err %v)", name, a, err)
		}
	}
	if !strings.Contains(func() string { _, e := DecodeSS58(cases["checksum"]); return e.Error() }(), "checksum") {
		t.Error("checksum error does not say so")
	}
	if _, e := DecodeSS58(cases["prefix 0"]); e == nil || !strings.Contains(e.Error(), "network prefix 0") {
		t.Errorf("another network's address: %v, want a network prefix error", e)
	}
}

func TestMnemonicGenerationAndRejection(t *testing.T) {
	for _, n := range []int{12, 24} {
		phrase, err := NewMnemonic(n)
		if err != nil || len(strings.Fields(phrase)) != n {
			t.Fatalf("NewMnemonic(%d) = %q, %v", n, phrase, err)
		}
		a, err := FromMnemonic(phrase, "")
		if err != nil {
			t.Fatal(err)
		}
		// Case and spacing are forgiven.
		b, err := FromMnemonic("  "+strings.ToUpper(strings.ReplaceAll(phrase, " ", "  "))+"\n", "")
		if err != nil || a.SS58() != b.SS58() {
			t.Errorf("normalised phrase gives %v, %v", b, err)
		}
	}
	if _, err := NewMnemonic(13); err == nil {
		t.Error("13 words accepted")
	}
	// Valid words, bad checksum.
	if _, err := FromMnemonic("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon", ""); err == nil {
		t.Error("bad checksum accepted")
	}
	kp, err := Generate()
	if err != nil || kp.Mnemonic() == "" || !kp.CanSign() {
		t.Fatalf("Generate: %v", err)
	}
}

// TestURIPolkadotJS checks soft, numeric, hashed and password URIs against
// addresses computed by another implementation (@polkadot/keyring 13,
// sr25519, ss58Format 42). Only URIs where polkadot.js and sp-core agree
// are listed: polkadot.js differs from sp-core (which btwallet and subkey
// use, and we follow) for "/soft" on the dev phrase, "+5", "0x…" junctions
// and numbers above 2^64-1.
func TestURIPolkadotJS(t *testing.T) {
	const oldLeopard = "old leopard transfer rib spatial phone calm indicate online fire caution review"
	for uri, want := range map[string]string{
		"//Alice/0":      "5FKxrLQM24ZhLxcaQfJR3uMxMZh5gU6E4CP3yghPJLzCDnHN",
		"//Alice/1/2//3": "5Fj8N7Q1QstWAeF9pWkFZ5eyfSVncAd54NpgNFb5T2XcihbB",
		"//Alice///pw":   "5CVNhgaHCEe41RKB2QgscUnzJmfZScb6EgYdXrJshoCY8CjY",
		"//PathNameLongerThan32BytesWhichShouldBeHashed/AlsoSoftLongerThan32BytesToBeHashedYes": "5FRKkQwxLxKRJpxCuTkpedMZshUA4dUKxb3mJZYfHWKKVGbj",
		oldLeopard + "//hot/1":                                                    "5D1yzHDdSGPp1197aPvpPt413dwVW5p6UXMjg67h6E95EAeg",
		oldLeopard + "/soft//hard///secret pass":                                  "5FpnVEhR4Zqk3kztmVR2Y7chZsby4JeyqYrxUAPviXhYJViY",
		"0xe5be9a5092b81bca64be81d212e7f2f9eba183bb7a90954f7b76361f6edb5c0a//x/y": "5CAG8XAoAkomNfZDWff6waiks9ZPfpU1M5vcks1fAfcNFfLn",
		"//18446744073709551615":                                                  "5FnmmEqtcYdJa7ikbQXggS685DpNeE9j7ob6oBYMyD9kQLxz",
	} {
		kp, err := FromURI(uri)
		if err != nil {
			t.Errorf("%q: %v", uri, err)
			continue
		}
		if kp.SS58() != want {
			t.Errorf("%q = %s, want %s", uri, kp.SS58(), want)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	kp, _ := FromURI("//Alice")
	msg := bytes.Repeat([]byte("m"), 200)
	for i := 0; i < b.N; i++ {
		if _, err := kp.Sign(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	kp, _ := FromURI("//Alice")
	msg := bytes.Repeat([]byte("m"), 200)
	sig, _ := kp.Sign(msg)
	addr := kp.SS58()
	for i := 0; i < b.N; i++ {
		if !Verify(addr, msg, sig) {
			b.Fatal("invalid")
		}
	}
}
