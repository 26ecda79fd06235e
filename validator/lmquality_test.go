package validator

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/internal/testdata"
)

// TestLMQuality: the model-based quality ranks refined documents (the
// golden run's kept, English texts) above unfiltered wrong-language pages,
// and gives the same number twice.
func TestLMQuality(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the small model")
	}
	ref := testdata.Path(t, "reference_text", "wikitext-2-raw", "wiki.test.raw")
	f, err := os.Open(testdata.Path(t, "golden", "golden_trafilatura_eval.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var refined, foreign []dataset.Doc
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var row struct {
			Seq   string `json:"sequential_result_with_lang"`
			Final string `json:"final_text"`
			Text  string `json:"extracted_text"`
			Lang  string `json:"lid_top1_label"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatal(err)
		}
		switch {
		case row.Seq == "kept" && len(refined) < 60:
			refined = append(refined, dataset.Doc{Text: row.Final})
		case row.Lang == "de" && row.Text != "" && len(foreign) < 60:
			foreign = append(foreign, dataset.Doc{Text: row.Text})
		}
	}
	q, err := NewLMQuality(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	good, err := q.Quality(context.Background(), refined)
	if err != nil {
		t.Fatal(err)
	}
	bad, err := q.Quality(context.Background(), foreign)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := q.Quality(context.Background(), refined)
	t.Logf("quality: refined %.4f, German %.4f", good, bad)
	if good <= bad || good <= 0 || good > 1 || bad < 0 {
		t.Fatalf("refined %.4f should score above wrong-language %.4f, both in [0,1]", good, bad)
	}
	if again != good {
		t.Fatalf("not deterministic: %v then %v", good, again)
	}
}
