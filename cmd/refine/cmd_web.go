package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/datarefine/refine/chain/dial"
	"github.com/datarefine/refine/taskserver"
	"github.com/datarefine/refine/taskserver/sqlstore"
	"github.com/datarefine/refine/web"
)

// --- refine web ---

type webOptions struct {
	Listen       string
	DB           string
	WebDB        string
	Chain        string
	Netuid       uint16
	Owner        string
	Secure       bool
	SessionTTL   time.Duration
	RefreshEvery time.Duration
	Grace        time.Duration
	Trusted      []string
	Log          logOptions
}

func (o *webOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Listen, "listen", "127.0.0.1:8080", "HTTP address of the website")
	fs.StringVar(&o.DB, "db", dataPath("taskserver.db"), "the task server's database (read only; it must exist, as 'refine taskserver' writes it): a SQLite file, or postgres://user@host/db")
	fs.StringVar(&o.WebDB, "web-db", "", "SQLite file of the site's own tables (default: web.db next to a SQLite --db, else in the data folder)")
	fs.StringVar(&o.Chain, "chain", "", "the chain: "+dial.Usage+"; empty: no chain numbers")
	fs.Uint16Var(&o.Netuid, "netuid", 1, "subnet id")
	fs.StringVar(&o.Owner, "owner", "", "the subnet owner's hotkey (SS58): it may hide board posts")
	fs.BoolVar(&o.Secure, "secure-cookies", false, "mark cookies Secure (set when a TLS proxy fronts the site)")
	fs.DurationVar(&o.SessionTTL, "session-ttl", 2*time.Hour, "lifetime of a sign-in session")
	fs.DurationVar(&o.RefreshEvery, "refresh", 5*time.Second, "how often the overview and leaderboards are recomputed")
	fs.DurationVar(&o.Grace, "shutdown-grace", 10*time.Second, "how long shutdown waits for requests in flight")
	fs.StringArrayVar(&o.Trusted, "trusted-proxy", nil, "address or CIDR of a reverse proxy whose X-Forwarded-For names the client (repeatable)")
	o.Log.AddFlags(fs)
}

func newWebCommand() *cobra.Command {
	var o webOptions
	cmd := &cobra.Command{
		Use:   "web",
		Short: "Serve the subnet's website on a task server database",
		Long: `Serves the website: overview, leaderboards, charts, miner / validator / task /
submission pages, the payout ledger, sign-in with a hotkey (sign the challenge with
'refine wallet sign'), dashboards and profiles, and a discussion board, with the JSON
API the pages use under /v1/site (documented at /v1/site/openapi.yaml). It reads the
task server's database and keeps its own tables in --web-db.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runWeb(cmd.Context(), o, cmd.ErrOrStderr())
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func webDBPath(o webOptions) string { return siteDBPath(o.WebDB, o.DB) }

func runWeb(ctx context.Context, o webOptions, stderr io.Writer) error {
	log, err := o.Log.Logger(stderr)
	if err != nil {
		return err
	}
	// An absent database would be created empty and served silently.
	if err := requireDB(o.DB, "--db", "refine taskserver"); err != nil {
		return err
	}
	if err := prepareDB(webDBPath(o)); err != nil {
		return err
	}
	store, err := sqlstore.Open(ctx, o.DB)
	if err != nil {
		return err
	}
	defer store.Close()
	// Without --chain the site shows the task server's data only.
	var c web.Chain
	if o.Chain != "" {
		cc, closeChain, err := dialChain(ctx, "--chain", o.Chain)
		if err != nil {
			return err
		}
		defer closeChain()
		c = cc
	}
	site, err := web.New(ctx, web.Options{
		Store: store, Chain: c, Netuid: o.Netuid, DB: webDBPath(o), OwnerHotkey: o.Owner,
		Secure: o.Secure, SessionTTL: o.SessionTTL, RefreshEvery: o.RefreshEvery, TrustedProxies: o.Trusted, Logger: log,
	})
	if err != nil {
		return err
	}
	defer site.Close()
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	log.Info("web: serving", "addr", ln.Addr().String(), "db", o.DB, "web_db", webDBPath(o))
	go site.Run(ctx)
	return taskserver.Serve(ctx, ln, site, o.Grace, log)
}
