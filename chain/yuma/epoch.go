// Package yuma computes one Yuma consensus epoch the way subtensor does
// (pallets/subtensor/src/epoch/run_epoch.rs, epoch_mechanism with Yuma3 and
// liquid alpha off, which are subtensor's defaults), in the same I32F32
// fixed-point arithmetic, so that for the same inputs it yields the same
// consensus, incentive, dividends, validator trust, bonds and emission.
//
// The package is pure: it knows nothing of storage; the devchain feeds it
// the subnet's state and writes the result back.
package yuma

import (
	"math"
	"sort"
	"sync"
)

// Weight is one (uid, value) entry of a sparse weights or bonds row, as
// subtensor stores them (u16, weights max-upscaled per row, bonds max-upscaled
// per column).
type Weight struct {
	UID   uint16 `json:"uid"`
	Value uint16 `json:"value"`
}

// NoCommit marks a uid without an active weights commit in Input.CommitBlocks.
const NoCommit = math.MaxUint64

// Input is the subnet state an epoch reads. Slices are indexed by uid and
// must have length N (Weights and Bonds may be shorter: missing rows are empty).
type Input struct {
	N                    int
	CurrentBlock         uint64
	Tempo                uint64
	ActivityCutoff       uint64
	LastUpdate           []uint64
	BlockAtRegistration  []uint64
	Stake                []uint64 // total stake per uid, in rao
	StakeThreshold       uint64
	ValidatorPermit      []bool // permits before this epoch
	MaxAllowedValidators int
	OwnerUID             int // -1: the subnet has no owner neuron
	Weights              [][]Weight
	Bonds                [][]Weight
	Kappa                uint16 // u16 proportion, 32767 ≈ 0.5
	BondsPenalty         uint16 // u16 proportion, 65535 = 1
	BondsMovingAverage   uint64 // per million, 900000 → α = 0.1
	// LastEpochBlock is the block of the previous epoch (LastMechansimStepBlock);
	// 0 means none, and then CurrentBlock − Tempo is used.
	LastEpochBlock uint64
	// CommitBlocks, when commit-reveal is on, holds per uid the block of its
	// earliest unexpired weights commit (NoCommit if none); nil when off.
	CommitBlocks []uint64
	Emission     uint64 // rao distributed by this epoch
}

// Output is what an epoch writes back. u16 vectors are fixed_proportion_to_u16
// of the fixed-point values, as stored on chain; Fixed keeps the exact values.
type Output struct {
	StakeWeight     []uint16
	Active          []bool
	ValidatorPermit []bool // new permits
	Consensus       []uint16
	Incentive       []uint16
	Dividends       []uint16
	ValidatorTrust  []uint16
	// Rao: miners' share (incentive), validators' share (dividends) and their
	// normalized combination, which subtensor stores as Emission.
	ServerEmission    []uint64
	ValidatorEmission []uint64
	Emission          []uint64
	// Bonds are the new stored bond rows where BondsSet[i]; rows with
	// BondsSet[i] false keep their previous value.
	Bonds    [][]Weight
	BondsSet []bool
	Fixed    FixedOutput
}

// FixedOutput holds the unrounded fixed-point vectors, for tests and tools.
type FixedOutput struct {
	Stake, ActiveStake, Consensus, Incentive, Dividends, ValidatorTrust []Fixed
}

// matrix is a dense n×n row-major matrix.
type matrix struct {
	n int
	v []Fixed
}

func (m matrix) row(i int) []Fixed     { return m.v[i*m.n : (i+1)*m.n] }
func (m matrix) at(i, j int) Fixed     { return m.v[i*m.n+j] }
func (m matrix) set(i, j int, x Fixed) { m.v[i*m.n+j] = x }

// matrixPool recycles the n×n buffers: an epoch of 256 uids needs three of
// 512 KiB, and allocating them afresh every epoch mostly feeds the garbage
// collector.
var matrixPool sync.Pool

func newMatrix(n int) matrix {
	if p, ok := matrixPool.Get().(*[]Fixed); ok && cap(*p) >= n*n {
		v := (*p)[:n*n]
		clear(v)
		return matrix{n: n, v: v}
	}
	return matrix{n: n, v: make([]Fixed, n*n)}
}

func (m matrix) clone() matrix {
	c := newMatrix(m.n)
	copy(c.v, m.v)
	return c
}

func (m matrix) release() { matrixPool.Put(&m.v) }

