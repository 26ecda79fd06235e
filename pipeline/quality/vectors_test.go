package quality

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/datarefine/refine/internal/shareddata"
	"github.com/datarefine/refine/pipeline"
)

// datatroveVector is one of datatrove's own filter test cases, transcribed
// to data: Expected is true (kept), false (dropped, reason unspecified) or
// the drop reason.
type datatroveVector struct {
	Filter   string          `json:"filter"`
	Params   json.RawMessage `json:"params"`
	Text     string          `json:"text"`
	Expected any             `json:"expected"`
	Note     string          `json:"note"`
}

func loadVectors(t *testing.T) []datatroveVector {
	t.Helper()
	b, err := os.ReadFile(shareddata.Path(t, "filters_dedup", "datatrove_test_vectors", "datatrove_filter_vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Vectors []datatroveVector `json:"vectors"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v.Vectors
}

// vectorFilter builds our filter for a vector, mapping datatrove's
// parameters onto the options. Python's 0 and -1 map to our "disabled"
// (negative) where datatrove treats them so.
func vectorFilter(t *testing.T, v datatroveVector) pipeline.Filter {
	switch v.Filter {
	case "GopherRepetitionFilter", "GopherQualityFilter", "C4QualityFilter", "FineWebQualityFilter":
	default:
		return nil // not a filter of this package
	}
	var p map[string]float64
	if err := json.Unmarshal(v.Params, &p); err != nil {
		t.Fatalf("params %s: %v", v.Params, err)
	}
	neg := func(x float64) float64 {
		if x <= 0 {
			return -1
		}
		return x
	}
	known := map[string]bool{}
	get := func(k string) (float64, bool) { x, ok := p[k]; known[k] = true; return x, ok }
	var f pipeline.Filter
	switch v.Filter {
	case "GopherRepetitionFilter":
		f = NewGopherRepetition(GopherRepetitionOptions{})
	case "GopherQualityFilter":
		o := GopherQualityOptions{}
		if x, ok := get("min_doc_words"); ok {
			o.MinDocWords = int(neg(x))
		}
		if x, ok := get("max_doc_words"); ok {
			o.MaxDocWords = int(neg(x))
		}
		f = NewGopherQuality(o)
	case "C4QualityFilter":
		o := C4QualityOptions{}
		if x, ok := get("min_num_sentences"); ok {
			o.MinNumSentences = int(x)
		}
		if x, ok := get("min_words_per_line"); ok {
			o.MinWordsPerLine = int(x)
		}
		// datatrove's own test uses its default filter_no_terminal_punct=True.
		o.FilterNoTerminalPunct = true
		f = NewC4Quality(o)
	case "FineWebQualityFilter":
		o := FineWebQualityOptions{}
		if x, ok := get("line_punct_thr"); ok {
			o.LinePunctThr = neg(x)
		}
		if x, ok := get("short_line_thr"); ok {
			o.ShortLineThr = x
		}
		if x, ok := get("short_line_length"); ok {
			o.ShortLineLength = int(x)
		}
		if x, ok := get("new_line_ratio"); ok {
			o.NewLineRatio = x
		}
		f = NewFineWebQuality(o)
	}
	for k := range p {
		if !known[k] {
			t.Fatalf("%s: parameter %q not mapped", v.Filter, k)
		}
	}
	return f
}

func TestDatatroveVectors(t *testing.T) {
	vectors := loadVectors(t)
	ran, passed := 0, 0
	for i, v := range vectors {
		f := vectorFilter(t, v)
		if f == nil {
			continue
		}
		ran++
		name := fmt.Sprintf("%02d_%s", i, v.Filter)
		t.Run(name, func(t *testing.T) {
			doc := &pipeline.Document{Text: v.Text}
			keep, reason := f.Filter(doc)
			ok := false
			switch e := v.Expected.(type) {
			case bool:
				ok = keep == e
			case string:
				ok = !keep && reason == e
			}
			if ok && strings.Contains(v.Note, "must not contain 'cookies'") {
				ok = !strings.Contains(doc.Text, "cookies")
			}
			if ok {
				passed++
				return
			}
			t.Errorf("text %.60q: want %v, got keep=%v reason=%q", v.Text, v.Expected, keep, reason)
		})
	}
	t.Logf("datatrove vectors: %d/%d pass", passed, ran)
	if ran != 24 {
		t.Errorf("ran %d vectors of this package's filters, the file has 24", ran)
	}
}
