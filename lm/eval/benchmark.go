package eval

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Item is one multiple-choice question: a query and its choices, of which
// Gold is right.
type Item struct {
	Query   string
	Choices []string
	Gold    int
}

// ParseBenchmark reads multiple-choice JSONL in the formats of the shared
// benchmarks: LLM Foundry ICL ({"query", "choices", "gold"}: ARC, PIQA,
// COPA, ...) and preprocessed HellaSwag ({"query", "endings", "label"}).
// Rows without choices are skipped (e.g. LAMBADA, which is not
// multiple-choice); a malformed row is an error.
func ParseBenchmark(data []byte) ([]Item, error) {
	var items []Item
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var row struct {
			Query   string   `json:"query"`
			Choices []string `json:"choices"`
			Endings []string `json:"endings"`
			Gold    *int     `json:"gold"`
			Label   *int     `json:"label"`
		}
		if err := json.Unmarshal(b, &row); err != nil {
			return nil, fmt.Errorf("eval: benchmark line %d: %w", line, err)
		}
		it := Item{Query: row.Query, Choices: row.Choices}
		gold := row.Gold
		if len(it.Choices) == 0 {
			it.Choices, gold = row.Endings, row.Label
		}
		if len(it.Choices) < 2 {
			continue
		}
		if gold == nil || *gold < 0 || *gold >= len(it.Choices) {
			return nil, fmt.Errorf("eval: benchmark line %d: gold answer missing or out of range", line)
		}
		it.Gold = *gold
		items = append(items, it)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("eval: read benchmark: %w", err)
	}
	return items, nil
}

// continuationText is what follows the query: a space, unless the query
// already ends in whitespace.
func continuationText(query, choice string) string {
	if strings.HasSuffix(query, " ") || strings.HasSuffix(query, "\n") {
		return strings.TrimLeft(choice, " ")
	}
	return " " + strings.TrimLeft(choice, " ")
}
