package dom

import (
	"strings"
	"testing"
)

func ser(b *strings.Builder, n *Node) {
	b.WriteString("<" + n.Tag + ">")
	if n.HasText {
		b.WriteString("T[" + n.Text + "]")
	}
	for c := n.FirstChild; c != nil; c = c.Next {
		ser(b, c)
	}
	b.WriteString("</" + n.Tag + ">")
	if n.HasTail {
		b.WriteString("L[" + n.Tail + "]")
	}
}

func div(t *testing.T, html string) *Node {
	t.Helper()
	doc := Parse("<html><body>" + html + "</body></html>")
	d := doc.Root.Find(func(tag string) bool { return tag == "div" })
	if d == nil {
		t.Fatalf("no div in %q", html)
	}
	return d
}

func serialize2(n *Node) string {
	var b strings.Builder
	ser(&b, n)
	return b.String()
}

// Expected trees from lxml 4.9.2: etree.strip_tags(div, 'b'), then the div
// written with T[text] and L[tail] (a missing text or tail is not written).
func TestStripTagsLikeLxml(t *testing.T) {
	for _, c := range [][2]string{
		{"<div>a<b>b1<b>b2</b>b3</b>c<i>i</i>d<b>e</b>f<b></b><b>g<i>h</i></b></div>", "<div>T[ab1b2b3c]<i>T[i]</i>L[defg]<i>T[h]</i></div>"},
		{"<div><b>x</b></div>", "<div>T[x]</div>"},
		{"<div><b></b></div>", "<div></div>"},
		{"<div><b><i>x</i></b>t</div>", "<div><i>T[x]</i>L[t]</div>"},
		{"<div>" + strings.Repeat("<b>x</b>y", 5) + "</div>", "<div>T[xyxyxyxyxy]</div>"},
	} {
		d := div(t, c[0])
		StripTags(d, func(tag string) bool { return tag == "b" })
		if got := serialize2(d); got != c[1] {
			t.Errorf("strip_tags(%q):\n got %s\nwant %s", c[0], got, c[1])
		}
	}
}

// drop_tree keeps the tail (joined to the parent's text here); remove()
// takes it along.
func TestDropTreeAndRemove(t *testing.T) {
	d := div(t, "<div>a<p>p</p>tail<span>s</span>t2</div>")
	d.Find(func(tag string) bool { return tag == "p" }).DropTree()
	if got, want := serialize2(d), "<div>T[atail]<span>T[s]</span>L[t2]</div>"; got != want {
		t.Errorf("after drop_tree: %s, want %s", got, want)
	}
	d.Find(func(tag string) bool { return tag == "span" }).Remove()
	if got, want := serialize2(d), "<div>T[atail]</div>"; got != want {
		t.Errorf("after remove: %s, want %s", got, want)
	}
}

// TestArenaReset: a reset arena hands out clean nodes and keeps its work
// account from zero.
func TestArenaReset(t *testing.T) {
	a := &Arena{}
	for round := 0; round < 3; round++ {
		doc := a.Parse("<html><body><div class=x>" + strings.Repeat("<p>t</p>", 1000) + "</div></body></html>")
		if n := len(doc.Root.Descendants()); n != 1002 {
			t.Fatalf("round %d: %d descendants", round, n)
		}
		n := a.New("fresh")
		if n.HasText || n.Attr != nil || n.FirstChild != nil || n.Parent != nil {
			t.Fatalf("round %d: a reused node is not clean: %+v", round, n)
		}
		a.Reset()
		if a.Work != 0 {
			t.Fatalf("work %d after reset", a.Work)
		}
	}
}

func TestWorkBudgetPanics(t *testing.T) {
	a := &Arena{Budget: 100}
	defer func() {
		if r := recover(); r != ErrWorkBudget {
			t.Fatalf("recovered %v, want ErrWorkBudget", r)
		}
	}()
	a.Parse(strings.Repeat("<p>x", 1000))
	t.Fatal("no panic")
}

func TestAppendXML(t *testing.T) {
	d := div(t, `<div title="é&quot;&lt;&gt;&#10;&#9;&#13;&amp;" class=x>é <b>x</b>&lt;&amp;&#13;
<br><p></p>"'</div>`)
	d.SetTail("tail")
	// lxml: tostring(div, encoding=str, method='xml')
	want := `<div title="&#xE9;&quot;&lt;&gt;&#10;&#9;&#13;&amp;" class="x">é <b>x</b>&lt;&amp;&#13;` + "\n" + `<br/><p/>"'</div>tail`
	if got := string(AppendXML(nil, d, true)); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
