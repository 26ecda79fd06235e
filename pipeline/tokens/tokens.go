// Package tokens counts GPT-2 tokens, as datatrove's TokensCounter does with
// the Hugging Face "gpt2" tokenizer. The BPE ranks come from
// tiktoken-go-loader's embedded copy of r50k_base (GPT-2's vocabulary), so
// nothing is downloaded at run time.
package tokens

import "github.com/datarefine/refine/pipeline"

// Counter is the pipeline step that sets Document.TokenCount.
type Counter struct{ bpe *BPE }

// NewCounter loads the GPT-2 encoder.
func NewCounter() (*Counter, error) {
	e, err := GPT2BPE()
	if err != nil {
		return nil, err
	}
	return &Counter{bpe: e}, nil
}

// Name implements pipeline.Formatter.
func (c *Counter) Name() string { return "tokens" }

// Format implements pipeline.Formatter.
func (c *Counter) Format(doc *pipeline.Document) {
	doc.TokenCount = int64(c.bpe.Count(doc.Text))
}

var _ pipeline.Formatter = (*Counter)(nil)
