package web

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/taskserver"
)

// The pages read one in-memory snapshot, rebuilt in the background every
// RefreshEvery: the expensive aggregations (every score ever reported,
// every miner's leases) run once per refresh instead of once per request,
// which keeps the overview and leaderboards fast however large the task
// database grows. Detail pages query the store directly (indexed lookups).

// Overview is the front page's numbers.
type Overview struct {
	Updated time.Time         `json:"updated"`
	Block   uint64            `json:"block"`
	Netuid  uint16            `json:"netuid"`
	Tasks   taskserver.Counts `json:"tasks"`
	// Refined output, counted once per task from its validators' reports.
	Submissions    int64   `json:"submissions"` // tasks with at least one report
	Accepted       int64   `json:"accepted"`    // of those, accepted by most reporters
	Documents      int64   `json:"documents"`
	Tokens         int64   `json:"tokens"`
	VerifiedTokens float64 `json:"verified_tokens"`
	Bytes          int64   `json:"bytes"` // dataset size, when reports carry it
	// Crawls are the refined output per crawl, largest first.
	Crawls []CrawlStats `json:"crawls"`

	RegisteredNeurons   int                `json:"registered_neurons"`
	ActiveMiners        int                `json:"active_miners"`
	ActiveValidators    int                `json:"active_validators"`
	CompletionsLastHour int64              `json:"completions_last_hour"`
	CompletionsPerHour  float64            `json:"completions_per_hour"` // mean over the last day
	Events              []taskserver.Event `json:"events"`
}

// CrawlStats is the refined output of one crawl.
type CrawlStats struct {
	Crawl     string `json:"crawl"`
	Tasks     int64  `json:"tasks"` // accepted tasks
	Documents int64  `json:"documents"`
	Tokens    int64  `json:"tokens"`
	Bytes     int64  `json:"bytes"`
}

// MinerRow is one miner on the leaderboard.
type MinerRow struct {
	Hotkey         string    `json:"hotkey"`
	Name           string    `json:"name,omitempty"`
	UID            int       `json:"uid"` // -1 when not registered
	Active         bool      `json:"active"`
	Score          float64   `json:"score"`   // mean of validators' submission scores
	Quality        float64   `json:"quality"` // mean quality in [0, 1]
	VerifiedTokens float64   `json:"verified_tokens"`
	Tokens         int64     `json:"tokens"`
	Documents      int64     `json:"documents"`
	Submissions    int64     `json:"submissions"`
	Accepted       int64     `json:"accepted"`
	Leases         int64     `json:"leases"`
	Completed      int64     `json:"completed"`
	Expired        int64     `json:"expired"`
	Live           int64     `json:"live"`
	AvgSeconds     float64   `json:"avg_seconds"`
	LastSeen       time.Time `json:"last_seen,omitzero"`
	Incentive      float64   `json:"incentive"`
	Emission       uint64    `json:"emission"` // rao, last epoch
}

// ValidatorRow is one validator on the leaderboard.
type ValidatorRow struct {
	Hotkey         string    `json:"hotkey"`
	Name           string    `json:"name,omitempty"`
	UID            int       `json:"uid"`
	Active         bool      `json:"active"`
	Permit         bool      `json:"validator_permit"`
	Stake          uint64    `json:"stake"` // rao
	ValidatorTrust float64   `json:"validator_trust"`
	Dividends      float64   `json:"dividends"`
	Emission       uint64    `json:"emission"`
	Reports        int64     `json:"reports"`
	Agreement      float64   `json:"agreement"` // mean agreement of its scores with the per-task median
	LastReport     time.Time `json:"last_report,omitzero"`
}

// Series is a chart's data: x in Unix seconds, one or more y series.
type Series struct {
	X []int64 `json:"x"`
	// Axis is what x counts: "time" (Unix seconds, the default) or "block".
	Axis   string       `json:"axis,omitempty"`
	Series []SeriesLine `json:"series"`
}

// SeriesLine is one line of a chart.
type SeriesLine struct {
	Label  string    `json:"label"`
	Values []float64 `json:"values"`
}

