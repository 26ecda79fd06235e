// Package score turns verdicts into numbers: a submission's score, the
// per-uid exponential moving average and the u16 weights a validator sets.
//
// Score of one accepted submission (docs/mechanism.md explains why):
//
//	score = gate × (verified tokens / TokenUnit) × (1 − QualityShare + QualityShare × quality) × speed
//	speed = min(1, TargetBlocks / elapsed blocks)
//
// gate is 0 for any rejected submission. A round's score of a uid is the sum
// of the scores of its submissions evaluated in the round (so throughput
// counts), and the EMA moves toward it by Alpha every round.
package score

import (
	"math"
	"slices"
)

// Params are the mechanism's constants. Every validator must use the same
// values for their weights to agree; Defaults are the subnet's.
type Params struct {
	// TokenUnit is the number of verified tokens worth one score point.
	TokenUnit float64
	// QualityShare is how much of the score quality can move: with 0.5 the
	// worst quality halves the score and the best keeps it whole.
	QualityShare float64
	// TargetBlocks is the lease-to-commitment time that earns full speed
	// credit; slower submissions earn TargetBlocks/elapsed.
	TargetBlocks uint64
	// Alpha is the EMA's step per evaluation round.
	Alpha float64
}

// Defaults returns the subnet's parameters.
func Defaults() Params {
	return Params{TokenUnit: 1e6, QualityShare: 0.5, TargetBlocks: 300, Alpha: 0.1}
}

// WithDefaults fills zero fields from Defaults.
func (p Params) WithDefaults() Params {
	d := Defaults()
	if p.TokenUnit <= 0 {
		p.TokenUnit = d.TokenUnit
	}
	if p.QualityShare <= 0 || p.QualityShare > 1 {
		p.QualityShare = d.QualityShare
	}
	if p.TargetBlocks == 0 {
		p.TargetBlocks = d.TargetBlocks
	}
	if p.Alpha <= 0 || p.Alpha > 1 {
		p.Alpha = d.Alpha
	}
	return p
}

// Input is what the score of one submission depends on.
type Input struct {
	Accepted       bool
	VerifiedTokens float64
	Quality        float64 // in [0, 1]
	ElapsedBlocks  uint64
}

// Speed is the speed factor of a submission that took elapsed blocks.
func (p Params) Speed(elapsed uint64) float64 {
	if elapsed <= p.TargetBlocks {
		return 1
	}
	return float64(p.TargetBlocks) / float64(elapsed)
}

// Submission scores one submission.
func (p Params) Submission(in Input) float64 {
	if !in.Accepted || in.VerifiedTokens <= 0 || math.IsNaN(in.VerifiedTokens) {
		return 0
	}
	q := min(max(in.Quality, 0), 1)
	if math.IsNaN(q) {
		q = 0
	}
	return in.VerifiedTokens / p.TokenUnit * (1 - p.QualityShare + p.QualityShare*q) * p.Speed(in.ElapsedBlocks)
}

// EMA moves prev toward x by alpha.
func EMA(prev, x, alpha float64) float64 { return (1-alpha)*prev + alpha*x }

// Normalize returns the L1-normalised weights of scores (negative and NaN
// scores count as 0), all zero when the sum is 0.
func Normalize(scores []float64) []float64 {
	out := make([]float64, len(scores))
	var sum float64
	for i, s := range scores {
		if s > 0 && !math.IsInf(s, 1) {
			out[i] = s
			sum += s
		}
	}
	if sum == 0 {
		return out
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

// U16 converts scores per uid to the sparse u16 weights set on chain, as
// bittensor's convert_weights_and_uids_for_emit does: L1-normalise, scale so
// the largest is 65535, round half to even, and drop zeros. uids come out
// sorted. It returns nil, nil when every score is 0.
func U16(scores map[uint16]float64) (uids, weights []uint16) {
	keys := make([]uint16, 0, len(scores))
	for uid := range scores {
		keys = append(keys, uid)
	}
	slices.Sort(keys)
	vals := make([]float64, len(keys))
	for i, uid := range keys {
		vals[i] = scores[uid]
	}
	norm := Normalize(vals)
	var top float64
	for _, v := range norm {
		top = max(top, v)
	}
	if top == 0 {
		return nil, nil
	}
	for i, v := range norm {
		w := math.RoundToEven(v / top * math.MaxUint16)
		if w <= 0 {
			continue
		}
		uids = append(uids, keys[i])
		weights = append(weights, uint16(w))
	}
	return uids, weights
}
