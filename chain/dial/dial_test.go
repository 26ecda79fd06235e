package dial

import (
	"context"
	"strings"
	"testing"

	"github.com/datarefine/refine/chain/devchain"
)

func TestChain(t *testing.T) {
	ctx := context.Background()
	c, closeChain, err := Chain(ctx, "http://127.0.0.1:9944")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(*devchain.Client); !ok {
		t.Errorf("http URL gave %T, want the devchain client", c)
	}
	if err := closeChain(); err != nil {
		t.Error(err)
	}
	// Anything else is subtensor: a name it does not know is refused
	// before any connection is tried.
	for _, spec := range []string{"", "127.0.0.1:9944", "mainnet"} {
		if _, _, err := Chain(ctx, spec); err == nil {
			t.Errorf("%q: no error", spec)
		} else if spec != "" && !strings.Contains(err.Error(), "want finney, test, local") {
			t.Errorf("%q: %v", spec, err)
		}
	}
}
