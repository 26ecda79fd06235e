// Package golden reads the golden FineWeb pages of the shared test data
// (golden/golden_trafilatura_eval.jsonl) for the benchmarks, which build
// synthetic inputs from their real words.
package golden

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/datarefine/refine/internal/shareddata"
)

// Path returns the golden file of the shared test data, or an error when
// the data is absent.
func Path() (string, error) {
	root := shareddata.Root()
	if root == "" {
		return "", fmt.Errorf("no shared test data (set REFINE_TESTDATA)")
	}
	return filepath.Join(root, "golden", "golden_trafilatura_eval.jsonl"), nil
}

// Texts calls fn with every golden page's extracted text, in file order.
func Texts(path string, fn func(text string)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		var row struct {
			Text *string `json:"extracted_text"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if row.Text != nil {
			fn(*row.Text)
		}
	}
	return sc.Err()
}
