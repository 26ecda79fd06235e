package extract

import (
	"math/rand"
	"testing"
)

// neighbourRef is justext's _get_neighbour as written: a scan from i.
func neighbourRef(i int, ps []*jtParagraph, ignoreNeargood bool, inc int) string {
	boundary := -1
	if inc > 0 {
		boundary = len(ps)
	}
	for i+inc != boundary {
		i += inc
		c := ps[i].class
		if c == "good" || c == "bad" {
			return c
		}
		if c == "neargood" && !ignoreNeargood {
			return c
		}
	}
	return "bad"
}

// reviseParagraphsRef is revise_paragraph_classification as written, one
// neighbour scan per paragraph (quadratic).
func reviseParagraphsRef(ps []*jtParagraph) {
	for _, p := range ps {
		p.class = p.cfClass
	}
	newClasses := map[int]string{}
	for i, p := range ps {
		if p.class != "short" {
			continue
		}
		prev := neighbourRef(i, ps, true, -1)
		next := neighbourRef(i, ps, true, 1)
		switch {
		case prev == "good" && next == "good":
			newClasses[i] = "good"
		case prev == "bad" && next == "bad":
			newClasses[i] = "bad"
		case prev == "bad" && neighbourRef(i, ps, false, -1) == "neargood" ||
			next == "bad" && neighbourRef(i, ps, false, 1) == "neargood":
			newClasses[i] = "good"
		default:
			newClasses[i] = "bad"
		}
	}
	for i, c := range newClasses {
		ps[i].class = c
	}
	for i, p := range ps {
		if p.class != "neargood" {
			continue
		}
		prev := neighbourRef(i, ps, true, -1)
		next := neighbourRef(i, ps, true, 1)
		if prev == "bad" && next == "bad" {
			p.class = "bad"
		} else {
			p.class = "good"
		}
	}
}

var jtClasses = []string{"good", "bad", "neargood", "short"}

func checkRevise(t *testing.T, cf []string) {
	t.Helper()
	a, b := make([]*jtParagraph, len(cf)), make([]*jtParagraph, len(cf))
	for i, c := range cf {
		a[i], b[i] = &jtParagraph{cfClass: c}, &jtParagraph{cfClass: c}
	}
	reviseParagraphs(a)
	reviseParagraphsRef(b)
	for i := range a {
		if a[i].class != b[i].class {
			t.Fatalf("%v: paragraph %d is %q, the reference says %q", cf, i, a[i].class, b[i].class)
		}
	}
}

// TestReviseParagraphsMatchesReference: the one-pass neighbours give the
// classes of justext's per-paragraph scans, for every sequence of up to 7
// paragraphs and for random longer ones.
func TestReviseParagraphsMatchesReference(t *testing.T) {
	for n := 0; n <= 7; n++ {
		total := 1
		for range n {
			total *= len(jtClasses)
		}
		cf := make([]string, n)
		for code := range total {
			for i, c := 0, code; i < n; i, c = i+1, c/len(jtClasses) {
				cf[i] = jtClasses[c%len(jtClasses)]
			}
			checkRevise(t, cf)
		}
	}
	r := rand.New(rand.NewSource(1))
	for range 2000 {
		cf := make([]string, 1+r.Intn(60))
		for i := range cf {
			cf[i] = jtClasses[r.Intn(len(jtClasses))]
		}
		checkRevise(t, cf)
	}
}

// TestReviseParagraphsLinear: a long run of short and neargood paragraphs
// (a page of "<p>a") is revised in linear time; the per-paragraph scans
// took minutes at this size.
func TestReviseParagraphsLinear(t *testing.T) {
	ps := make([]*jtParagraph, 1_000_000)
	for i := range ps {
		ps[i] = &jtParagraph{cfClass: "short"}
		if i%2 == 1 {
			ps[i].cfClass = "neargood"
		}
	}
	reviseParagraphs(ps)
	for i, p := range ps {
		if p.class != "good" && p.class != "bad" {
			t.Fatalf("paragraph %d left %q", i, p.class)
		}
	}
}
