package taskserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/datarefine/refine/acceptance"
	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/submission"
	"github.com/datarefine/refine/taskapi"
)

// The explorer: the public reads that join the store's read model
// (reads.go) with the chain's numbers the roster caches, so that the
// website and anybody else read one set of numbers, computed in one place.
// Like every public read they are limited per client address, bounded in
// what they read (MaxReadWindow) and cached (PublicCacheTTL).

// ActiveWindow is how recent a lease (miner) or a report (validator) must
// be for the explorer to count a neuron as active.
const ActiveWindow = time.Hour

func chainInfo(n chain.Neuron, ok bool) taskapi.ChainInfo {
	if !ok {
		return taskapi.ChainInfo{UID: -1}
	}
	return taskapi.ChainInfo{UID: int(n.UID), Stake: n.Stake, ValidatorPermit: n.ValidatorPermit, Incentive: chain.Fraction(n.Incentive),
		Dividends: chain.Fraction(n.Dividends), ValidatorTrust: chain.Fraction(n.ValidatorTrust),
		Consensus: chain.Fraction(n.Consensus), Emission: n.Emission}
}

func (a *API) registerExplorer(r chi.Router) {
	r.With(a.cached).Get("/validators", a.validators)
	r.With(a.cached).Get("/miners/{hotkey}", a.minerDetail)
	r.With(a.cached).Get("/validators/{hotkey}", a.validatorDetail)
	r.With(a.cached).Get("/tasks/{id}/history", a.taskHistory)
	r.With(a.cached).Get("/submissions/{id}", a.submission)
	r.With(a.cached).Get("/volume", a.volume)
	r.With(a.cached).Get("/metagraph", a.metagraph)
	r.With(a.cached).Get("/payouts", a.payouts)
}

