package langid

import "fmt"

// matrix is the part of fastText's Matrix that prediction uses. All
// arithmetic is float32 in fastText's order, so that sums round alike.
type matrix interface {
	rows() int64
	cols() int64
	// addRow adds row i to x (Matrix::addRowToVector).
	addRow(x []float32, i int32)
	// dotRow returns row i · x.
	dotRow(x []float32, i int32) float32
}

// averageRows sets x to the mean of the given rows (averageRowsToVector):
// the rows are summed in order and the sum is scaled by float32(1/n).
func averageRows(m matrix, x []float32, rows []int32) {
	clear(x)
	switch mm := m.(type) {
	case *denseMatrix:
		for _, r := range rows {
			mm.addRow(x, r)
		}
	case *quantMatrix:
		for _, r := range rows {
			mm.addRow(x, r)
		}
	default:
		for _, r := range rows {
			m.addRow(x, r)
		}
	}
	scale := float32(1.0 / float64(len(rows)))
	for j := range x {
		x[j] *= scale
	}
}

// denseMatrix is a row-major float32 matrix.
type denseMatrix struct {
	m, n int64
	data []float32
}

func (d *denseMatrix) rows() int64 { return d.m }
func (d *denseMatrix) cols() int64 { return d.n }

func (d *denseMatrix) addRow(x []float32, i int32) {
	row := d.data[int64(i)*d.n : (int64(i)+1)*d.n]
	x = x[:len(row)]
	for j, v := range row {
		x[j] += v
	}
}

func (d *denseMatrix) dotRow(x []float32, i int32) float32 {
	row := d.data[int64(i)*d.n : (int64(i)+1)*d.n]
	x = x[:len(row)]
	var s float32
	for j, v := range row {
		s += float32(v * x[j])
	}
	return s
}

func readDense(r *reader, what string) *denseMatrix {
	m := r.i64(what + " rows")
	n := r.i64(what + " cols")
	if r.err != nil {
		return nil
	}
	if m < 0 || n < 0 || (n > 0 && m > (1<<40)/n) {
		r.fail("%s: bad shape %d×%d", what, m, n)
		return nil
	}
	data := r.float32s(m*n, what)
	if r.err != nil {
		return nil
	}
	return &denseMatrix{m: m, n: n, data: data}
}

// productQuantizer holds the centroids of a product quantiser
// (productquantizer.cc): the vector is cut into nsubq sub-vectors of dsub
// values (the last one lastdsub), each coded by one byte.
type productQuantizer struct {
	dim, nsubq, dsub, lastdsub int32
	centroids                  []float32
}

// centroid returns the centroid of code c for sub-quantiser m.
func (pq *productQuantizer) centroid(m int32, c uint8) []float32 {
	if m == pq.nsubq-1 {
		off := m*ksub*pq.dsub + int32(c)*pq.lastdsub
		return pq.centroids[off : off+pq.lastdsub]
	}
	off := (m*ksub + int32(c)) * pq.dsub
	return pq.centroids[off : off+pq.dsub]
}

func readPQ(r *reader, what string) *productQuantizer {
	pq := &productQuantizer{
		dim:      r.i32(what + " dim"),
		nsubq:    r.i32(what + " nsubq"),
		dsub:     r.i32(what + " dsub"),
		lastdsub: r.i32(what + " lastdsub"),
	}
	if r.err != nil {
		return nil
	}
	if pq.dim <= 0 || pq.dsub <= 0 || pq.nsubq <= 0 || pq.lastdsub <= 0 || pq.lastdsub > pq.dsub ||
		int64(pq.nsubq-1)*int64(pq.dsub)+int64(pq.lastdsub) != int64(pq.dim) {
		r.fail("%s: inconsistent quantiser dim %d, nsubq %d, dsub %d, lastdsub %d", what, pq.dim, pq.nsubq, pq.dsub, pq.lastdsub)
		return nil
	}
	pq.centroids = r.float32s(int64(pq.dim)*ksub, what+" centroids")
	if r.err != nil {
		return nil
	}
	return pq
}

// quantMatrix is fastText's QuantMatrix: each row is nsubq centroid codes,
// optionally scaled by a quantised norm (qnorm).
type quantMatrix struct {
	m, n  int64
	codes []uint8
	pq    *productQuantizer
	// norms[i] is row i's dequantised norm; nil without qnorm.
	norms []float32
	// normCodes and npq are the quantised norms as stored.
	normCodes []uint8
	npq       *productQuantizer
}

