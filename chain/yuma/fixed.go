package yuma

import (
	"math"
	"math/bits"
)

// Fixed is a signed 64-bit fixed-point number with 32 fractional bits: the
// same representation and rounding as substrate_fixed's I32F32, which
// subtensor's epoch uses. Multiplication floors (arithmetic shift of the
// 128-bit product), division truncates toward zero, conversion to an integer
// floors, and every operation saturates instead of overflowing. Matching
// these rules bit for bit is what lets our epoch reproduce subtensor's
// numbers exactly rather than approximately.
type Fixed int64

const (
	fracBits        = 32
	One       Fixed = 1 << fracBits
	maxFixed  Fixed = math.MaxInt64
	minFixed  Fixed = math.MinInt64
	u16MaxFix Fixed = 65535 << fracBits
)

// FromInt converts an integer, saturating.
func FromInt(v uint64) Fixed {
	if v > uint64(math.MaxInt64>>fracBits) {
		return maxFixed
	}
	return Fixed(v << fracBits)
}

// Float returns the value as a float64 (for display and tests only).
func (a Fixed) Float() float64 { return float64(a) / float64(One) }

// Add saturates.
func (a Fixed) Add(b Fixed) Fixed {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		if b > 0 {
			return maxFixed
		}
		return minFixed
	}
	return s
}

// Sub saturates.
func (a Fixed) Sub(b Fixed) Fixed {
	d := a - b
	if (b < 0 && d < a) || (b > 0 && d > a) {
		if b < 0 {
			return maxFixed
		}
		return minFixed
	}
	return d
}

func abs64(a Fixed) uint64 {
	if a < 0 {
		return uint64(-a)
	}
	return uint64(a)
}

// Mul is saturating_mul: the 128-bit product shifted right by 32 (floor).
func (a Fixed) Mul(b Fixed) Fixed {
	if a == 0 || b == 0 {
		return 0
	}
	neg := (a < 0) != (b < 0)
	hi, lo := bits.Mul64(abs64(a), abs64(b))
	// magnitude = (hi:lo) >> 32
	if hi>>(fracBits-1) != 0 { // magnitude >= 2^63
		if neg {
			return minFixed
		}
		return maxFixed
	}
	mag := hi<<fracBits | lo>>fracBits
	if !neg {
		return Fixed(mag)
	}
	if lo&(1<<fracBits-1) != 0 { // floor of a negative value rounds away from zero
		mag++
	}
	return -Fixed(mag)
}

// Div is safe_div: zero on division by zero, otherwise (a<<32)/b truncated
// toward zero, saturating.
func (a Fixed) Div(b Fixed) Fixed {
	if b == 0 {
		return 0
	}
	neg := (a < 0) != (b < 0)
	ua, ub := abs64(a), abs64(b)
	hi, lo := ua>>(64-fracBits), ua<<fracBits
	if hi >= ub {
		if neg {
			return minFixed
		}
		return maxFixed
	}
	q, _ := bits.Div64(hi, lo, ub)
	if q > math.MaxInt64 {
		if neg {
			return minFixed
		}
		return maxFixed
	}
	if neg {
		return -Fixed(q)
	}
	return Fixed(q)
}

// floorU64 is the integer part (saturating_to_num floors), clamped at 0.
func (a Fixed) floorU64() uint64 {
	if a <= 0 {
		return 0
	}
	return uint64(a) >> fracBits
}

// ToU16 is saturating_to_num::<u16>.
func (a Fixed) ToU16() uint16 {
	v := a.floorU64()
	if v > math.MaxUint16 {
		return math.MaxUint16
	}
	return uint16(v)
}

// ProportionToU16 is fixed_proportion_to_u16: floor(x * 65535).
func ProportionToU16(x Fixed) uint16 { return x.Mul(u16MaxFix).ToU16() }

// FromU16Proportion is u16_proportion_to_fixed: x / 65535.
func FromU16Proportion(x uint16) Fixed { return FromInt(uint64(x)).Div(u16MaxFix) }

// mulU64 is I96F32::from(x) * rao, floored to u64 (how subtensor turns a
// normalized emission share into rao).
func mulU64(x Fixed, rao uint64) uint64 {
	if x <= 0 || rao == 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(x), rao)
	if hi>>fracBits != 0 {
		return math.MaxUint64
	}
	return hi<<(64-fracBits) | lo>>fracBits
}

// normalizeStake is inplace_normalize_64 over I64F64 followed by the
// conversion to I32F32: floor(s_i * 2^32 / sum).
func normalizeStake(in []uint64) []Fixed {
	stake := append([]uint64(nil), in...)
	out := make([]Fixed, len(stake))
	var sumHi, sum uint64
	for _, s := range stake {
		var c uint64
		sum, c = bits.Add64(sum, s, 0)
		sumHi += c
	}
	if sumHi != 0 {
		// Beyond 2^64 rao in total: scale down first (never reached in practice).
		shift := uint(64 - bits.LeadingZeros64(sumHi))
		sum = sum>>shift | sumHi<<(64-shift)
		for i, s := range stake {
			stake[i] = s >> shift
		}
	}
	if sum == 0 {
		return out
	}
	for i, s := range stake {
		hi, lo := s>>(64-fracBits), s<<fracBits
		q, _ := bits.Div64(hi, lo, sum)
		out[i] = Fixed(q)
	}
	return out
}

// MaxUpscaleU16 is vec_u16_max_upscale_to_u16: scale so the largest value is
// 65535, rounding half away from zero, as set_weights stores weights.
func MaxUpscaleU16(v []uint16) []uint16 {
	out := make([]uint16, len(v))
	var maxv uint16
	for _, x := range v {
		if x > maxv {
			maxv = x
		}
	}
	if len(v) == 0 {
		return out
	}
	if maxv == 0 {
		copy(out, v)
		return out
	}
	m := FromInt(uint64(maxv))
	for i, x := range v {
		e := FromInt(uint64(x))
		var r Fixed
		if m > FromInt(32768) {
			r = e.Mul(u16MaxFix.Div(m))
		} else {
			r = e.Mul(u16MaxFix).Div(m)
		}
		out[i] = r.round().ToU16()
	}
	return out
}

// round is fixed's round(): to nearest, ties away from zero.
func (a Fixed) round() Fixed {
	const half = One / 2
	if a >= 0 {
		return (a + half) &^ (One - 1)
	}
	return -((-a + half) &^ (One - 1))
}
