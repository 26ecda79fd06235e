package langid

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// fastText's on-disk format (fasttext.cc saveModel), all little-endian:
//
//	magic int32 = 793712314, version int32 (≤ 12)
//	args: dim ws epoch minCount neg wordNgrams loss model bucket minn maxn
//	      lrUpdateRate (int32 each), t (float64)
//	dictionary: size nwords nlabels int32, ntokens int64, pruneidx_size int64,
//	      size × (NUL-terminated word, count int64, type int8),
//	      pruneidx_size × (bucket int32, row int32)
//	quant_input bool, input matrix (dense or quantised)
//	qout bool, output matrix (dense or quantised)
//
// A dense matrix is m int64, n int64, m·n float32. A quantised matrix is
// qnorm bool, m int64, n int64, codesize int32, codes, a product quantiser,
// and with qnorm the m norm codes and a one-dimensional quantiser.
const (
	fileMagic   = 793712314
	fileVersion = 12
	labelPrefix = "__label__" // Args::label; not stored in the file
	eosWord     = "</s>"
	ksub        = 256 // centroids per sub-quantiser (8-bit codes)
)

// ErrFormat is wrapped by every error that reports a malformed model file.
var ErrFormat = errors.New("langid: invalid fastText model")

// reader walks a model file held in memory. It records the first error and
// returns zero values afterwards, so that parsing code reads straight
// through and checks once per section.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(format string, a ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format+" (at byte %d)", append([]any{ErrFormat}, append(a, r.off)...)...)
	}
}

func (r *reader) take(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.off {
		r.fail("truncated file: %s needs %d bytes, %d left", what, n, len(r.b)-r.off)
		return nil
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p
}

func (r *reader) i32(what string) int32 {
	p := r.take(4, what)
	if p == nil {
		return 0
	}
	return int32(binary.LittleEndian.Uint32(p))
}

func (r *reader) i64(what string) int64 {
	p := r.take(8, what)
	if p == nil {
		return 0
	}
	return int64(binary.LittleEndian.Uint64(p))
}

func (r *reader) f64(what string) float64 {
	p := r.take(8, what)
	if p == nil {
		return 0
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(p))
}

func (r *reader) u8(what string) uint8 {
	p := r.take(1, what)
	if p == nil {
		return 0
	}
	return p[0]
}

func (r *reader) boolean(what string) bool {
	v := r.u8(what)
	if v > 1 && r.err == nil {
		r.fail("%s: bad boolean byte %d", what, v)
	}
	return v == 1
}

// cstring reads a NUL-terminated string.
func (r *reader) cstring(what string) string {
	if r.err != nil {
		return ""
	}
	rest := r.b[r.off:]
	for i, c := range rest {
		if c == 0 {
			r.off += i + 1
			return string(rest[:i])
		}
	}
	r.fail("truncated file: %s has no terminating NUL", what)
	return ""
}

// float32s reads n float32 values.
func (r *reader) float32s(n int64, what string) []float32 {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > int64(len(r.b)-r.off)/4 {
		r.fail("truncated file: %s needs %d floats, %d bytes left", what, n, len(r.b)-r.off)
		return nil
	}
	p := r.take(int(n)*4, what)
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(p[4*i:]))
	}
	return out
}

// lossKind and modelKind follow fastText's enums (args.h).
type lossKind int32

const (
	lossHS      lossKind = 1
	lossNS      lossKind = 2
	lossSoftmax lossKind = 3
	lossOVA     lossKind = 4
)

func (l lossKind) String() string {
	switch l {
	case lossHS:
		return "hs"
	case lossNS:
		return "ns"
	case lossSoftmax:
		return "softmax"
	case lossOVA:
		return "one-vs-all"
	}
	return fmt.Sprintf("loss(%d)", int32(l))
}

const modelSupervised = 3

// args holds the training arguments stored in the header that matter for
// prediction.
type args struct {
	dim, ws, epoch, minCount, neg, wordNgrams int32
	loss                                      lossKind
	model                                     int32
	bucket, minn, maxn, lrUpdateRate          int32
	t                                         float64
}

func readHeader(r *reader) (version int32) {
	if magic := r.i32("magic"); r.err == nil && magic != fileMagic {
		r.fail("bad magic %#x, not a fastText model", uint32(magic))
	}
	version = r.i32("version")
	if r.err == nil && version > fileVersion {
		r.fail("file version %d is newer than the supported %d", version, fileVersion)
	}
	return version
}

func readArgs(r *reader) args {
	var a args
	a.dim = r.i32("args.dim")
	a.ws = r.i32("args.ws")
	a.epoch = r.i32("args.epoch")
	a.minCount = r.i32("args.minCount")
	a.neg = r.i32("args.neg")
	a.wordNgrams = r.i32("args.wordNgrams")
	a.loss = lossKind(r.i32("args.loss"))
	a.model = r.i32("args.model")
	a.bucket = r.i32("args.bucket")
	a.minn = r.i32("args.minn")
	a.maxn = r.i32("args.maxn")
	a.lrUpdateRate = r.i32("args.lrUpdateRate")
	a.t = r.f64("args.t")
	return a
}
