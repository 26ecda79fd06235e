package subtensor

import (
	"testing"

	"github.com/datarefine/refine/chain"
)

func chainKey(t *testing.T, name string) *chain.URISigner {
	t.Helper()
	k, err := chain.SignerFromURI("//" + name)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
