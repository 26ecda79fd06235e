package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/submission"
	"github.com/datarefine/refine/taskserver"
)

// The detail pages' data: indexed lookups in the store and the chain.

// ScoreView is a validator's report with its breakdown flattened.
type ScoreView struct {
	taskserver.Score
	Accepted  *bool `json:"accepted,omitempty"`
	Breakdown []KV  `json:"breakdown"`
}

// KV is one field of a score breakdown.
type KV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func viewScore(sc taskserver.Score) ScoreView {
	v := ScoreView{Score: sc, Breakdown: flatten(sc.Detail)}
	v.Accepted = parseVerdict(sc.Detail).Accepted
	return v
}

// flatten turns a JSON detail into sorted dotted keys; a detail that is not
// a JSON object is shown as one value.
func flatten(detail string) []KV {
	out := []KV{}
	if detail == "" {
		return out
	}
	var v any
	if err := json.Unmarshal([]byte(detail), &v); err != nil {
		return append(out, KV{Key: "detail", Value: detail})
	}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				key := k
				if prefix != "" {
					key = prefix + "." + k
				}
				walk(key, e)
			}
		default:
			b, _ := json.Marshal(x)
			s := string(b)
			if str, ok := x.(string); ok {
				s = str
			}
			if prefix == "" {
				prefix = "detail"
			}
			out = append(out, KV{Key: prefix, Value: s})
		}
	}
	walk("", v)
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// MinerDetail is a miner's page.
type MinerDetail struct {
	Miner   MinerRow           `json:"miner"`
	Profile Profile            `json:"profile"`
	Neuron  *chain.Neuron      `json:"neuron,omitempty"`
	Leases  []taskserver.Lease `json:"leases"`
	Scores  []ScoreView        `json:"scores"`
}

func (s *Site) minerDetail(ctx context.Context, hotkey string) (MinerDetail, error) {
	snap, err := s.current(ctx)
	if err != nil {
		return MinerDetail{}, err
	}
	d := MinerDetail{Miner: MinerRow{Hotkey: hotkey, UID: -1}, Scores: []ScoreView{}}
	i, known := snap.minerIdx[hotkey]
	if known {
		d.Miner = snap.miners[i]
	}
	if n, ok := snap.neurons[hotkey]; ok {
		n.Weights, n.Bonds = nil, nil
		d.Neuron = &n
	}
	if d.Leases, err = s.opts.Store.Leases(ctx, hotkey, 50); err != nil {
		return d, fmt.Errorf("leases: %w", err)
	}
	// A registered validator is not a miner, unless it leased tasks.
	if !known && len(d.Leases) == 0 {
		return d, fmt.Errorf("miner %s: %w", hotkey, errNotFound)
	}
	if d.Leases == nil {
		d.Leases = []taskserver.Lease{}
	}
	scores, err := s.opts.Store.Scores(ctx, hotkey, 50)
	if err != nil {
		return d, fmt.Errorf("scores: %w", err)
	}
	for _, sc := range scores {
		d.Scores = append(d.Scores, viewScore(sc))
	}
	if d.Profile, err = s.db.profile(ctx, hotkey); err != nil {
		return d, err
	}
	return d, nil
}

// minerHistory is the score chart (time axis) and the rewards chart (block
// axis) of a miner.
func (s *Site) minerHistory(ctx context.Context, hotkey string) (scores, rewards Series, err error) {
	sc, err := s.opts.Store.Scores(ctx, hotkey, 500)
	if err != nil {
		return scores, rewards, fmt.Errorf("scores: %w", err)
	}
	scores = Series{X: []int64{}, Series: []SeriesLine{{Label: "score", Values: []float64{}}}}
	for i := len(sc) - 1; i >= 0; i-- {
		scores.X = append(scores.X, sc[i].At.Unix())
		scores.Series[0].Values = append(scores.Series[0].Values, sc[i].Score)
	}
	rewards, err = s.rewards(ctx, hotkey)
	return scores, rewards, err
}

// rewards is a hotkey's emission per epoch in α, from the chain's ledger
// when it keeps one, else from the recorded metagraph history.
func (s *Site) rewards(ctx context.Context, hotkey string) (Series, error) {
	out := Series{X: []int64{}, Series: []SeriesLine{{Label: "emission (α)", Values: []float64{}}}, Axis: "block"}
	if l, ok := s.opts.Chain.(Ledger); ok {
		entries, err := l.Emissions(ctx, s.opts.Netuid, 0, hotkey)
		if err != nil {
			return out, fmt.Errorf("ledger: %w", err)
		}
		for _, e := range entries {
			out.X = append(out.X, int64(e.Block))
			out.Series[0].Values = append(out.Series[0].Values, alpha(e.ServerEmission+e.ValidatorEmission))
		}
		return out, nil
	}
	hist, err := s.db.history(ctx, hotkey, 1000)
	if err != nil {
		return out, err
	}
	for _, p := range hist {
		out.X = append(out.X, int64(p.Block))
		out.Series[0].Values = append(out.Series[0].Values, alpha(p.Emission))
	}
	return out, nil
}

