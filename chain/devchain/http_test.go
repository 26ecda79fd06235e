package devchain

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/datarefine/refine/chain"
)

func newServer(t testing.TB, hp chain.Hyperparameters) (*Chain, *Client) {
	t.Helper()
	return newServerFor(t, newChain(t, hp, ""))
}

func newServerFor(t testing.TB, c *Chain) (*Chain, *Client) {
	t.Helper()
	srv := httptest.NewServer(Handler(c))
	t.Cleanup(srv.Close)
	return c, NewClient(ClientOptions{URL: srv.URL})
}

func TestHTTPRoundTrip(t *testing.T) {
	ctx := context.Background()
	c, cl := newServer(t, testHP())
	funder := func(s chain.Signer) error { return cl.Faucet(ctx, s, 1000*tao) }
	if uid := register(t, cl, cl, funder, "V0", 500*tao); uid != 0 {
		t.Fatalf("uid %d", uid)
	}
	register(t, cl, cl, funder, "M0", 0)
	advance(t, c, 3) // through an epoch after the stake: V0 gets a permit
	head, _ := cl.Block(ctx)
	if err := cl.Commit(ctx, key(t, "M0"), 1, []byte("over http")); err != nil {
		t.Fatal(err)
	}
	cm, err := cl.Commitment(ctx, 1, key(t, "M0").SS58())
	if err != nil || string(cm.Data) != "over http" || cm.Block != head.Number+1 {
		t.Fatalf("commitment = %+v, %v; want block %d", cm, err, head.Number+1)
	}
	all, err := cl.Commitments(ctx, 1)
	if err != nil || len(all) != 1 {
		t.Fatalf("commitments = %v, %v", all, err)
	}
	if err := cl.SetWeights(ctx, key(t, "V0"), 1, []uint16{1}, []uint16{1}, 0); err != nil {
		t.Fatal(err)
	}
	advance(t, c, 3)
	b, err := cl.Block(ctx)
	if err != nil || b.Number != head.Number+5 {
		t.Fatalf("block = %+v, %v; want %d", b, err, head.Number+5)
	}
	if h, err := cl.BlockHash(ctx, b.Number); err != nil || h != b.Hash {
		t.Errorf("block hash = %s, %v", h, err)
	}
	hp, err := cl.Hyperparameters(ctx, 1)
	if err != nil || hp.Tempo != 3 || hp.Kappa != 32767 {
		t.Errorf("hyperparameters = %+v, %v", hp, err)
	}
	mg, err := cl.Metagraph(ctx, 1)
	if err != nil || len(mg.Neurons) != 2 || mg.Neurons[1].Incentive != 65535 || !mg.Neurons[0].ValidatorPermit {
		t.Fatalf("metagraph = %+v, %v", mg, err)
	}
	inproc, _ := c.Metagraph(ctx, 1)
	if fmt.Sprint(inproc) != fmt.Sprint(mg) {
		t.Error("metagraph over HTTP differs from in-process")
	}
	es, err := cl.EpochState(ctx, 1)
	if inproc, _ := c.EpochState(ctx, 1); err != nil || es != inproc || es.Index == 0 || es.NextEpochBlock() != es.LastEpochBlock+3 {
		t.Errorf("epoch state over HTTP = %+v, %v; in-process %+v", es, err, inproc)
	}
	if e, err := cl.Emissions(ctx, 1, es.LastEpochBlock, ""); err != nil || len(e) != 2 || e[1].ServerEmission == 0 {
		t.Errorf("emissions = %+v, %v", e, err)
	}
	// Typed errors survive the transport.
	wantErr(t, "unregistered over HTTP", cl.Commit(ctx, key(t, "Nobody"), 1, []byte("x")), chain.ErrNotRegistered)
	_, err = cl.Hyperparameters(ctx, 7)
	wantErr(t, "unknown subnet over HTTP", err, chain.ErrSubnetNotFound)
}

