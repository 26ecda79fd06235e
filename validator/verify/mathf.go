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
