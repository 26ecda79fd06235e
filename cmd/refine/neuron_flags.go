package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/pflag"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/chain/devchain"
	"github.com/datarefine/refine/wallet"
)

// hotkeyOptions select a neuron's hotkey: a btcli wallet, or a secret URI.
type hotkeyOptions struct {
	Wallet walletOptions
	KeyURI string
}

func (o *hotkeyOptions) AddFlags(fs *pflag.FlagSet) {
	o.Wallet.AddFlags(fs)
	fs.StringVar(&o.KeyURI, "key-uri", "", "use this secret URI (e.g. //Alice, a dev key) as the hotkey instead of a wallet file")
}

// Load loads the hotkey the flags name.
func (o *hotkeyOptions) Load() (*wallet.Keypair, error) {
	if o.KeyURI != "" {
		return wallet.FromURI(o.KeyURI)
	}
	return wallet.LoadHotkey(o.Wallet.root(), o.Wallet.Name, o.Wallet.Hotkey)
}

// networkOptions select the chain: a devchain over HTTP (--chain URL) or
// subtensor (--network finney|test|local|ws://…).
type networkOptions struct {
	URL     string
	Network string
	Netuid  uint16
}

func (o *networkOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.URL, "chain", "", "devchain URL (from 'refine chain'), e.g. http://127.0.0.1:9944")
	fs.StringVar(&o.Network, "network", "", "subtensor network: finney, test, local or a ws:// endpoint")
	fs.Uint16Var(&o.Netuid, "netuid", 1, "subnet id")
}

// Client connects to the selected chain.
func (o *networkOptions) Client(ctx context.Context) (chain.Client, error) {
	switch {
	case o.URL != "" && o.Network != "":
		return nil, fmt.Errorf("give --chain (devchain) or --network (subtensor), not both")
	case o.URL != "":
		if !strings.HasPrefix(o.URL, "http://") && !strings.HasPrefix(o.URL, "https://") {
			return nil, fmt.Errorf("--chain %q: want the devchain's http:// URL", o.URL)
		}
		return devchain.NewClient(devchain.ClientOptions{URL: o.URL}), nil
	case o.Network != "":
		return subtensorClient(ctx, o.Network)
	}
	return nil, fmt.Errorf("no chain: give --chain URL (a devchain) or --network finney|test|local|ws://…")
}

// serveMetrics serves reg's metrics on addr ("" disables) until ctx ends.
func serveMetrics(ctx context.Context, addr string, reg *prometheus.Registry) error {
	if addr == "" {
		return nil
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	srv := &http.Server{Addr: addr, Handler: mux}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("metrics listener %s: %w", addr, err)
	default:
		return nil
	}
}
