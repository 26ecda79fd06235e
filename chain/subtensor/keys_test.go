package subtensor

import (
	"testing"

	"github.com/datarefine/refine/scale"
	"github.com/datarefine/refine/wallet"
)

func chainKey(t *testing.T, name string) *wallet.Keypair {
	t.Helper()
	k, err := wallet.FromURI("//" + name)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Short names the tests use for the one SCALE compact encoder and the one
// SS58 encoder.

func appendCompact(b []byte, v uint64) []byte { return scale.AppendCompact(b, v) }

func ss58(pk [32]byte) string { return wallet.EncodeSS58(pk) }