// validatorSet tells the validators among the registered neurons: those
// with a validator permit that reported, or never leased a task. A permit
// alone does not make a validator: a small subnet gives every neuron one
// (the top max_allowed_validators by stake), miners included, so a permit
// holder that leases and never reports is a miner. Two indexed lookups per
// permit holder (at most max_allowed_validators), whatever the database's
// size.
func (a *API) validatorSet(ctx context.Context, neurons []chain.Neuron) (map[string]bool, error) {
	set := map[string]bool{}
	for _, n := range neurons {
		if !n.ValidatorPermit {
			continue
		}
		rs, err := a.svc.Store().ScoresOf(ctx, taskapi.ScoreQuery{Validator: n.Hotkey, Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(rs) > 0 {
			set[n.Hotkey] = true
			continue
		}
		ls, err := a.svc.Store().Leases(ctx, n.Hotkey, 1)
		if err != nil {
			return nil, err
		}
		if len(ls) == 0 {
			set[n.Hotkey] = true
		}
	}
	return set, nil
}

// minerRows are the miners active since a time and every registered
// neuron that is no validator (validatorSet), by uid (unregistered last).
func (a *API) minerRows(ctx context.Context, since time.Time) ([]taskapi.MinerRow, error) {
	acts, err := a.svc.Store().Miners(ctx, since)
	if err != nil {
		return nil, err
	}
	_, neurons := a.svc.Roster().Metagraph()
	validators, err := a.validatorSet(ctx, neurons)
	if err != nil {
		return nil, err
	}
	byKey := byHotkey(neurons)
	now := a.svc.Now()
	seen := map[string]bool{}
	var rows []taskapi.MinerRow
	for _, m := range acts {
		n, ok := byKey[m.Hotkey]
		seen[m.Hotkey] = true
		rows = append(rows, taskapi.MinerRow{MinerActivity: m, ChainInfo: chainInfo(n, ok), Active: now.Sub(m.LastSeen) <= ActiveWindow})
	}
	for _, n := range neurons {
		if !validators[n.Hotkey] && !seen[n.Hotkey] {
			rows = append(rows, taskapi.MinerRow{MinerActivity: taskapi.MinerActivity{Hotkey: n.Hotkey}, ChainInfo: chainInfo(n, true)})
		}
	}
	sortByUID(rows, func(r taskapi.MinerRow) (int, string) { return r.UID, r.Hotkey })
	return rows, nil
}

// validatorRows are the validators (validatorSet), by uid (unregistered
// last). Miners are never listed, permit or not.
func (a *API) validatorRows(ctx context.Context, since time.Time) ([]taskapi.ValidatorRow, error) {
	acts, err := a.svc.Store().Validators(ctx, since)
	if err != nil {
		return nil, err
	}
	_, neurons := a.svc.Roster().Metagraph()
	validators, err := a.validatorSet(ctx, neurons)
	if err != nil {
		return nil, err
	}
	// Hotkeys that reported in the window are validators, registered or
	// not.
	for _, v := range acts {
		validators[v.Hotkey] = true
	}
	byKey := byHotkey(neurons)
	now := a.svc.Now()
	seen := map[string]bool{}
	var rows []taskapi.ValidatorRow
	for _, v := range acts {
		n, ok := byKey[v.Hotkey]
		seen[v.Hotkey] = true
		rows = append(rows, taskapi.ValidatorRow{ValidatorActivity: v, ChainInfo: chainInfo(n, ok), Agreement: v.Agreement(),
			Active: !v.LastReport.IsZero() && now.Sub(v.LastReport) <= ActiveWindow})
	}
	for _, n := range neurons {
		if validators[n.Hotkey] && !seen[n.Hotkey] {
			rows = append(rows, taskapi.ValidatorRow{ValidatorActivity: taskapi.ValidatorActivity{Hotkey: n.Hotkey}, ChainInfo: chainInfo(n, true)})
		}
	}
	sortByUID(rows, func(r taskapi.ValidatorRow) (int, string) { return r.UID, r.Hotkey })
	return rows, nil
}

func byHotkey(neurons []chain.Neuron) map[string]chain.Neuron {
	m := make(map[string]chain.Neuron, len(neurons))
	for _, n := range neurons {
		m[n.Hotkey] = n
	}
	return m
}

func sortByUID[T any](rows []T, key func(T) (int, string)) {
	sort.SliceStable(rows, func(i, j int) bool {
		ui, hi := key(rows[i])
		uj, hj := key(rows[j])
		if (ui < 0) != (uj < 0) {
			return uj < 0
		}
		if ui != uj {
			return ui < uj
		}
		return hi < hj
	})
}

func (a *API) validators(w http.ResponseWriter, r *http.Request) {
	since, ok := a.sinceParam(w, r, 7*24*time.Hour)
	if !ok {
		return
	}
	rows, err := a.validatorRows(r.Context(), since)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	block, _ := a.svc.Roster().Metagraph()
	writeJSON(w, http.StatusOK, taskapi.ValidatorsResponse{Since: since.UTC(), MetagraphBlock: block, Validators: nonNil(rows)})
}

func (a *API) minerDetail(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	hotkey := chi.URLParam(r, "hotkey")
	limit, ok := intParam(w, r, "limit", 50, 500)
	if !ok {
		return
	}
	since := a.svc.Now().Add(-a.opts.MaxReadWindow)
	rows, err := a.minerRows(ctx, since)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d := taskapi.MinerDetail{Miner: taskapi.MinerRow{MinerActivity: taskapi.MinerActivity{Hotkey: hotkey}, ChainInfo: taskapi.ChainInfo{UID: -1}}}
	found := false
	for _, row := range rows {
		if row.Hotkey == hotkey {
			d.Miner, found = row, true
		}
	}
	if d.Leases, err = a.svc.Store().Leases(ctx, hotkey, limit); err != nil {
		a.fail(w, r, err)
		return
	}
	if !found && len(d.Leases) == 0 {
		writeError(w, http.StatusNotFound, "not_found", "no miner "+hotkey+": not registered without a validator permit, and no leases")
		return
	}
	if d.Scores, err = a.svc.Store().ScoresOf(ctx, taskapi.ScoreQuery{Hotkey: hotkey, Limit: limit}); err != nil {
		a.fail(w, r, err)
		return
	}
	d.Leases, d.Scores = nonNil(d.Leases), nonNil(d.Scores)
	writeJSON(w, http.StatusOK, d)
}

func (a *API) validatorDetail(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	hotkey := chi.URLParam(r, "hotkey")
	limit, ok := intParam(w, r, "limit", 50, 200)
	if !ok {
		return
	}
	rows, err := a.validatorRows(ctx, a.svc.Now().Add(-a.opts.MaxReadWindow))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d := taskapi.ValidatorDetail{Scores: []taskapi.ScoredSubmission{}}
	found := false
	for _, row := range rows {
		if row.Hotkey == hotkey {
			d.Validator, found = row, true
		}
	}
	if !found {
		writeError(w, http.StatusNotFound, "not_found", "no validator "+hotkey+": no validator permit and no reports")
		return
	}
	scores, err := a.svc.Store().ScoresOf(ctx, taskapi.ScoreQuery{Validator: hotkey, Limit: limit})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	for _, sc := range scores {
		s := taskapi.ScoredSubmission{Score: sc}
		if sc.LeaseID > 0 {
			if l, err := a.svc.Store().GetLease(ctx, sc.LeaseID); err == nil {
				s.Decision = l.Decision
			} else if !errors.Is(err, taskapi.ErrNotFound) {
				a.fail(w, r, err)
				return
			}
		}
		d.Scores = append(d.Scores, s)
	}
	writeJSON(w, http.StatusOK, d)
}

func (a *API) taskHistory(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "task id")
	if !ok {
		return
	}
	t, ls, err := a.svc.Store().Task(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	scores, err := a.svc.Store().ScoresOf(r.Context(), taskapi.ScoreQuery{TaskID: id, Limit: 500})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, taskapi.TaskHistory{Task: t, Leases: nonNil(ls), Scores: nonNil(scores)})
}

func (a *API) submission(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, ok := pathID(w, r, "submission id (a lease id)")
	if !ok {
		return
	}
	l, err := a.svc.Store().GetLease(ctx, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if l.State != taskapi.LeaseCompleted || l.Commitment == "" {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("lease %d is %s: not a submission", id, l.State))
		return
	}
	v := taskapi.SubmissionView{Lease: l, Verdicts: []taskapi.Verdict{}, Unpublished: []taskapi.ReportStatus{}}
	if c, err := submission.Parse(l.Commitment); err == nil {
		v.Repo, v.Revision, v.ManifestPrefix = c.Repo, c.Revision, c.ManifestHash
	}
	if v.Task, _, err = a.svc.Store().Task(ctx, l.TaskID); err != nil {
		a.fail(w, r, err)
		return
	}
	scores, err := a.svc.Store().ScoresOf(ctx, taskapi.ScoreQuery{LeaseID: id, Limit: 1000})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	published := map[string]bool{}
	var votes []acceptance.Vote
	// Oldest first, one verdict per validator (its first published).
	for i := len(scores) - 1; i >= 0; i-- {
		sc := scores[i]
		if published[sc.Validator] {
			continue
		}
		published[sc.Validator] = true
		n, ok := a.svc.Roster().Neuron(sc.Validator)
		vd := taskapi.Verdict{Score: sc, UID: -1}
		if ok {
			vd.UID = int(n.UID)
			if n.ValidatorPermit {
				vd.Stake = n.Stake
			}
		}
		if l.Decision == taskapi.DecisionAccepted || l.Decision == taskapi.DecisionRejected {
			agrees := sc.Accepted == (l.Decision == taskapi.DecisionAccepted)
			vd.Agrees = &agrees
		}
		v.Verdicts = append(v.Verdicts, vd)
		votes = append(votes, acceptance.Vote{Validator: sc.Validator, Stake: vd.Stake, Accepted: sc.Accepted})
	}
	if v.Tally, err = a.svc.Config().Acceptance.Decide(votes); err != nil {
		a.fail(w, r, err)
		return
	}
	reporters, err := a.svc.Store().Reporters(ctx, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	for _, rs := range reporters {
		if !rs.Released && !published[rs.Validator] {
			v.Unpublished = append(v.Unpublished, rs)
		}
	}
	writeJSON(w, http.StatusOK, v)
}

func (a *API) volume(w http.ResponseWriter, r *http.Request) {
	since, bucket, ok := a.seriesParams(w, r, 24*time.Hour)
	if !ok {
		return
	}
	bs, err := a.svc.Store().VolumeSeries(r.Context(), since, bucket)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, taskapi.VolumeResponse{BucketSeconds: bucket.Seconds(), Buckets: nonNil(bs)})
}

// seriesParams reads since (default def back, at most MaxReadWindow) and
// bucket (default 1 h), at most maxBuckets buckets.
func (a *API) seriesParams(w http.ResponseWriter, r *http.Request, def time.Duration) (time.Time, time.Duration, bool) {
	since, ok := a.sinceParam(w, r, def)
	if !ok {
		return since, 0, false
	}
	bucket := time.Hour
	if v := r.URL.Query().Get("bucket"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			writeError(w, http.StatusBadRequest, "bad_request", "bucket must be a duration of at least 1s")
			return since, 0, false
		}
		bucket = d
	}
	if span := a.svc.Now().Sub(since); span/bucket > maxBuckets {
		writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("at most %d buckets: bucket must be at least %s for since %s", maxBuckets, (span/maxBuckets).Round(time.Second)+time.Second, span.Round(time.Second)))
		return since, 0, false
	}
	return since, bucket, true
}

