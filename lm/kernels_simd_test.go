//go:build goexperiment.simd && amd64

package lm

import (
	"math"
	"testing"
)

// TestSIMDKernelsMatchScalar requires the vector row updates to give exactly
// the scalar bits, for lengths with and without a scalar tail.
func TestSIMDKernelsMatchScalar(t *testing.T) {
	if !simdKernels {
		t.Skip("CPU without AVX2: the scalar kernels are in use")
	}
	rng := NewRNG(1)
	r := func() float32 { return float32((rng.Float64()*2 - 1) * 3) }
	for _, n := range []int{1, 7, 8, 9, 31, 64, 130} {
		b := make([]float32, n)
		var o, want [4][]float32
		for i := range o {
			o[i], want[i] = make([]float32, n), make([]float32, n)
		}
		for k := 0; k < 50; k++ {
			for i := range b {
				b[i] = r()
			}
			a := [4]float32{r(), r(), r(), r()}
			axpy4(o[0], o[1], o[2], o[3], a[0], a[1], a[2], a[3], b)
			axpy4Generic(want[0], want[1], want[2], want[3], a[0], a[1], a[2], a[3], b)
			axpy(o[0], a[1], b)
			axpyGeneric(want[0], a[1], b)
		}
		for i := range o {
			for j := range o[i] {
				if math.Float32bits(o[i][j]) != math.Float32bits(want[i][j]) {
					t.Fatalf("n=%d row %d elem %d: %x, want %x", n, i, j, math.Float32bits(o[i][j]), math.Float32bits(want[i][j]))
				}
			}
		}
	}
}