func (q *quantMatrix) rows() int64 { return q.m }
func (q *quantMatrix) cols() int64 { return q.n }

// addRow adds alpha·centroid for each code (ProductQuantizer::addcode with
// alpha = the row's norm, or 1). Multiplying by 1 is exact, so the product
// is always formed: the rounding matches both fastText paths.
func (q *quantMatrix) addRow(x []float32, i int32) {
	alpha := float32(1)
	if q.norms != nil {
		alpha = q.norms[i]
	}
	pq := q.pq
	code := q.codes[int64(i)*int64(pq.nsubq) : (int64(i)+1)*int64(pq.nsubq)]
	for m, c := range code {
		cen := pq.centroid(int32(m), c)
		xs := x[int32(m)*pq.dsub:]
		xs = xs[:len(cen)]
		for j, v := range cen {
			xs[j] += float32(alpha * v)
		}
	}
}

// dotRow is ProductQuantizer::mulcode: the dot product with the centroids,
// then scaled by the norm.
func (q *quantMatrix) dotRow(x []float32, i int32) float32 {
	alpha := float32(1)
	if q.norms != nil {
		alpha = q.norms[i]
	}
	pq := q.pq
	code := q.codes[int64(i)*int64(pq.nsubq) : (int64(i)+1)*int64(pq.nsubq)]
	var s float32
	for m, c := range code {
		cen := pq.centroid(int32(m), c)
		xs := x[int32(m)*pq.dsub:]
		xs = xs[:len(cen)]
		for j, v := range cen {
			s += float32(xs[j] * v)
		}
	}
	return float32(s * alpha)
}

func readQuant(r *reader, what string) *quantMatrix {
	qnorm := r.boolean(what + " qnorm")
	m := r.i64(what + " rows")
	n := r.i64(what + " cols")
	codesize := r.i32(what + " codesize")
	if r.err != nil {
		return nil
	}
	if m < 0 || n <= 0 || n > 1<<20 || m > 1<<40 {
		r.fail("%s: bad shape %d×%d", what, m, n)
		return nil
	}
	codes := r.take(int(codesize), what+" codes")
	pq := readPQ(r, what+" quantiser")
	if r.err != nil {
		return nil
	}
	if int64(pq.dim) != n {
		r.fail("%s: quantiser dimension %d, matrix has %d columns", what, pq.dim, n)
		return nil
	}
	if int64(codesize) != m*int64(pq.nsubq) {
		r.fail("%s: %d codes for %d rows of %d sub-vectors", what, codesize, m, pq.nsubq)
		return nil
	}
	q := &quantMatrix{m: m, n: n, codes: append([]uint8(nil), codes...), pq: pq}
	if qnorm {
		normCodes := r.take(int(m), what+" norm codes")
		npq := readPQ(r, what+" norm quantiser")
		if r.err != nil {
			return nil
		}
		if npq.dim != 1 {
			r.fail("%s: norm quantiser has dimension %d, want 1", what, npq.dim)
			return nil
		}
		// Dequantise the norms once; each is the first value of its centroid.
		q.normCodes = append([]uint8(nil), normCodes...)
		q.npq = npq
		q.norms = make([]float32, m)
		for i, c := range normCodes {
			q.norms[i] = npq.centroid(0, c)[0]
		}
	}
	return q
}

// readMatrix reads a dense or a quantised matrix.
func readMatrix(r *reader, quant bool, what string) matrix {
	if quant {
		if q := readQuant(r, what); q != nil {
			return q
		}
		return nil
	}
	if d := readDense(r, what); d != nil {
		return d
	}
	return nil
}

func checkShape(m matrix, what string, minRows, cols int64) error {
	if m.cols() != cols {
		return fmt.Errorf("%w: %s has %d columns, want dim %d", ErrFormat, what, m.cols(), cols)
	}
	if m.rows() < minRows {
		return fmt.Errorf("%w: %s has %d rows, need at least %d", ErrFormat, what, m.rows(), minRows)
	}
	return nil
}

// dequantise returns the rows of a matrix as a dense matrix. Row i is the
// sum fastText would add for it, so predictions cannot change.
func dequantise(m matrix) *denseMatrix {
	d := &denseMatrix{m: m.rows(), n: m.cols(), data: make([]float32, m.rows()*m.cols())}
	for i := range m.rows() {
		m.addRow(d.data[i*d.n:(i+1)*d.n], int32(i))
	}
	return d
}
