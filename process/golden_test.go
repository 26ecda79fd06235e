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

	"github.com/datarefine/refine/internal/testdata"
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
	f, err := os.Open(testdata.Path(t, "golden", name))
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
	dir := testAssets(t)
	golden := readGolden(t, "golden_trafilatura_eval.jsonl")
	out := t.TempDir()
	dec := filepath.Join(out, "decisions.jsonl")
	m, err := Run(context.Background(), Options{
		Inputs: []string{testdata.Path(t, "golden", "trafilatura_eval.warc.gz")},
		// No extraction time limit, so that the figure does not depend on
		// the machine's load.
		Output: out, Decisions: dec, Steps: StepOptions{AssetsDir: dir, ExtractTimeout: -1},
	})
	if err != nil {
		t.Fatal(err)
	}
	decs := readDecisions(t, dec)
	if len(decs) != len(golden) {
		t.Fatalf("%d decisions, %d golden rows", len(decs), len(golden))
	}
	ours := map[string]decision{}
	for _, d := range decs {
		ours[d.ID] = d
	}
	var inter, union, goldenKept, ourKept int
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
		switch {
		case gk && ok2:
			inter++
			union++
		case gk:
			union++
			diff["we drop ("+d.Step+":"+d.Reason+"), datatrove keeps"]++
		case ok2:
			union++
			diff["we keep, datatrove drops ("+g.Seq+")"]++
		}
	}
	jac := float64(inter) / float64(union)
	t.Logf("kept: ours %d (%d after dedup), datatrove %d; Jaccard %.4f", ourKept, m.Documents, goldenKept, jac)
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
	if jac < goldenJaccardFloor {
		t.Fatalf("Jaccard %.4f below the floor %.2f", jac, goldenJaccardFloor)
	}
}

// goldenJaccardFloor is the kept-set Jaccard measured when the test was
// written, less a margin; see the closing notes in docs/pipeline.md.
const goldenJaccardFloor = 0.85

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
			Inputs: []string{testdata.Path(t, "golden", "trafilatura_eval.warc.gz")},
			Output: t.TempDir(), Decisions: dec, Workers: 2,
			Steps: StepOptions{AssetsDir: dir, ExtractTimeout: -1, NoLanguageGate: noGate},
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
