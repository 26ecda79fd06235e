package web

import (
	"context"
	"sort"
	"time"

	"github.com/datarefine/refine/taskserver"
)

// The charts' data: the API's series, shaped for drawing (buckets filled,
// sums accumulated, one line per validator) with honest axes: x spans the
// data (a single point one step either side), y starts at 0 and
// proportions span [0, 1].

// Series is a chart: x in Unix seconds (Axis "time") or blocks ("block"),
// one or more lines over it, and the y axis.
type Series struct {
	X    []int64 `json:"x"`
	Axis string  `json:"axis"`
	// Step is the spacing the data was bucketed at (seconds or blocks):
	// a chart of one point spans one step either side of it.
	Step   int64        `json:"step"`
	Y      Axis         `json:"y"`
	Series []SeriesLine `json:"series"`
}

// Axis is a y axis: its label and, when fixed, its range.
type Axis struct {
	Label string   `json:"label"`
	Min   float64  `json:"min"`
	Max   *float64 `json:"max,omitempty"`
}

// SeriesLine is one line (or bars: counts per bucket); nil values are
// gaps.
type SeriesLine struct {
	Label  string     `json:"label"`
	Values []*float64 `json:"values"`
	Bars   bool       `json:"bars,omitempty"`
}

var one = 1.0

// fractionAxis is the axis of proportions (incentive, trust, dividends).
func fractionAxis(label string) Axis { return Axis{Label: label, Min: 0, Max: &one} }

func fp(f float64) *float64 { return &f }

// bucketFor picks the finest bucket that draws span in at most points
// points.
func bucketFor(span time.Duration, points int) time.Duration {
	for _, b := range []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 6 * time.Hour} {
		if span/b <= time.Duration(points) {
			return b
		}
	}
	return 24 * time.Hour
}

// chartWindow is how far back the activity charts look (the API's most).
const chartWindow = 7 * 24 * time.Hour

// tokensChart is the accepted tokens over time, cumulative: all-time
// totals, so the line ends at the overview's number.
func (s *Site) tokensChart(ctx context.Context) (Series, error) {
	out := Series{X: []int64{}, Axis: "time", Y: Axis{Label: "tokens accepted"}, Series: []SeriesLine{{Label: "tokens accepted (all time)", Values: []*float64{}}}}
	st, err := s.api.Stats(ctx)
	if err != nil {
		return out, err
	}
	now := s.opts.Now().UTC()
	coarse, err := s.api.Volume(ctx, chartWindow, 15*time.Minute)
	if err != nil {
		return out, err
	}
	if len(coarse.Buckets) == 0 {
		return out, nil
	}
	first := coarse.Buckets[0].Start
	bucket := bucketFor(now.Sub(first), 200)
	vol := coarse
	if bucket != 15*time.Minute {
		if vol, err = s.api.Volume(ctx, now.Sub(first)+bucket, bucket); err != nil {
			return out, err
		}
	}
	var inWindow int64
	byStart := map[int64]int64{}
	for _, b := range vol.Buckets {
		byStart[b.Start.Unix()] += b.Tokens
		inWindow += b.Tokens
	}
	// What was accepted before the window starts the line.
	total := st.Accepted.Tokens - inWindow
	out.Step = int64(bucket.Seconds())
	for t := vol.Buckets[0].Start; !t.After(now); t = t.Add(bucket) {
		total += byStart[t.Unix()]
		out.X = append(out.X, t.Unix())
		out.Series[0].Values = append(out.Series[0].Values, fp(float64(total)))
	}
	return out, nil
}

// completionsChart is the completed tasks per bucket over the last two
// days (or since the first completion, when that is recent).
func (s *Site) completionsChart(ctx context.Context) (Series, error) {
	out := Series{X: []int64{}, Axis: "time", Y: Axis{Label: "submissions"}, Series: []SeriesLine{{Label: "submissions", Values: []*float64{}, Bars: true}}}
	now := s.opts.Now().UTC()
	window := 48 * time.Hour
	bs, err := s.api.Throughput(ctx, window, time.Hour)
	if err != nil {
		return out, err
	}
	if len(bs) == 0 {
		return out, nil
	}
	bucket := bucketFor(now.Sub(bs[0].Start), 60)
	if bucket < time.Hour {
		if bs, err = s.api.Throughput(ctx, now.Sub(bs[0].Start)+bucket, bucket); err != nil {
			return out, err
		}
	}
	if len(bs) == 0 {
		return out, nil
	}
	out.Step = int64(bucket.Seconds())
	out.Series[0].Label = "submissions per " + humanBucket(bucket)
	counts := map[int64]int64{}
	for _, b := range bs {
		counts[b.Start.Unix()] = b.Count
	}
	for t := bs[0].Start; !t.After(now); t = t.Add(bucket) {
		out.X = append(out.X, t.Unix())
		out.Series[0].Values = append(out.Series[0].Values, fp(float64(counts[t.Unix()])))
	}
	return out, nil
}

