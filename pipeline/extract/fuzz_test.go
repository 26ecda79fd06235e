package extract

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/datarefine/refine/pipeline/extract/dom"
)

// Adversarial pages: the extractor must not panic, and its work must stay
// within the budget (which bounds time and memory) whatever the input.

// adversarialSeeds are shapes that stress the parser and the tree walks;
// k scales their repetitions (1: tens to hundreds of kilobytes; the fuzz
// seeds use a small k, since the fuzzer minimizes every new input it
// keeps).
func adversarialSeeds(k int) []string {
	r := func(s string, n int) string { return strings.Repeat(s, max(1, n*k/1000)) }
	text := r("word and more words, ", 200)
	return []string{
		"",
		"<",
		"<html",
		"<!--",
		"<!DOCTYPE",
		"<?xml",
		"&#",
		"&#x110000;&#xD800;&#0;&#99999999999999999999;&amp",
		r("<div>", 5000) + text,
		r("<div><p>", 2000) + text + r("</p></div>", 2000),
		"<html><body>" + r("<table><tr><td>", 1000) + text,
		"<html><body>" + r("<ul><li>", 1000) + text,
		"<html><body><p " + r("a", 100000) + "=\"" + r("b", 100000) + "\">x</p></body></html>",
		"<html><body><div " + r("c=d ", 20000) + ">" + text + "</div></body></html>",
		"<html><body><div class=\"" + r("post-content ", 10000) + "\">" + text + "</div></body></html>",
		"<html><body>" + r("<p>"+text, 200),
		"<html><body>" + r("<b><i><u>", 3000) + text,
		"<html><body><script>" + r("x<y", 10000),
		"<html><body><style>" + r("</sty", 10000),
		"<html><body><textarea>" + r("<p>", 10000),
		"<html><body>" + r("&nbsp;&amp;&#x41;&bogus;", 10000),
		"<html><body>" + r("<br>", 50000),
		"<html><body>" + r("<a href=x>l</a>", 20000),
		"<html><body><div>" + r("</div><div>", 20000) + "</div></body></html>",
		"<html><body>" + r("<span>"+truncateBytes(text, 100)+"</span>", 5000),
		"<!DOCTYPE html/>" + r("<html/>", 100),
		"\xff\xfe<html>\x00<body>\x01\x02\x03" + text,
		"<html><body><table>" + r("<tr><td>"+truncateBytes(text, 50)+"</td></tr>", 3000) + "</table></body></html>",
		// repeated paragraphs that trafilatura drops as duplicates send the
		// page to jusText with runs of short ones between (its neighbour
		// search was quadratic in them: 15 s for this 1 MB page)
		// a div of many tails: readability's insert at position pos+1 walked
		// pos children each time (7 s for this 480 KB page)
		"<html><body><div>" + r("<img>t", 80000) + "</div></body></html>",
		// empty elements among text: deleting them one by one was quadratic
		"<html><body><div>" + r("<i></i>t", 80000) + "</div></body></html>",
		"<html><body><p>x<time>y</time></p>" + r("<p>the cat of the day is on the mat and it was in the house with a dog that is for me to see and you are there ok then</p>"+strings.Repeat("<p>a</p>", 30), 3000) + "</body></html>",
	}
}

