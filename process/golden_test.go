package process

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/datarefine/refine/internal/shareddata"
)

// goldenRow is the part of a golden datatrove row this test compares.
type goldenRow struct {
	ID        string `json:"id"`
	URL       string `json:"url"`
	Reader    string `json:"reader"`
	Extracted string `json:"extraction"`
	Seq       string `json:"sequential_result_with_lang"`
}

func readGolden(t testing.TB, name string) []goldenRow {
	f, err := os.Open(shareddata.Path(t, "golden", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []goldenRow
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var r goldenRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// TestGoldenEndToEnd runs the pipeline on the golden WARC (990 real pages)
// and compares the kept set with the real datatrove run's sequential result
// (reader → URL → extraction → language → quality filters). Documents our
// dedup removed count as kept here: the golden run has no dedup. The
// Jaccard index and the differences by the step that decided them are
// logged; the test holds the figure to a floor measured at the time of
// writing so that regressions fail.
func TestGoldenEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end run on 990 pages")
	}
	jac := runKeptSet(t, "golden_trafilatura_eval.jsonl", shareddata.Path(t, "golden", "trafilatura_eval.warc.gz"))
	if jac < goldenJaccardFloor {
		t.Fatalf("Jaccard %.4f below the floor %.2f", jac, goldenJaccardFloor)
	}
}

// TestRealWARCsKeptSet does the same on the real CommonCrawl and crawler
// WARCs (58 HTML records in datatrove's run).
func TestRealWARCsKeptSet(t *testing.T) {
	jac := runKeptSet(t, "golden_realwarcs.jsonl",
		shareddata.Path(t, "warc", "commoncrawl"), shareddata.Path(t, "warc", "real_crawls"))
	if jac < realJaccardFloor {
		t.Fatalf("Jaccard %.4f below the floor %.2f", jac, realJaccardFloor)
	}
}

// runKeptSet runs the pipeline on the inputs and returns the Jaccard index
// of our kept set and the golden file's sequential_result_with_lang kept
// set, logging the differences by the step that decided them.
func runKeptSet(t *testing.T, goldenFile string, inputs ...string) float64 {
	dir := testAssets(t)
	golden := readGolden(t, goldenFile)
	out := t.TempDir()
	dec := filepath.Join(out, "decisions.jsonl")
	m, err := Run(context.Background(), Options{
		Inputs: inputs, Output: out, Decisions: dec, Steps: StepOptions{AssetsDir: dir},
	})
	if err != nil {
		t.Fatal(err)
	}
	ours := map[string]decision{}
	for _, d := range readDecisions(t, dec) {
		ours[d.ID] = d
	}
	var inter, union, goldenKept, ourKept int
	var interRead, unionRead int // over the records both readers accept
	diff := map[string]int{}
	for _, g := range golden {
		d, ok := ours[g.ID]
		if !ok {
			t.Fatalf("golden id %s has no decision", g.ID)
		}
		gk := g.Seq == "kept"
		ok2 := d.Kept || d.Step == "dedup"
		if gk {
			goldenKept++
		}
		if ok2 {
			ourKept++
		}
		bothRead := !strings.HasPrefix(g.Seq, "reader:") && d.Step != "reader"
		switch {
		case gk && ok2:
			inter++
			union++
			if bothRead {
				interRead++
				unionRead++
			}
		case gk:
			union++
			diff["we drop ("+d.Step+":"+d.Reason+"), datatrove keeps"]++
			if bothRead {
				unionRead++
			}
		case ok2:
			union++
			diff["we keep, datatrove drops ("+g.Seq+")"]++
			if bothRead {
				unionRead++
			}
		}
	}
	jac := float64(inter) / float64(union)
	t.Logf("%s: kept: ours %d (%d after dedup), datatrove %d; Jaccard %.4f (%.4f over the records both readers accept)",
		goldenFile, ourKept, m.Documents, goldenKept, jac, float64(interRead)/float64(unionRead))
	keys := make([]string, 0, len(diff))
	for k := range diff {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return diff[keys[i]] > diff[keys[j]] || diff[keys[i]] == diff[keys[j]] && keys[i] < keys[j]
	})
	for _, k := range keys {
		t.Logf("  %3d  %s", diff[k], strings.TrimSpace(k))
	}
	return jac
}

// goldenJaccardFloor and realJaccardFloor are the kept-set Jaccard indexes
// measured when the extractor was written (1.0: the same 124 and 23
// documents as datatrove), less a margin of one document.
const (
	goldenJaccardFloor = 0.99
	realJaccardFloor   = 0.95
)

// TestGoldenLanguageGate runs the golden WARC with and without the language
// gate and compares every record's decision: a page the gate drops must be
// dropped by a filter without it too (mostly the language filter; a page
// whose extracted text is a short English snippet, such as a search box's
// "Start typing to see results", passes the language filter and falls to
// Gopher's rules), and every other record must be decided the same way.
// Dedup is no filter here: a gated page that dedup would have removed
// could have been the kept copy of another.
func TestGoldenLanguageGate(t *testing.T) {
	if testing.Short() {
		t.Skip("two end-to-end runs on 990 pages")
	}
	dir := testAssets(t)
	var runs [2]map[string]decision
	for i, noGate := range []bool{false, true} {
		dec := filepath.Join(t.TempDir(), "decisions.jsonl")
		_, err := Run(context.Background(), Options{
			Inputs: []string{shareddata.Path(t, "golden", "trafilatura_eval.warc.gz")},
			Output: t.TempDir(), Decisions: dec, Workers: 2,
			Steps: StepOptions{AssetsDir: dir, NoLanguageGate: noGate},
		})
		if err != nil {
			t.Fatal(err)
		}
		runs[i] = map[string]decision{}
		for _, d := range readDecisions(t, dec) {
			runs[i][d.ID] = d
		}
	}
	gated, same := 0, 0
	byStep := map[string]int{}
	for id, on := range runs[0] {
		off, ok := runs[1][id]
		if !ok {
			t.Fatalf("%s: no decision without the gate", id)
		}
		if on.Step == "page_language" {
			gated++
			byStep[off.Step+":"+off.Reason]++
			if off.Kept || off.Step == "dedup" {
				t.Errorf("%s %s: gated, but without the gate: %+v", id, on.URL, off)
			}
			continue
		}
		if on != off {
			t.Errorf("%s: decided differently: with the gate %+v, without %+v", id, on, off)
		}
		same++
	}
	t.Logf("%d records: the gate drops %d (without it: %v); %d decided identically", len(runs[0]), gated, byStep, same)
	if gated == 0 {
		t.Error("the gate dropped nothing")
	}
}
