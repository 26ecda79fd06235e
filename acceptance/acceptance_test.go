package acceptance

import (
	"math"
	"slices"
	"testing"
)

func decide(t *testing.T, r Rule, votes ...Vote) Decision {
	t.Helper()
	d, err := r.Decide(votes)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDecide(t *testing.T) {
	yes := func(v string, stake uint64) Vote { return Vote{Validator: v, Stake: stake, Accepted: true} }
	no := func(v string, stake uint64) Vote { return Vote{Validator: v, Stake: stake} }
	for _, tc := range []struct {
		name  string
		rule  Rule
		votes []Vote
		want  Outcome
	}{
		{"no reports", Rule{}, nil, Pending},
		{"only zero stake", Rule{}, []Vote{yes("a", 0), no("b", 0)}, Pending},
		{"one accepting validator", Rule{}, []Vote{yes("a", 10)}, Accepted},
		{"one rejecting validator", Rule{}, []Vote{no("a", 10)}, Rejected},
		{"exactly half is not more than half", Rule{}, []Vote{yes("a", 10), no("b", 10)}, Rejected},
		{"stake, not heads: one large outvotes many small", Rule{}, []Vote{no("big", 100), yes("s1", 30), yes("s2", 30), yes("s3", 30)}, Rejected},
		{"majority of stake accepts", Rule{}, []Vote{yes("big", 100), no("s1", 30), no("s2", 30)}, Accepted},
		{"zero-stake votes count for nothing", Rule{}, []Vote{yes("a", 10), no("b", 0), no("c", 0)}, Accepted},
		{"a validator's last vote counts", Rule{}, []Vote{yes("a", 10), no("b", 8), no("a", 10)}, Rejected},
		{"two-thirds share", Rule{Share: 2.0 / 3}, []Vote{yes("a", 66), no("b", 34)}, Rejected},
		{"two-thirds share met", Rule{Share: 2.0 / 3}, []Vote{yes("a", 67), no("b", 33)}, Accepted},
		{"share 0: any accepting stake", Rule{Share: math.SmallestNonzeroFloat64}, []Vote{yes("a", 1), no("b", 1000)}, Accepted},
		{"stakes near the uint64 limit", Rule{}, []Vote{yes("a", math.MaxUint64), no("b", math.MaxUint64-1)}, Accepted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := decide(t, tc.rule, tc.votes...)
			if d.Outcome != tc.want {
				t.Fatalf("outcome %s, want %s (%+v)", d.Outcome, tc.want, d)
			}
			// Order of distinct validators does not matter.
			rev := slices.Clone(tc.votes)
			slices.Reverse(rev)
			if distinct(tc.votes) {
				if d2 := decide(t, tc.rule, rev...); d2 != d {
					t.Fatalf("reversed votes: %+v, want %+v", d2, d)
				}
			}
		})
	}
}

func distinct(votes []Vote) bool {
	seen := map[string]bool{}
	for _, v := range votes {
		if seen[v.Validator] {
			return false
		}
		seen[v.Validator] = true
	}
	return true
}

func TestDecisionStakes(t *testing.T) {
	d := decide(t, Rule{}, Vote{"a", 7, true}, Vote{"b", 5, false}, Vote{"c", 1, true})
	if d.AcceptStake != 8 || d.RejectStake != 5 || d.Validators != 3 || d.Share != DefaultShare || d.Outcome != Accepted {
		t.Fatalf("%+v", d)
	}
}

func TestBadShare(t *testing.T) {
	for _, s := range []float64{-0.1, 1, 1.5, math.NaN()} {
		if _, err := (Rule{Share: s}).Decide(nil); err == nil {
			t.Errorf("share %v accepted", s)
		}
	}
}
