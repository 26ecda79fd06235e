package words

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/datarefine/refine/internal/shareddata"
)

// goldenRow holds the fields of a golden row this package checks.
type goldenRow struct {
	ID         string   `json:"id"`
	Text       *string  `json:"extracted_text"`
	SpacyWords []string `json:"spacy_en_words"`
	C4         *struct {
		Keep   bool   `json:"keep"`
		Reason string `json:"reason"`
	} `json:"indep_c4"`
}

var goldenFiles = []string{"golden_trafilatura_eval.jsonl", "golden_realwarcs.jsonl"}

// goldenCache keeps the parsed rows: several tests and benchmarks use them.
var goldenCache struct {
	sync.Mutex
	rows []goldenRow
}

// loadGolden reads the golden rows that have spaCy words.
func loadGolden(tb testing.TB) []goldenRow {
	tb.Helper()
	goldenCache.Lock()
	defer goldenCache.Unlock()
	if goldenCache.rows != nil {
		return goldenCache.rows
	}
	var rows []goldenRow
	for _, name := range goldenFiles {
		f, err := os.Open(shareddata.Path(tb, "golden", name))
		if err != nil {
			tb.Fatalf("open golden: %v", err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			var r goldenRow
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				tb.Fatalf("%s: %v", name, err)
			}
			if r.Text != nil && r.SpacyWords != nil {
				rows = append(rows, r)
			}
		}
		if err := sc.Err(); err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		f.Close()
	}
	goldenCache.rows = rows
	return rows
}

// firstDiff describes where two token lists first differ.
func firstDiff(got, want []string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	ctx := func(l []string) string {
		lo, hi := max(0, i-3), min(len(l), i+4)
		return fmt.Sprintf("%q", l[lo:hi])
	}
	return fmt.Sprintf("at token %d: got %s want %s (len %d/%d)", i, ctx(got), ctx(want), len(got), len(want))
}

func equalTokens(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestGoldenWordsParity checks Words against datatrove's spaCy tokens on the
// golden documents: at least 99.5% of documents must match exactly.
func TestGoldenWordsParity(t *testing.T) {
	rows := loadGolden(t)
	if len(rows) == 0 {
		t.Fatal("no golden rows with spacy_en_words")
	}
	same := 0
	var diffs []string
	for _, r := range rows {
		got := Words(*r.Text)
		if equalTokens(got, r.SpacyWords) {
			same++
			continue
		}
		diffs = append(diffs, r.ID+": "+firstDiff(got, r.SpacyWords))
	}
	pct := 100 * float64(same) / float64(len(rows))
	t.Logf("spaCy word parity: %d/%d documents identical (%.2f%%)", same, len(rows), pct)
	show := 10
	if os.Getenv("WORDS_SHOW_ALL") != "" {
		show = len(diffs)
	}
	for _, d := range diffs[:min(show, len(diffs))] {
		t.Log(d)
	}
	if pct < 99.5 {
		t.Fatalf("parity %.2f%% below 99.5%%", pct)
	}
}