func FuzzExtract(f *testing.F) {
	for _, s := range adversarialSeeds(20) {
		f.Add(s)
	}
	for _, c := range trafilaturaCases {
		f.Add(c.html)
	}
	e := New(Options{})
	f.Fuzz(func(t *testing.T, page string) {
		text, reason, work := e.extract(page)
		if reason == ReasonPanic {
			t.Fatalf("panic on %q", truncate(page, 200))
		}
		if budget := budgetOf(page); work > budget+int64(len(page))+1<<20 {
			t.Fatalf("work %d over the budget %d", work, budget)
		}
		if text == "" && reason == "" {
			t.Fatal("no text and no reason")
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, s := range adversarialSeeds(20) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, page string) {
		a := &dom.Arena{}
		root, doc := a.FromString(page)
		if root != nil && doc.Root == nil {
			t.Fatal("a root element without a document root")
		}
		// The parser stops nesting at 256 levels, as libxml2 does.
		if doc.Root != nil {
			depth := 0
			var walk func(n *dom.Node, d int)
			walk = func(n *dom.Node, d int) {
				depth = max(depth, d)
				for c := n.FirstChild; c != nil; c = c.Next {
					walk(c, d+1)
				}
			}
			walk(doc.Root, 1)
			if depth > 257 {
				t.Fatalf("tree %d levels deep", depth)
			}
		}
	})
}

// budgetOf is a page's default work budget. The checks above allow for
// the one walk that may run past it before the budget is seen exceeded (a
// walk over at most the page's text and elements).
func budgetOf(page string) int64 {
	return min(DefaultWorkBase+DefaultWorkPerByte*int64(len(page)), MaxWork)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// TestAdversarialPages runs every seed shape, scaled up, and checks that
// extraction ends within its budget, without panicking, in bounded time
// and memory.
func TestAdversarialPages(t *testing.T) {
	e := New(Options{})
	for i, s := range adversarialSeeds(1000) {
		start := time.Now()
		text, reason, work := e.extract(s)
		if reason == ReasonPanic {
			t.Errorf("seed %d: panic", i)
		}
		if budget := budgetOf(s); work > budget+int64(len(s))+1<<20 {
			t.Errorf("seed %d: work %d over the budget %d", i, work, budget)
		}
		t.Logf("seed %2d: %8d bytes, %9d units, %v, %d characters out, reason %q", i, len(s), work, time.Since(start).Round(time.Millisecond), len(text), reason)
	}
}

// TestWorkBudgetStopsQuadraticPages: a text under 255 nested elements
// costs every ancestor a walk over it; the budget stops the page rather
// than letting the cost grow with depth × size.
func TestWorkBudgetStopsQuadraticPages(t *testing.T) {
	page := "<html><body>" + strings.Repeat("<div class=c>", 250) + "<p>" +
		strings.Repeat("many words of text in a deeply nested paragraph. ", 40000) + "</p></body></html>"
	e := New(Options{})
	_, reason, work := e.extract(page)
	if reason != ReasonWorkBudget {
		t.Fatalf("reason %q, want %q (work %d)", reason, ReasonWorkBudget, work)
	}
	// without a budget the same page needs far more
	_, _, unlimited := New(Options{WorkPerByte: -1}).extract(page)
	t.Logf("%d bytes: budget %d units; unbounded the page needs %d", len(page), budgetOf(page), unlimited)
	if unlimited <= work {
		t.Errorf("the unbounded run did no more work (%d) than the budget allowed (%d)", unlimited, work)
	}
}

// TestHugePages extracts 100 MB pages of three adversarial shapes — one
// huge text, one huge attribute, unclosed tags nesting without end — and
// checks that time and memory stay proportional to the size. (A 100 MB
// page of ordinary paragraphs is BenchmarkHugePage: it runs to the budget's
// cap, MaxWork, about 10 s.)
func TestHugePages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 100 MB pages")
	}
	const size = 100 << 20
	word := "words "
	shapes := map[string]string{
		"one text node": "<html><body><p>" + strings.Repeat(word, size/len(word)),
		"one attribute": "<html><body><p title=\"" + strings.Repeat(word, size/len(word)) + "\">x</p></body></html>",
		"unclosed tags": "<html><body>" + strings.Repeat("<div><span>"+word, size/(11+len(word))),
	}
	e := New(Options{})
	for _, name := range []string{"one text node", "one attribute", "unclosed tags"} {
		page := shapes[name]
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		text, reason, work := e.extract(page)
		took := time.Since(start)
		runtime.ReadMemStats(&after)
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("%s: %d MB, %v, %d units (budget %d), %d MB allocated, %d characters out, reason %q",
			name, len(page)>>20, took.Round(time.Millisecond), work, budgetOf(page), alloc>>20, len(text), reason)
		if reason == ReasonPanic {
			t.Errorf("%s: panic", name)
		}
		if alloc > 8*uint64(len(page)) {
			t.Errorf("%s: allocated %d bytes for a %d-byte page", name, alloc, len(page))
		}
		if work > budgetOf(page)+int64(len(page)) {
			t.Errorf("%s: work %d over the budget", name, work)
		}
	}
}

// BenchmarkHugePage extracts a 100 MB page of ordinary paragraphs.
func BenchmarkHugePage(b *testing.B) {
	para := "<p>" + strings.Repeat("A sentence of ordinary English text, with commas, and words. ", 8) + "</p>\n"
	var sb strings.Builder
	sb.WriteString("<html><head><title>huge</title></head><body><article>")
	for sb.Len() < 100<<20 {
		sb.WriteString("<div class=\"post-content\">")
		sb.WriteString(para)
		sb.WriteString("<ul><li><a href=\"/x\">a link</a></li></ul></div>")
	}
	page := sb.String()
	e := New(Options{})
	b.ReportAllocs()
	b.SetBytes(int64(len(page)))
	for b.Loop() {
		_, reason, work := e.extract(page)
		b.ReportMetric(float64(work), "units")
		if reason != "" && reason != ReasonWorkBudget {
			b.Fatalf("reason %q", reason)
		}
	}
}

func truncateBytes(s string, n int) string { return s[:min(n, len(s))] }
