package taskserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Serve serves h on ln until ctx ends, then shuts down gracefully: it
// stops accepting, lets requests in flight finish (at most grace) and
// returns. Every request's store transaction either commits or rolls back,
// so even a cut-short shutdown leaves the database consistent.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, grace time.Duration, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
	}
	if log != nil {
		srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// RunOptions configure a whole task server process.
type RunOptions struct {
	Store    Store
	Chain    Chain
	Netuid   uint16
	Listener net.Listener
	Service  Options    // Store, Roster and Logger are filled in
	API      APIOptions // Service and Logger are filled in
	// Import is imported (idempotently) before serving.
	Import []NewTask
	// MetagraphEvery, BlockEvery and ExpireEvery schedule the background
	// refreshes (defaults 1 min, 2 s, 10 s).
	MetagraphEvery, BlockEvery, ExpireEvery time.Duration
	// Handler, if set, wraps the API into the handler that is served (the
	// website, which passes the requests it does not route to the API).
	Handler func(ctx context.Context, api http.Handler) (http.Handler, error)
	// Grace bounds the wait for requests in flight at shutdown (default 15 s).
	Grace  time.Duration
	Logger *slog.Logger
}

// DefaultListen is the address `refine taskserver` serves on unless told
// otherwise; miners and validators are pointed at it in examples.
const DefaultListen = "127.0.0.1:8090"

// DefaultRunOptions are Run's defaults, the service's and the API's
// included (Store, Chain, Listener and SignedFor unset).
func DefaultRunOptions() RunOptions {
	o := RunOptions{}.withDefaults()
	o.Service, o.API = DefaultOptions(), DefaultAPIOptions()
	return o
}

func (o RunOptions) withDefaults() RunOptions {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MetagraphEvery <= 0 {
		o.MetagraphEvery = time.Minute
	}
	if o.BlockEvery <= 0 {
		o.BlockEvery = 2 * time.Second
	}
	if o.ExpireEvery <= 0 {
		o.ExpireEvery = 10 * time.Second
	}
	if o.Grace <= 0 {
		o.Grace = 15 * time.Second
	}
	return o
}

// Run loads the metagraph, imports tasks, serves the API and runs the
// background loops until ctx ends, then shuts down gracefully.
func Run(ctx context.Context, o RunOptions) error {
	o = o.withDefaults()
	roster := NewRoster(o.Chain, o.Netuid, o.Logger)
	// Without a metagraph nobody could lease: fail fast rather than serve 403s.
	if err := roster.Refresh(ctx); err != nil {
		return err
	}
	o.Service.Store, o.Service.Roster, o.Service.Logger = o.Store, roster, o.Logger
	svc := NewService(o.Service)
	if len(o.Import) > 0 {
		n, err := svc.Import(ctx, o.Import)
		if err != nil {
			return err
		}
		o.Logger.Info("tasks imported", "new", n, "listed", len(o.Import))
	}
	o.API.Service, o.API.Logger = svc, o.Logger
	api, err := NewAPI(o.API)
	if err != nil {
		return err
	}
	var handler http.Handler = api
	if o.Handler != nil {
		var err error
		if handler, err = o.Handler(ctx, api); err != nil {
			return err
		}
	}

	bg, stop := context.WithCancel(ctx)
	done := make(chan struct{}, 2)
	go func() { roster.Run(bg, o.MetagraphEvery, o.BlockEvery); done <- struct{}{} }()
	go func() { svc.RunExpiry(bg, o.ExpireEvery); done <- struct{}{} }()
	o.Logger.Info("task server listening", "addr", o.Listener.Addr().String(), "registered", roster.Size(), "head", roster.Head())
	err = Serve(ctx, o.Listener, handler, o.Grace, o.Logger)
	stop()
	<-done
	<-done
	o.Logger.Info("task server stopped")
	return err
}
