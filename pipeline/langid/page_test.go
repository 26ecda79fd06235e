package langid

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/datarefine/refine/internal/shareddata"
	"github.com/datarefine/refine/internal/testpages"
	"github.com/datarefine/refine/pipeline"
)

func newGate(t testing.TB) *PageFilter {
	t.Helper()
	f, err := NewFilter(Options{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewPageFilter(f, PageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestPageBlocks(t *testing.T) {
	for _, tc := range []struct {
		name, page string
		want       []string
	}{
		{"blocks and inline", `<html><head><title>T</title></head><body><p>one <b>two</b> three</p><div>four<br>five</div></body></html>`,
			[]string{"T", "one  two  three", "four", "five"}},
		{"script and style are not text", `<p>a</p><script>var english = "the quick brown fox";</script><style>p{}</style><p>b</p>`,
			[]string{"a", "b"}},
		{"entities decoded", `<p>caf&eacute; &amp; bar</p>`, []string{"café & bar"}},
		{"noscript and comments", `<noscript><p>enable it</p></noscript><!-- hidden --><li>x</li>`,
			[]string{"enable it", "x"}},
		{"quoted > in attributes", `<div title="a > b" data-x='<p>'>text</div>`, []string{"text"}},
		{"upper case tags", `<P>a</P><SCRIPT type="text/javascript">x = 1 < 2;</SCRIPT><Div>b</DIV>`, []string{"a", "b"}},
		{"lone angle brackets", `<p>1 < 2 and 3 > 2</p>`, []string{"1  <  2 and 3 > 2"}},
		{"unclosed comment", `<p>a</p><!-- never closed <p>b</p>`, []string{"a"}},
		{"doctype and cdata", `<!DOCTYPE html><p>a</p><![CDATA[x]]>`, []string{"a"}},
		{"no text", `<html><body><img src=x></body></html>`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			pageBlocks(tc.page, func(b string) bool { got = append(got, b); return true })
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("blocks = %q, want %q", got, tc.want)
			}
		})
	}
	var n int
	if stopped := pageBlocks(`<p>a</p><p>b</p><p>c</p>`, func(string) bool { n++; return n < 2 }); !stopped || n != 2 {
		t.Errorf("stop after 2 blocks: stopped=%v n=%d", stopped, n)
	}
}

// TestLabelProbMatchesPredict checks the gate's one-label probability
// against predict on whole texts, where both average the same rows.
func TestLabelProbMatchesPredict(t *testing.T) {
	m, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{
		"The quick brown fox jumps over the lazy dog near the river bank.",
		"Der schnelle braune Fuchs springt über den faulen Hund am Fluss.",
		"Le renard brun rapide saute par-dessus le chien paresseux.",
		"速い茶色のキツネが怠け者の犬を飛び越える",
		"ok",
	}
	st := m.states.Get().(*state)
	defer m.states.Put(st)
	for _, text := range texts {
		for _, p := range m.Predict(text, -1, 0) {
			label := int32(-1)
			for i, l := range m.labels {
				if l == p.Label {
					label = int32(i)
				}
			}
			rows := m.inputRows(st, text)
			averageRows(m.rowsIn, st.hidden, rows)
			got := m.labelProb(st, label)
			if math.Abs(float64(got-p.Prob)) > 1e-6*max(1, float64(p.Prob)) {
				t.Errorf("%q %s: labelProb %g, predict %g", text, p.Label, got, p.Prob)
			}
		}
	}
}

func TestPageFilterSynthetic(t *testing.T) {
	g := newGate(t)
	german := strings.Repeat("<li>Startseite</li><li>Kontakt</li><li>Impressum</li>", 3) +
		"<p>Die Klimaaktivisten der Gruppe wollten damit vor zwei Wochen die Verbindung zwischen der Wall Street und jenen Energieunternehmen, die fossile Rohstoffe verbrennen, sichtbar machen. Nur wenige Tage zuvor hatten sich in mehreren Städten Demonstranten vor den Filialen versammelt.</p>"
	english := "<p>The committee met on Tuesday to discuss the new budget for the public library, which has been closed for renovation since the spring. Members agreed that the reading room should reopen first, followed by the children's section and the archive in the autumn.</p>"
	for _, tc := range []struct {
		name string
		page string
		keep bool
	}{
		{"german page", "<html><body>" + german + german + "</body></html>", false},
		{"english article in german page", "<html><body>" + german + english + german + "</body></html>", true},
		{"english page", "<html><body>" + english + "</body></html>", true},
		{"english only inside a script", "<html><body>" + german + "<script>var s = \"" + english + "\";</script></body></html>", false},
		{"no text", "<html><body><img src=a.png></body></html>", true},
		{"empty", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := g.Keep(tc.page); got != tc.keep {
				best, words := g.best(tc.page, 2)
				t.Errorf("Keep = %v, want %v (best window %.4f, %d words)", got, tc.keep, best, words)
			}
			d := &pipeline.Document{HTML: tc.page}
			if keep, reason := g.Filter(d); keep != tc.keep || (!keep && reason != ReasonNoWantedText) {
				t.Errorf("Filter = %v %q", keep, reason)
			}
		})
	}
	// A document read as text (no HTML) is not the gate's business.
	if keep, _ := g.Filter(&pipeline.Document{Text: "Deutsch"}); !keep {
		t.Error("a document without HTML was dropped")
	}
	f, _ := NewFilter(Options{AnyLanguage: true})
	if _, err := NewPageFilter(f, PageOptions{}); err == nil {
		t.Error("a gate for a filter that keeps any language was accepted")
	}
}

// TestPageFilterGolden runs the gate on every HTML page of the golden
// datatrove runs (the 990 trafilatura benchmark pages and the real crawl
// WARCs) and checks that it drops no page whose extracted text passed
// datatrove's language filter, while dropping most of those that did not.
// Needs ../shared/data (REFINE_TESTDATA).
func TestPageFilterGolden(t *testing.T) {
	type gold struct {
		langKeep bool
		result   string
	}
	golden := map[string]gold{}
	for _, name := range []string{"golden_trafilatura_eval.jsonl", "golden_realwarcs.jsonl"} {
		readJSONL(t, shareddata.Path(t, "golden", name), func(line []byte) {
			var row struct {
				ID       string `json:"id"`
				LangKeep bool   `json:"lang_keep"`
				Result   any    `json:"sequential_result_with_lang"`
			}
			if err := json.Unmarshal(line, &row); err != nil {
				t.Fatal(err)
			}
			r, _ := row.Result.(string)
			golden[row.ID] = gold{row.LangKeep, r}
		})
	}
	g := newGate(t)
	files := [][]string{
		{"golden", "trafilatura_eval.warc.gz"},
		{"warc", "commoncrawl", "jwarc_cc.warc.gz"},
		{"warc", "commoncrawl", "npm-warc_CC-MAIN-2014-35_00006.warc"},
		{"warc", "commoncrawl", "resiliparse_CC-MAIN-2020-34_extract.warc.gz"},
		{"warc", "commoncrawl", "whirlwind_CC-MAIN-2024-22_warc.gz"},
		{"warc", "real_crawls", "dolma_browsertrix_sample-0000.warc.gz"},
		{"warc", "real_crawls", "dolma_browsertrix_sample-0001.warc.gz"},
	}
	var pages, langKept, langDropped, gated, gatedLangDropped int
	minKeptBest := float32(1)
	for _, file := range files {
		for _, pg := range testpages.Load(t, file...) {
			gd, ok := golden[pg.ID]
			if !ok {
				continue
			}
			pages++
			keep := g.Keep(pg.HTML)
			if !keep {
				gated++
			}
			switch {
			case gd.langKeep:
				langKept++
				best, _ := g.best(pg.HTML, 2)
				minKeptBest = min(minKeptBest, best)
				if !keep {
					t.Errorf("%s %s: gated, but datatrove's language filter kept its text (result %q; best window %.3f)", file, pg.ID, gd.result, best)
				}
			case gd.result == "lang:low_en_score":
				langDropped++
				if !keep {
					gatedLangDropped++
				}
			default:
				if !keep && gd.result != "extractor:empty" {
					t.Errorf("%s %s: gated, but datatrove did not drop it for language (result %q)", file, pg.ID, gd.result)
				}
			}
		}
	}
	t.Logf("%d pages: gate drops %d; %d of %d pages datatrove drops for language; keeps all %d whose text passes it (lowest best-window P(en) among them %.3f)",
		pages, gated, gatedLangDropped, langDropped, langKept, minKeptBest)
	if pages < 1000 || langKept < 150 {
		t.Fatalf("only %d golden pages (%d language-kept) found", pages, langKept)
	}
	// The gate exists to save extraction time: it must catch most pages
	// that the language filter drops.
	if gatedLangDropped*2 < langDropped {
		t.Errorf("the gate drops only %d of %d pages that fail the language filter", gatedLangDropped, langDropped)
	}
}

// BenchmarkPageFilter runs the gate over the 990 golden pages; reports
// MB/s of HTML and pages/s.
func BenchmarkPageFilter(b *testing.B) {
	var pages []string
	var size int64
	for _, p := range testpages.Load(b, "golden", "trafilatura_eval.warc.gz") {
		pages = append(pages, p.HTML)
		size += int64(len(p.HTML))
	}
	g := newGate(b)
	b.SetBytes(size)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for _, p := range pages {
			g.Keep(p)
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "pages/s")
}

// TestPageFilterBoundedMemory feeds a page of a million one-word blocks:
// the gate keeps only the current window's blocks, not the page's.
func TestPageFilterBoundedMemory(t *testing.T) {
	g := newGate(t)
	st := g.f.model.states.Get().(*state)
	defer g.f.model.states.Put(st)
	w := windower{g: g, st: st, dim: len(st.hidden), stop: 2}
	w.reset()
	maxLen := 0
	for i := range 1_000_000 {
		w.add([]string{"Wort", "und", "die", "der"}[i%4])
		maxLen = max(maxLen, len(w.words))
	}
	w.finish()
	if w.total != 1_000_000 {
		t.Errorf("counted %d words", w.total)
	}
	if maxLen > 4096 {
		t.Errorf("the windower held %d blocks at once", maxLen)
	}
	// The same page as HTML, end to end.
	page := strings.Repeat("<p>Wort und die der</p>", 250_000)
	if best, words := g.best(page, 2); words != 1_000_000 || best >= 0.1 {
		t.Errorf("best %.3f over %d words", best, words)
	}
}

// FuzzPageFilter checks that no input makes the scanner or the gate panic
// or loop, and that the gate is deterministic.
func FuzzPageFilter(f *testing.F) {
	for _, s := range []string{
		"", "<", "<<>>", "<p>a</p>", "<!--", "<!-- -->x", "<script>", "<script></scr", "<SCRIPT>a</script >b",
		`<a href="x>y`, "<p title='a>b'>c</p>", "&amp;&#x41;&bogus;", "<style>p{}</STYLE>text", "<?xml x?>t",
		"<p>The quick brown fox jumps over the lazy dog, again and again, all day long.</p>",
	} {
		f.Add(s)
	}
	g := newGate(f)
	f.Fuzz(func(t *testing.T, page string) {
		var blocks []string
		pageBlocks(page, func(b string) bool { blocks = append(blocks, b); return true })
		for _, b := range blocks {
			if len(b) > 2*len(page)+8 {
				t.Fatalf("block of %d bytes from a page of %d", len(b), len(page))
			}
		}
		if a, b := g.Keep(page), g.Keep(page); a != b {
			t.Fatal("not deterministic")
		}
	})
}
