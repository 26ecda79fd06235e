package verify

import "math"

func lgamma(n int) float64 {
	v, _ := math.Lgamma(float64(n))
	return v
}

func expf(x float64) float64 { return math.Exp(x) }

func logf(x float64) float64 {
	if x <= 0 {
		return math.Inf(-1)
	}
	return math.Log(x)
}

// binomPMF is P(Binomial(n, p) = k) in floating point (for reports).
func binomPMF(n, k int, p float64) float64 {
	lc := lgamma(n+1) - lgamma(k+1) - lgamma(n-k+1)
	return expf(lc + float64(k)*logf(p) + float64(n-k)*logf(1-p))
}