type snapshot struct {
	overview    Overview
	miners      []MinerRow
	validators  []ValidatorRow
	minerIdx    map[string]int
	validIdx    map[string]int
	neurons     map[string]chain.Neuron
	tokensDay   Series
	completions Series
	// reports are each validator's newest reports (at most 50).
	reports map[string][]ReportRow
	// cache holds what was rendered from this snapshot (page bodies and
	// JSON answers, by a key naming the view), so that the busiest views
	// cost one render per refresh rather than one per request.
	cache sync.Map
}

// cached returns the bytes of key, computing them once per snapshot.
func (sn *snapshot) cached(key string, make func() ([]byte, error)) ([]byte, error) {
	if v, ok := sn.cache.Load(key); ok {
		return v.([]byte), nil
	}
	b, err := make()
	if err != nil {
		return nil, err
	}
	sn.cache.Store(key, b)
	return b, nil
}

// verdict is the part of a score's detail the site reads; validators put
// their verdict there (validator/verify.Verdict), and unknown fields are
// ignored.
type verdict struct {
	Accepted       *bool    `json:"accepted"`
	Documents      int64    `json:"documents"`
	Tokens         int64    `json:"tokens"`
	VerifiedTokens float64  `json:"verified_tokens"`
	Quality        *float64 `json:"quality"`
	Bytes          int64    `json:"bytes"`
	ElapsedBlocks  uint64   `json:"elapsed_blocks"`
}

func parseVerdict(detail string) verdict {
	var v verdict
	if detail != "" {
		_ = json.Unmarshal([]byte(detail), &v) // a malformed detail counts as empty
	}
	return v
}

type report struct {
	task      int64
	validator string
	score     float64
	at        time.Time
	v         verdict
}

type taskAgg struct {
	hotkey  string
	crawl   string
	reports []report
}

// accepted is the majority of the reports (ties accept), and the counts
// are the largest any accepting reporter saw.
func (t *taskAgg) outcome() (ok bool, docs, tokens, bytes int64, verified float64, first time.Time) {
	yes := 0
	for _, r := range t.reports {
		if r.v.Accepted == nil || *r.v.Accepted {
			yes++
			docs, tokens, bytes = max(docs, r.v.Documents), max(tokens, r.v.Tokens), max(bytes, r.v.Bytes)
			verified = math.Max(verified, r.v.VerifiedTokens)
			if first.IsZero() || r.at.Before(first) {
				first = r.at
			}
		}
	}
	return 2*yes >= len(t.reports), docs, tokens, bytes, verified, first
}

// aggregator keeps the running state across refreshes: scores are read
// incrementally (only those newer than the last seen id).
type aggregator struct {
	lastScore int64
	tasks     map[int64]*taskAgg
	crawls    map[int64]string // task id → crawl, looked up once
}

func newAggregator() *aggregator {
	return &aggregator{tasks: map[int64]*taskAgg{}, crawls: map[int64]string{}}
}

// readNewScores returns the scores with id > lastScore, oldest first. The
// store lists newest first with a limit, so the limit grows until the page
// reaches back to an id already seen.
func readNewScores(ctx context.Context, st taskserver.Store, lastScore int64) ([]taskserver.Score, error) {
	for limit := 1000; ; limit *= 4 {
		scores, err := st.Scores(ctx, "", limit)
		if err != nil {
			return nil, fmt.Errorf("read scores: %w", err)
		}
		if len(scores) < limit || scores[len(scores)-1].ID <= lastScore {
			n := 0
			for n < len(scores) && scores[n].ID > lastScore {
				n++
			}
			out := scores[:n]
			slices.Reverse(out)
			return out, nil
		}
	}
}

func (a *aggregator) addScores(scores []taskserver.Score) {
	for _, s := range scores {
		t := a.tasks[s.TaskID]
		if t == nil {
			t = &taskAgg{hotkey: s.Hotkey}
			a.tasks[s.TaskID] = t
		}
		t.reports = append(t.reports, report{task: s.TaskID, validator: s.Validator, score: s.Score, at: s.At, v: parseVerdict(s.Detail)})
		a.lastScore = max(a.lastScore, s.ID)
	}
}