func (a *API) metagraph(w http.ResponseWriter, r *http.Request) {
	block, neurons := a.svc.Roster().Metagraph()
	writeJSON(w, http.StatusOK, taskapi.MetagraphResponse{Netuid: a.svc.Roster().Netuid(), Block: block, Neurons: nonNil(neurons)})
}

func (a *API) payouts(w http.ResponseWriter, r *http.Request) {
	limit, ok := intParam(w, r, "limit", 500, 5000)
	if !ok {
		return
	}
	hotkey := r.URL.Query().Get("hotkey")
	block, neurons := a.svc.Roster().Metagraph()
	p := taskapi.PayoutsResponse{Block: block, Entries: []taskapi.Payout{}, Totals: []taskapi.Payout{}}
	if a.opts.Ledger != nil {
		p.Source = "ledger"
		entries, err := a.opts.Ledger.Emissions(r.Context(), a.svc.Roster().Netuid(), 0, hotkey)
		if err != nil {
			a.fail(w, r, fmt.Errorf("emission ledger: %w", err))
			return
		}
		for _, e := range entries {
			if e.ServerEmission+e.ValidatorEmission == 0 {
				continue
			}
			p.Entries = append(p.Entries, taskapi.Payout{Block: e.Block, Epoch: e.Epoch, UID: e.UID, Hotkey: e.Hotkey,
				Incentive: chain.Fraction(e.Incentive), Dividends: chain.Fraction(e.Dividends), ServerEmission: e.ServerEmission,
				ValidatorEmission: e.ValidatorEmission, Total: e.ServerEmission + e.ValidatorEmission})
		}
	} else {
		p.Source = "metagraph"
		for _, n := range neurons {
			if n.Emission == 0 || (hotkey != "" && n.Hotkey != hotkey) {
				continue
			}
			pe := taskapi.Payout{Block: block, UID: n.UID, Hotkey: n.Hotkey, Incentive: chain.Fraction(n.Incentive), Dividends: chain.Fraction(n.Dividends), Total: n.Emission}
			if n.ValidatorPermit {
				pe.ValidatorEmission = n.Emission
			} else {
				pe.ServerEmission = n.Emission
			}
			p.Entries = append(p.Entries, pe)
		}
	}
	totals := map[string]*taskapi.Payout{}
	for _, e := range p.Entries {
		t := totals[e.Hotkey]
		if t == nil {
			t = &taskapi.Payout{UID: e.UID, Hotkey: e.Hotkey}
			totals[e.Hotkey] = t
		}
		t.ServerEmission += e.ServerEmission
		t.ValidatorEmission += e.ValidatorEmission
		t.Total += e.Total
	}
	for _, t := range totals {
		p.Totals = append(p.Totals, *t)
	}
	sort.Slice(p.Totals, func(i, j int) bool {
		if p.Totals[i].Total != p.Totals[j].Total {
			return p.Totals[i].Total > p.Totals[j].Total
		}
		return p.Totals[i].Hotkey < p.Totals[j].Hotkey
	})
	// Newest first, limited.
	sort.SliceStable(p.Entries, func(i, j int) bool { return p.Entries[i].Block > p.Entries[j].Block })
	p.Entries = p.Entries[:min(len(p.Entries), limit)]
	writeJSON(w, http.StatusOK, p)
}

// kindsParam reads ?kind=a,b (event kinds, at most 16, each a short word).
func kindsParam(w http.ResponseWriter, r *http.Request) ([]string, bool) {
	v := r.URL.Query().Get("kind")
	if v == "" {
		return nil, true
	}
	kinds := strings.Split(v, ",")
	if len(kinds) > 16 {
		writeError(w, http.StatusBadRequest, "bad_request", "kind: at most 16 kinds")
		return nil, false
	}
	for _, k := range kinds {
		if k == "" || len(k) > 32 || strings.Trim(k, "abcdefghijklmnopqrstuvwxyz_") != "" {
			writeError(w, http.StatusBadRequest, "bad_request", "kind: comma-separated event kinds, e.g. completed,accepted")
			return nil, false
		}
	}
	return kinds, true
}
