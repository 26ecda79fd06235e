package validator

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/datarefine/refine/assets"
	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/chain/devchain"
	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/internal/shareddata"
	"github.com/datarefine/refine/process"
	"github.com/datarefine/refine/store"
	"github.com/datarefine/refine/store/local"
	"github.com/datarefine/refine/submission"
	"github.com/datarefine/refine/taskapi"
	"github.com/datarefine/refine/taskserver"
	"github.com/datarefine/refine/taskserver/client"
	"github.com/datarefine/refine/taskserver/sqlstore"
	"github.com/datarefine/refine/validator/verify"
	"github.com/datarefine/refine/wallet"
)

// The tests run a whole subnet in-process: a devchain, the real task server
// (SQLite store, HTTP API, Epistula-signed client), a local dataset store,
// and miners that lease tasks, process real WARCs with process.Run, publish,
// commit on chain and complete their leases — honestly or not.

var assetDir = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "refine-validator-assets-*")
	if err != nil {
		return "", err
	}
	return dir, assets.Import(filepath.Join(shareddata.Root(), "filters_dedup", "datatrove_assets"), dir, "")
})

func testAssets(t testing.TB) string {
	t.Helper()
	shareddata.Dir(t)
	dir, err := assetDir()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// A base is a WARC (or a record range of it) processed once; miners clone it
// with their own task and hotkey in the manifest.
type baseKey struct {
	warc       string
	start, end int64
}

var (
	baseMu   sync.Mutex
	baseDirs = map[baseKey]string{}
)

// testDump is the crawl id of the base datasets (a submission's shards are
// filed under data/<dump>/).
const testDump = "CC-MAIN-2024-10"

func base(t testing.TB, warc string, start, end int64) string {
	t.Helper()
	baseMu.Lock()
	defer baseMu.Unlock()
	k := baseKey{warc, start, end}
	if d, ok := baseDirs[k]; ok {
		return d
	}
	dir, err := os.MkdirTemp("", "refine-validator-base-*")
	if err != nil {
		t.Fatal(err)
	}
	m, err := process.Run(context.Background(), process.Options{
		Inputs: []string{warc}, Output: dir, Workers: 2, RecordStart: start, RecordEnd: end, Dump: testDump,
		Steps: process.StepOptions{AssetsDir: testAssets(t)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.Documents < 3 {
		t.Fatalf("%s [%d,%d): only %d documents kept", warc, start, end, m.Documents)
	}
	baseDirs[k] = dir
	return dir
}

// clone copies a base dataset into task's place in a miner's repository
// (dataset.SubmissionLayout), names task and hotkey in its manifest, lets
// mutate change files (and the manifest), and re-seals the manifest.
func clone(t testing.TB, src string, taskID int64, hotkey string, mutate func(dir string, m *dataset.Manifest)) (string, string) {
	t.Helper()
	dir := t.TempDir()
	m, err := dataset.ReadManifest(src)
	if err != nil {
		t.Fatal(err)
	}
	l := dataset.SubmissionLayout(taskID)
	move := func(f *dataset.File, to string) {
		copyFile(t, filepath.Join(src, filepath.FromSlash(f.Path)), filepath.Join(dir, filepath.FromSlash(to)))
		f.Path = to
	}
	for i := range m.Shards {
		sh := &m.Shards[i]
		p, err := l.ShardPath(m.Dump, i)
		if err != nil {
			t.Fatal(err)
		}
		move(&sh.File, p)
		if sh.Signatures != nil {
			move(sh.Signatures, dataset.SignaturePath(p))
		}
	}
	move(m.Records, l.RecordsPath())
	if m.RecordIndex != nil {
		move(m.RecordIndex, l.IndexPath())
	}
	m.Task, m.Hotkey = strconv.FormatInt(taskID, 10), hotkey
	if mutate != nil {
		mutate(dir, m)
	}
	sha, err := l.WriteManifest(dir, m)
	if err != nil {
		t.Fatal(err)
	}
	return dir, sha
}

func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// reseal recomputes a file's entry after a mutation.
func reseal(t testing.TB, dir string, f *dataset.File) {
	t.Helper()
	h, err := dataset.HashFile(dir, f.Path)
	if err != nil {
		t.Fatal(err)
	}
	*f = *h
}

type env struct {
	t      testing.TB
	ctx    context.Context
	chain  *devchain.Chain
	svc    *taskserver.Service
	roster *taskserver.Roster
	tstore taskserver.Store
	url    string
	store  *local.Store
	vkey   chain.Signer
	uids   map[string]uint16
	logs   *syncBuffer
}

// syncBuffer collects the validator's JSON logs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func key(t testing.TB, name string) chain.Signer {
	t.Helper()
	k, err := wallet.FromURI("//" + name)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newEnv(t testing.TB, commitReveal bool) *env {
	t.Helper()
	ctx := context.Background()
	hp := devchain.DefaultHyperparameters()
	hp.Tempo = 3
	hp.WeightsRateLimit = 0
	hp.CommitRevealEnabled = commitReveal
	hp.MaxRegistrationsPerBlock = 64
	c, err := devchain.New(ctx, devchain.Options{DB: ":memory:", Hyperparameters: &hp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ts, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "tasks.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ts.Close() })
	e := &env{t: t, ctx: ctx, chain: c, tstore: ts, vkey: key(t, "Validator"), uids: map[string]uint16{}, logs: &syncBuffer{}}
	e.roster = taskserver.NewRoster(c, 1, nil)
	e.svc = taskserver.NewService(taskserver.Options{Store: ts, Roster: e.roster})
	api, err := taskserver.NewAPI(taskserver.APIOptions{Service: e.svc, SignedFor: taskServerKey, Rate: -1, ClientRate: -1, PublicRate: -1, PublicCacheTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	e.url = srv.URL
	if e.store, err = local.New(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	e.register("Validator", 500e9)
	e.advance(4) // an epoch: the validator gets its permit
	return e
}

func (e *env) register(name string, stake uint64) {
	t := e.t
	cold := key(t, "C-"+name)
	if err := e.chain.Faucet(e.ctx, cold, 1000e9); err != nil {
		t.Fatal(err)
	}
	uid, err := e.chain.Register(e.ctx, cold, 1, key(t, name).SS58())
	if err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	if stake > 0 {
		if err := e.chain.AddStake(e.ctx, cold, 1, key(t, name).SS58(), stake); err != nil {
			t.Fatal(err)
		}
	}
	e.uids[name] = uid
	if err := e.roster.Refresh(e.ctx); err != nil {
		t.Fatal(err)
	}
}

func (e *env) advance(n int) {
	if err := e.chain.AdvanceBlocks(e.ctx, n); err != nil {
		e.t.Fatal(err)
	}
	if err := e.roster.Refresh(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) head() uint64 {
	b, err := e.chain.Block(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return b.Number
}

// taskServerKey is the task server's hotkey (//TaskServer).
const taskServerKey = "5FCMqAbp2WTC6yaeCq6HmBPNVF1Xza4cxjYfVQE2Yxp8RVJ8"

func (e *env) client(name string) *client.Client {
	return client.New(client.Options{URL: e.url, Signer: key(e.t, name), SignedFor: taskServerKey})
}

// validatorClient is the real task server client the validator uses.
func (e *env) validatorClient() *client.Client { return e.client("Validator") }

// lease imports one task over warcs (crawl makes it distinct) and leases
// it to name, which gets it as the only pending task.
func (e *env) lease(name, crawl string, warcs []string, start, end int64) taskapi.Lease {
	return e.leaseTask(name, taskserver.NewTask{Crawl: crawl, WARCs: warcs, RecordStart: start, RecordEnd: end})
}

// leaseTask imports task and leases it to name, which gets it as the only
// pending task.
func (e *env) leaseTask(name string, task taskserver.NewTask) taskapi.Lease {
	t := e.t
	if _, err := e.svc.Import(e.ctx, []taskserver.NewTask{task}); err != nil {
		t.Fatal(err)
	}
	lr, err := e.client(name).Lease(e.ctx)
	if err != nil {
		t.Fatalf("lease for %s: %v", name, err)
	}
	e.advance(1)
	return lr.Lease
}

func (e *env) publish(name, dir string) string {
	// Each miner creates its repository once (Create is idempotent).
	if err := e.store.Create(e.ctx, "miners/"+name); err != nil {
		e.t.Fatal(err)
	}
	rev, err := e.store.Publish(e.ctx, "miners/"+name, dir, "submission")
	if err != nil {
		e.t.Fatal(err)
	}
	return rev
}

// commitment builds the commitment string of a published dataset.
func (e *env) commitment(name, rev string, taskID int64, manifestSHA string) string {
	c, err := submission.New("miners/"+name, rev, taskID, manifestSHA)
	if err != nil {
		e.t.Fatal(err)
	}
	return c.String()
}

// commit puts data on chain for name and returns its block.
func (e *env) commit(name, data string) uint64 {
	if err := e.chain.Commit(e.ctx, key(e.t, name), 1, []byte(data)); err != nil {
		e.t.Fatalf("commit for %s: %v", name, err)
	}
	c, err := e.chain.Commitment(e.ctx, 1, key(e.t, name).SS58())
	if err != nil {
		e.t.Fatal(err)
	}
	e.advance(1)
	return c.Block
}

func (e *env) complete(name string, leaseID int64, data string, block uint64) {
	if _, err := e.client(name).Complete(e.ctx, leaseID, data, block); err != nil {
		e.t.Fatalf("complete for %s: %v", name, err)
	}
	// Past the seed block (the default SeedDelay after the completion).
	e.advance(2)
}

// honest runs a miner's whole job on a base dataset and returns its
// commitment string.
func (e *env) honest(name, crawl, warc string, start, end int64) string {
	l := e.lease(name, crawl, []string{warc}, start, end)
	dir, sha := clone(e.t, base(e.t, warc, start, end), l.TaskID, key(e.t, name).SS58(), nil)
	data := e.commitment(name, e.publish(name, dir), l.TaskID, sha)
	blk := e.commit(name, data)
	e.complete(name, l.ID, data, blk)
	return data
}

func (e *env) options(db string) Options {
	return Options{
		Chain: e.chain, Hotkey: e.vkey, Store: e.store, Tasks: e.validatorClient(),
		DB: db, WorkDir: e.t.TempDir(),
		Reference:    verify.ReferenceOptions{Steps: process.StepOptions{AssetsDir: testAssets(e.t)}},
		EvalEvery:    1,
		WeightsEvery: 1,
		Limits:       store.Limits{MaxFileBytes: 2 << 20, MaxTotalBytes: 16 << 20},
		GraceBlocks:  testGrace,
		Log:          slog.New(slog.NewJSONHandler(e.logs, nil)),
	}
}

func (e *env) validator(db string) *Validator {
	v, err := New(e.options(db))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { v.Close() })
	return v
}

func byHotkey(recs []Record) map[string]Record {
	out := map[string]Record{}
	for _, r := range recs {
		out[r.Hotkey] = r
	}
	return out
}

func describe(r Record) string {
	return fmt.Sprintf("accepted=%v code=%s score=%.4f reason=%s", r.Verdict.Accepted, r.Verdict.Code, r.Score, r.Verdict.Reason)
}

// testGrace is the tests' GraceBlocks.
const testGrace = 5

func warcA(t testing.TB) string {
	return shareddata.Path(t, "warc", "real_crawls", "dolma_browsertrix_sample-0000.warc.gz")
}

func warcB(t testing.TB) string {
	return shareddata.Path(t, "warc", "real_crawls", "dolma_browsertrix_sample-0001.warc.gz")
}
