package langid

import (
	"bytes"
	"encoding/binary"
	"math"
)

// This file holds a test-only writer of fastText's model format
// (FastText::saveModel), used to turn models into other layouts (a .ftz
// into a full .bin) and to build damaged files.

type modelWriter struct{ bytes.Buffer }

func (w *modelWriter) i32(v int32)   { binary.Write(&w.Buffer, binary.LittleEndian, v) }
func (w *modelWriter) i64(v int64)   { binary.Write(&w.Buffer, binary.LittleEndian, v) }
func (w *modelWriter) f64(v float64) { binary.Write(&w.Buffer, binary.LittleEndian, v) }
func (w *modelWriter) boolean(v bool) {
	if v {
		w.WriteByte(1)
	} else {
		w.WriteByte(0)
	}
}

func (w *modelWriter) f32s(v []float32) {
	for _, f := range v {
		binary.Write(&w.Buffer, binary.LittleEndian, math.Float32bits(f))
	}
}

func (w *modelWriter) pq(pq *productQuantizer) {
	w.i32(pq.dim)
	w.i32(pq.nsubq)
	w.i32(pq.dsub)
	w.i32(pq.lastdsub)
	w.f32s(pq.centroids)
}

func (w *modelWriter) matrix(m matrix) {
	switch mm := m.(type) {
	case *denseMatrix:
		w.i64(mm.m)
		w.i64(mm.n)
		w.f32s(mm.data)
	case *quantMatrix:
		w.boolean(mm.norms != nil)
		w.i64(mm.m)
		w.i64(mm.n)
		w.i32(int32(len(mm.codes)))
		w.Write(mm.codes)
		w.pq(mm.pq)
		if mm.norms != nil {
			w.Write(mm.normCodes)
			w.pq(mm.npq)
		}
	default:
		panic("unknown matrix")
	}
}

// encodeModel serialises m in fastText's format.
func encodeModel(m *Model) []byte {
	var w modelWriter
	w.i32(fileMagic)
	w.i32(m.version)
	a := m.args
	for _, v := range []int32{a.dim, a.ws, a.epoch, a.minCount, a.neg, a.wordNgrams, int32(a.loss), a.model, a.bucket, a.minn, a.maxn, a.lrUpdateRate} {
		w.i32(v)
	}
	w.f64(a.t)
	d := m.dict
	w.i32(int32(len(d.words)))
	w.i32(d.nwords)
	w.i32(d.nlabels)
	w.i64(d.ntokens)
	switch {
	case !d.pruned:
		w.i64(-1)
	default:
		w.i64(int64(len(d.pruneKeys)))
	}
	for i, word := range d.words {
		w.WriteString(word)
		w.WriteByte(0)
		w.i64(d.counts[i])
		w.WriteByte(byte(d.types[i]))
	}
	for i := range d.pruneKeys {
		w.i32(d.pruneKeys[i])
		w.i32(d.pruneVals[i])
	}
	_, qin := m.input.(*quantMatrix)
	w.boolean(qin)
	w.matrix(m.input)
	_, qout := m.output.(*quantMatrix)
	w.boolean(qout)
	w.matrix(m.output)
	return w.Bytes()
}

// withDenseMatrices returns a copy of m whose matrices are dense, as in a
// .bin file. A dense input matrix predicts exactly as the quantised one; a
// quantised output matrix rounds differently once dense (the norm scales
// the dot product in fastText, each value here).
func withDenseMatrices(m *Model) *Model {
	in := dequantise(m.input)
	c := &Model{args: m.args, version: m.version, dict: m.dict, input: in, rowsIn: in, output: m.output, tree: m.tree, labels: m.labels}
	if _, ok := m.output.(*quantMatrix); ok {
		c.output = dequantise(m.output)
	}
	c.states.New = m.states.New
	return c
}

// withQuantisedRows returns a copy of m that adds rows through the product
// quantiser instead of its dense copy of the input matrix.
func withQuantisedRows(m *Model) *Model {
	c := &Model{args: m.args, version: m.version, dict: m.dict, input: m.input, rowsIn: m.input, output: m.output, tree: m.tree, labels: m.labels}
	c.states.New = m.states.New
	return c
}
