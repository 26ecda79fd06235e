package taskserver_test

import (
	"context"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/datarefine/refine/taskserver"
	"github.com/datarefine/refine/taskserver/client"
)

// TestValidatorSet: on a small subnet miners hold validator permits too. A
// permit holder that leases and never reports is a miner; one that
// reported (published or not) is a validator even if it also leased; one
// that never leased is a validator. /v1/validators, /v1/miners and the
// count in /v1/stats agree.
func TestValidatorSet(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		h := newHarness(t, kind, harnessOptions{tasks: 4})
		h.chain.register(key(t, "pm").SS58(), true) // a miner with a permit
		h.chain.register(key(t, "pv").SS58(), true) // leases and validates
		h.chain.setBlock(120)
		must(t, h.roster.Refresh(ctx))
		m1, v1, pm, pv := h.client("m1"), h.client("v1"), h.client("pm"), h.client("pv")
		pub := client.New(client.Options{URL: h.srv.URL})

		_, err := pm.Lease(ctx)
		must(t, err)
		l, err := m1.Lease(ctx)
		must(t, err)
		_, err = m1.Complete(ctx, l.Lease.ID, commitment(l.Task.ID), 119)
		must(t, err)
		pl, err := pv.Lease(ctx)
		must(t, err)
		_, err = pv.Release(ctx, pl.Lease.ID)
		must(t, err)

		check := func(stage string, wantValidators, wantMiners []string) {
			t.Helper()
			vs, err := pub.Validators(ctx, time.Hour)
			must(t, err)
			ms, err := pub.Miners(ctx, time.Hour)
			must(t, err)
			st, err := pub.Stats(ctx)
			must(t, err)
			var gotV, gotM []string
			for _, v := range vs.Validators {
				gotV = append(gotV, name(t, v.Hotkey))
			}
			for _, m := range ms {
				gotM = append(gotM, name(t, m.Hotkey))
			}
			sort.Strings(gotV)
			sort.Strings(gotM)
			if !slices.Equal(gotV, wantValidators) || !slices.Equal(gotM, wantMiners) || st.Validators != len(wantValidators) || st.Permits != 4 {
				t.Errorf("%s: validators %v (stats %d of %d permits), miners %v; want %v, %v", stage, gotV, st.Validators, st.Permits, gotM, wantValidators, wantMiners)
			}
		}
		// pv leased and has not reported: a miner, as pm.
		check("before reports", []string{"v1", "v2"}, []string{"m1", "m2", "pm", "pv"})

		for _, v := range []*client.Client{v1, pv} {
			_, err := v.Report(ctx, taskserver.ScoreBody{LeaseID: l.Lease.ID, Hotkey: key(t, "m1").SS58(), TaskID: l.Task.ID,
				Commitment: commitment(l.Task.ID), Accepted: true, Score: 0.5})
			must(t, err)
		}
		// Reported, not yet published: a validator (it still leased in the
		// window, so it is in the miners' list too).
		check("reported", []string{"pv", "v1", "v2"}, []string{"m1", "m2", "pm", "pv"})
		for _, v := range []*client.Client{v1, pv} {
			_, err := v.ReleaseScores(ctx, 0)
			must(t, err)
		}
		check("published", []string{"pv", "v1", "v2"}, []string{"m1", "m2", "pm", "pv"})

		// A week later nothing is in the window: pv's published report
		// still makes it a validator, pm's lease still a miner.
		h.advance(8 * 24 * time.Hour)
		check("a week later", []string{"pv", "v1", "v2"}, []string{"m1", "m2", "pm"})
	})
}

func name(t *testing.T, hotkey string) string {
	for _, n := range []string{"m1", "m2", "v1", "v2", "pm", "pv"} {
		if key(t, n).SS58() == hotkey {
			return n
		}
	}
	return hotkey
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
