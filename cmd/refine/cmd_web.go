package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/datarefine/refine/store/backend"
	"github.com/datarefine/refine/taskserver"
	"github.com/datarefine/refine/taskserver/client"
	"github.com/datarefine/refine/web"
)

// --- refine web ---

type webOptions struct {
	Listen       string
	TaskServer   string
	DB           string
	Owner        string
	Secure       bool
	SessionTTL   time.Duration
	RefreshEvery time.Duration
	Grace        time.Duration
	Trusted      []string
	DatasetRepo  string
	DatasetStore string
	Log          logOptions
}

func (o *webOptions) AddFlags(fs *pflag.FlagSet) {
	d := web.DefaultOptions()
	fs.StringVar(&o.Listen, "listen", "127.0.0.1:8080", "HTTP address of the website")
	fs.StringVar(&o.TaskServer, "taskserver", "", "the task server's URL (required): every number the site shows comes from its public API")
	fs.StringVar(&o.DB, "db", dataPath("web.db"), "the site's own database (profiles, posts, sessions, metagraph history): a SQLite file, or postgres://user@host/db (several site replicas may share one)")
	fs.StringVar(&o.Owner, "owner", "", "the subnet owner's hotkey (SS58): it may hide board posts")
	fs.BoolVar(&o.Secure, "secure-cookies", false, "mark cookies Secure (set when a TLS proxy fronts the site)")
	fs.DurationVar(&o.SessionTTL, "session-ttl", d.SessionTTL, "lifetime of a sign-in session")
	fs.DurationVar(&o.RefreshEvery, "refresh", d.RefreshEvery, "how often the metagraph is read from the task server and recorded for the charts")
	fs.DurationVar(&o.Grace, "shutdown-grace", 10*time.Second, "how long shutdown waits for requests in flight")
	fs.StringArrayVar(&o.Trusted, "trusted-proxy", nil, "address or CIDR of a reverse proxy whose X-Forwarded-For names the client (repeatable)")
	fs.StringVar(&o.DatasetRepo, "dataset-repo", "", "the repository 'refine dataset build' publishes to (owner/name): shown on the Dataset page")
	fs.StringVar(&o.DatasetStore, "dataset-store", "hub", "where the dataset and the miners' repositories are: "+backend.Usage)
	o.Log.AddFlags(fs)
}

func newWebCommand() *cobra.Command {
	var o webOptions
	cmd := &cobra.Command{
		Use:   "web",
		Short: "Serve the subnet's website from a task server's public API",
		Long: `Serves the website: overview, leaderboards, charts, miner / validator / task /
submission pages, the payout ledger, the published dataset, sign-in with a hotkey
(sign the challenge with 'refine wallet sign'), dashboards and profiles, and a
discussion board, with the JSON the pages use under /v1/site (documented at
/v1/site/openapi.yaml).

Every number comes from the task server's public API at --taskserver, as any
client reads it; the site keeps only its own state (profiles, posts, sessions,
metagraph history) in --db, SQLite or PostgreSQL. The task server's per-client
limits count the site's visitors when the task server trusts the site as a proxy
(refine taskserver --trusted-proxy <the site's address>).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runWeb(cmd.Context(), o, cmd.ErrOrStderr())
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

func runWeb(ctx context.Context, o webOptions, stderr io.Writer) error {
	if o.TaskServer == "" {
		return fmt.Errorf("give --taskserver: the task server's URL (e.g. http://%s); the site reads every number from its public API", taskserver.DefaultListen)
	}
	log, err := o.Log.Logger(stderr)
	if err != nil {
		return err
	}
	api := client.New(client.Options{URL: o.TaskServer})
	// A wrong URL fails here, not on every page, and leaves nothing behind.
	if _, err := api.Metagraph(ctx); err != nil {
		return fmt.Errorf("--taskserver %s: %w", o.TaskServer, err)
	}
	if err := prepareDB(o.DB); err != nil {
		return err
	}
	var ds *web.DatasetSource
	if o.DatasetRepo != "" {
		st, refs, err := backend.Open(o.DatasetStore, log)
		if err != nil {
			return fmt.Errorf("--dataset-store %w", err)
		}
		ds = &web.DatasetSource{Store: st, Refs: refs, Repo: o.DatasetRepo}
		if o.DatasetStore == "hub" {
			ds.URL = "https://huggingface.co/datasets/" + o.DatasetRepo
		}
	}
	site, err := web.New(ctx, web.Options{
		API: api, DB: o.DB, Dataset: ds, OwnerHotkey: o.Owner,
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
	log.Info("web: serving", "addr", ln.Addr().String(), "taskserver", o.TaskServer, "db", o.DB)
	// The site's refresh loop runs as long as the server, and is joined
	// before the site closes.
	return runGroup(ctx, func(ctx context.Context) error { return taskserver.Serve(ctx, ln, site, o.Grace, log) },
		func(ctx context.Context) error { site.Run(ctx); return nil })
}
