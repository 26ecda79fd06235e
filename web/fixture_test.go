package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datarefine/refine/acceptance"
	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/chain/devchain"
	"github.com/datarefine/refine/sqldb/sqldbtest"
	"github.com/datarefine/refine/taskserver"
	"github.com/datarefine/refine/taskserver/client"
	"github.com/datarefine/refine/taskserver/sqlstore"
	"github.com/datarefine/refine/validator/verify"
	"github.com/datarefine/refine/wallet"
)

// fixture is a small subnet with a history, made through the real APIs: a
// dev chain where two validators weight four miners over several epochs,
// a task server (store, service, API) where the miners lease, complete,
// release and let expire tasks of two crawls over three days and the
// validators report on the submissions and release their reports, served
// on a loopback port; and the site, which reaches the task server only
// over HTTP, through its public API.
type fixture struct {
	site   *Site
	store  *sqlstore.Store
	chain  *devchain.Chain
	apiURL string
	now    time.Time
	clock  *clock
	owner  *wallet.Keypair
	vals   []*wallet.Keypair
	miners []*wallet.Keypair
	// What the fixture put in, for the tests to check the site against.
	wantTokens, wantDocs            int64
	wantAccepted, wantSubmissions   int64
	wantCrawlTokens, wantCrawlTasks map[string]int64
	completedLease                  taskserver.Lease // one accepted submission
	rejectedLease                   taskserver.Lease // one rejected by both validators
	splitLease                      taskserver.Lease // accepted by one validator, rejected by the other
}

// clock is the adjustable time of the task server and the site.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func key(t testing.TB, uri string) *wallet.Keypair {
	t.Helper()
	k, err := wallet.FromURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// verdictDetail is a report's detail as validator/verify writes it (its
