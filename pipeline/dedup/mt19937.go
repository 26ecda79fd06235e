package dedup

// mt19937 is the 32-bit Mersenne Twister as numpy's legacy RandomState runs
// it: seeded with init_genrand (an integer seed, not init_by_array), 64-bit
// draws made of two 32-bit outputs, high word first.
type mt19937 struct {
	key [mtN]uint32
	pos int
}

const (
	mtN       = 624
	mtM       = 397
	mtMatrixA = 0x9908b0df
	mtUpper   = 0x80000000
	mtLower   = 0x7fffffff
)

func newMT19937(seed uint32) *mt19937 {
	m := &mt19937{}
	m.key[0] = seed
	for i := 1; i < mtN; i++ {
		prev := m.key[i-1]
		m.key[i] = 1812433253*(prev^(prev>>30)) + uint32(i)
	}
	m.pos = mtN
	return m
}

// generate refills the whole state block.
func (m *mt19937) generate() {
	for i := 0; i < mtN; i++ {
		y := (m.key[i] & mtUpper) | (m.key[(i+1)%mtN] & mtLower)
		v := m.key[(i+mtM)%mtN] ^ (y >> 1)
		if y&1 != 0 {
			v ^= mtMatrixA
		}
		m.key[i] = v
	}
	m.pos = 0
}

func (m *mt19937) next32() uint32 {
	if m.pos >= mtN {
		m.generate()
	}
	y := m.key[m.pos]
	m.pos++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

func (m *mt19937) next64() uint64 {
	hi := uint64(m.next32())
	lo := uint64(m.next32())
	return hi<<32 | lo
}

// randUint64 draws n integers in [low, high) as numpy's legacy
// RandomState.randint(low, high, dtype=np.uint64) does for ranges wider than
// 32 bits: masked rejection sampling on full 64-bit draws (the legacy
// generator never uses Lemire's method).
func (m *mt19937) randUint64(low, high uint64, n int) []uint64 {
	out := make([]uint64, n)
	rng := high - 1 - low // inclusive range, as numpy computes it
	if rng == 0 {
		for i := range out {
			out[i] = low
		}
		return out
	}
	if rng <= 0xFFFFFFFF {
		// numpy buffers 32-bit draws for narrow ranges; MinHash never asks
		// for one, so refuse rather than silently diverge from numpy.
		panic("dedup: randUint64 supports only ranges wider than 32 bits")
	}
	mask := rng
	mask |= mask >> 1
	mask |= mask >> 2
	mask |= mask >> 4
	mask |= mask >> 8
	mask |= mask >> 16
	mask |= mask >> 32
	for i := range out {
		v := m.next64() & mask
		for v > rng {
			v = m.next64() & mask
		}
		out[i] = low + v
	}
	return out
}
