package lm

import (
	"fmt"
	"sort"
	"sync"

	"github.com/pkoukk/tiktoken-go"
	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"
)

// GPT-2 has 50257 token ids; 50256 is <|endoftext|>.
const gpt2Size = 50257

// Model vocabulary ids with a fixed meaning.
const (
	DocSep = 0 // document separator (GPT-2 <|endoftext|>)
	OOV    = 1 // any GPT-2 token outside the reduced vocabulary
)

var (
	gpt2Once sync.Once
	gpt2Enc  *tiktoken.Tiktoken
	gpt2Err  error
)

// Tokenizer encodes text to GPT-2 token ids with the BPE ranks compiled into
// the binary (tiktoken-go-loader), so nothing is downloaded at run time.
type Tokenizer struct{ enc *tiktoken.Tiktoken }

// GPT2 returns the shared GPT-2 (r50k_base) tokenizer.
func GPT2() (*Tokenizer, error) {
	gpt2Once.Do(func() {
		tiktoken.SetBpeLoader(tiktoken_loader.NewOfflineLoader())
		gpt2Enc, gpt2Err = tiktoken.GetEncoding("r50k_base")
		if gpt2Err != nil {
			gpt2Err = fmt.Errorf("lm: load GPT-2 tokenizer: %w", gpt2Err)
		}
	})
	if gpt2Err != nil {
		return nil, gpt2Err
	}
	return &Tokenizer{enc: gpt2Enc}, nil
}

// Encode returns the GPT-2 ids of text (special tokens are treated as text).
func (t *Tokenizer) Encode(text string) []int { return t.enc.EncodeOrdinary(text) }

// EncodeAll encodes texts on GOMAXPROCS goroutines; the result is in input
// order and does not depend on the thread count.
func (t *Tokenizer) EncodeAll(texts []string) [][]int {
	out := make([][]int, len(texts))
	parallelFor(len(texts), func(i int) { out[i] = t.Encode(texts[i]) })
	return out
}

// Vocab maps GPT-2 ids onto the model's reduced vocabulary: DocSep, OOV and
// the most frequent GPT-2 tokens of a reference text. Building it from the
// reference text, not from the data being judged, matters: a vocabulary of
// the judged data would let foreign-language data map everything it cannot
// model onto OOV and look good.
type Vocab struct {
	toModel []int32 // GPT-2 id -> model id
	toGPT2  []int   // model id -> GPT-2 id (-1 for OOV)
}

// BuildVocab keeps the size-2 most frequent GPT-2 ids of refTokens (ties
// broken by the smaller id) and reserves DocSep and OOV.
func BuildVocab(refTokens [][]int, size int) (*Vocab, error) {
	if size < 3 {
		return nil, fmt.Errorf("lm: vocabulary size %d < 3", size)
	}
	counts := make([]int, gpt2Size)
	for _, doc := range refTokens {
		for _, id := range doc {
			if id >= 0 && id < gpt2Size && id != gpt2Size-1 {
				counts[id]++
			}
		}
	}
	ids := make([]int, 0, gpt2Size)
	for id, c := range counts {
		if c > 0 {
			ids = append(ids, id)
		}
	}
	sort.SliceStable(ids, func(a, b int) bool { return counts[ids[a]] > counts[ids[b]] })
	if len(ids) > size-2 {
		ids = ids[:size-2]
	}
	v := &Vocab{toModel: make([]int32, gpt2Size), toGPT2: make([]int, size)}
	for i := range v.toModel {
		v.toModel[i] = OOV
	}
	v.toModel[gpt2Size-1] = DocSep
	v.toGPT2[DocSep], v.toGPT2[OOV] = gpt2Size-1, -1
	for i := range v.toGPT2[2:] {
		v.toGPT2[2+i] = -1
	}
	for i, id := range ids {
		v.toModel[id] = int32(2 + i)
		v.toGPT2[2+i] = id
	}
	return v, nil
}

// Size is the model vocabulary size.
func (v *Vocab) Size() int { return len(v.toGPT2) }

// Map appends the model ids of GPT-2 ids to dst.
func (v *Vocab) Map(dst []int32, gpt2 []int) []int32 {
	for _, id := range gpt2 {
		if id < 0 || id >= gpt2Size {
			dst = append(dst, OOV)
			continue
		}
		dst = append(dst, v.toModel[id])
	}
	return dst
}

// Coverage is the fraction of tokens in docs that are in the vocabulary.
func (v *Vocab) Coverage(docs [][]int) float64 {
	var in, all int
	for _, d := range docs {
		for _, id := range d {
			all++
			if id >= 0 && id < gpt2Size && v.toModel[id] != OOV {
				in++
			}
		}
	}
	if all == 0 {
		return 0
	}
	return float64(in) / float64(all)
}
