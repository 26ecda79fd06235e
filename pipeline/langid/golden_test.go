package langid

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/datarefine/refine/internal/shareddata"
)

// goldenCase is one text with fastText's exact top-5 output on lid.176.ftz.
type goldenCase struct {
	name string
	text string // as handed to fastText's predict (newlines already spaces)
	top5 []Prediction
}

// readJSONL calls fn for every line of a JSON-lines file.
func readJSONL(t testing.TB, path string, fn func(line []byte)) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		fn(sc.Bytes())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

// pairs decodes [["__label__xx", p], ...] or [["xx", p], ...].
func pairs(t testing.TB, raw [][2]any) []Prediction {
	t.Helper()
	out := make([]Prediction, len(raw))
	for i, p := range raw {
		label, ok1 := p[0].(string)
		prob, ok2 := p[1].(float64)
		if !ok1 || !ok2 {
			t.Fatalf("bad prediction pair %v", p)
		}
		out[i] = Prediction{Label: strings.TrimPrefix(label, labelPrefix), Prob: float32(prob)}
	}
	return out
}

// lid176Cases loads the fastText outputs of langid/*_top5.jsonl.
func lid176Cases(t testing.TB) []goldenCase {
	var cases []goldenCase
	for _, name := range []string{"papluca_test_lid176_top5.jsonl", "misc_lid176_top5.jsonl"} {
		readJSONL(t, shareddata.Path(t, "langid", name), func(line []byte) {
			var row struct {
				ID          int      `json:"id"`
				Text        string   `json:"text"`
				Predictions [][2]any `json:"predictions"`
			}
			if err := json.Unmarshal(line, &row); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			cases = append(cases, goldenCase{name: name, text: row.Text, top5: pairs(t, row.Predictions)})
		})
	}
	return cases
}

// goldenDocCase is a document of the golden FineWeb runs, with datatrove's
// language metadata.
type goldenDocCase struct {
	goldenCase
	top1    string
	top1P   float64
	enScore float64
	keep    bool
}

func goldenDocCases(t testing.TB) []goldenDocCase {
	var cases []goldenDocCase
	for _, name := range []string{"golden_trafilatura_eval.jsonl", "golden_realwarcs.jsonl"} {
		readJSONL(t, shareddata.Path(t, "golden", name), func(line []byte) {
			var row struct {
				Text     *string  `json:"extracted_text"`
				Top1     *string  `json:"lid_top1_label"`
				Top1P    float64  `json:"lid_top1_score"`
				EnScore  float64  `json:"lid_en_score"`
				Top5     [][2]any `json:"lid_top5"`
				LangKeep *bool    `json:"lang_keep"`
			}
			if err := json.Unmarshal(line, &row); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if row.Text == nil || row.Top1 == nil || row.LangKeep == nil {
				return // not extracted: no language prediction
			}
			cases = append(cases, goldenDocCase{
				goldenCase: goldenCase{name: name, text: strings.ReplaceAll(*row.Text, "\n", " "), top5: pairs(t, row.Top5)},
				top1:       *row.Top1, top1P: row.Top1P, enScore: row.EnScore, keep: *row.LangKeep,
			})
		})
	}
	return cases
}

// compareTop5 checks top-1 identity and the probabilities of the top 5, and
// returns the largest probability difference.
func compareTop5(t *testing.T, m *Model, c goldenCase, i int) float64 {
	t.Helper()
	got := m.Predict(c.text, 5, 0)
	if len(got) != len(c.top5) {
		t.Errorf("%s #%d: %d predictions, want %d", c.name, i, len(got), len(c.top5))
		return math.Inf(1)
	}
	if got[0].Label != c.top5[0].Label {
		t.Errorf("%s #%d: top-1 %q, want %q (text %.80q)", c.name, i, got[0].Label, c.top5[0].Label, c.text)
	}
	worst := 0.0
	for j, want := range c.top5 {
		// Labels may only swap where fastText's own probabilities tie closely.
		var p float32
		found := false
		for _, g := range got {
			if g.Label == want.Label {
				p, found = g.Prob, true
			}
		}
		if !found {
			if math.Abs(float64(got[j].Prob-want.Prob)) > 1e-4 {
				t.Errorf("%s #%d: label %q of the top 5 missing", c.name, i, want.Label)
			}
			p = got[j].Prob
		}
		worst = max(worst, math.Abs(float64(p-want.Prob)))
	}
	if worst >= 1e-4 {
		t.Errorf("%s #%d: probability off by %g\n got %v\nwant %v", c.name, i, worst, got, c.top5)
	}
	return worst
}

func TestGoldenLID176Top5(t *testing.T) {
	m, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	cases := lid176Cases(t)
	worst, exact := 0.0, 0
	for i, c := range cases {
		d := compareTop5(t, m, c, i)
		worst = max(worst, d)
		if d == 0 {
			exact++
		}
	}
	t.Logf("%d texts: max |Δp| = %.3g, bit-identical top-5 on %d", len(cases), worst, exact)
}

func TestGoldenDocuments(t *testing.T) {
	m, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	cases := goldenDocCases(t)
	if len(cases) < 1000 {
		t.Fatalf("only %d golden documents with predictions", len(cases))
	}
	worst := 0.0
	for i, c := range cases {
		worst = max(worst, compareTop5(t, m, c.goldenCase, i))
	}
	t.Logf("%d documents: max |Δp| = %.3g", len(cases), worst)
}
