package taskserver_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/datarefine/refine/chain/devchain"
	"github.com/datarefine/refine/taskapi"
	"github.com/datarefine/refine/taskserver"
	"github.com/datarefine/refine/taskserver/client"
	"github.com/datarefine/refine/taskserver/internal/dbtest"
)

// TestDevchainAuthorisation runs the API against a real devchain: a
// registered miner may lease (stamped with the chain's head block), a
// staked validator with a permit may read the assignment history, and
// neither an unregistered hotkey nor a permitless miner may.
func TestDevchainAuthorisation(t *testing.T) {
	ctx := context.Background()
	hp := devchain.DefaultHyperparameters()
	hp.Tempo = 3
	hp.MaxRegistrationsPerBlock = 64
	hp.MaxAllowedValidators = 1
	c, err := devchain.New(ctx, devchain.Options{DB: ":memory:", Hyperparameters: &hp})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cold := key(t, "coldkey")
	if err := c.Faucet(ctx, cold, 1000_000_000_000); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"dv", "dm"} {
		if _, err := c.Register(ctx, cold, 1, key(t, name).SS58()); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.AddStake(ctx, cold, 1, key(t, "dv").SS58(), 100_000_000_000); err != nil {
		t.Fatal(err)
	}
	if err := c.AdvanceBlocks(ctx, 2*int(hp.Tempo)+2); err != nil {
		t.Fatal(err)
	}
	roster := taskserver.NewRoster(c, 1, nil)
	if err := roster.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := roster.Neuron(key(t, "dv").SS58()); !n.ValidatorPermit {
		t.Fatalf("staked validator has no permit after an epoch: %+v", n)
	}
	svc := taskserver.NewService(taskserver.Options{Store: dbtest.Open(t, "sqlite"), Roster: roster})
	if _, err := svc.Import(ctx, []taskserver.NewTask{{Crawl: "C", WARCs: []string{"a.warc.gz"}}}); err != nil {
		t.Fatal(err)
	}
	api, err := taskserver.NewAPI(taskserver.APIOptions{Service: svc, SignedFor: key(t, "server").SS58()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	defer srv.Close()
	cl := func(name string) *client.Client {
		return client.New(client.Options{URL: srv.URL, Signer: key(t, name)})
	}

	head, err := c.Block(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := cl("dm").Lease(ctx)
	if err != nil || got.Lease.GrantedBlock != head.Number {
		t.Fatalf("miner lease = %+v, %v; want block %d", got, err, head.Number)
	}
	tr, err := cl("dv").Task(ctx, got.Task.ID)
	if err != nil || len(tr.Leases) != 1 || tr.Leases[0].Hotkey != key(t, "dm").SS58() {
		t.Fatalf("validator read = %+v, %v", tr, err)
	}
	if _, err := cl("dm").Task(ctx, got.Task.ID); !errors.Is(err, taskapi.ErrNoPermit) {
		t.Fatalf("miner read: %v, want no_validator_permit", err)
	}
	if _, err := cl("stranger").Lease(ctx); !errors.Is(err, taskapi.ErrNotRegistered) {
		t.Fatalf("unregistered lease: %v, want not_registered", err)
	}
}