func humanBucket(b time.Duration) string {
	switch b {
	case time.Minute:
		return "minute"
	case time.Hour:
		return "hour"
	case 24 * time.Hour:
		return "day"
	}
	return b.String()
}

// minerScoresChart is a miner's published scores over time, one line per
// validator.
func (s *Site) minerScoresChart(ctx context.Context, hotkey string, names map[string]string) (Series, error) {
	out := Series{X: []int64{}, Axis: "time", Step: 60, Y: Axis{Label: "score"}, Series: []SeriesLine{}}
	scores, err := s.api.ScoresOf(ctx, taskserver.ScoreQuery{Hotkey: hotkey, Limit: 500})
	if err != nil {
		return out, err
	}
	// Oldest first; one x per distinct time.
	sort.SliceStable(scores, func(i, j int) bool { return scores[i].At.Before(scores[j].At) })
	line := map[string]int{}
	for _, sc := range scores {
		if _, ok := line[sc.Validator]; !ok {
			line[sc.Validator] = len(out.Series)
			label := names[sc.Validator]
			if label == "" {
				label = shortKey(sc.Validator)
			}
			out.Series = append(out.Series, SeriesLine{Label: "score by " + label})
		}
	}
	for i, sc := range scores {
		x := sc.At.Unix()
		if i == 0 || out.X[len(out.X)-1] != x {
			out.X = append(out.X, x)
			for l := range out.Series {
				out.Series[l].Values = append(out.Series[l].Values, nil)
			}
		}
		out.Series[line[sc.Validator]].Values[len(out.X)-1] = fp(sc.Score)
	}
	return out, nil
}

// rewardsChart is a hotkey's emission per epoch in α, by block: the
// chain's ledger when the task server has it, else the metagraph history
// the site recorded.
func (s *Site) rewardsChart(ctx context.Context, hotkey string) (Series, error) {
	out := Series{X: []int64{}, Axis: "block", Y: Axis{Label: "α per epoch"}, Series: []SeriesLine{{Label: "emission (α)", Values: []*float64{}}}}
	p, err := s.api.Payouts(ctx, hotkey, 5000)
	if err != nil {
		return out, err
	}
	if p.Source == "ledger" {
		es := p.Entries
		sort.Slice(es, func(i, j int) bool { return es[i].Block < es[j].Block })
		for _, e := range es {
			out.X = append(out.X, int64(e.Block))
			out.Series[0].Values = append(out.Series[0].Values, fp(alpha(e.Total)))
		}
		out.Step = step(out.X)
		return out, nil
	}
	out.Series[0].Label = "emission of the last epoch at each recorded block (α)"
	hist, err := s.db.history(ctx, hotkey, 1000)
	if err != nil {
		return out, err
	}
	for _, h := range hist {
		out.X = append(out.X, int64(h.Block))
		out.Series[0].Values = append(out.Series[0].Values, fp(alpha(h.Emission)))
	}
	out.Step = step(out.X)
	return out, nil
}

func alpha(rao uint64) float64 { return float64(rao) / 1e9 }

// step is the smallest spacing of xs (1 when there is none).
func step(xs []int64) int64 {
	st := int64(0)
	for i := 1; i < len(xs); i++ {
		if d := xs[i] - xs[i-1]; d > 0 && (st == 0 || d < st) {
			st = d
		}
	}
	if st == 0 {
		return 1
	}
	return st
}

// trustChart is a validator's trust (the chain's measure of its agreement
// with consensus) and dividends by block, from the recorded metagraph.
func (s *Site) trustChart(ctx context.Context, hotkey string) (Series, error) {
	out := Series{X: []int64{}, Axis: "block", Y: fractionAxis("share (0–1)"),
		Series: []SeriesLine{{Label: "validator trust", Values: []*float64{}}, {Label: "dividends", Values: []*float64{}}}}
	hist, err := s.db.history(ctx, hotkey, 1000)
	if err != nil {
		return out, err
	}
	for _, p := range hist {
		out.X = append(out.X, int64(p.Block))
		out.Series[0].Values = append(out.Series[0].Values, fp(p.ValidatorTrust))
		out.Series[1].Values = append(out.Series[1].Values, fp(p.Dividends))
	}
	out.Step = step(out.X)
	return out, nil
}

// incentiveChart is a miner's incentive by block, from the recorded
// metagraph.
func (s *Site) incentiveChart(ctx context.Context, hotkey string) (Series, error) {
	out := Series{X: []int64{}, Axis: "block", Y: fractionAxis("share (0–1)"), Series: []SeriesLine{{Label: "incentive", Values: []*float64{}}}}
	hist, err := s.db.history(ctx, hotkey, 1000)
	if err != nil {
		return out, err
	}
	for _, p := range hist {
		out.X = append(out.X, int64(p.Block))
		out.Series[0].Values = append(out.Series[0].Values, fp(p.Incentive))
	}
	out.Step = step(out.X)
	return out, nil
}