// CrawlReader is a store that reads the crawls of many tasks at once; the
// site uses it when the store has it, and otherwise looks tasks up one by
// one, at most CrawlLookups per refresh.
type CrawlReader interface {
	TaskCrawls(ctx context.Context, ids []int64) (map[int64]string, error)
}

// lookupCrawls fills in the crawl of scored tasks.
func (a *aggregator) lookupCrawls(ctx context.Context, st taskserver.Store, limit int) error {
	var ids []int64
	for id, t := range a.tasks {
		if t.crawl != "" {
			continue
		}
		if c, ok := a.crawls[id]; ok {
			t.crawl = c
			continue
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil
	}
	if cr, ok := st.(CrawlReader); ok {
		crawls, err := cr.TaskCrawls(ctx, ids)
		if err != nil {
			return fmt.Errorf("task crawls: %w", err)
		}
		for _, id := range ids {
			c := crawls[id]
			if c == "" {
				c = "unknown"
			}
			a.crawls[id], a.tasks[id].crawl = c, c
		}
		return nil
	}
	for _, id := range ids[:min(len(ids), limit)] {
		c := "unknown"
		if task, _, err := st.Task(ctx, id); err == nil {
			c = task.Crawl
		} else if ctx.Err() != nil {
			return ctx.Err()
		}
		a.crawls[id], a.tasks[id].crawl = c, c
	}
	return nil
}

// build computes a snapshot from the aggregated reports, the store's
// activity and the metagraph.
func (s *Site) build(ctx context.Context) (*snapshot, error) {
	now := s.opts.Now().UTC()
	st := s.opts.Store
	counts, err := st.Counts(ctx)
	if err != nil {
		return nil, fmt.Errorf("counts: %w", err)
	}
	scores, err := readNewScores(ctx, st, s.agg.lastScore)
	if err != nil {
		return nil, err
	}
	s.agg.addScores(scores)
	if err := s.agg.lookupCrawls(ctx, st, s.opts.CrawlLookups); err != nil {
		return nil, err
	}
	activity, err := st.Miners(ctx, time.Time{})
	if err != nil {
		return nil, fmt.Errorf("miner activity: %w", err)
	}
	events, err := st.Events(ctx, 0, 20)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	comp, err := st.Completions(ctx, now.Add(-48*time.Hour), time.Hour)
	if err != nil {
		return nil, fmt.Errorf("completions: %w", err)
	}
	var mg *chain.Metagraph
	if s.opts.Chain != nil {
		if mg, err = s.opts.Chain.Metagraph(ctx, s.opts.Netuid); err != nil {
			return nil, fmt.Errorf("metagraph: %w", err)
		}
		if err := s.recordHistory(ctx, mg, now); err != nil {
			return nil, err
		}
	}
	names, err := s.db.displayNames(ctx)
	if err != nil {
		return nil, err
	}

	snap := &snapshot{minerIdx: map[string]int{}, validIdx: map[string]int{}, neurons: map[string]chain.Neuron{}, reports: map[string][]ReportRow{}}
	ov := &snap.overview
	ov.Updated, ov.Netuid, ov.Tasks, ov.Events = now, s.opts.Netuid, counts, events
	if ov.Events == nil {
		ov.Events = []taskserver.Event{}
	}
	if mg != nil {
		ov.Block, ov.RegisteredNeurons = mg.Block, len(mg.Neurons)
		for _, n := range mg.Neurons {
			snap.neurons[n.Hotkey] = n
		}
	}

	miner := func(hotkey string) *MinerRow {
		if i, ok := snap.minerIdx[hotkey]; ok {
			return &snap.miners[i]
		}
		snap.minerIdx[hotkey] = len(snap.miners)
		snap.miners = append(snap.miners, MinerRow{Hotkey: hotkey, Name: names[hotkey], UID: -1})
		return &snap.miners[len(snap.miners)-1]
	}
	validator := func(hotkey string) *ValidatorRow {
		if i, ok := snap.validIdx[hotkey]; ok {
			return &snap.validators[i]
		}
		snap.validIdx[hotkey] = len(snap.validators)
		snap.validators = append(snap.validators, ValidatorRow{Hotkey: hotkey, Name: names[hotkey], UID: -1})
		return &snap.validators[len(snap.validators)-1]
	}
	// Every registered neuron without a permit is listed as a miner, every
	// one with a permit as a validator, even before any activity.
	if mg != nil {
		for _, n := range mg.Neurons {
			if n.ValidatorPermit {
				validator(n.Hotkey)
			} else {
				miner(n.Hotkey)
			}
		}
	}
	for _, a := range activity {
		m := miner(a.Hotkey)
		m.Leases, m.Completed, m.Expired, m.Live, m.AvgSeconds, m.LastSeen = a.Leases, a.Completed, a.Expired, a.Live, a.AvgSeconds, a.LastSeen
	}

	crawls := map[string]*CrawlStats{}
	days := map[int64]float64{}
	type agree struct {
		sum float64
		n   int64
	}
	agreements := map[string]*agree{}
	qualities := map[string]*agree{}
	scoreSums := map[string]*agree{}
	for _, t := range s.agg.tasks {
		m := miner(t.hotkey)
		m.Submissions++
		ov.Submissions++
		ok, docs, tokens, bytes, verified, first := t.outcome()
		med := medianScore(t.reports)
		for _, r := range t.reports {
			snap.reports[r.validator] = append(snap.reports[r.validator], ReportRow{TaskID: r.task, Hotkey: t.hotkey, Score: r.score, Consensus: med, At: r.at})
			v := validator(r.validator)
			v.Reports++
			if r.at.After(v.LastReport) {
				v.LastReport = r.at
			}
			if len(t.reports) > 1 {
				a := agreements[r.validator]
				if a == nil {
					a = &agree{}
					agreements[r.validator] = a
				}
				a.sum += agreement(r.score, med)
				a.n++
			}
			sc := scoreSums[t.hotkey]
			if sc == nil {
				sc = &agree{}
				scoreSums[t.hotkey] = sc
			}
			sc.sum += r.score
			sc.n++
			if r.v.Quality != nil {
				q := qualities[t.hotkey]
				if q == nil {
					q = &agree{}
					qualities[t.hotkey] = q
				}
				q.sum += *r.v.Quality
				q.n++
			}
		}
		if !ok {
			continue
		}
		m.Accepted++
		m.Documents += docs
		m.Tokens += tokens
		m.VerifiedTokens += verified
		ov.Accepted++
		ov.Documents += docs
		ov.Tokens += tokens
		ov.Bytes += bytes
		ov.VerifiedTokens += verified
		crawl := t.crawl
		if crawl == "" {
			crawl = "unknown"
		}
		c := crawls[crawl]
		if c == nil {
			c = &CrawlStats{Crawl: crawl}
			crawls[crawl] = c
		}
		c.Tasks++
		c.Documents += docs
		c.Tokens += tokens
		c.Bytes += bytes
		if !first.IsZero() {
			days[first.Truncate(24*time.Hour).Unix()] += float64(tokens)
		}
	}
	for v, rs := range snap.reports {
		sort.Slice(rs, func(i, j int) bool {
			return rs[i].At.After(rs[j].At) || (rs[i].At.Equal(rs[j].At) && rs[i].TaskID > rs[j].TaskID)
		})
		snap.reports[v] = rs[:min(len(rs), 50)]
	}
	for hk, a := range scoreSums {
		miner(hk).Score = a.sum / float64(a.n)
	}
	for hk, a := range qualities {
		miner(hk).Quality = a.sum / float64(a.n)
	}
	for hk, a := range agreements {
		validator(hk).Agreement = a.sum / float64(a.n)
	}
	for _, c := range crawls {
		ov.Crawls = append(ov.Crawls, *c)
	}
	sort.Slice(ov.Crawls, func(i, j int) bool {
		if ov.Crawls[i].Tokens != ov.Crawls[j].Tokens {
			return ov.Crawls[i].Tokens > ov.Crawls[j].Tokens
		}
		return ov.Crawls[i].Crawl < ov.Crawls[j].Crawl
	})
	if ov.Crawls == nil {
		ov.Crawls = []CrawlStats{}
	}

	// Chain numbers, and who counts as active.
	window := s.opts.ActiveWindow
	for i := range snap.miners {
		m := &snap.miners[i]
		if n, ok := snap.neurons[m.Hotkey]; ok {
			m.UID, m.Incentive, m.Emission = int(n.UID), chain.Fraction(n.Incentive), n.Emission
		}
		m.Active = !m.LastSeen.IsZero() && now.Sub(m.LastSeen) <= window
		if m.Active {
			ov.ActiveMiners++
		}
	}
	for i := range snap.validators {
		v := &snap.validators[i]
		if n, ok := snap.neurons[v.Hotkey]; ok {
			v.UID, v.Permit, v.Stake = int(n.UID), n.ValidatorPermit, n.Stake
			v.ValidatorTrust, v.Dividends, v.Emission = chain.Fraction(n.ValidatorTrust), chain.Fraction(n.Dividends), n.Emission
		}
		v.Active = (!v.LastReport.IsZero() && now.Sub(v.LastReport) <= window) || (v.Permit && v.Dividends > 0)
		if v.Active {
			ov.ActiveValidators++
		}
	}
	// Default orders: miners by score, validators by stake.
	sortMiners(snap.miners, "score", true)
	sortValidators(snap.validators, "stake", true)
	for i, m := range snap.miners {
		snap.minerIdx[m.Hotkey] = i
	}
	for i, v := range snap.validators {
		snap.validIdx[v.Hotkey] = i
	}

	// Time series.
	dayKeys := make([]int64, 0, len(days))
	for d := range days {
		dayKeys = append(dayKeys, d)
	}
	slices.Sort(dayKeys)
	snap.tokensDay = Series{X: dayKeys, Series: []SeriesLine{{Label: "tokens", Values: make([]float64, len(dayKeys))}}}
	for i, d := range dayKeys {
		snap.tokensDay.Series[0].Values[i] = days[d]
	}
	snap.completions = hourly(comp, now)
	var lastDay int64
	for i, b := range comp {
		if now.Sub(b.Start) <= 24*time.Hour {
			lastDay += b.Count
		}
		if i == len(comp)-1 && now.Sub(b.Start) < time.Hour {
			ov.CompletionsLastHour = b.Count
		}
	}
	ov.CompletionsPerHour = float64(lastDay) / 24
	return snap, nil
}

// hourly fills the empty hours of the last 48 with zeros, so the chart's
// x axis is continuous.
func hourly(b []taskserver.Bucket, now time.Time) Series {
	end := now.Truncate(time.Hour)
	start := end.Add(-47 * time.Hour)
	counts := map[int64]int64{}
	for _, x := range b {
		counts[x.Start.Unix()] = x.Count
	}
	out := Series{Series: []SeriesLine{{Label: "completions"}}}
	for t := start; !t.After(end); t = t.Add(time.Hour) {
		out.X = append(out.X, t.Unix())
		out.Series[0].Values = append(out.Series[0].Values, float64(counts[t.Unix()]))
	}
	return out
}

func medianScore(rs []report) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = r.score
	}
	slices.Sort(v)
	n := len(v)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// agreement is 1 for a score equal to the consensus (median) and falls