// Verdict, so that the site's reading follows the validator's fields).
func verdictDetail(accepted bool, code, reason string, docs, tokens int64, quality float64) string {
	v := verify.Verdict{Accepted: accepted, Documents: docs, Tokens: tokens, MeasuredTokens: tokens,
		VerifiedTokens: float64(tokens) * 0.95, Quality: quality, ElapsedBlocks: 6, Uniqueness: 1,
		Provenance: verify.Provenance{Checked: 20, Matched: 20},
		Coverage:   verify.Coverage{Entries: 120, Draws: 28, Sampled: 25, ReferenceKept: 21, Found: 21, KeptClaims: 21},
		Budget:     verify.Budget{SpanBytes: 1 << 20, Download: 64 << 20},
		Limits:     verify.Limits{ProvenanceSamples: 20, MaxMismatch: 0, MaxInternalDup: 0.01, MaxMissing: 0}}
	if !accepted {
		v.Code, v.Reason = verify.Code(code), reason
		v.VerifiedTokens = 0
		if code == "provenance" {
			v.Provenance = verify.Provenance{Checked: 20, Matched: 17, Mismatches: []string{"<urn:uuid:1>: text differs"}}
			v.Coverage = verify.Coverage{}
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// newFixture builds the subnet; the site keeps its state in a database of
// kind (sqlite or postgres).
func newFixture(t testing.TB, kind string) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	now := time.Now().UTC().Truncate(time.Second)
	f := &fixture{now: now, clock: &clock{t: now.Add(-80 * time.Hour)}, owner: key(t, "//Alice"),
		wantCrawlTokens: map[string]int64{}, wantCrawlTasks: map[string]int64{}}
	for _, n := range []string{"//Val1", "//Val2"} {
		f.vals = append(f.vals, key(t, n))
	}
	for i := 1; i <= 4; i++ {
		f.miners = append(f.miners, key(t, fmt.Sprintf("//Miner%d", i)))
	}

	// The chain: tempo 3, two validator permits, no rate limits.
	hp := devchain.DefaultHyperparameters()
	hp.Tempo, hp.WeightsRateLimit, hp.CommitRevealEnabled = 3, 0, false
	hp.MaxRegistrationsPerBlock, hp.MaxAllowedValidators = 64, 2
	c, err := devchain.New(ctx, devchain.Options{DB: filepath.Join(dir, "chain.db"), Hyperparameters: &hp})
	must(t, err)
	t.Cleanup(func() { c.Close() })
	f.chain = c
	uids := map[string]uint16{}
	for i, k := range append(append([]*wallet.Keypair{}, f.vals...), f.miners...) {
		cold := key(t, fmt.Sprintf("//Cold%d", i))
		must(t, c.Faucet(ctx, cold, 1000*1e9))
		uid, err := c.Register(ctx, cold, 1, k.SS58())
		must(t, err)
		uids[k.SS58()] = uid
		if i < len(f.vals) {
			must(t, c.AddStake(ctx, cold, 1, k.SS58(), uint64(900-300*i)*1e9))
		}
	}
	must(t, c.AdvanceBlocks(ctx, 4)) // an epoch hands out the permits

	// The task server: store, roster, service and API on a loopback port.
	st, err := sqlstore.Open(ctx, filepath.Join(dir, "tasks.db"))
	must(t, err)
	t.Cleanup(func() { st.Close() })
	f.store = st
	roster := taskserver.NewRoster(c, 1, nil)
	must(t, roster.Refresh(ctx))
	svc := taskserver.NewService(taskserver.Options{Store: st, Roster: roster, Now: f.clock.Now})
	api, err := taskserver.NewAPI(taskserver.APIOptions{Service: svc, SignedFor: f.owner.SS58(), PublicRate: -1, PublicCacheTTL: -1, Ledger: c})
	must(t, err)
	f.apiURL = startServer(t, api)

	var tasks []taskserver.NewTask
	for i := 0; i < 24; i++ {
		crawl := "CC-MAIN-2024-10"
		if i%3 == 2 {
			crawl = "CC-MAIN-2024-18"
		}
		f.wantCrawlTasks[crawl]++
		tasks = append(tasks, taskserver.NewTask{Crawl: crawl, WARCs: []string{fmt.Sprintf("crawl-data/%s/segments/1/warc/part-%05d.warc.gz", crawl, i)}})
	}
	_, err = st.AddTasks(ctx, tasks, taskserver.Stamp{Time: now.Add(-80 * time.Hour), Block: 1})
	must(t, err)

	// Reports are decided with the acceptance rule over the chain's
	// stakes, as the service does.
	mg, err := c.Metagraph(ctx, 1)
	must(t, err)
	stake := map[string]uint64{}
	for _, n := range mg.Neurons {
		if n.ValidatorPermit {
			stake[n.Hotkey] = n.Stake
		}
	}
	decide := func(votes []acceptance.Vote) (acceptance.Outcome, error) {
		for i := range votes {
			votes[i].Stake = stake[votes[i].Validator]
		}
		d, err := acceptance.Rule{}.Decide(votes)
		return d.Outcome, err
	}

	// Miners work through the pool over 69 hours, one lease every 3 hours.
	block := uint64(10)
	for i := 0; i < 24; i++ {
		m := f.miners[i%len(f.miners)]
		at := now.Add(-69*time.Hour + time.Duration(i)*3*time.Hour)
		ttl := 100 * time.Hour
		if i == 5 {
			ttl = time.Minute // abandoned: expires before the next lease
		}
		l, task, err := st.Lease(ctx, taskserver.LeaseRequest{Hotkey: m.SS58(), At: taskserver.Stamp{Time: at, Block: block},
			Duration: 200 * time.Hour, TTL: ttl, MaxLive: 10})
		must(t, err)
		block += 5
		switch {
		case i == 5 || i >= 21: // expired, or still live
			continue
		case i == 20:
			_, err = st.Release(ctx, l.ID, m.SS58(), taskserver.Stamp{Time: at.Add(time.Minute), Block: block})
			must(t, err)
			continue
		}
		rev := fmt.Sprintf("%040x", 0xabc000+i)
		commit := fmt.Sprintf("r1:%s/refined@%s:%d:%016x", strings.ToLower(strings.TrimPrefix(m.SS58()[:8], "5")), rev, task.ID, 0x1234+i)
		done := at.Add(time.Duration(10+i) * time.Minute)
		f.wantSubmissions++
		l, err = st.Complete(ctx, l.ID, m.SS58(), commit, block, taskserver.Stamp{Time: done, Block: block + 1})
		must(t, err)
		// Both validators report; lease 7's submission fails provenance
		// for both; lease 10's is accepted by Val1 (the larger stake) and
		// rejected by Val2.
		docs, tokens := int64(1000+37*i), int64(900_000+12_345*i)
		for vi, v := range f.vals {
			accepted := i != 7 && !(i == 10 && vi == 1)
			q := 0.8 - 0.01*float64(i%5) - 0.05*float64(vi)
			score := 0.0
			detail := verdictDetail(true, "", "", docs, tokens, q)
			if accepted {
				score = float64(tokens) / 1e6 * (0.5 + 0.5*q)
			} else {
				detail = verdictDetail(false, "provenance", "3 of 20 drawn documents not derived from their records", docs, tokens, 0)
			}
			_, l2, err := st.Report(ctx, taskserver.Report{Validator: v.SS58(), LeaseID: l.ID, TaskID: task.ID, Hotkey: m.SS58(), Commitment: commit,
				Accepted: accepted, Score: score, Detail: detail, WeightsRound: int64(i)}, decide,
				taskserver.Stamp{Time: done.Add(time.Duration(5+vi) * time.Minute), Block: block + 2})
			must(t, err)
			l = l2
		}
		switch i {
		case 7:
			f.rejectedLease = l
		case 10:
			f.splitLease = l
		default:
			f.completedLease = l
		}
		if l.Decision == taskserver.DecisionAccepted {
			f.wantTokens += tokens
			f.wantDocs += docs
			f.wantAccepted++
			f.wantCrawlTokens[task.Crawl] += tokens
		}
	}
	// Every report is published (the weights they fed are public).
	for _, v := range f.vals {
		_, err := st.ReleaseReports(ctx, v.SS58(), 1000, taskserver.Stamp{Time: now.Add(-time.Minute), Block: block + 10})
		must(t, err)
	}
	f.clock.set(now)

	// The site, then a few epochs of weights so that the chain has
	// incentive, dividends and a payout ledger, with the site recording
	// the metagraph (as the task server reads it) after each.
	site, err := New(ctx, Options{API: client.New(client.Options{URL: f.apiURL}), DB: sqldbtest.DSN(t, kind), OwnerHotkey: f.owner.SS58(),
		HistoryEvery: 1, Now: f.clock.Now, PostLimit: 5, PostWindow: time.Minute})
	must(t, err)
	t.Cleanup(func() { site.Close() })
	f.site = site
	for e := 0; e < 4; e++ {
		for vi, v := range f.vals {
			var us, ws []uint16
			for mi, m := range f.miners {
				us = append(us, uids[m.SS58()])
				ws = append(ws, uint16(1000*(mi+1)+vi*100*(e%2)))
			}
			must(t, c.SetWeights(ctx, v, 1, us, ws, 0))
		}
		must(t, c.AdvanceBlocks(ctx, 4))
		must(t, roster.Refresh(ctx))
		must(t, site.Refresh(ctx))
	}
	return f
}

// chainNeuron returns the chain's view of a hotkey.
func (f *fixture) chainNeuron(t testing.TB, hotkey string) chain.Neuron {
	t.Helper()
	mg, err := f.chain.Metagraph(context.Background(), 1)
	must(t, err)
	for _, n := range mg.Neurons {
		if n.Hotkey == hotkey {
			return n
		}
	}
	t.Fatalf("%s not on the metagraph", hotkey)
	return chain.Neuron{}
}

// startServer serves h on a fresh 127.0.0.1 port.
func startServer(t testing.TB, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}