func alpha(rao uint64) float64 { return float64(rao) / 1e9 }

// ValidatorDetail is a validator's page.
type ValidatorDetail struct {
	Validator ValidatorRow  `json:"validator"`
	Profile   Profile       `json:"profile"`
	Neuron    *chain.Neuron `json:"neuron,omitempty"`
	Reports   []ReportRow   `json:"reports"`
}

// ReportRow is one score a validator reported, with the consensus.
type ReportRow struct {
	TaskID    int64     `json:"task_id"`
	Hotkey    string    `json:"hotkey"`
	Score     float64   `json:"score"`
	Consensus float64   `json:"consensus"` // median of all reports on the task
	At        time.Time `json:"at"`
}

func (s *Site) validatorDetail(ctx context.Context, hotkey string) (ValidatorDetail, error) {
	snap, err := s.current(ctx)
	if err != nil {
		return ValidatorDetail{}, err
	}
	d := ValidatorDetail{Validator: ValidatorRow{Hotkey: hotkey, UID: -1}, Reports: snap.reports[hotkey]}
	i, known := snap.validIdx[hotkey]
	if known {
		d.Validator = snap.validators[i]
	}
	if n, ok := snap.neurons[hotkey]; ok {
		n.Weights, n.Bonds = nil, nil
		d.Neuron = &n
	}
	if !known {
		return d, fmt.Errorf("validator %s: %w", hotkey, errNotFound)
	}
	if d.Reports == nil {
		d.Reports = []ReportRow{}
	}
	if d.Profile, err = s.db.profile(ctx, hotkey); err != nil {
		return d, err
	}
	return d, nil
}

// validatorHistory is a validator's trust (its agreement with consensus on
// chain) and dividends by block, and its score agreement by report.
func (s *Site) validatorHistory(ctx context.Context, hotkey string) (Series, error) {
	out := Series{X: []int64{}, Axis: "block", Series: []SeriesLine{{Label: "validator trust", Values: []float64{}}, {Label: "dividends", Values: []float64{}}}}
	hist, err := s.db.history(ctx, hotkey, 1000)
	if err != nil {
		return out, err
	}
	for _, p := range hist {
		out.X = append(out.X, int64(p.Block))
		out.Series[0].Values = append(out.Series[0].Values, p.ValidatorTrust)
		out.Series[1].Values = append(out.Series[1].Values, p.Dividends)
	}
	return out, nil
}

// TaskDetail is a task's page: its lease history and reports.
type TaskDetail struct {
	Task   taskserver.Task    `json:"task"`
	Leases []taskserver.Lease `json:"leases"`
	Scores []ScoreView        `json:"scores"`
}

func (s *Site) taskDetail(ctx context.Context, id int64) (TaskDetail, error) {
	t, leases, err := s.opts.Store.Task(ctx, id)
	if err != nil {
		return TaskDetail{}, fmt.Errorf("task %d: %w", id, err)
	}
	d := TaskDetail{Task: t, Leases: leases}
	if d.Leases == nil {
		d.Leases = []taskserver.Lease{}
	}
	if d.Scores, err = s.taskScores(ctx, leases, id); err != nil {
		return d, err
	}
	return d, nil
}

// taskScores finds the reports on a task through its miners' scores.
func (s *Site) taskScores(ctx context.Context, leases []taskserver.Lease, task int64) ([]ScoreView, error) {
	out := []ScoreView{}
	seen := map[string]bool{}
	for _, l := range leases {
		if l.State != taskserver.LeaseCompleted || seen[l.Hotkey] {
			continue
		}
		seen[l.Hotkey] = true
		scores, err := s.opts.Store.Scores(ctx, l.Hotkey, 1000)
		if err != nil {
			return nil, fmt.Errorf("scores: %w", err)
		}
		for _, sc := range scores {
			if sc.TaskID == task {
				out = append(out, viewScore(sc))
			}
		}
	}
	return out, nil
}

