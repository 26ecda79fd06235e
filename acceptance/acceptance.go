// Package acceptance is the subnet's one rule for when a submission counts
// as accepted: when the validators that accepted it hold more than a given
// share (by default a majority) of the stake of the validators that
// reported on it.
//
// It is a pure function of the reports and their stakes, with no HTTP and
// no SQL, so that everyone who decides applies it the same way: the task
// server moves a task from submitted to done (or back to the pool) with it,
// and `refine dataset build` selects the submissions of the dataset with it,
// recording the share it used.
//
// Stake is weighed, not heads counted, because hotkeys are cheap and stake
// is what Yuma consensus itself trusts: a swarm of small validators cannot
// outvote one large one. Only the reports at hand count (a validator that
// is offline does not block every decision); a later report may change the
// outcome, and callers re-decide on every report.
package acceptance

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"sort"
)

// DefaultShare is the default share of the reported stake that must have
// accepted: more than half.
const DefaultShare = 0.5

// Vote is one validator's report on one submission, with the validator's
// stake (rao) when the decision is made.
type Vote struct {
	Validator string
	Stake     uint64
	Accepted  bool
}

// Outcome is what the reports decide.
type Outcome string

const (
	// Pending: no reporting validator holds stake yet; wait for reports.
	Pending Outcome = "pending"
	// Accepted: the accepting stake is more than the share of the reported stake.
	Accepted Outcome = "accepted"
	// Rejected: it is not (given the reports so far).
	Rejected Outcome = "rejected"
)

// Rule decides submissions. The zero Rule uses DefaultShare.
type Rule struct {
	// Share is the part of the reported stake, in [0, 1), that the
	// accepting stake must exceed (default DefaultShare when 0).
	Share float64
}

// Decision is an outcome with the stakes it was reached on.
type Decision struct {
	Outcome Outcome `json:"outcome"`
	// AcceptStake and RejectStake are the stakes (rao) of the validators
	// that accepted and rejected; their sum is the reported stake.
	AcceptStake uint64  `json:"accept_stake"`
	RejectStake uint64  `json:"reject_stake"`
	Share       float64 `json:"share"`
	// Validators is the number of distinct validators counted.
	Validators int `json:"validators"`
}

// Check reports whether the rule's share is usable.
func (r Rule) Check() error {
	s := r.EffectiveShare()
	if math.IsNaN(s) || s < 0 || s >= 1 {
		return fmt.Errorf("acceptance share %v: %w", r.Share, errShare)
	}
	return nil
}

var errShare = errors.New("must be in [0, 1)")

// EffectiveShare is the share the rule decides with: Share, or
// DefaultShare when Share is 0.
func (r Rule) EffectiveShare() float64 {
	if r.Share == 0 {
		return DefaultShare
	}
	return r.Share
}

// Decide applies the rule to the votes on one submission. A validator that
// voted more than once counts once, with its last vote in the slice (a
// caller passes reports oldest first). Votes of zero stake count for
// nothing; with no stake reported at all the outcome is Pending. The result
// does not depend on the order of distinct validators' votes and is exact
// (no floating point in the comparison), so every caller decides alike.
func (r Rule) Decide(votes []Vote) (Decision, error) {
	if err := r.Check(); err != nil {
		return Decision{}, err
	}
	last := map[string]Vote{}
	for _, v := range votes {
		last[v.Validator] = v
	}
	names := make([]string, 0, len(last))
	for name := range last {
		names = append(names, name)
	}
	sort.Strings(names)
	d := Decision{Share: r.EffectiveShare(), Validators: len(names)}
	accept, total := new(big.Int), new(big.Int)
	for _, name := range names {
		v := last[name]
		s := new(big.Int).SetUint64(v.Stake)
		total.Add(total, s)
		if v.Accepted {
			accept.Add(accept, s)
			d.AcceptStake = satAdd(d.AcceptStake, v.Stake)
		} else {
			d.RejectStake = satAdd(d.RejectStake, v.Stake)
		}
	}
	if total.Sign() == 0 {
		d.Outcome = Pending
		return d, nil
	}
	// accept > share × total, in exact rationals.
	share := new(big.Rat).SetFloat64(d.Share)
	lhs := new(big.Int).Mul(accept, share.Denom())
	rhs := new(big.Int).Mul(total, share.Num())
	if lhs.Cmp(rhs) > 0 {
		d.Outcome = Accepted
	} else {
		d.Outcome = Rejected
	}
	return d, nil
}

func satAdd(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}
