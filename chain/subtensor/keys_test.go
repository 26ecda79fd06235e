package subtensor

import (
	"testing"

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
