//go:build !(goexperiment.simd && amd64)

package lm

// Builds without GOEXPERIMENT=simd use the scalar row updates.

const simdKernels = false

func axpy(o []float32, a float32, b []float32) { axpyGeneric(o, a, b) }

func axpy4(o0, o1, o2, o3 []float32, a0, a1, a2, a3 float32, b []float32) {
	axpy4Generic(o0, o1, o2, o3, a0, a1, a2, a3, b)
}