// Epoch runs one epoch.
func Epoch(in *Input) *Output {
	n := in.N
	out := &Output{}

	// == Active & updated ==
	inactive := make([]bool, n)
	active := make([]bool, n)
	for i := 0; i < n; i++ {
		lu := get(in.LastUpdate, i)
		inactive[i] = satAdd(lu, in.ActivityCutoff) < in.CurrentBlock
		active[i] = !inactive[i]
	}
	reg := make([]uint64, n)
	for i := range reg {
		reg[i] = get(in.BlockAtRegistration, i)
	}

	// == Stake ==
	filtered := make([]uint64, n)
	for i := 0; i < n; i++ {
		s := get(in.Stake, i)
		if i != in.OwnerUID && s < in.StakeThreshold {
			s = 0
		}
		filtered[i] = s
	}
	stake := normalizeStake(filtered)

	// == Validator permits ==
	permits := make([]bool, n)
	for i := 0; i < n; i++ {
		permits[i] = i < len(in.ValidatorPermit) && in.ValidatorPermit[i]
	}
	if in.OwnerUID >= 0 && in.OwnerUID < n {
		permits[in.OwnerUID] = true
	}
	newPermits := isTopKNonzero(stake, in.MaxAllowedValidators)
	if in.OwnerUID >= 0 && in.OwnerUID < n {
		newPermits[in.OwnerUID] = true
	}

	// == Active stake ==
	activeStake := append([]Fixed(nil), stake...)
	for i := range activeStake {
		if inactive[i] || !permits[i] {
			activeStake[i] = 0
		}
	}
	normalize(activeStake)

	// == Weights ==
	w := newMatrix(n)
	for i := 0; i < n && i < len(in.Weights); i++ {
		if !permits[i] {
			continue // weights of non-validators are masked
		}
		lu := get(in.LastUpdate, i)
		cb := uint64(NoCommit)
		if in.CommitBlocks != nil {
			cb = get(in.CommitBlocks, i)
		}
		for _, e := range in.Weights[i] {
			j := int(e.UID)
			if j >= n {
				continue
			}
			if j == i && i != in.OwnerUID {
				continue // self-weight
			}
			if lu <= reg[j] {
				continue // set before j registered: outdated
			}
			if in.CommitBlocks != nil && cb < reg[j] {
				continue // committed before j registered (commit-reveal sniping guard)
			}
			w.set(i, j, FromInt(uint64(e.Value)))
		}
	}
	rowNormalize(w)

	// == Consensus, validator trust ==
	kappa := FromInt(uint64(in.Kappa)).Div(u16MaxFix)
	consensus := weightedMedianCol(activeStake, w, kappa)
	clipped := w.clone()
	for i := 0; i < n; i++ {
		r := clipped.row(i)
		for j := range r {
			if consensus[j] < r[j] {
				r[j] = consensus[j]
			}
		}
	}
	trust := make([]Fixed, n)
	for i := 0; i < n; i++ {
		trust[i] = sum(clipped.row(i))
	}

	// == Incentive ==
	incentive := make([]Fixed, n)
	for i := 0; i < n; i++ {
		s := activeStake[i]
		if s == 0 {
			continue
		}
		r := clipped.row(i)
		for j, x := range r {
			if x != 0 {
				incentive[j] = incentive[j].Add(s.Mul(x))
			}
		}
	}
	normalize(incentive)

	// == Bonds and dividends (original Yuma, liquid alpha off) ==
	penalty := FromInt(uint64(in.BondsPenalty)).Div(u16MaxFix)
	wb := interpolate(w, clipped, penalty)

	var lastTempo uint64
	if in.LastEpochBlock == 0 {
		lastTempo = satSub(in.CurrentBlock, in.Tempo)
	} else {
		lastTempo = in.LastEpochBlock + 1
	}
	bonds := newMatrix(n)
	for i := 0; i < n && i < len(in.Bonds); i++ {
		for _, e := range in.Bonds[i] {
			j := int(e.UID)
			if j >= n || lastTempo <= reg[j] {
				continue // bonds on neurons registered since the last epoch are dropped
			}
			bonds.set(i, j, FromInt(uint64(e.Value)))
		}
	}
	colNormalize(bonds)

	// ΔB = W_b ∘ S, column-normalized; computed in place (W_b is not read again).
	delta := wb
	for i := 0; i < n; i++ {
		s := activeStake[i]
		r := delta.row(i)
		for j, x := range r {
			if x != 0 {
				r[j] = x.Mul(s)
			}
		}
	}
	colNormalize(delta)

	// EMA of bonds, in place over the previous bonds.
	alpha := One.Sub(bondsMovingAverage(in.BondsMovingAverage))
	oneMinusAlpha := One.Sub(alpha)
	ema := bonds
	for k := range ema.v {
		x := alpha.Mul(delta.v[k]).Add(oneMinusAlpha.Mul(bonds.v[k]))
		if x < 0 {
			x = 0
		}
		ema.v[k] = x
	}
	colNormalize(ema)

	dividends := make([]Fixed, n)
	for i := 0; i < n; i++ {
		var acc Fixed
		for j, b := range ema.row(i) {
			if b != 0 {
				acc = acc.Add(incentive[j].Mul(b))
			}
		}
		dividends[i] = acc
	}
	normalize(dividends)
	colMaxUpscale(ema)

	// == Emission ==
	combined := make([]Fixed, n)
	var emissionSum Fixed
	for i := 0; i < n; i++ {
		combined[i] = incentive[i].Add(dividends[i])
		emissionSum += combined[i]
	}
	serverShare := append([]Fixed(nil), incentive...)
	validatorShare := append([]Fixed(nil), dividends...)
	combinedShare := append([]Fixed(nil), combined...)
	normalizeUsingSum(serverShare, emissionSum)
	normalizeUsingSum(validatorShare, emissionSum)
	normalize(combinedShare)
	if emissionSum == 0 {
		// No weights, outdated weights or only self-weights: emission follows stake.
		src := activeStake
		if sum(activeStake) == 0 {
			src = stake
		}
		copy(validatorShare, src)
		copy(combinedShare, src)
	}

	out.ServerEmission = make([]uint64, n)
	out.ValidatorEmission = make([]uint64, n)
	out.Emission = make([]uint64, n)
	for i := 0; i < n; i++ {
		out.ServerEmission[i] = mulU64(serverShare[i], in.Emission)
		out.ValidatorEmission[i] = mulU64(validatorShare[i], in.Emission)
		out.Emission[i] = mulU64(combinedShare[i], in.Emission)
	}

	out.StakeWeight = toU16(stake)
	out.Active = active
	out.ValidatorPermit = newPermits
	out.Consensus = toU16(consensus)
	out.Incentive = toU16(incentive)
	out.Dividends = toU16(dividends)
	out.ValidatorTrust = toU16(trust)
	out.Bonds = make([][]Weight, n)
	out.BondsSet = make([]bool, n)
	for i := 0; i < n; i++ {
		switch {
		case newPermits[i]:
			var row []Weight
			for j, b := range ema.row(i) {
				if b > 0 {
					row = append(row, Weight{UID: uint16(j), Value: ProportionToU16(b)})
				}
			}
			out.Bonds[i], out.BondsSet[i] = row, true
		case permits[i]:
			out.Bonds[i], out.BondsSet[i] = nil, true // lost its permit: bonds cleared
		}
	}
	w.release()
	clipped.release()
	bonds.release()
	out.Fixed = FixedOutput{
		Stake: stake, ActiveStake: activeStake, Consensus: consensus,
		Incentive: incentive, Dividends: dividends, ValidatorTrust: trust,
	}
	return out
}

