package extract

import (
	"math/rand"
	"strings"
	"testing"

	"github.com/datarefine/refine/pipeline/extract/dom"
)

// TestPruneHTMLMatchesOneByOne: pruneHTML, which joins the tails of a run
// of empty siblings once, leaves the tree that deleting each empty
// element in turn leaves (trafilatura's prune_html).
func TestPruneHTMLMatchesOneByOne(t *testing.T) {
	parts := []string{"<i></i>", "<span></span>", "<b>x</b>", "t", "u ", "<p>", "</p>", "<div>", "</div>", "<br>", "<em> </em>"}
	r := rand.New(rand.NewSource(1))
	for range 3000 {
		var sb strings.Builder
		sb.WriteString("<html><body>")
		for range 1 + r.Intn(30) {
			sb.WriteString(parts[r.Intn(len(parts))])
		}
		page := sb.String()

		x := &extractor{a: new(dom.Arena)}
		got, _ := x.a.FromString(page)
		x.pruneHTML(got)

		want, _ := new(dom.Arena).FromString(page)
		var empty []*dom.Node
		want.DocRoot().Iter(func(n *dom.Node) bool {
			if n.FirstChild == nil && !n.HasText && cutEmptyElems[n.Tag] {
				empty = append(empty, n)
			}
			return true
		})
		for _, e := range empty {
			e.DropTree()
		}

		if g, w := string(dom.AppendXML(nil, got, true)), string(dom.AppendXML(nil, want, true)); g != w {
			t.Fatalf("%q:\n got %s\nwant %s", page, g, w)
		}
	}
}
