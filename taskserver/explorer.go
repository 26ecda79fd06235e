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
)

// The explorer: the public reads that join the store's read model
// (reads.go) with the chain's numbers the roster caches, so that the
// website and anybody else read one set of numbers, computed in one place.
// Like every public read they are limited per client address, bounded in
// what they read (MaxReadWindow) and cached (PublicCacheTTL).

// ActiveWindow is how recent a lease (miner) or a report (validator) must
// be for the explorer to count a neuron as active.
const ActiveWindow = time.Hour

// ChainInfo is a neuron's standing on chain, from the cached metagraph:
// proportions in [0, 1], amounts in rao (1 α = 1e9 rao). UID is -1 for a
// hotkey that is not registered.
type ChainInfo struct {
	UID             int     `json:"uid"`
	Stake           uint64  `json:"stake"`
	ValidatorPermit bool    `json:"validator_permit"`
	Incentive       float64 `json:"incentive"`
	Dividends       float64 `json:"dividends"`
	ValidatorTrust  float64 `json:"validator_trust"`
	Consensus       float64 `json:"consensus"`
	// Emission is the last epoch's emission.
	Emission uint64 `json:"emission"`
}

func chainInfo(n chain.Neuron, ok bool) ChainInfo {
	if !ok {
		return ChainInfo{UID: -1}
	}
	return ChainInfo{UID: int(n.UID), Stake: n.Stake, ValidatorPermit: n.ValidatorPermit, Incentive: chain.Fraction(n.Incentive),
		Dividends: chain.Fraction(n.Dividends), ValidatorTrust: chain.Fraction(n.ValidatorTrust),
		Consensus: chain.Fraction(n.Consensus), Emission: n.Emission}
}

// MinerRow is a miner's activity and standing.
type MinerRow struct {
	MinerActivity
	ChainInfo
	// Active: it held or heartbeated a lease within ActiveWindow.
	Active bool `json:"active"`
}