// bondsMovingAverage is I32F32(I64F64(bma) / 10^6): the I64F64 quotient
// truncated to 32 fractional bits, i.e. floor(bma·2^32 / 10^6).
func bondsMovingAverage(bma uint64) Fixed {
	if bma >= 1_000_000 {
		return FromInt(bma / 1_000_000) // not a sensible setting; keep it saturating-safe
	}
	return Fixed((bma << fracBits) / 1_000_000)
}

func get(v []uint64, i int) uint64 {
	if i < len(v) {
		return v[i]
	}
	return 0
}

func satAdd(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}

func satSub(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}

func sum(x []Fixed) Fixed {
	var s Fixed
	for _, v := range x {
		s += v
	}
	return s
}

func toU16(x []Fixed) []uint16 {
	out := make([]uint16, len(x))
	for i, v := range x {
		out[i] = ProportionToU16(v)
	}
	return out
}

// normalize is inplace_normalize: divide by the sum unless it is zero.
func normalize(x []Fixed) { normalizeUsingSum(x, sum(x)) }

func normalizeUsingSum(x []Fixed, s Fixed) {
	if s == 0 {
		return
	}
	for i := range x {
		x[i] = x[i].Div(s)
	}
}

func rowNormalize(m matrix) {
	for i := 0; i < m.n; i++ {
		r := m.row(i)
		s := sum(r)
		if s > 0 {
			for j := range r {
				if r[j] != 0 {
					r[j] = r[j].Div(s)
				}
			}
		}
	}
}

