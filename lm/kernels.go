package lm

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Determinism rules for every kernel in this file:
//   - each output element is computed by exactly one goroutine, and the work is
//     cut into chunks whose bounds depend only on the shapes, never on the
//     number of threads, so GOMAXPROCS cannot change a result;
//   - every element accumulates its contraction index in ascending order with
//     a single float32 accumulator, and each product is rounded to float32
//     explicitly before it is added (float32(a*b)), which forbids the compiler
//     to fuse the multiply and add into an FMA on architectures where it may.
// Register blocking (several rows or columns at once) changes only how many
// independent elements are in flight, not any element's order, so the
// blocked and remainder loops give the same bits.

// parallelFor runs fn(0..n-1), spreading the calls over GOMAXPROCS
// goroutines. fn(i) must touch only data that belongs to chunk i.
func parallelFor(n int, fn func(i int)) {
	workers := runtime.GOMAXPROCS(0)
	if workers > n {
		workers = n
	}
	if workers <= 1 {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	wg.Add(workers)
	for w := 0; w < workers; w++ {
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

const rowChunk = 16 // rows per parallel work item in row-parallel kernels

func chunks(n, size int) int { return (n + size - 1) / size }

// matNN sets out[r,n] = Σ_k a[r,k]·b[k,n]  (a: R×K, b: K×N, out: R×N).
func matNN(out, a, b []float32, R, K, N int) {
	parallelFor(chunks(R, rowChunk), func(c int) {
		r0, r1 := c*rowChunk, min((c+1)*rowChunk, R)
		r := r0
		for ; r+4 <= r1; r += 4 {
			o0 := out[r*N : r*N+N]
			o1 := out[(r+1)*N : (r+1)*N+N]
			o2 := out[(r+2)*N : (r+2)*N+N]
			o3 := out[(r+3)*N : (r+3)*N+N]
			clear(o0)
			clear(o1)
			clear(o2)
			clear(o3)
			for k := 0; k < K; k++ {
				axpy4(o0, o1, o2, o3, a[r*K+k], a[(r+1)*K+k], a[(r+2)*K+k], a[(r+3)*K+k], b[k*N:k*N+N])
			}
		}
		for ; r < r1; r++ {
			o := out[r*N : r*N+N]
			clear(o)
			for k := 0; k < K; k++ {
				axpy(o, a[r*K+k], b[k*N:k*N+N])
			}
		}
	})
}

// transpose writes the C×R transpose of the R×C matrix src into dst.
func transpose(dst, src []float32, R, C int) {
	parallelFor(chunks(C, 64), func(ch int) {
		for c := ch * 64; c < min((ch+1)*64, C); c++ {
			d := dst[c*R : c*R+R]
			for r := range d {
				d[r] = src[r*C+c]
			}
		}
	})
}

// matNT sets out[r,n] = Σ_k a[r,k]·b[n,k]  (a: R×K, b: N×K, out: R×N),
// through a transposed copy of b in scratch (K·N floats), so that it runs
// on the same output-parallel row update as matNN.
func matNT(out, a, b, scratch []float32, R, K, N int) {
	bt := scratch[:K*N]
	transpose(bt, b, N, K)
	matNN(out, a, bt, R, K, N)
}

// matTNAdd adds out[k,n] += Σ_r a[r,k]·b[r,n]  (a: R×K, b: R×N, out: K×N),
// r ascending. Parallel over chunks of k, so the sum over r is never split.
func matTNAdd(out, a, b []float32, R, K, N int) {
	const kChunk = 8
	parallelFor(chunks(K, kChunk), func(c int) {
		k0, k1 := c*kChunk, min((c+1)*kChunk, K)
		k := k0
		for ; k+4 <= k1; k += 4 {
			o0 := out[k*N : k*N+N]
			o1 := out[(k+1)*N : (k+1)*N+N]
			o2 := out[(k+2)*N : (k+2)*N+N]
			o3 := out[(k+3)*N : (k+3)*N+N]
			for r := 0; r < R; r++ {
				axpy4(o0, o1, o2, o3, a[r*K+k], a[r*K+k+1], a[r*K+k+2], a[r*K+k+3], b[r*N:r*N+N])
			}
		}
		for ; k < k1; k++ {
			o := out[k*N : k*N+N]
			for r := 0; r < R; r++ {
				axpy(o, a[r*K+k], b[r*N:r*N+N])
			}
		}
	})
}

// axpyGeneric is the reference row update o[n] += float32(a·b[n]). Every
// faster variant must give exactly its bits: a vector unit that multiplies
// and then adds (no fused multiply-add) lane by lane does.
func axpyGeneric(o []float32, a float32, b []float32) {
	o = o[:len(b)]
	for n, bv := range b {
		o[n] += float32(a * bv)
	}
}

// axpy4Generic is four axpyGeneric updates sharing b.
func axpy4Generic(o0, o1, o2, o3 []float32, a0, a1, a2, a3 float32, b []float32) {
	o0, o1, o2, o3 = o0[:len(b)], o1[:len(b)], o2[:len(b)], o3[:len(b)]
	for n, bv := range b {
		o0[n] += float32(a0 * bv)
		o1[n] += float32(a1 * bv)
		o2[n] += float32(a2 * bv)
		o3[n] += float32(a3 * bv)
	}
}
