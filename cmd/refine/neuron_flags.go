package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/pflag"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/chain/dial"
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

// networkOptions select the chain as every command does (chain/dial):
// --chain, a devchain URL or a subtensor network; --network is the same
// flag under btcli's name.
type networkOptions struct {
	Chain   string
	Network string
	Netuid  uint16
}

func (o *networkOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Chain, "chain", "", "the chain: "+dial.Usage)
	fs.StringVar(&o.Network, "network", "", "the same as --chain, under btcli's name (e.g. --network finney)")
	fs.Uint16Var(&o.Netuid, "netuid", 1, "subnet id")
}

// Dial connects to the selected chain; the returned function closes it.
func (o *networkOptions) Dial(ctx context.Context) (chain.Client, func() error, error) {
	spec, flag := o.Chain, "--chain"
	switch {
	case o.Chain != "" && o.Network != "":
		return nil, nil, fmt.Errorf("give --chain or --network (the same flag), not both")
	case o.Network != "":
		spec, flag = o.Network, "--network"
	case o.Chain == "":
		return nil, nil, fmt.Errorf("no chain: give --chain URL (a devchain) or --chain finney|test|local|ws://… (subtensor)")
	}
	return dialChain(ctx, flag, spec)
}

// listenMetrics opens the listener of a --metrics address ("" disables),
// so that a listen error stops the command before it starts its work.
func listenMetrics(addr string) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics: %w", err)
	}
	return ln, nil
}

// serveMetrics returns the run-group helper serving reg's metrics on ln
// until its context ends (nil when ln is nil); a serving error ends the
// command.
func serveMetrics(ln net.Listener, reg *prometheus.Registry) func(context.Context) error {
	if ln == nil {
		return nil
	}
	return func(ctx context.Context) error {
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(ln) }()
		select {
		case err := <-errc:
			return fmt.Errorf("metrics listener %s: %w", ln.Addr(), err)
		case <-ctx.Done():
		}
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := srv.Shutdown(sctx)
		if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		if err != nil {
			return fmt.Errorf("metrics listener %s: %w", ln.Addr(), err)
		}
		return nil
	}
}
