package pipeline

import "sort"

// Stats counts what a run did, per step and reason, like datatrove's step
// statistics. It is filled by the ordered sink, so it is deterministic.
type Stats struct {
	Records int64          `json:"records"` // documents the sources produced
	Kept    int64          `json:"kept"`    // documents that passed every step
	Steps   []*StepStats   `json:"steps"`   // in pipeline order
	index   map[string]int // step name → position in Steps
}

// StepStats is one step's drops, by reason.
type StepStats struct {
	Name    string           `json:"name"`
	Dropped int64            `json:"dropped"`
	Reasons map[string]int64 `json:"reasons,omitempty"`
}

// NewStats returns statistics with the given steps listed first, in order,
// so that a step that dropped nothing still appears.
func NewStats(steps ...string) *Stats {
	s := &Stats{index: map[string]int{}}
	for _, name := range steps {
		s.step(name)
	}
	return s
}

func (s *Stats) step(name string) *StepStats {
	if s.index == nil {
		s.index = map[string]int{}
	}
	if i, ok := s.index[name]; ok {
		return s.Steps[i]
	}
	st := &StepStats{Name: name, Reasons: map[string]int64{}}
	s.index[name] = len(s.Steps)
	s.Steps = append(s.Steps, st)
	return st
}

// Add counts one result of the parallel stage.
func (s *Stats) Add(r Result) {
	s.Records++
	if r.Kept() {
		s.Kept++
		return
	}
	s.Drop(r.Step, r.Reason)
}

// Drop counts a document dropped after the parallel stage (e.g. by dedup).
func (s *Stats) Drop(step, reason string) {
	st := s.step(step)
	st.Dropped++
	if reason != "" {
		st.Reasons[reason]++
	}
}

// Unkeep moves a document that Add counted as kept to a later step's drops.
func (s *Stats) Unkeep(step, reason string) {
	s.Kept--
	s.Drop(step, reason)
}

// Step returns a step's statistics (nil if the step never appeared).
func (s *Stats) Step(name string) *StepStats {
	if i, ok := s.index[name]; ok {
		return s.Steps[i]
	}
	return nil
}

// SortedReasons lists a step's reasons in a stable order (most frequent first).
func (st *StepStats) SortedReasons() []string {
	out := make([]string, 0, len(st.Reasons))
	for r := range st.Reasons {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if st.Reasons[out[i]] != st.Reasons[out[j]] {
			return st.Reasons[out[i]] > st.Reasons[out[j]]
		}
		return out[i] < out[j]
	})
	return out
}
