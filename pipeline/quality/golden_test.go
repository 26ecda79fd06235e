package quality

import (
	"bufio"
	"encoding/json"
	"os"
	"sync"
	"testing"

	"github.com/datarefine/refine/internal/shareddata"
	"github.com/datarefine/refine/pipeline"
)

type goldenVerdict struct {
	Keep   bool    `json:"keep"`
	Reason *string `json:"reason"`
}

func (v goldenVerdict) reason() string {
	if v.Reason == nil {
		return ""
	}
	return *v.Reason
}

type goldenRow struct {
	URL           string         `json:"url"`
	ExtractedText *string        `json:"extracted_text"`
	SpacyWords    []string       `json:"spacy_en_words"`
	GopherRep     *goldenVerdict `json:"indep_gopher_rep"`
	GopherQual    *goldenVerdict `json:"indep_gopher_qual"`
	C4            *goldenVerdict `json:"indep_c4"`
	C4Text        *string        `json:"c4_output_text"`
	FineWebQual   *goldenVerdict `json:"indep_fineweb_qual"`
}

var (
	goldenOnce sync.Once
	goldenRows []goldenRow
	goldenErr  error
)

// loadGolden returns the rows of both golden files that have an extracted
// text.
func loadGolden(tb testing.TB) []goldenRow {
	tb.Helper()
	paths := []string{
		shareddata.Path(tb, "golden", "golden_trafilatura_eval.jsonl"),
		shareddata.Path(tb, "golden", "golden_realwarcs.jsonl"),
	}
	goldenOnce.Do(func() {
		for _, p := range paths {
			f, err := os.Open(p)
			if err != nil {
				goldenErr = err
				return
			}
			sc := bufio.NewScanner(f)
			sc.Buffer(make([]byte, 1<<20), 1<<28)
			for sc.Scan() {
				var r goldenRow
				if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
					goldenErr = err
					break
				}
				if r.ExtractedText != nil {
					goldenRows = append(goldenRows, r)
				}
			}
			if goldenErr == nil {
				goldenErr = sc.Err()
			}
			f.Close()
			if goldenErr != nil {
				return
			}
		}
	})
	if goldenErr != nil {
		tb.Fatalf("loading golden rows: %v", goldenErr)
	}
	return goldenRows
}

// goldenWords returns a WordsFunc that answers with the golden spaCy tokens
// of each extracted text, so the filters' own logic can be checked apart
// from the tokenizer.
func goldenWords(tb testing.TB, rows []goldenRow) pipeline.WordsFunc {
	m := make(map[string][]string, len(rows))
	for _, r := range rows {
		m[*r.ExtractedText] = r.SpacyWords
	}
	return func(text string) []string {
		w, ok := m[text]
		if !ok {
			tb.Errorf("no golden words for text %.60q", text)
		}
		return w
	}
}

type parity struct {
	name       string
	total, ok  int
	mismatches []string
}

func (p *parity) add(match bool, detail string) {
	p.total++
	if match {
		p.ok++
	} else if len(p.mismatches) < 8 {
		p.mismatches = append(p.mismatches, detail)
	}
}

// check logs the figure and fails below 99.9%.
func (p *parity) check(t *testing.T) {
	t.Helper()
	frac := float64(p.ok) / float64(max(p.total, 1))
	t.Logf("%s: %d/%d = %.2f%%", p.name, p.ok, p.total, 100*frac)
	for _, m := range p.mismatches {
		t.Logf("  mismatch: %s", m)
	}
	if p.total == 0 {
		t.Errorf("%s: no rows compared", p.name)
	}
	if frac < 0.999 {
		t.Errorf("%s parity %.2f%% < 99.9%%", p.name, 100*frac)
	}
}

func verdictDetail(i int, r goldenRow, want goldenVerdict, keep bool, reason string) string {
	return r.URL + ": want " + fmtVerdict(want.Keep, want.reason()) + " got " + fmtVerdict(keep, reason)
}

func fmtVerdict(keep bool, reason string) string {
	if keep {
		return "keep"
	}
	return "drop:" + reason
}

func runParity(rows []goldenRow, name string, f pipeline.Filter, want func(goldenRow) *goldenVerdict) *parity {
	p := &parity{name: name}
	for i, r := range rows {
		w := want(r)
		if w == nil {
			continue
		}
		doc := &pipeline.Document{Text: *r.ExtractedText, URL: r.URL}
		keep, reason := f.Filter(doc)
		p.add(keep == w.Keep && reason == w.reason(), verdictDetail(i, r, *w, keep, reason))
	}
	return p
}

// TestGoldenParityGoldenWords checks the non-C4 filters with the golden
// spaCy tokens: this isolates the filters' logic from the tokenizer.
func TestGoldenParityGoldenWords(t *testing.T) {
	rows := loadGolden(t)
	gw := goldenWords(t, rows)
	runParity(rows, "gopher_rep (golden words)", NewGopherRepetition(GopherRepetitionOptions{Words: gw}),
		func(r goldenRow) *goldenVerdict { return r.GopherRep }).check(t)
	runParity(rows, "gopher_qual (golden words)", NewGopherQuality(GopherQualityOptions{Words: gw}),
		func(r goldenRow) *goldenVerdict { return r.GopherQual }).check(t)
	runParity(rows, "fineweb_qual (golden words)", NewFineWebQuality(FineWebQualityOptions{Words: gw}),
		func(r goldenRow) *goldenVerdict { return r.FineWebQual }).check(t)
}

// TestGoldenParityC4Lines checks C4's line rules and rewrite without the
// sentence count (which needs the spaCy sentencizer): documents the
// reference keeps must be rewritten identically, and lorem_ipsum /
// curly_bracket drops must be found.
func TestGoldenParityC4Lines(t *testing.T) {
	rows := loadGolden(t)
	f := NewC4Quality(C4QualityOptions{MinNumSentences: -1})
	text := &parity{name: "c4 rewrite, golden-kept docs (no sentence rule)"}
	drops := &parity{name: "c4 lorem_ipsum/curly_bracket drops (no sentence rule)"}
	for i, r := range rows {
		if r.C4 == nil {
			continue
		}
		doc := &pipeline.Document{Text: *r.ExtractedText}
		keep, reason := f.Filter(doc)
		switch {
		case r.C4.Keep:
			text.add(keep && r.C4Text != nil && doc.Text == *r.C4Text, verdictDetail(i, r, *r.C4, keep, reason)+" or text differs")
		case r.C4.reason() != "too_few_sentences":
			drops.add(!keep && reason == r.C4.reason(), verdictDetail(i, r, *r.C4, keep, reason))
		}
	}
	text.check(t)
	drops.check(t)
}

// TestGoldenParityRealTokenizer is the end-to-end parity with the words
// package (spaCy port) as the pipeline runs it.
func TestGoldenParityRealTokenizer(t *testing.T) {
	rows := loadGolden(t)
	runParity(rows, "gopher_rep", NewGopherRepetition(GopherRepetitionOptions{}),
		func(r goldenRow) *goldenVerdict { return r.GopherRep }).check(t)
	runParity(rows, "gopher_qual", NewGopherQuality(GopherQualityOptions{}),
		func(r goldenRow) *goldenVerdict { return r.GopherQual }).check(t)
	runParity(rows, "fineweb_qual", NewFineWebQuality(FineWebQualityOptions{}),
		func(r goldenRow) *goldenVerdict { return r.FineWebQual }).check(t)

	c4 := NewC4Quality(C4QualityOptions{})
	p := &parity{name: "c4 (verdict and rewritten text)"}
	for i, r := range rows {
		if r.C4 == nil {
			continue
		}
		doc := &pipeline.Document{Text: *r.ExtractedText}
		keep, reason := c4.Filter(doc)
		ok := keep == r.C4.Keep && reason == r.C4.reason()
		if ok && keep {
			ok = r.C4Text != nil && doc.Text == *r.C4Text
		}
		p.add(ok, verdictDetail(i, r, *r.C4, keep, reason))
	}
	p.check(t)
}

// TestConcurrentUse runs the filters from several goroutines at once (the
// Runner's workers share one instance of each) and expects the sequential
// answers.
func TestConcurrentUse(t *testing.T) {
	rows := loadGolden(t)
	if len(rows) > 300 {
		rows = rows[:300]
	}
	chain := []pipeline.Filter{
		NewGopherRepetition(GopherRepetitionOptions{}), NewGopherQuality(GopherQualityOptions{}),
		NewC4Quality(C4QualityOptions{}), NewFineWebQuality(FineWebQualityOptions{}),
	}
	run := func(r goldenRow) string {
		d := &pipeline.Document{Text: *r.ExtractedText}
		for _, f := range chain {
			if keep, reason := f.Filter(d); !keep {
				return f.Name() + ":" + reason
			}
		}
		return "kept:" + d.Text
	}
	want := make([]string, len(rows))
	for i, r := range rows {
		want[i] = run(r)
	}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(rows); i += 4 {
				if got := run(rows[i]); got != want[i] {
					t.Errorf("row %d: concurrent result differs", i)
				}
			}
		}(w)
	}
	wg.Wait()
}