func TestHTTPRejectsForgedCalls(t *testing.T) {
	ctx := context.Background()
	c, cl := newServer(t, testHP())
	register(t, c, c, fund(c), "M0", 0)
	g, err := cl.Genesis(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m0, bob := key(t, "M0"), key(t, "Bob")
	// post submits a raw call and waits for its block.
	post := func(call *Call) error {
		body, _ := json.Marshal(call)
		var st TxStatus
		if err := cl.do(ctx, http.MethodPost, "/v1/calls", body, &st); err != nil {
			return err
		}
		if st.Status != TxReady || st.Hash != call.Hash(g) {
			t.Errorf("submitted: %+v", st)
		}
		_, err := cl.Wait(ctx, st.Hash)
		return err
	}
	good := func() *Call {
		call, err := NewCall(g, MethodCommit, 1, m0, CommitArgs{Data: []byte("mine")}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return call
	}

	tampered := good()
	tampered.Args = json.RawMessage(`{"data":"dGhlaXJz"}`)
	wantErr(t, "tampered args", post(tampered), chain.ErrBadSignature)

	impostor, _ := NewCall(g, MethodCommit, 1, bob, CommitArgs{Data: []byte("x")}, time.Now())
	impostor.Signer = m0.SS58() // claims to be M0, signed by Bob
	wantErr(t, "wrong key", post(impostor), chain.ErrBadSignature)

	otherChain, _ := NewCall("0xother", MethodCommit, 1, m0, CommitArgs{Data: []byte("x")}, time.Now())
	wantErr(t, "other chain's call", post(otherChain), chain.ErrBadSignature)

	garbage := good()
	garbage.Signature = "0xzz"
	wantErr(t, "non-hex signature", post(garbage), chain.ErrBadSignature)

	stale, _ := NewCall(g, MethodCommit, 1, m0, CommitArgs{Data: []byte("x")}, time.Now().Add(-time.Hour))
	wantErr(t, "stale timestamp", post(stale), chain.ErrReplay)

	once := good()
	if err := post(once); err != nil {
		t.Fatalf("valid call: %v", err)
	}
	wantErr(t, "replayed call", post(once), chain.ErrReplay)

	failing, _ := NewCall(g, MethodCommit, 1, key(t, "Nobody"), CommitArgs{Data: []byte("x")}, time.Now())
	wantErr(t, "unregistered", post(failing), chain.ErrNotRegistered)
	wantErr(t, "replay of a failed call", post(failing), chain.ErrReplay)

	resp, err := http.Post(cl.base+"/v1/calls", "application/json", bytes.NewReader([]byte("{not json")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("malformed call: HTTP %d", resp.StatusCode)
	}
	if cm, _ := c.Commitment(ctx, 1, m0.SS58()); string(cm.Data) != "mine" {
		t.Errorf("commitment = %q: a forged call got through", cm.Data)
	}
	if err := errors.Unwrap(post(tampered)); err == nil {
		t.Error("remote errors should unwrap to their sentinel")
	}
}

// BenchmarkCommitHTTP measures signed commitments per second over HTTP on
// loopback: client signing, submission (server verification, pool
// validation), the wait for inclusion and the block that includes it (a
// chain without a block time builds one per waiting writer; writers that
// wait together share one), in an in-memory database.
func BenchmarkCommitHTTP(b *testing.B) {
	benchCommit(b, ":memory:")
}

// BenchmarkCommitHTTPFile is the same with a WAL database file.
func BenchmarkCommitHTTPFile(b *testing.B) {
	benchCommit(b, b.TempDir()+"/chain.db")
}

func benchCommit(b *testing.B, db string) {
	ctx := context.Background()
	hp := testHP()
	hp.CommitmentMaxSpace = 1 << 62 // measure throughput, not the pallet's rate limit
	c := newChain(b, hp, db)
	srv := httptest.NewServer(Handler(c))
	defer srv.Close()
	cl := NewClient(ClientOptions{URL: srv.URL})
	register(b, cl, cl, func(s chain.Signer) error { return cl.Faucet(ctx, s, 1000*tao) }, "Bench", 0)
	k := key(b, "Bench")
	data := []byte("v1:datarefine/shard-repo@0123456789abcdef0123456789abcdef01234567:task-000123:deadbeef")
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := cl.Commit(ctx, k, 1, data); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
}
