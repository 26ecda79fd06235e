package langid

import (
	"fmt"

	"github.com/datarefine/refine/pipeline"
)

// Options configure the language filter.
type Options struct {
	// Model predicts the language; nil means Default() (lid.176).
	Model *Model
	// Languages to keep; nil means ["en"], FineWeb's setting.
	Languages []string
	// AnyLanguage keeps a document in any language whose top score passes
	// the threshold (datatrove's languages=None); Languages is then ignored.
	AnyLanguage bool
	// Threshold a language's probability must exceed; 0 means 0.65.
	Threshold float64
}

// Filter is datatrove's LanguageFilter with the ft176 backend: it labels
// every document with its most probable language and keeps those where one
// of the wanted languages scores above the threshold.
type Filter struct {
	model     *Model
	langs     []int32 // label indices of the wanted languages
	any       bool
	threshold float64
	reason    string
}

var _ pipeline.Filter = (*Filter)(nil)

// NewFilter builds the filter; it fails when the model cannot be loaded or
// does not know a wanted language.
func NewFilter(opts Options) (*Filter, error) {
	f := &Filter{model: opts.Model, any: opts.AnyLanguage, threshold: opts.Threshold}
	if f.model == nil {
		m, err := Default()
		if err != nil {
			return nil, err
		}
		f.model = m
	}
	if f.threshold == 0 {
		f.threshold = 0.65
	}
	langs := opts.Languages
	if langs == nil {
		langs = []string{"en"}
	}
	f.reason = "low_language_score"
	if f.any {
		return f, nil
	}
	if len(langs) == 0 {
		return nil, fmt.Errorf("langid: no language to keep (set AnyLanguage to keep all)")
	}
	for _, l := range langs {
		idx := int32(-1)
		for i, name := range f.model.labels {
			if name == l {
				idx = int32(i)
			}
		}
		if idx < 0 {
			return nil, fmt.Errorf("langid: the model has no label %q", l)
		}
		f.langs = append(f.langs, idx)
	}
	if len(langs) == 1 {
		// The golden FineWeb runs name the English drop "low_en_score".
		f.reason = "low_" + langs[0] + "_score"
	}
	return f, nil
}

// Name implements pipeline.Filter.
func (f *Filter) Name() string { return "language" }

// Filter implements pipeline.Filter. It predicts every label (threshold 0,
// as datatrove's k=-1 call), sets doc.Language and doc.LanguageScore to the
// best one, and keeps the document when a wanted language scores above the
// threshold. A label fastText does not return scores 0.
func (f *Filter) Filter(doc *pipeline.Document) (bool, string) {
	m := f.model
	st := m.states.Get().(*state)
	defer m.states.Put(st)
	// Newlines already count as spaces in predict, which is what datatrove's
	// text.replace("\n", " ") achieves.
	cands := m.predict(st, doc.Text, -1, 0)
	if len(cands) == 0 {
		doc.Language, doc.LanguageScore = "", 0
		return false, f.reason
	}
	best := cands[0]
	doc.Language = m.labels[best.label]
	doc.LanguageScore = float64(expf(best.score))
	if f.any {
		if doc.LanguageScore > f.threshold {
			return true, ""
		}
		return false, f.reason
	}
	for _, c := range cands {
		for _, l := range f.langs {
			if c.label == l && float64(expf(c.score)) > f.threshold {
				return true, ""
			}
		}
	}
	return false, f.reason
}
