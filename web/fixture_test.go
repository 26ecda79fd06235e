package web

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/chain/devchain"
	"github.com/datarefine/refine/taskserver"
	"github.com/datarefine/refine/taskserver/sqlstore"
	"github.com/datarefine/refine/wallet"
)

// fixture is a small subnet with a history, made through the real APIs: a
// dev chain where two validators weight four miners over several epochs,
// and a task store where the miners lease, complete, release and let
// expire tasks of two crawls over three days, and the validators score
// the submissions.
type fixture struct {
	site   *Site
	store  *sqlstore.Store
	chain  *devchain.Chain
	now    time.Time
	clock  *clock
	owner  *wallet.Keypair
	vals   []*wallet.Keypair
	miners []*wallet.Keypair
	// What the fixture put in, for the tests to check the site against.
	wantTokens, wantDocs, wantBytes int64
	wantAccepted                    int64
	wantCrawlTokens                 map[string]int64
	completedLease                  taskserver.Lease // one completed (scored) lease
	rejectedTask                    int64
}

// clock is the site's adjustable time.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

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

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	now := time.Now().UTC().Truncate(time.Second)
	f := &fixture{now: now, clock: &clock{t: now}, owner: key(t, "//Alice"), wantCrawlTokens: map[string]int64{}}
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

	// The task store.
	st, err := sqlstore.Open(ctx, filepath.Join(dir, "tasks.db"))
	must(t, err)
	t.Cleanup(func() { st.Close() })
	f.store = st
	var tasks []taskserver.NewTask
	for i := 0; i < 24; i++ {
		crawl := "CC-MAIN-2024-10"
		if i%3 == 2 {
			crawl = "CC-MAIN-2024-18"
		}
		tasks = append(tasks, taskserver.NewTask{Crawl: crawl, WARCs: []string{fmt.Sprintf("crawl-data/%s/segments/1/warc/part-%05d.warc.gz", crawl, i)}})
	}
	_, err = st.AddTasks(ctx, tasks, taskserver.Stamp{Time: now.Add(-80 * time.Hour), Block: 1})
	must(t, err)

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
		l, err = st.Complete(ctx, l.ID, m.SS58(), commit, block, taskserver.Stamp{Time: done, Block: block + 1})
		must(t, err)
		f.completedLease = l
		// Both validators report; task of lease 7 is rejected by both.
		accepted := i != 7
		docs, tokens := int64(1000+37*i), int64(900_000+12_345*i)
		for vi, v := range f.vals {
			q := 0.8 - 0.01*float64(i%5) - 0.05*float64(vi)
			score := 0.0
			if accepted {
				score = float64(tokens) / 1e6 * (0.5 + 0.5*q)
			}
			detail, _ := json.Marshal(map[string]any{"accepted": accepted, "documents": docs, "tokens": tokens,
				"verified_tokens": float64(tokens) * 0.95, "quality": q, "elapsed_blocks": 6, "bytes": tokens * 4,
				"provenance": map[string]any{"checked": 20, "matched": 20}})
			_, err := st.AddScore(ctx, taskserver.Score{Validator: v.SS58(), Hotkey: m.SS58(), TaskID: task.ID, Score: score,
				Detail: string(detail), At: done.Add(time.Duration(5+vi) * time.Minute), Block: block + 2})
			must(t, err)
		}
		if accepted {
			f.wantTokens += tokens
			f.wantDocs += docs
			f.wantBytes += tokens * 4
			f.wantAccepted++
			f.wantCrawlTokens[task.Crawl] += tokens
		} else {
			f.rejectedTask = task.ID
		}
	}

	// The site, then a few epochs of weights so that the chain has
	// incentive, dividends and a payout ledger, with the site recording
	// the metagraph after each.
	site, err := New(ctx, Options{Store: st, Chain: c, Netuid: 1, DB: filepath.Join(dir, "web.db"), OwnerHotkey: f.owner.SS58(),
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