// linearly to 0 at a relative difference of 100%.
func agreement(s, consensus float64) float64 {
	den := math.Max(math.Abs(s), math.Abs(consensus))
	if den == 0 {
		return 1
	}
	return math.Max(0, 1-math.Abs(s-consensus)/den)
}

// recordHistory stores the metagraph's chain numbers when the block moved
// on by at least HistoryEvery blocks, for the reward and trust charts.
func (s *Site) recordHistory(ctx context.Context, mg *chain.Metagraph, now time.Time) error {
	last, err := s.db.lastHistoryBlock(ctx)
	if err != nil {
		return err
	}
	if last != 0 && mg.Block < last+s.opts.HistoryEvery {
		return nil
	}
	hotkeys := make([]string, len(mg.Neurons))
	pts := make([]HistoryPoint, len(mg.Neurons))
	for i, n := range mg.Neurons {
		hotkeys[i] = n.Hotkey
		pts[i] = HistoryPoint{Block: mg.Block, At: now, UID: n.UID, Stake: n.Stake, Incentive: chain.Fraction(n.Incentive),
			Dividends: chain.Fraction(n.Dividends), ValidatorTrust: chain.Fraction(n.ValidatorTrust), Emission: n.Emission}
	}
	return s.db.addHistory(ctx, hotkeys, pts)
}

