package extract

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"strings"
	"testing"

	"github.com/datarefine/refine/internal/testdata"
	"golang.org/x/net/html"
)

func findBody(n *html.Node) *html.Node {
	if n.Type == html.ElementNode && n.Data == "body" {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if b := findBody(c); b != nil {
			return b
		}
	}
	return nil
}

func TestAnalyze(t *testing.T) {
	if os.Getenv("DUMP") == "" {
		t.Skip()
	}
	data, _ := os.ReadFile("/tmp/nodes.json")
	var nodes map[int64]string
	json.Unmarshal(data, &nodes)
	rows := readJSONL[goldenRow](t, path.Join(testdata.Dir(t), "golden", "golden_trafilatura_eval.jsonl"))
	exact := 0
	shown := 0
	for _, g := range rows {
		if g.Reader != "ok" {
			continue
		}
		doc, _ := html.Parse(strings.NewReader(nodes[g.RecordIndex]))
		ours := renderText(findBody(doc))
		if ours == g.ExtractedText {
			exact++
			continue
		}
		if shown < 8 && os.Getenv("SHOW") != "" {
			shown++
			a, b := strings.Split(ours, "\n"), strings.Split(g.ExtractedText, "\n")
			i := 0
			for i < len(a) && i < len(b) && a[i] == b[i] {
				i++
			}
			fmt.Printf("#%d lines ours %d theirs %d; first diff line %d\n", g.RecordIndex, len(a), len(b), i)
			for k := i; k < i+3; k++ {
				if k < len(a) {
					fmt.Printf("  O: %.150q\n", a[k])
				}
				if k < len(b) {
					fmt.Printf("  T: %.150q\n", b[k])
				}
			}
		}
	}
	fmt.Println("exact", exact)
}
