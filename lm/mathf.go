package lm

import "math"

// The exponential and logarithm used by the model are our own: Go's math.Exp
// and math.Log have amd64 assembly that switches to fused multiply-add when
// the CPU has it, so two validators of the same architecture could get
// different bits. These use only IEEE-754 basic operations (+, -, *, /), each
// rounded explicitly (float64(...) stops the compiler from fusing a multiply
// and an add on architectures where it may), so they give the same bits on
// every machine. They are accurate to about 1e-9 relative, far below float32
// resolution.

const (
	ln2Hi  = 6.93147180369123816490e-01 // high bits of ln 2, exact times small integers
	ln2Lo  = 1.90821492927058770002e-10 // ln 2 - ln2Hi
	invLn2 = 1.44269504088896338700e+00
)

// Exp returns e**x rounded to float32; it underflows to 0 below -87.3 and
// overflows to +Inf above 88.7.
func Exp(x float32) float32 {
	switch {
	case x != x:
		return x
	case x < -87.3:
		return 0
	case x > 88.7:
		return float32(math.Inf(1))
	}
	xd := float64(x)
	k := math.Floor(float64(xd*invLn2) + 0.5) // |k| <= 128, exact
	r := float64(xd-float64(k*ln2Hi)) - float64(k*ln2Lo)
	// Taylor series of e**r on |r| <= 0.35, Horner form, degree 10.
	p := 1.0 / 3628800
	p = 1.0/362880 + float64(r*p)
	p = 1.0/40320 + float64(r*p)
	p = 1.0/5040 + float64(r*p)
	p = 1.0/720 + float64(r*p)
	p = 1.0/120 + float64(r*p)
	p = 1.0/24 + float64(r*p)
	p = 1.0/6 + float64(r*p)
	p = 0.5 + float64(r*p)
	p = 1 + float64(r*p)
	p = 1 + float64(r*p)
	scale := math.Float64frombits(uint64(int64(k)+1023) << 52)
	return float32(p * scale)
}

// Log returns the natural logarithm of x (x > 0) in float64, with the same
// guarantees as Exp. Log(0) = -Inf; negative or NaN input gives NaN.
func Log(x float64) float64 {
	switch {
	case x != x || x < 0:
		return math.NaN()
	case x == 0:
		return math.Inf(-1)
	case math.IsInf(x, 1):
		return x
	}
	m, e := math.Frexp(x) // x = m * 2**e, m in [0.5, 1); exact
	if m < math.Sqrt2/2 {
		m *= 2
		e--
	}
	// log m = 2 atanh(s), s = (m-1)/(m+1), |s| <= 0.1716.
	s := float64(m-1) / float64(m+1)
	s2 := float64(s * s)
	p := 1.0 / 23
	for _, c := range [...]float64{1.0 / 21, 1.0 / 19, 1.0 / 17, 1.0 / 15, 1.0 / 13, 1.0 / 11, 1.0 / 9, 1.0 / 7, 1.0 / 5, 1.0 / 3, 1} {
		p = c + float64(s2*p)
	}
	lm := 2 * float64(s*p)
	fe := float64(e)
	return float64(fe*ln2Hi) + (float64(fe*ln2Lo) + lm)
}

// sqrt32 is correctly rounded: IEEE-754 specifies square root exactly, and
// rounding the float64 root to float32 cannot double-round wrongly.
func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }
