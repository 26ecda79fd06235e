package langid

import (
	"encoding/json"
	"math"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/datarefine/refine/internal/shareddata"
	"github.com/datarefine/refine/pipeline"
)

func newFilter(t testing.TB, opts Options) *Filter {
	t.Helper()
	f, err := NewFilter(opts)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// enScore is datatrove's P(en): the probability fastText returns for "en"
// when asked for every label, 0 when it is not returned.
func enScore(m *Model, text string) float64 {
	for _, p := range m.Predict(strings.ReplaceAll(text, "\n", " "), -1, 0) {
		if p.Label == "en" {
			return float64(p.Prob)
		}
	}
	return 0
}

// TestFilterGolden runs the filter on the extracted text of every golden
// document and checks datatrove's language, score, P(en) and verdict.
func TestFilterGolden(t *testing.T) {
	f := newFilter(t, Options{})
	m := f.model
	type row struct {
		Text       *string `json:"extracted_text"`
		Top1       *string `json:"lid_top1_label"`
		Top1P      float64 `json:"lid_top1_score"`
		EnScore    float64 `json:"lid_en_score"`
		LangKeep   *bool   `json:"lang_keep"`
		WithLang   string  `json:"sequential_result_with_lang"`
		Extraction string  `json:"extraction"`
	}
	n, exactScore, langDrops := 0, 0, 0
	worst := 0.0
	for _, name := range []string{"golden_trafilatura_eval.jsonl", "golden_realwarcs.jsonl"} {
		readJSONL(t, shareddata.Path(t, "golden", name), func(line []byte) {
			var r row
			if err := json.Unmarshal(line, &r); err != nil {
				t.Fatal(err)
			}
			if r.Text == nil || r.Top1 == nil || r.LangKeep == nil {
				return
			}
			n++
			doc := &pipeline.Document{Text: *r.Text}
			keep, reason := f.Filter(doc)
			if doc.Text != *r.Text {
				t.Fatal("the filter changed the text")
			}
			if doc.Language != *r.Top1 {
				t.Errorf("%s row %d: language %q, want %q", name, n, doc.Language, *r.Top1)
			}
			d := math.Abs(doc.LanguageScore - r.Top1P)
			worst = max(worst, d)
			if d == 0 {
				exactScore++
			} else if d >= 1e-4 {
				t.Errorf("%s row %d: score %v, want %v", name, n, doc.LanguageScore, r.Top1P)
			}
			en := enScore(m, *r.Text)
			if (en == 0) != (r.EnScore == 0) || math.Abs(en-r.EnScore) >= 1e-4 {
				t.Errorf("%s row %d: P(en) %v, want %v", name, n, en, r.EnScore)
			}
			worst = max(worst, math.Abs(en-r.EnScore))
			if keep != *r.LangKeep {
				t.Errorf("%s row %d: keep %v, want %v (P(en) %v)", name, n, keep, *r.LangKeep, r.EnScore)
			}
			if keep != (reason == "") {
				t.Errorf("%s row %d: keep %v with reason %q", name, n, keep, reason)
			}
			if strings.HasPrefix(r.WithLang, "lang:") {
				langDrops++
				if "lang:"+reason != r.WithLang {
					t.Errorf("%s row %d: reason %q, golden %q", name, n, reason, r.WithLang)
				}
			}
		})
	}
	if n < 1000 || langDrops < 100 {
		t.Fatalf("only %d documents, %d language drops", n, langDrops)
	}
	t.Logf("%d documents (%d dropped for language): identical verdicts and labels; score bit-identical on %d, max |Δp| (top-1 and P(en)) = %.3g",
		n, langDrops, exactScore, worst)
}

// TestFilterDatatroveVectors replays datatrove's own LanguageFilter tests.
func TestFilterDatatroveVectors(t *testing.T) {
	raw, err := os.ReadFile(shareddata.Path(t, "filters_dedup", "datatrove_test_vectors", "datatrove_filter_vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []struct {
			Filter string `json:"filter"`
			Params struct {
				Languages []string `json:"languages"`
			} `json:"params"`
			Text     string `json:"text"`
			Expected any    `json:"expected"`
			Note     string `json:"note"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range file.Vectors {
		if v.Filter != "LanguageFilter" {
			continue
		}
		n++
		f := newFilter(t, Options{Languages: v.Params.Languages})
		doc := &pipeline.Document{Text: v.Text}
		keep, _ := f.Filter(doc)
		if want, ok := v.Expected.(bool); !ok || keep != want {
			t.Errorf("%.40q: keep %v, want %v", v.Text, keep, v.Expected)
		}
		if lang, ok := strings.CutPrefix(v.Note, "metadata.language == "); ok && doc.Language != lang {
			t.Errorf("%.40q: language %q, want %q", v.Text, doc.Language, lang)
		}
	}
	if n == 0 {
		t.Fatal("no LanguageFilter vectors")
	}
}

func TestFilterOptions(t *testing.T) {
	const fr = "Un magicien n'est jamais en retard. Il arrive précisément à l'heure prévue."
	const en = "A wizard is never late, nor is he early. He arrives precisely when he means to."
	cases := []struct {
		name     string
		opts     Options
		text     string
		keep     bool
		reason   string
		language string
		minScore float64
	}{
		{"english kept", Options{}, en, true, "", "en", 0.65},
		{"french dropped", Options{}, fr, false, "low_en_score", "fr", 0.65},
		{"french wanted", Options{Languages: []string{"fr"}}, fr, true, "", "fr", 0.65},
		{"several languages", Options{Languages: []string{"de", "it"}}, fr, false, "low_language_score", "fr", 0.65},
		{"any language", Options{AnyLanguage: true}, fr, true, "", "fr", 0.65},
		{"any language, high bar", Options{AnyLanguage: true, Threshold: 0.9999}, fr, false, "low_language_score", "fr", 0.65},
		{"empty text", Options{}, "", false, "low_en_score", "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFilter(t, tc.opts)
			if f.Name() != "language" {
				t.Errorf("name %q", f.Name())
			}
			doc := &pipeline.Document{Text: tc.text}
			keep, reason := f.Filter(doc)
			if keep != tc.keep || reason != tc.reason {
				t.Errorf("got (%v, %q), want (%v, %q); language %s %.4f", keep, reason, tc.keep, tc.reason, doc.Language, doc.LanguageScore)
			}
			if tc.language != "" && doc.Language != tc.language || doc.LanguageScore < tc.minScore || doc.LanguageScore > 1 {
				t.Errorf("language %q %v, want %q", doc.Language, doc.LanguageScore, tc.language)
			}
		})
	}
	if _, err := NewFilter(Options{Languages: []string{"xx"}}); err == nil {
		t.Error("unknown language accepted")
	}
	if _, err := NewFilter(Options{Languages: []string{}}); err == nil {
		t.Error("empty language list accepted")
	}
}

// Newlines count as spaces, as datatrove's text.replace("\n", " ").
func TestNewlinesAsSpaces(t *testing.T) {
	m := lid(t)
	for _, text := range sampleTexts {
		got := m.Predict(text, -1, 0)
		want := m.Predict(strings.ReplaceAll(text, "\n", " "), -1, 0)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %v, with spaces %v", text, got, want)
		}
	}
}

func TestPredictKAndThreshold(t *testing.T) {
	m := lid(t)
	text := sampleTexts[1]
	all := m.Predict(text, -1, 0)
	if len(all) < 5 {
		t.Fatalf("only %d labels", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].Prob > all[i-1].Prob {
			t.Fatalf("not sorted: %v", all)
		}
	}
	if got := m.Predict(text, 3, 0); !reflect.DeepEqual(got, all[:3]) {
		t.Errorf("k=3: %v, want %v", got, all[:3])
	}
	thr := (all[1].Prob + all[2].Prob) / 2
	if got := m.Predict(text, 10, thr); !reflect.DeepEqual(got, all[:2]) {
		t.Errorf("threshold %v: %v, want %v", thr, got, all[:2])
	}
	buf := make([]Prediction, 0, 8)
	if got := m.PredictAppend(buf, text, 2, 0); !reflect.DeepEqual(got, all[:2]) || &got[0] != &buf[:1][0] {
		t.Errorf("PredictAppend: %v", got)
	}
}

// Predictions from many goroutines at once equal the sequential ones (run
// with -race to check the pooling).
func TestConcurrentPredict(t *testing.T) {
	m := lid(t)
	want := make([][]Prediction, len(sampleTexts))
	for i, text := range sampleTexts {
		want[i] = m.Predict(text, 5, 0)
	}
	f := newFilter(t, Options{Model: m})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range 50 {
				i := (g + r) % len(sampleTexts)
				if got := m.Predict(sampleTexts[i], 5, 0); !reflect.DeepEqual(got, want[i]) {
					t.Errorf("goroutine %d: %q: %v, want %v", g, sampleTexts[i], got, want[i])
					return
				}
				doc := &pipeline.Document{Text: sampleTexts[i]}
				f.Filter(doc)
				if len(want[i]) > 0 && doc.Language != want[i][0].Label {
					t.Errorf("goroutine %d: filter language %q, want %q", g, doc.Language, want[i][0].Label)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestPredictAllocations(t *testing.T) {
	m := lid(t)
	f := newFilter(t, Options{Model: m})
	doc := &pipeline.Document{Text: strings.Repeat(sampleTexts[0]+" ", 20)}
	f.Filter(doc) // warm the pool
	if n := testing.AllocsPerRun(50, func() { f.Filter(doc) }); n > 0 {
		t.Errorf("Filter allocates %v times per call", n)
	}
	buf := make([]Prediction, 0, 8)
	if n := testing.AllocsPerRun(50, func() { buf = m.PredictAppend(buf[:0], doc.Text, 5, 0) }); n > 0 {
		t.Errorf("PredictAppend allocates %v times per call", n)
	}
}
