package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/datarefine/refine/taskapi"
	"github.com/datarefine/refine/taskserver"
)

// verdict is a report's detail as validators write it (the fields the
// read model reads).
func verdict(accepted bool, docs, tokens int64) string {
	return fmt.Sprintf(`{"accepted":%v,"documents":%d,"tokens":%d,"measured_tokens":%d,"quality":0.9}`, accepted, docs, tokens, tokens)
}

func reportV(t *testing.T, s taskserver.Store, validator string, l taskapi.Lease, accepted bool, detail string, round int64, d time.Duration, block uint64) taskapi.Lease {
	t.Helper()
	score := 0.0
	if accepted {
		score = 1.5
	}
	r := taskapi.Report{Validator: validator, LeaseID: l.ID, TaskID: l.TaskID, Hotkey: l.Hotkey, Commitment: l.Commitment,
		Accepted: accepted, Score: score, Detail: detail, WeightsRound: round}
	_, got, err := s.Report(context.Background(), r, decide, at(d, block))
	if err != nil {
		t.Fatalf("report by %s: %v", validator, err)
	}
	return got
}

// testReadModel: the volume counts accepted submissions only, from
// published scores only (nothing before release), with the smallest counts
// the accepting validators state; per crawl with every task's state; per
// validator with its agreement with the decisions; per miner with its
// decisions and output.
func testReadModel(t *testing.T, s taskserver.Store) {
	ctx := context.Background()
	tasks := []taskserver.NewTask{
		{Crawl: "CC-A", WARCs: []string{"a/0"}}, {Crawl: "CC-A", WARCs: []string{"a/1"}}, {Crawl: "CC-A", WARCs: []string{"a/2"}},
		{Crawl: "CC-B", WARCs: []string{"b/0"}}, {Crawl: "CC-B", WARCs: []string{"b/1"}},
	}
	if _, err := s.AddTasks(ctx, tasks, at(0, 1)); err != nil {
		t.Fatal(err)
	}
	a := submit(t, s, "m1", time.Minute, 2)   // task 1 (CC-A): accepted by v1 and v2
	b := submit(t, s, "m2", 2*time.Minute, 4) // task 2 (CC-A): rejected by v1, accepted by v2
	c := submit(t, s, "m1", 3*time.Minute, 6) // task 3 (CC-A): accepted by v1 only
	reportV(t, s, "v1", a, true, verdict(true, 10, 1000), 1, 4*time.Minute, 10)
	// v2 overstates a's counts: the smaller ones count.
	reportV(t, s, "v2", a, true, verdict(true, 12, 5000), 1, 4*time.Minute, 10)
	reportV(t, s, "v1", b, false, verdict(false, 7, 700), 1, 4*time.Minute, 10)
	reportV(t, s, "v2", b, true, verdict(true, 7, 700), 1, 4*time.Minute, 10)
	reportV(t, s, "v1", c, true, verdict(true, 3, 300), 2, 5*time.Minute, 11)
	mustLease(t, s, req("m2", 6*time.Minute, 12)) // task 2 again: b's rejection reopened it

	// Nothing published yet: decisions are public, counts are not.
	vol, err := s.Volume(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []taskapi.CrawlVolume{
		{Crawl: "CC-A", Tasks: 3, Done: 2, Leased: 1, Volume: taskapi.Volume{Submissions: 2}},
		{Crawl: "CC-B", Tasks: 2, Pending: 2},
	}
	if fmt.Sprint(vol) != fmt.Sprint(want) {
		t.Fatalf("volume before release:\n got %+v\nwant %+v", vol, want)
	}

	// v1 releases round 1 only; v2 everything.
	if n, err := s.ReleaseReports(ctx, "v1", 1, at(7*time.Minute, 13)); err != nil || n != 2 {
		t.Fatalf("release v1 = %d, %v", n, err)
	}
	if n, err := s.ReleaseReports(ctx, "v2", 5, at(7*time.Minute, 13)); err != nil || n != 2 {
		t.Fatalf("release v2 = %d, %v", n, err)
	}
	vol, err = s.Volume(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want[0].Volume = taskapi.Volume{Submissions: 2, Counted: 1, Documents: 10, Tokens: 1000}
	if fmt.Sprint(vol) != fmt.Sprint(want) {
		t.Fatalf("volume after partial release:\n got %+v\nwant %+v", vol, want)
	}
	if n, err := s.ReleaseReports(ctx, "v1", 2, at(8*time.Minute, 14)); err != nil || n != 1 {
		t.Fatalf("release v1 round 2 = %d, %v", n, err)
	}
	vol, _ = s.Volume(ctx)
	want[0].Volume = taskapi.Volume{Submissions: 2, Counted: 2, Documents: 13, Tokens: 1300}
	if fmt.Sprint(vol) != fmt.Sprint(want) {
		t.Fatalf("volume after release:\n got %+v\nwant %+v", vol, want)
	}

	// Per decision time: a and c were decided at 4 and 5 minutes.
	series, err := s.VolumeSeries(ctx, T0, time.Hour)
	if err != nil || len(series) != 1 || series[0].Volume != want[0].Volume || !series[0].Start.Equal(T0.Truncate(time.Hour)) {
		t.Fatalf("volume series = %+v, %v", series, err)
	}
	if later, _ := s.VolumeSeries(ctx, T0.Add(10*time.Minute), time.Hour); len(later) != 0 {
		t.Fatalf("volume series since later = %+v", later)
	}

	// Validators: v1 rejected b, which was rejected (v1 holds the
	// majority of the stake): it agreed every time; v2 disagreed on b.
	vs, err := s.Validators(ctx, T0)
	if err != nil || len(vs) != 2 {
		t.Fatalf("validators = %+v, %v", vs, err)
	}
	v1, v2 := vs[0], vs[1]
	if v1.Hotkey != "v1" || v1.Reports != 3 || v1.Released != 3 || v1.Accepts != 2 || v1.Decided != 3 || v1.Agreed != 3 || v1.Agreement() != 1 {
		t.Fatalf("v1 = %+v", v1)
	}
	if v2.Hotkey != "v2" || v2.Reports != 2 || v2.Released != 2 || v2.Accepts != 2 || v2.Decided != 2 || v2.Agreed != 1 || v2.Agreement() != 0.5 {
		t.Fatalf("v2 = %+v", v2)
	}

	// Miners: their decisions and accepted output.
	ms, err := s.Miners(ctx, T0)
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]taskapi.MinerActivity{}
	for _, m := range ms {
		byKey[m.Hotkey] = m
	}
	if m := byKey["m1"]; m.Accepted != 2 || m.Rejected != 0 || m.Documents != 13 || m.Tokens != 1300 || m.Scores != 3 || m.Score != 1.5 {
		t.Fatalf("m1 = %+v", m)
	}
	if m := byKey["m2"]; m.Accepted != 0 || m.Rejected != 1 || m.Documents != 0 || m.Live != 1 || m.Scores != 2 || m.Score != 0.75 {
		t.Fatalf("m2 = %+v", m)
	}

	// Scores name their submission and verdict, and can be selected by it.
	sc, err := s.ScoresOf(ctx, taskapi.ScoreQuery{LeaseID: b.ID, Limit: 10})
	if err != nil || len(sc) != 2 || sc[0].Validator != "v2" || !sc[0].Accepted || sc[1].Accepted || sc[1].LeaseID != b.ID {
		t.Fatalf("scores of b = %+v, %v", sc, err)
	}
	if sc, _ := s.ScoresOf(ctx, taskapi.ScoreQuery{Validator: "v2", Limit: 10}); len(sc) != 2 {
		t.Fatalf("scores by v2 = %+v", sc)
	}
	if sc, _ := s.ScoresOf(ctx, taskapi.ScoreQuery{Hotkey: "m1", Validator: "v1", Limit: 1}); len(sc) != 1 || sc[0].LeaseID != c.ID {
		t.Fatalf("newest score of m1 by v1 = %+v", sc)
	}

	// Reporters of a submission, published or not.
	d := submit(t, s, "m2", 9*time.Minute, 15)
	reportV(t, s, "v3", d, true, verdict(true, 1, 1), 9, 10*time.Minute, 16)
	rs, err := s.Reporters(ctx, d.ID)
	if err != nil || len(rs) != 1 || rs[0].Validator != "v3" || rs[0].Released {
		t.Fatalf("reporters of d = %+v, %v", rs, err)
	}
	if rs, _ := s.Reporters(ctx, a.ID); len(rs) != 2 || !rs[0].Released || !rs[1].Released {
		t.Fatalf("reporters of a = %+v", rs)
	}

	// Events of some kinds.
	evs, err := s.EventsOf(ctx, 0, 100, []string{"accepted", "rejected"})
	if err != nil || len(evs) != 4 { // a, b, c and d
		t.Fatalf("decision events = %+v, %v", evs, err)
	}
	for _, e := range evs {
		if e.Kind != "accepted" && e.Kind != "rejected" {
			t.Fatalf("event %+v", e)
		}
	}
	all, _ := s.EventsOf(ctx, 0, 1000, nil)
	page, _ := s.EventsOf(ctx, evs[0].ID, 1, []string{"accepted", "rejected"})
	if len(all) <= len(evs) || len(page) != 1 || page[0].ID != evs[1].ID {
		t.Fatalf("events: %d of all kinds, page %+v", len(all), page)
	}
}

// testAbsurdCounts: a validator that states counts near 2^63 for accepted
// submissions (here v3, published before the majority's v1) neither
// overflows the sums of the public reads nor sets the volume: its counts
// are no claim.
func testAbsurdCounts(t *testing.T, s taskserver.Store) {
	ctx := context.Background()
	addTasks(t, s, 2)
	huge := int64(1) << 62
	for i := range 2 {
		l := submit(t, s, "m1", time.Duration(i+1)*time.Minute, uint64(2+2*i))
		reportV(t, s, "v1", l, true, verdict(true, 10, 1000), 1, 4*time.Minute, 10)
		reportV(t, s, "v3", l, true, verdict(true, huge, huge), 1, 4*time.Minute, 10)
	}
	if n, err := s.ReleaseReports(ctx, "v3", 1, at(5*time.Minute, 11)); err != nil || n != 2 {
		t.Fatalf("release v3 = %d, %v", n, err)
	}
	vol, err := s.Volume(ctx)
	if err != nil {
		t.Fatalf("volume: %v", err)
	}
	if len(vol) != 1 || vol[0].Volume != (taskapi.Volume{Submissions: 2}) {
		t.Fatalf("volume = %+v, want 2 submissions, none counted", vol)
	}
	if _, err := s.Counts(ctx); err != nil {
		t.Fatalf("counts: %v", err)
	}
	if _, err := s.Miners(ctx, T0); err != nil {
		t.Fatalf("miners: %v", err)
	}
	if n, err := s.ReleaseReports(ctx, "v1", 1, at(6*time.Minute, 12)); err != nil || n != 2 {
		t.Fatalf("release v1 = %d, %v", n, err)
	}
	vol, err = s.Volume(ctx)
	if err != nil || len(vol) != 1 || vol[0].Volume != (taskapi.Volume{Submissions: 2, Counted: 2, Documents: 20, Tokens: 2000}) {
		t.Fatalf("volume after v1's release = %+v, %v", vol, err)
	}
}
