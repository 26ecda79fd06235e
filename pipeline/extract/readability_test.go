package extract

import (
	"math/rand"
	"strings"
	"testing"

	"github.com/datarefine/refine/pipeline/extract/dom"
)

// transformMisusedDivsRef is transformMisusedDivs with lxml's
// e.insert(pos+1, p) as a walk from the first child.
func transformMisusedDivsRef(r *readability) {
	for _, e := range r.doc.FindAll(tagIs("div")) {
		if !hasBlockDescendant(e) {
			e.Tag = "p"
		}
	}
	for _, e := range r.doc.FindAll(tagIs("div")) {
		if e.HasText && pyStrip(e.Text) != "" {
			p := r.newP()
			p.SetText(e.Text)
			e.ClearText()
			e.Insert(0, p)
		}
		children := e.Children()
		for pos := len(children) - 1; pos >= 0; pos-- {
			child := children[pos]
			if child.Tail != "" && pyStrip(child.Tail) != "" {
				p := r.newP()
				p.SetText(child.Tail)
				child.ClearTail()
				e.Insert(pos+1, p)
			}
			if child.Tag == "br" {
				r.dropTree(child)
			}
		}
	}
}

// TestTransformMisusedDivsMatchesInsert: inserting each tail's <p> right
// after its child gives the tree of inserting it at position pos+1.
func TestTransformMisusedDivsMatchesInsert(t *testing.T) {
	parts := []string{"<br>", "<br> ", "t", " ", "<img>", "<b>x</b>", "<div>", "</div>", "<p>y</p>", "<a>q</a>", "<ul><li>z</li></ul>"}
	rnd := rand.New(rand.NewSource(1))
	for range 3000 {
		var sb strings.Builder
		sb.WriteString("<html><body><div>")
		for range 1 + rnd.Intn(30) {
			sb.WriteString(parts[rnd.Intn(len(parts))])
		}
		page := sb.String()

		x := &extractor{a: new(dom.Arena)}
		got, _ := x.a.FromString(page)
		(&readability{x: x, doc: got}).transformMisusedDivs()

		y := &extractor{a: new(dom.Arena)}
		want, _ := y.a.FromString(page)
		transformMisusedDivsRef(&readability{x: y, doc: want})

		if g, w := string(dom.AppendXML(nil, got, true)), string(dom.AppendXML(nil, want, true)); g != w {
			t.Fatalf("%q:\n got %s\nwant %s", page, g, w)
		}
	}
}
