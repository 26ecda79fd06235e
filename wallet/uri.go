package wallet

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	schnorrkel "github.com/ChainSafe/go-schnorrkel"
	"github.com/datarefine/refine/scale"
	"golang.org/x/crypto/blake2b"
)

// DevPhrase is substrate's development mnemonic; a URI that starts with "/"
// (e.g. "//Alice") derives from it.
const DevPhrase = "bottom drive obey lake curtain smoke basket hold race lonely fit walk"

// secretURI is sp-core's SecretUri grammar: an optional phrase or 0x seed,
// then junctions ("//hard", "/soft"), then an optional "///password".
var secretURI = regexp.MustCompile(`^([\w ]+)?((?://?[^/]+)*)(?:///(.*))?$`)

var junctionRE = regexp.MustCompile(`/(/?[^/]+)`)

type junction struct {
	chainCode [32]byte
	hard      bool
}

// FromURI derives a key from a substrate secret URI, as `subkey inspect`,
// sp-core's Pair::from_string and btwallet's create_from_uri do:
//
//	//Alice                         dev phrase, hard junction "Alice"
//	<mnemonic>//hot/1               mnemonic, hard "hot", soft 1
//	<mnemonic>///password           mnemonic with a BIP39 passphrase
//	0x<32-byte hex seed>//x         seed, hard "x"
func FromURI(uri string) (*Keypair, error) {
	m := secretURI.FindStringSubmatch(uri)
	if m == nil {
		return nil, fmt.Errorf("wallet: invalid secret URI")
	}
	phrase, path, password := m[1], m[2], m[3]
	if phrase == "" {
		phrase = DevPhrase
	}
	var (
		kp  *Keypair
		err error
	)
	if strings.HasPrefix(phrase, "0x") {
		b, herr := decodeHex(phrase)
		if herr != nil || len(b) != 32 {
			return nil, fmt.Errorf("wallet: URI seed must be 32 bytes of hex")
		}
		kp, err = FromSeed(b)
	} else {
		kp, err = FromMnemonic(phrase, password)
	}
	if err != nil {
		return nil, err
	}
	var js []junction
	for _, part := range junctionRE.FindAllStringSubmatch(path, -1) {
		js = append(js, parseJunction(part[1]))
	}
	if len(js) > 0 || password != "" {
		// The phrase alone no longer regenerates this key.
		kp = &Keypair{pub: kp.pub, secret: kp.secret, nonce: kp.nonce, seed: kp.seed}
	}
	return kp.derive(js)
}

// parseJunction turns "/name" (hard) or "name" (soft) into its chain code:
// SCALE of the junction (u64 LE if it is a number, else a compact-length
// prefixed string), zero-padded to 32 bytes or blake2b-256 hashed if longer.
func parseJunction(code string) junction {
	var j junction
	if strings.HasPrefix(code, "/") {
		j.hard = true
		code = code[1:]
	}
	var enc []byte
	// Rust's u64 parser, which sp-core uses, accepts a leading '+'.
	if n, err := strconv.ParseUint(strings.TrimPrefix(code, "+"), 10, 64); err == nil && code != "+" {
		enc = binary.LittleEndian.AppendUint64(nil, n)
	} else {
		enc = append(scale.AppendCompact(nil, uint64(len(code))), code...)
	}
	if len(enc) > 32 {
		h := blake2b.Sum256(enc)
		enc = h[:]
	}
	copy(j.chainCode[:], enc)
	return j
}

// derive applies junctions the way sp-core's sr25519 Pair::derive does: a
// hard junction yields a new mini secret (so the seed stays known), a soft
// one a new secret scalar (after which no seed exists).
func (k *Keypair) derive(js []junction) (*Keypair, error) {
	cur := k
	for _, j := range js {
		if j.hard {
			ms, _, err := cur.secret.HardDeriveMiniSecretKey([]byte{}, j.chainCode)
			if err != nil {
				return nil, fmt.Errorf("wallet: hard derivation: %w", err)
			}
			next, err := fromMini(ms)
			if err != nil {
				return nil, err
			}
			if cur.seed == nil {
				next.seed = nil
			}
			cur = next
			continue
		}
		ek, err := schnorrkel.DeriveKeySimple(cur.secret, []byte{}, j.chainCode)
		if err != nil {
			return nil, fmt.Errorf("wallet: soft derivation: %w", err)
		}
		sk, err := ek.Secret()
		if err != nil {
			return nil, fmt.Errorf("wallet: soft derivation: %w", err)
		}
		// schnorrkel (Rust and Go) draws a fresh random nonce for a soft
		// derived key; go-schnorrkel hides it, so draw our own to record.
		var nonce [32]byte
		if _, err := rand.Read(nonce[:]); err != nil {
			return nil, fmt.Errorf("wallet: nonce: %w", err)
		}
		if cur, err = fromSecret(schnorrkel.NewSecretKey(sk.Encode(), nonce), nonce, nil); err != nil {
			return nil, err
		}
	}
	return cur, nil
}