func colNormalize(m matrix) {
	sums := make([]Fixed, m.n)
	for i := 0; i < m.n; i++ {
		for j, x := range m.row(i) {
			sums[j] = sums[j].Add(x)
		}
	}
	for i := 0; i < m.n; i++ {
		r := m.row(i)
		for j := range r {
			if sums[j] != 0 && r[j] != 0 {
				r[j] = r[j].Div(sums[j])
			}
		}
	}
}

func colMaxUpscale(m matrix) {
	maxes := make([]Fixed, m.n)
	for i := 0; i < m.n; i++ {
		for j, x := range m.row(i) {
			if maxes[j] < x {
				maxes[j] = x
			}
		}
	}
	for i := 0; i < m.n; i++ {
		r := m.row(i)
		for j := range r {
			if maxes[j] != 0 && r[j] != 0 {
				r[j] = r[j].Div(maxes[j])
			}
		}
	}
}

// interpolate is interpolate_sparse: a + ratio·(b − a), keeping positives.
func interpolate(a, b matrix, ratio Fixed) matrix {
	if ratio == 0 {
		return a
	}
	if ratio == One {
		return b
	}
	out := newMatrix(a.n)
	for k := range a.v {
		x := a.v[k].Add(ratio.Mul(b.v[k].Sub(a.v[k])))
		if x > 0 {
			out.v[k] = x
		}
	}
	return out
}

// isTopKNonzero marks the k largest non-zero entries (ties broken by a stable
// ascending sort, as subtensor's is_topk_nonzero).
func isTopKNonzero(x []Fixed, k int) []bool {
	n := len(x)
	res := make([]bool, n)
	for i, v := range x {
		res[i] = v != 0
	}
	if n < k {
		return res
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return x[idx[a]] < x[idx[b]] })
	for _, i := range idx[:n-k] {
		res[i] = false
	}
	return res
}

// weightedMedianCol is weighted_median_col_sparse: per column, the
// stake-weighted median at majority κ over the rows with positive stake.
func weightedMedianCol(stake []Fixed, w matrix, majority Fixed) []Fixed {
	n := w.n
	var rows []int
	var useStake []Fixed
	for i, s := range stake {
		if s > 0 {
			rows = append(rows, i)
			useStake = append(useStake, s)
		}
	}
	normalize(useStake)
	stakeSum := sum(useStake)
	minority := stakeSum.Sub(majority)
	median := make([]Fixed, n)
	idx := make([]int, len(rows))
	for k := range idx {
		idx[k] = k
	}
	score := make([]Fixed, len(rows))
	buf := &medianBuf{}
	for j := 0; j < n; j++ {
		for k, i := range rows {
			score[k] = w.at(i, j)
		}
		median[j] = weightedMedian(useStake, score, idx, minority, 0, stakeSum, buf)
	}
	return median
}

type medianBuf struct{ cur, lower, upper []int }

// weightedMedian is subtensor's deterministic mid-pivot partition search for
// the stake-weighted median.
func weightedMedian(stake, score []Fixed, partition []int, minority, lo, hi Fixed, b *medianBuf) Fixed {
	cur := append(b.cur[:0], partition...)
	limit := len(partition)
	for iter := 0; ; iter++ {
		n := len(cur)
		if n == 0 {
			return 0
		}
		if n == 1 {
			return score[cur[0]]
		}
		pivot := score[cur[n/2]]
		var loStake, hiStake Fixed
		lower, upper := b.lower[:0], b.upper[:0]
		for _, i := range cur {
			switch {
			case score[i] == pivot:
			case score[i] < pivot:
				loStake = loStake.Add(stake[i])
				lower = append(lower, i)
			default:
				hiStake = hiStake.Add(stake[i])
				upper = append(upper, i)
			}
		}
		b.lower, b.upper = lower, upper
		switch {
		case minority < lo.Add(loStake) && len(lower) > 0:
			cur = append(cur[:0], lower...)
			hi = lo.Add(loStake)
		case hi.Sub(hiStake) <= minority && len(upper) > 0:
			cur = append(cur[:0], upper...)
			lo = hi.Sub(hiStake)
		default:
			return pivot
		}
		b.cur = cur
		if iter+1 > limit {
			return 0
		}
	}
}
