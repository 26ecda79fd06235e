package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/datarefine/refine/chain/devchain"
)

func TestChainClientCommands(t *testing.T) {
	ctx := context.Background()
	hp := devchain.DefaultHyperparameters()
	hp.CommitRevealEnabled = false
	hp.WeightsRateLimit = 0
	hp.MaxRegistrationsPerBlock = 8
	c, err := devchain.New(ctx, devchain.Options{Hyperparameters: &hp, Tempo: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv := httptest.NewServer(devchain.Handler(c))
	defer srv.Close()
	base := chainClientOptions{URL: srv.URL, Netuid: 1, KeyURI: "//Alice", ColdkeyURI: "//Alice//cold"}
	var out bytes.Buffer
	steps := []struct {
		name string
		run  func() error
		want string
	}{
		{"faucet", func() error { return runChainFaucet(ctx, chainFaucetOptions{base, 100_000_000_000}, &out) }, "balance 100000000000 rao"},
		{"register", func() error { return runChainRegister(ctx, base, &out) }, "as uid 0"},
		{"stake", func() error { return runChainStake(ctx, chainStakeOptions{base, 5_000_000_000}, &out) }, "staked 5000000000"},
		{"commit", func() error { return runChainCommit(ctx, chainCommitOptions{base, "v1:repo@abc"}, &out) }, "committed at block 0"},
		{"commitments", func() error { return runChainCommitments(ctx, base, &out) }, `"v1:repo@abc"`},
		{"self-weight", func() error {
			return runChainSetWeights(ctx, chainSetWeightsOptions{chainClientOptions: base, UIDs: []uint{0}, Weights: []uint{1}}, &out)
		}, "ok"},
		{"metagraph", func() error { return runChainMetagraph(ctx, base, &out) }, "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"},
		{"block", func() error { return runChainBlock(ctx, base, &out) }, "0 0x"},
	}
	for _, st := range steps {
		out.Reset()
		if err := st.run(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if !strings.Contains(out.String(), st.want) {
			t.Errorf("%s: output %q lacks %q", st.name, out.String(), st.want)
		}
	}
	noKey := base
	noKey.KeyURI = ""
	if err := runChainRegister(ctx, noKey, &out); err == nil || !strings.Contains(err.Error(), "--key-uri") {
		t.Errorf("missing key: %v", err)
	}
	other := base
	other.KeyURI = "//Nobody"
	if err := runChainCommit(ctx, chainCommitOptions{other, "x"}, &out); err == nil || !strings.Contains(err.Error(), "not registered") {
		t.Errorf("unregistered commit: %v", err)
	}
}
