// Package langid identifies the language of a text with a fastText
// supervised model, in pure Go, giving the same predictions as fastText's
// own predict: the same tokens, hashes, n-grams, float32 arithmetic,
// hierarchical softmax and ordering. It reads quantised (.ftz) and full
// (.bin) model files, and embeds fastText's lid.176.ftz (176 languages) as
// the default model. Filter is the FineWeb LanguageFilter step.
package langid

import (
	_ "embed"
	"fmt"
	"io"
	"os"
	"sync"
)

// maxDequantised bounds the dense copy of a quantised input matrix, in
// floats (64 MiB); lid.176.ftz needs 800,000.
const maxDequantised = 16 << 20

// Prediction is one label with its probability, as fastText returns it.
type Prediction struct {
	Label string  // without the "__label__" prefix, e.g. "en"
	Prob  float32 // exp of fastText's float32 log-score
}

// Model is a loaded fastText supervised model. It is immutable and safe for
// concurrent use by many goroutines.
type Model struct {
	args    args
	version int32
	dict    *dictionary
	input   matrix
	output  matrix
	// rowsIn is the input matrix used to predict: a dense copy of a
	// quantised input when it is small enough (see parse).
	rowsIn matrix
	tree   *hsTree // hierarchical softmax only
	labels []string

	states sync.Pool // *state
}

// state is the scratch space of one prediction, recycled through a pool so
// that predicting does not allocate.
type state struct {
	rows   []int32
	hashes []int32
	buf    []byte
	hidden []float32
	output []float32
	heap   []scored
	path   []int32 // a label's path in the hierarchical softmax tree
}

// Load reads a fastText model (.bin or .ftz) from r.
func Load(r io.Reader) (*Model, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("langid: read model: %w", err)
	}
	return parse(data)
}

// LoadFile reads a fastText model file.
func LoadFile(path string) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("langid: %w", err)
	}
	m, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

//go:embed model/lid.176.ftz
var lid176 []byte

var defaultModel = sync.OnceValues(func() (*Model, error) {
	m, err := parse(lid176)
	if err != nil {
		return nil, fmt.Errorf("langid: embedded lid.176.ftz: %w", err)
	}
	return m, nil
})

// Default returns fastText's lid.176 language identification model
// (quantised, embedded in the binary), loaded once on first use.
func Default() (*Model, error) { return defaultModel() }

func parse(data []byte) (*Model, error) {
	r := &reader{b: data}
	m := &Model{}
	m.version = readHeader(r)
	m.args = readArgs(r)
	if r.err != nil {
		return nil, r.err
	}
	if m.version == 11 && m.args.model == modelSupervised {
		// Version 11 supervised models were trained without char n-grams.
		m.args.maxn = 0
	}
	if m.args.model != modelSupervised {
		return nil, fmt.Errorf("%w: not a supervised (classification) model (model type %d)", ErrFormat, m.args.model)
	}
	if m.args.dim <= 0 {
		return nil, fmt.Errorf("%w: dimension %d", ErrFormat, m.args.dim)
	}
	switch m.args.loss {
	case lossHS, lossNS, lossSoftmax, lossOVA:
	default:
		return nil, fmt.Errorf("%w: unknown loss %d", ErrFormat, int32(m.args.loss))
	}
	m.dict = readDictionary(r, m.args)
	quantInput := r.boolean("quant_input flag")
	m.input = readMatrix(r, quantInput, "input matrix")
	if r.err != nil {
		return nil, r.err
	}
	if !quantInput && m.dict.pruned {
		// fastText refuses these too (issue #332): the n-gram rows of a
		// pruned dictionary only make sense with a quantised input matrix.
		return nil, fmt.Errorf("%w: full (non-quantised) model with a pruned dictionary", ErrFormat)
	}
	quantOutput := r.boolean("qout flag")
	m.output = readMatrix(r, quantInput && quantOutput, "output matrix")
	if r.err != nil {
		return nil, r.err
	}
	if r.off != len(data) {
		return nil, fmt.Errorf("%w: %d unexpected bytes after the output matrix", ErrFormat, len(data)-r.off)
	}
	maxRow, err := m.dict.maxRow()
	if err != nil {
		return nil, err
	}
	dim := int64(m.args.dim)
	if err := checkShape(m.input, "input matrix", maxRow+1, dim); err != nil {
		return nil, err
	}
	if err := checkShape(m.output, "output matrix", int64(m.dict.nlabels), dim); err != nil {
		return nil, err
	}
	if m.dict.nlabels == 0 {
		return nil, fmt.Errorf("%w: the model has no labels", ErrFormat)
	}
	if m.args.loss == lossHS {
		m.tree = buildHSTree(m.dict.labelCounts())
	}
	m.rowsIn = m.input
	if q, ok := m.input.(*quantMatrix); ok && q.m*q.n <= maxDequantised {
		// Adding a dequantised row adds the very float32 values that
		// ProductQuantizer::addcode adds, so predictions stay identical;
		// a contiguous row is several times faster to add.
		m.rowsIn = dequantise(q)
	}
	m.labels = m.dict.labelNames()
	m.states.New = func() any {
		return &state{
			hidden: make([]float32, m.args.dim),
			output: make([]float32, m.dict.nlabels),
		}
	}
	return m, nil
}

