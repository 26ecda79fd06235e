//go:build goexperiment.simd && amd64

package lm

import "simd/archsimd"

// With GOEXPERIMENT=simd on amd64 the row updates use 8-wide AVX2 vectors.
// Each lane is one output element, and the lane does a separate multiply
// and add (VMULPS, VADDPS: both IEEE-754 round-to-nearest, never fused), so
// the bits are exactly those of axpyGeneric: the vector build is faster,
// never different, and is not part of the protocol.

var simdKernels = archsimd.X86.AVX2()

func axpy(o []float32, a float32, b []float32) {
	if !simdKernels {
		axpyGeneric(o, a, b)
		return
	}
	o = o[:len(b)]
	av := archsimd.BroadcastFloat32x8(a)
	n := 0
	for ; n+8 <= len(b); n += 8 {
		x := archsimd.LoadFloat32x8Slice(b[n:])
		y := archsimd.LoadFloat32x8Slice(o[n:])
		y.Add(av.Mul(x)).StoreSlice(o[n:])
	}
	axpyGeneric(o[n:], a, b[n:])
}

func axpy4(o0, o1, o2, o3 []float32, a0, a1, a2, a3 float32, b []float32) {
	if !simdKernels {
		axpy4Generic(o0, o1, o2, o3, a0, a1, a2, a3, b)
		return
	}
	o0, o1, o2, o3 = o0[:len(b)], o1[:len(b)], o2[:len(b)], o3[:len(b)]
	v0 := archsimd.BroadcastFloat32x8(a0)
	v1 := archsimd.BroadcastFloat32x8(a1)
	v2 := archsimd.BroadcastFloat32x8(a2)
	v3 := archsimd.BroadcastFloat32x8(a3)
	n := 0
	for ; n+8 <= len(b); n += 8 {
		x := archsimd.LoadFloat32x8Slice(b[n:])
		archsimd.LoadFloat32x8Slice(o0[n:]).Add(v0.Mul(x)).StoreSlice(o0[n:])
		archsimd.LoadFloat32x8Slice(o1[n:]).Add(v1.Mul(x)).StoreSlice(o1[n:])
		archsimd.LoadFloat32x8Slice(o2[n:]).Add(v2.Mul(x)).StoreSlice(o2[n:])
		archsimd.LoadFloat32x8Slice(o3[n:]).Add(v3.Mul(x)).StoreSlice(o3[n:])
	}
	axpy4Generic(o0[n:], o1[n:], o2[n:], o3[n:], a0, a1, a2, a3, b[n:])
}