// Sorting keys of the leaderboards.
var (
	minerSorts = map[string]func(a, b *MinerRow) int{
		"score":           func(a, b *MinerRow) int { return cmpF(a.Score, b.Score) },
		"quality":         func(a, b *MinerRow) int { return cmpF(a.Quality, b.Quality) },
		"verified_tokens": func(a, b *MinerRow) int { return cmpF(a.VerifiedTokens, b.VerifiedTokens) },
		"tokens":          func(a, b *MinerRow) int { return cmpI(a.Tokens, b.Tokens) },
		"completed":       func(a, b *MinerRow) int { return cmpI(a.Completed, b.Completed) },
		"avg_seconds":     func(a, b *MinerRow) int { return cmpF(a.AvgSeconds, b.AvgSeconds) },
		"incentive":       func(a, b *MinerRow) int { return cmpF(a.Incentive, b.Incentive) },
		"emission":        func(a, b *MinerRow) int { return cmpI(int64(a.Emission), int64(b.Emission)) },
		"uid":             func(a, b *MinerRow) int { return cmpI(int64(a.UID), int64(b.UID)) },
	}
	validatorSorts = map[string]func(a, b *ValidatorRow) int{
		"stake":           func(a, b *ValidatorRow) int { return cmpI(int64(a.Stake), int64(b.Stake)) },
		"validator_trust": func(a, b *ValidatorRow) int { return cmpF(a.ValidatorTrust, b.ValidatorTrust) },
		"dividends":       func(a, b *ValidatorRow) int { return cmpF(a.Dividends, b.Dividends) },
		"emission":        func(a, b *ValidatorRow) int { return cmpI(int64(a.Emission), int64(b.Emission)) },
		"reports":         func(a, b *ValidatorRow) int { return cmpI(a.Reports, b.Reports) },
		"agreement":       func(a, b *ValidatorRow) int { return cmpF(a.Agreement, b.Agreement) },
		"uid":             func(a, b *ValidatorRow) int { return cmpI(int64(a.UID), int64(b.UID)) },
	}
)

func cmpF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpI(a, b int64) int { return cmpF(float64(a), float64(b)) }

// sortMiners sorts in place; ties are broken by hotkey so the order is stable.
func sortMiners(rows []MinerRow, key string, desc bool) bool {
	f, ok := minerSorts[key]
	if !ok {
		return false
	}
	slices.SortStableFunc(rows, func(a, b MinerRow) int {
		c := f(&a, &b)
		if desc {
			c = -c
		}
		if c == 0 {
			return cmpS(a.Hotkey, b.Hotkey)
		}
		return c
	})
	return true
}

func sortValidators(rows []ValidatorRow, key string, desc bool) bool {
	f, ok := validatorSorts[key]
	if !ok {
		return false
	}
	slices.SortStableFunc(rows, func(a, b ValidatorRow) int {
		c := f(&a, &b)
		if desc {
			c = -c
		}
		if c == 0 {
			return cmpS(a.Hotkey, b.Hotkey)
		}
		return c
	})
	return true
}

func cmpS(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