// Labels returns the model's labels without their prefix, in model order.
func (m *Model) Labels() []string { return append([]string(nil), m.labels...) }

// Dim returns the dimension of the model's vectors.
func (m *Model) Dim() int { return int(m.args.dim) }

// Predict returns the k most probable labels of text whose probability is
// at least threshold, most probable first, as fastText's predict does. k < 1
// asks for every label (fastText's k = -1).
//
// text is one line: newlines count as spaces (datatrove replaces them before
// calling fastText), and the end-of-line token "</s>" is appended, as the
// Python binding does by adding "\n".
func (m *Model) Predict(text string, k int, threshold float32) []Prediction {
	return m.PredictAppend(nil, text, k, threshold)
}

// PredictAppend is Predict appending to dst, so that a caller can reuse one
// slice and predict without allocating.
func (m *Model) PredictAppend(dst []Prediction, text string, k int, threshold float32) []Prediction {
	st := m.states.Get().(*state)
	defer m.states.Put(st)
	for _, c := range m.predict(st, text, k, threshold) {
		dst = append(dst, Prediction{Label: m.labels[c.label], Prob: expf(c.score)})
	}
	return dst
}

// predict runs fastText's predictLine on text and returns the candidates,
// best first, in st.heap.
func (m *Model) predict(st *state, text string, k int, threshold float32) []scored {
	st.rows = m.inputRows(st, text)
	if k < 1 || k > int(m.dict.nlabels) {
		k = int(m.dict.nlabels)
	}
	h := st.heap[:0]
	if len(st.rows) == 0 {
		// FastText::predict returns nothing for a line without input.
		st.heap = h
		return h
	}
	averageRows(m.rowsIn, st.hidden, st.rows)
	switch m.args.loss {
	case lossHS:
		h = hsPredict(m.tree, m.output, st.hidden, k, stdLog(threshold), h)
	case lossSoftmax:
		softmaxOutput(m.output, st.hidden, st.output)
		h = findKBest(st.output, k, threshold, h)
	default: // ns, ova
		sigmoidOutput(m.output, st.hidden, st.output)
		h = findKBest(st.output, k, threshold, h)
	}
	sortHeap(h)
	st.heap = h
	return h
}

// isSpace reports the bytes that end a fastText token (Dictionary::readWord).
func isSpace(c byte) bool {
	switch c {
	case ' ', '\n', '\r', '\t', '\v', '\f', 0:
		return true
	}
	return false
}

// inputRows turns a line into the input rows of the model
// (Dictionary::getLine): for each token its subword rows, then "</s>", then
// the word n-grams. In-vocabulary labels and unknown label-like tokens
// contribute nothing. A "</s>" in the text ends the line there.
func (m *Model) inputRows(st *state, text string) []int32 {
	return m.rows(st, text, true)
}

// rows is inputRows; with line false, text is a piece of a line: no
// end-of-line token is added and a literal "</s>" is skipped, not the end.
func (m *Model) rows(st *state, text string, line bool) []int32 {
	d := m.dict
	rows := st.rows[:0]
	hashes := st.hashes[:0]
	for i := 0; i < len(text); {
		for i < len(text) && isSpace(text[i]) {
			i++
		}
		start := i
		for i < len(text) && !isSpace(text[i]) {
			i++
		}
		if start == i {
			break
		}
		tok := text[start:i]
		if tok == eosWord {
			if !line {
				continue
			}
			// A literal "</s>" ends the line as a newline would: fastText
			// reads no further.
			break
		}
		h := hash(tok)
		rows, hashes = m.addToken(st, rows, hashes, tok, h, d.lookup(tok, h))
	}
	if line {
		rows, hashes = m.addToken(st, rows, hashes, eosWord, d.eosHash, d.eosID)
	}
	rows = d.wordNgramRows(rows, hashes)
	st.rows, st.hashes = rows, hashes
	return rows
}

func (m *Model) addToken(st *state, rows, hashes []int32, tok string, h uint32, wid int32) ([]int32, []int32) {
	d := m.dict
	if d.tokenType(tok, wid) != typeWord {
		return rows, hashes
	}
	switch {
	case wid >= 0:
		rows = append(rows, d.subData[d.subOff[wid]:d.subOff[wid+1]]...)
	case tok != eosWord:
		st.buf = append(append(append(st.buf[:0], '<'), tok...), '>')
		rows = d.charNgrams(rows, st.buf)
	}
	return rows, append(hashes, int32(h))
}