// ValidatorRow is a validator's reporting and standing.
type ValidatorRow struct {
	ValidatorActivity
	ChainInfo
	// Agreement is ValidatorActivity.Agreement: the share of its
	// published verdicts on decided submissions that were the decision.
	Agreement float64 `json:"agreement"`
	// Active: it reported within ActiveWindow.
	Active bool `json:"active"`
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
		rs, err := a.svc.Store().ScoresOf(ctx, ScoreQuery{Validator: n.Hotkey, Limit: 1})
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
func (a *API) minerRows(ctx context.Context, since time.Time) ([]MinerRow, error) {
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
	var rows []MinerRow
	for _, m := range acts {
		n, ok := byKey[m.Hotkey]
		seen[m.Hotkey] = true
		rows = append(rows, MinerRow{MinerActivity: m, ChainInfo: chainInfo(n, ok), Active: now.Sub(m.LastSeen) <= ActiveWindow})
	}
	for _, n := range neurons {
		if !validators[n.Hotkey] && !seen[n.Hotkey] {
			rows = append(rows, MinerRow{MinerActivity: MinerActivity{Hotkey: n.Hotkey}, ChainInfo: chainInfo(n, true)})
		}
	}
	sortByUID(rows, func(r MinerRow) (int, string) { return r.UID, r.Hotkey })
	return rows, nil
}

// validatorRows are the validators (validatorSet), by uid (unregistered
// last). Miners are never listed, permit or not.
func (a *API) validatorRows(ctx context.Context, since time.Time) ([]ValidatorRow, error) {
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
	var rows []ValidatorRow
	for _, v := range acts {
		n, ok := byKey[v.Hotkey]
		seen[v.Hotkey] = true
		rows = append(rows, ValidatorRow{ValidatorActivity: v, ChainInfo: chainInfo(n, ok), Agreement: v.Agreement(),
			Active: !v.LastReport.IsZero() && now.Sub(v.LastReport) <= ActiveWindow})
	}
	for _, n := range neurons {
		if validators[n.Hotkey] && !seen[n.Hotkey] {
			rows = append(rows, ValidatorRow{ValidatorActivity: ValidatorActivity{Hotkey: n.Hotkey}, ChainInfo: chainInfo(n, true)})
		}
	}
	sortByUID(rows, func(r ValidatorRow) (int, string) { return r.UID, r.Hotkey })
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

// ValidatorsResponse lists validators.
type ValidatorsResponse struct {
	Since          time.Time      `json:"since"`
	MetagraphBlock uint64         `json:"metagraph_block"`
	Validators     []ValidatorRow `json:"validators"`
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
	writeJSON(w, http.StatusOK, ValidatorsResponse{Since: since.UTC(), MetagraphBlock: block, Validators: nonNil(rows)})
}

// MinerDetail is one miner: its row, newest leases and published scores.
type MinerDetail struct {
	Miner  MinerRow `json:"miner"`
	Leases []Lease  `json:"leases"`
	Scores []Score  `json:"scores"`
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
	d := MinerDetail{Miner: MinerRow{MinerActivity: MinerActivity{Hotkey: hotkey}, ChainInfo: ChainInfo{UID: -1}}}
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
	if d.Scores, err = a.svc.Store().ScoresOf(ctx, ScoreQuery{Hotkey: hotkey, Limit: limit}); err != nil {
		a.fail(w, r, err)
		return
	}
	d.Leases, d.Scores = nonNil(d.Leases), nonNil(d.Scores)
	writeJSON(w, http.StatusOK, d)
}

// ScoredSubmission is a published score with the decision on the
// submission it scored.
type ScoredSubmission struct {
	Score
	Decision Decision `json:"decision,omitempty"`
}

// ValidatorDetail is one validator: its row and newest published scores.
type ValidatorDetail struct {
	Validator ValidatorRow       `json:"validator"`
	Scores    []ScoredSubmission `json:"scores"`
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
	d := ValidatorDetail{Scores: []ScoredSubmission{}}
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
	scores, err := a.svc.Store().ScoresOf(ctx, ScoreQuery{Validator: hotkey, Limit: limit})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	for _, sc := range scores {
		s := ScoredSubmission{Score: sc}
		if sc.LeaseID > 0 {
			if l, err := a.svc.Store().GetLease(ctx, sc.LeaseID); err == nil {
				s.Decision = l.Decision
			} else if !errors.Is(err, ErrNotFound) {
				a.fail(w, r, err)
				return
			}
		}
		d.Scores = append(d.Scores, s)
	}
	writeJSON(w, http.StatusOK, d)
}

// TaskHistory is a task, its leases (oldest first) and the published
// scores of its submissions.
type TaskHistory struct {
	Task   Task    `json:"task"`
	Leases []Lease `json:"leases"`
	Scores []Score `json:"scores"`
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
	scores, err := a.svc.Store().ScoresOf(r.Context(), ScoreQuery{TaskID: id, Limit: 500})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, TaskHistory{Task: t, Leases: nonNil(ls), Scores: nonNil(scores)})
}

// SubmissionView is one submission (a completed lease): its commitment,
// the decision, every published verdict with its validator's standing,
// who else reported (verdict not published yet), and the acceptance rule
// applied to the published verdicts.
type SubmissionView struct {
	Lease Lease `json:"lease"`
	Task  Task  `json:"task"`
	// Repo, Revision and ManifestPrefix are the commitment's parts.
	Repo           string `json:"repo"`
	Revision       string `json:"revision"`
	ManifestPrefix string `json:"manifest_sha256_prefix"`
	// Verdicts are the published scores, one per validator.
	Verdicts []Verdict `json:"verdicts"`
	// Unpublished are the validators whose reports are not released yet.
	Unpublished []ReportStatus `json:"unpublished"`
	// Tally is the acceptance rule (AcceptanceShare) over the published
	// verdicts with the validators' current stakes; Decision (on the
	// lease) is the task server's, made as reports arrived.
	Tally acceptance.Decision `json:"tally"`
}

// Verdict is one validator's published score on a submission.
type Verdict struct {
	Score
	UID   int    `json:"uid"`
	Stake uint64 `json:"stake"`
	// Agrees says whether the verdict is the decision (absent while the
	// submission is undecided).
	Agrees *bool `json:"agrees,omitempty"`
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
	if l.State != LeaseCompleted || l.Commitment == "" {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("lease %d is %s: not a submission", id, l.State))
		return
	}
	v := SubmissionView{Lease: l, Verdicts: []Verdict{}, Unpublished: []ReportStatus{}}
	if c, err := submission.Parse(l.Commitment); err == nil {
		v.Repo, v.Revision, v.ManifestPrefix = c.Repo, c.Revision, c.ManifestHash
	}
	if v.Task, _, err = a.svc.Store().Task(ctx, l.TaskID); err != nil {
		a.fail(w, r, err)
		return
	}
	scores, err := a.svc.Store().ScoresOf(ctx, ScoreQuery{LeaseID: id, Limit: 1000})
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
		vd := Verdict{Score: sc, UID: -1}
		if ok {
			vd.UID = int(n.UID)
			if n.ValidatorPermit {
				vd.Stake = n.Stake
			}
		}
		if l.Decision == DecisionAccepted || l.Decision == DecisionRejected {
			agrees := sc.Accepted == (l.Decision == DecisionAccepted)
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

// VolumeResponse is the accepted output per bucket of decision time.
type VolumeResponse struct {
	BucketSeconds float64        `json:"bucket_s"`
	Buckets       []VolumeBucket `json:"buckets"`
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
	writeJSON(w, http.StatusOK, VolumeResponse{BucketSeconds: bucket.Seconds(), Buckets: nonNil(bs)})
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

// MetagraphResponse is the subnet's neurons as the task server last read
// them (without weights and bonds).
type MetagraphResponse struct {
	Netuid  uint16         `json:"netuid"`
	Block   uint64         `json:"block"`
	Neurons []chain.Neuron `json:"neurons"`
}

func (a *API) metagraph(w http.ResponseWriter, r *http.Request) {
	block, neurons := a.svc.Roster().Metagraph()
	writeJSON(w, http.StatusOK, MetagraphResponse{Netuid: a.svc.Roster().Netuid(), Block: block, Neurons: nonNil(neurons)})
}

// Payout is one hotkey's reward in one epoch (or its total).
type Payout struct {
	Block             uint64  `json:"block,omitempty"`
	Epoch             uint64  `json:"epoch,omitempty"`
	UID               uint16  `json:"uid"`
	Hotkey            string  `json:"hotkey"`
	Incentive         float64 `json:"incentive"`
	Dividends         float64 `json:"dividends"`
	ServerEmission    uint64  `json:"server_emission"`
	ValidatorEmission uint64  `json:"validator_emission"`
	Total             uint64  `json:"total"` // rao
}

// PayoutsResponse is the payout ledger: Source "ledger" when the chain
// keeps every epoch's rewards (the devchain), else "metagraph": the last
// epoch's emission of every neuron at the metagraph's block (subtensor
// keeps no history). Entries are newest first, at most limit; Totals sum
// every entry read, per hotkey, largest first.
type PayoutsResponse struct {
	Source  string   `json:"source"`
	Block   uint64   `json:"block"`
	Entries []Payout `json:"entries"`
	Totals  []Payout `json:"totals"`
}

func (a *API) payouts(w http.ResponseWriter, r *http.Request) {
	limit, ok := intParam(w, r, "limit", 500, 5000)
	if !ok {
		return
	}
	hotkey := r.URL.Query().Get("hotkey")
	block, neurons := a.svc.Roster().Metagraph()
	p := PayoutsResponse{Block: block, Entries: []Payout{}, Totals: []Payout{}}
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
			p.Entries = append(p.Entries, Payout{Block: e.Block, Epoch: e.Epoch, UID: e.UID, Hotkey: e.Hotkey,
				Incentive: chain.Fraction(e.Incentive), Dividends: chain.Fraction(e.Dividends), ServerEmission: e.ServerEmission,
				ValidatorEmission: e.ValidatorEmission, Total: e.ServerEmission + e.ValidatorEmission})
		}
	} else {
		p.Source = "metagraph"
		for _, n := range neurons {
			if n.Emission == 0 || (hotkey != "" && n.Hotkey != hotkey) {
				continue
			}
			pe := Payout{Block: block, UID: n.UID, Hotkey: n.Hotkey, Incentive: chain.Fraction(n.Incentive), Dividends: chain.Fraction(n.Dividends), Total: n.Emission}
			if n.ValidatorPermit {
				pe.ValidatorEmission = n.Emission
			} else {
				pe.ServerEmission = n.Emission
			}
			p.Entries = append(p.Entries, pe)
		}
	}
	totals := map[string]*Payout{}
	for _, e := range p.Entries {
		t := totals[e.Hotkey]
		if t == nil {
			t = &Payout{UID: e.UID, Hotkey: e.Hotkey}
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

// EventKinds are the kinds of events, for documentation and the site's
// filter: every transition the store records.
var EventKinds = []string{"imported", "leased", "heartbeat", "completed", "released", "expired", "scored", "accepted", "rejected", "reopened"}
