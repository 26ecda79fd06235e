package eval

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
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
// multiple-choice); a malformed row is an error. Data that does not start
// with '{' is read as the HellaSwag text format of the registered asset
// (klosax/hellaswag_text_data: 6 lines per item, see parseHellaSwagText).
func ParseBenchmark(data []byte) ([]Item, error) {
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 0 && t[0] != '{' {
		return parseHellaSwagText(data)
	}
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

// parseHellaSwagText reads HellaSwag in the text layout of
// klosax/hellaswag_text_data: per item, a line "activity label: context",
// the index of the right ending, then the 4 endings, one per line. It is the
// same preprocessing (lm-eval-harness style) as the JSONL form.
func parseHellaSwagText(data []byte) ([]Item, error) {
	lines := strings.Split(strings.TrimRight(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n"), "\n")
	if len(lines)%6 != 0 {
		return nil, fmt.Errorf("eval: hellaswag text: %d lines, want a multiple of 6", len(lines))
	}
	items := make([]Item, 0, len(lines)/6)
	for i := 0; i < len(lines); i += 6 {
		gold, err := strconv.Atoi(strings.TrimSpace(lines[i+1]))
		if err != nil || gold < 0 || gold > 3 {
			return nil, fmt.Errorf("eval: hellaswag text line %d: gold index %q", i+2, lines[i+1])
		}
		items = append(items, Item{Query: lines[i], Choices: append([]string(nil), lines[i+2:i+6]...), Gold: gold})
	}
	return items, nil
}