// SubmissionDetail is a completed lease: the commitment, the dataset
// revision it names and the validators' score breakdowns.
type SubmissionDetail struct {
	Lease          taskserver.Lease `json:"lease"`
	Task           taskserver.Task  `json:"task"`
	Repo           string           `json:"repo"`
	Revision       string           `json:"revision"`
	ManifestPrefix string           `json:"manifest_sha256_prefix"`
	RevisionURL    string           `json:"revision_url,omitempty"`
	ManifestURL    string           `json:"manifest_url,omitempty"`
	Scores         []ScoreView      `json:"scores"`
}

func (s *Site) submissionDetail(ctx context.Context, leaseID int64) (SubmissionDetail, error) {
	l, err := s.opts.Store.GetLease(ctx, leaseID)
	if err != nil {
		return SubmissionDetail{}, fmt.Errorf("lease %d: %w", leaseID, err)
	}
	if l.Commitment == "" {
		return SubmissionDetail{}, fmt.Errorf("lease %d has no submission: %w", leaseID, errNotFound)
	}
	d := SubmissionDetail{Lease: l}
	if c, err := submission.Parse(l.Commitment); err == nil {
		d.Repo, d.Revision, d.ManifestPrefix = c.Repo, c.Revision, c.ManifestHash
		if u := s.opts.RevisionURL(c.Repo, c.Revision); u != "" {
			d.RevisionURL = u
			if strings.Contains(u, "/tree/") {
				d.ManifestURL = strings.Replace(u, "/tree/", "/blob/", 1) + "/manifest.json"
			}
		}
	}
	t, _, err := s.opts.Store.Task(ctx, l.TaskID)
	if err != nil && !errors.Is(err, taskserver.ErrNotFound) {
		return d, fmt.Errorf("task %d: %w", l.TaskID, err)
	}
	d.Task = t
	if d.Scores, err = s.taskScores(ctx, []taskserver.Lease{l}, l.TaskID); err != nil {
		return d, err
	}
	return d, nil
}

// Payouts is the payout ledger: who earned what, per epoch.
type Payouts struct {
	Source  string      `json:"source"` // "ledger" (the chain's) or "metagraph" (recorded snapshots)
	Entries []PayoutRow `json:"entries"`
	Totals  []PayoutRow `json:"totals"` // per hotkey, largest first
}

// PayoutRow is one hotkey's reward in one epoch (or in total).
type PayoutRow struct {
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

func (s *Site) payouts(ctx context.Context, hotkey string, limit int) (Payouts, error) {
	p := Payouts{Entries: []PayoutRow{}, Totals: []PayoutRow{}}
	totals := map[string]*PayoutRow{}
	add := func(r PayoutRow) {
		p.Entries = append(p.Entries, r)
		t := totals[r.Hotkey]
		if t == nil {
			t = &PayoutRow{UID: r.UID, Hotkey: r.Hotkey}
			totals[r.Hotkey] = t
		}
		t.ServerEmission += r.ServerEmission
		t.ValidatorEmission += r.ValidatorEmission
		t.Total += r.Total
	}
	if l, ok := s.opts.Chain.(Ledger); ok {
		p.Source = "ledger"
		entries, err := l.Emissions(ctx, s.opts.Netuid, 0, hotkey)
		if err != nil {
			return p, fmt.Errorf("ledger: %w", err)
		}
		for _, e := range entries {
			if e.ServerEmission+e.ValidatorEmission == 0 {
				continue
			}
			add(PayoutRow{Block: e.Block, Epoch: e.Epoch, UID: e.UID, Hotkey: e.Hotkey, Incentive: chain.Fraction(e.Incentive),
				Dividends: chain.Fraction(e.Dividends), ServerEmission: e.ServerEmission, ValidatorEmission: e.ValidatorEmission,
				Total: e.ServerEmission + e.ValidatorEmission})
		}
	} else {
		p.Source = "metagraph"
		rows, err := s.db.recentHistory(ctx, hotkey, 5000)
		if err != nil {
			return p, err
		}
		for _, r := range rows {
			if r.Emission == 0 {
				continue
			}
			add(PayoutRow{Block: r.Block, UID: r.UID, Hotkey: r.Hotkey, Incentive: r.Incentive, Dividends: r.Dividends, Total: r.Emission})
		}
	}
	// Newest first, limited; totals cover everything read.
	for i, j := 0, len(p.Entries)-1; i < j; i, j = i+1, j-1 {
		p.Entries[i], p.Entries[j] = p.Entries[j], p.Entries[i]
	}
	if limit > 0 && len(p.Entries) > limit {
		p.Entries = p.Entries[:limit]
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
	return p, nil
}
