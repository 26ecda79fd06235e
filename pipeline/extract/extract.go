// Package extract turns a page's HTML into its main text the way FineWeb
// did: trafilatura 1.8.1's extract() as datatrove's Trafilatura step calls
// it (favor_precision, no comments, tables kept, deduplication, the
// readability and jusText fallbacks, plain-text output), reimplemented in
// Go from trafilatura's algorithm.
//
// Fidelity rests on two things. The tree: pages are parsed by package dom,
// which builds the tree libxml2 2.9.14's HTML parser (lxml's) builds, quirks
// included, rather than an HTML5 tree. The algorithm: every step follows
// trafilatura's code on lxml's data model (element text and tail, None
// versus empty strings, lxml's iteration while the tree changes, Python's
// string functions), so the same page gives the same text.
//
// Speed: one parse; one copy of the tree for the readability comparison
// (trafilatura makes four); the trees the rarely needed jusText and
// baseline fallbacks start from are rebuilt from the page only when they
// run; no metadata extraction and no language guessing, which FineWeb's
// txt output never uses.
//
// Deliberate difference from datatrove: no cross-document deduplication.
// datatrove's trafilatura runs with deduplicate=True, whose cache is shared
// by every document a process extracts, so a page's text depends on the
// pages before it. A verifiable network needs extraction to be a pure
// function of one record, so the cache lives for one document: segments
// repeated inside a page are still dropped, nothing carries over.
//
// Limits: datatrove gives each page one second, which makes the result
// depend on the machine and its load. Here the limit is a work budget
// instead (see Options.WorkPerByte): deterministic, proportional to the
// page's size, far above what real pages need, and it bounds adversarial
// pages (deep nesting, huge texts) that would otherwise cost quadratic
// time.
package extract

import (
	"context"
	"errors"
	"sync"

	"github.com/datarefine/refine/pipeline/extract/dom"
)

// Drop reasons.
const (
	ReasonEmpty      = "empty"         // nothing extracted
	ReasonWorkBudget = "work_budget"   // over the work budget (Options.WorkPerByte)
	ReasonPanic      = "extract_panic" // a bug: the extractor panicked on this page
)

// Default work budget: WorkBase plus WorkPerByte units per byte of HTML.
// A unit is one element created or visited, or one byte of text read, by
// the parser or a tree walk. Real pages need far less: on the 985 benchmark
// pages, the 56 real crawl pages and 4,925 mutated variants of them the
// most was 19.3 units per byte (median 0.8) and 4.1 million units in all
// (docs/pipeline.md). Adversarial pages (deep nesting over a large text)
// can need hundreds of units per byte; the budget stops them at about 20 s
// of CPU for a 1 MiB page and at MaxWork for any page.
const (
	DefaultWorkPerByte = 32
	DefaultWorkBase    = 10_000_000
	// MaxWork caps any page's budget (about 10 s of CPU): pages over about
	// 15 MB get this, not their share per byte.
	MaxWork = 500_000_000
)

// Options configures an Extractor. The zero value is datatrove's setup.
type Options struct {
	// NoFallback turns off the readability and jusText fallbacks
	// (trafilatura's no_fallback; datatrove keeps them on).
	NoFallback bool
	// WorkPerByte and WorkBase set the work budget of one page:
	// WorkBase + WorkPerByte × len(page) units, at most MaxWork. 0 means
	// the defaults; a negative WorkPerByte means no budget.
	WorkPerByte, WorkBase int64
}

// Extractor extracts main text. It holds no per-document state and is safe
// for concurrent use.
type Extractor struct {
	opts Options
}

// New returns an Extractor.
func New(opts Options) *Extractor {
	if opts.WorkPerByte == 0 {
		opts.WorkPerByte = DefaultWorkPerByte
	}
	if opts.WorkBase == 0 {
		opts.WorkBase = DefaultWorkBase
	}
	return &Extractor{opts: opts}
}

// Extract returns the main text of a page. When nothing usable comes out,
// text is empty and reason says why (ReasonEmpty, ReasonWorkBudget,
// ReasonPanic). url is accepted for the caller's convenience and not used:
// datatrove does not pass it to trafilatura. err is only the caller's
// context error.
func (e *Extractor) Extract(ctx context.Context, page, url string) (text, reason string, err error) {
	if err := ctx.Err(); err != nil {
		return "", "", err
	}
	text, reason, _ = e.extract(page)
	return text, reason, nil
}

// extract runs one page and also returns the work it took.
func (e *Extractor) extract(page string) (text, reason string, work int64) {
	a := arenas.Get().(*dom.Arena)
	defer func() {
		a.Reset()
		arenas.Put(a)
	}()
	if e.opts.WorkPerByte > 0 {
		a.Budget = min(e.opts.WorkBase+e.opts.WorkPerByte*int64(len(page)), MaxWork)
	}
	x := &extractor{a: a, lru: newLRU(), page: page, noFallback: e.opts.NoFallback}
	defer func() {
		if r := recover(); r != nil {
			text = ""
			switch r {
			case dom.ErrWorkBudget:
				reason = ReasonWorkBudget
			case errPython:
				reason = ReasonEmpty
			default:
				reason = ReasonPanic
			}
		}
		work = a.Work
	}()
	t, ok := x.run()
	if !ok || t == "" {
		return "", ReasonEmpty, a.Work
	}
	return t, "", a.Work
}

// arenas recycles the node memory of one page for the next.
var arenas = sync.Pool{New: func() any { return new(dom.Arena) }}

// errPython stands for an exception trafilatura would raise (a TypeError
// or an assertion in lxml) on rare malformed inputs; datatrove then drops
// the document, and so does extract.
var errPython = errors.New("extract: trafilatura would raise here")

// extractor is the state of one page's extraction.
type extractor struct {
	a          *dom.Arena
	lru        *lru
	page       string
	noFallback bool
	buf        []byte // scratch for duplicate tests
	at         attrs  // scratch for predicates
	// results of the XPath predicates' @class and @id tests, per value
	classMemo, idMemo map[string]uint64
}

func (x *extractor) fail() { panic(errPython) }

// step charges one unit of work for a handler call.
func (x *extractor) step(*dom.Node) { x.a.Charge(1) }

func (x *extractor) copyTree(n *dom.Node) *dom.Node { return x.a.Copy(n) }

// loadedTree parses the page again: trafilatura keeps deep copies of the
// untouched tree for its baseline fallback and of the cleaned tree for
// jusText, but needs them on few pages; rebuilding them costs less than
// copying every time.
func (x *extractor) loadedTree() *dom.Node {
	tree, _ := loadHTML(x.a, x.page)
	return tree
}

// run is bare_extraction with output_format 'txt', followed by the txt
// rendering of extract().
func (x *extractor) run() (string, bool) {
	tree, _ := loadHTML(x.a, x.page)
	if tree == nil {
		return "", false
	}
	var backup *dom.Node
	if !x.noFallback {
		backup = x.copyTree(tree)
	}
	cleaned := x.treeCleaning(tree)
	cleaned = x.convertTags(cleaned)
	cleaned = x.pruneUnwantedNodes(cleaned, false, removeCommentsXPath)
	body, n := x.extractContent(cleaned)
	if !x.noFallback {
		body, n = x.compareExtraction(backup, body, n)
	}
	if n < minExtractedSize {
		body, n = x.baseline(x.loadedTree())
	}
	if n < 1 {
		return "", false
	}
	if x.duplicateTest(body) {
		return "", false
	}
	return xmlToTxt(body), true
}

// sanitizedTags is SANITIZED_XPATH's list.
var sanitizedTags = map[string]bool{
	"aside": true, "audio": true, "button": true, "fieldset": true, "figure": true, "footer": true,
	"iframe": true, "input": true, "label": true, "link": true, "nav": true, "noindex": true,
	"noscript": true, "object": true, "option": true, "select": true, "source": true, "svg": true,
	"time": true,
}

// hasParagraphText is body.xpath('.//p//text()') being non-empty.
func hasParagraphText(body *dom.Node) bool {
	found := false
	for _, p := range body.FindAll(tagIs("p")) {
		p.Iter(func(n *dom.Node) bool {
			if n.HasText || n != p && n.HasTail {
				found = true
				return false
			}
			return true
		})
		if found {
			return true
		}
	}
	return false
}

// compareExtraction is compare_extraction: readability's result replaces
// the extraction when it is much longer (or the extraction has no
// paragraphs); jusText is tried when the result is short or unclean.
func (x *extractor) compareExtraction(backup, body *dom.Node, n int) (*dom.Node, int) {
	backup = x.pruneUnwantedNodes(backup, false, paywallDiscard, overallDiscard)
	algo := x.tryReadability(backup)
	// len(trim(tostring(algo, method='text'))), which includes the tail
	var w wordCounter
	algo.IterText(w.feed)
	w.feed(algo.Tail)
	lenAlgo := w.len()
	algoFlag := false
	switch {
	case lenAlgo == 0 || lenAlgo == n:
	case n == 0 && lenAlgo > 0:
		algoFlag = true
	case n > 2*lenAlgo:
	case lenAlgo > 2*n:
		algoFlag = true
	case !hasParagraphText(body) && lenAlgo > 2*minExtractedSize:
		algoFlag = true
	case len(body.FindAll(tagIs("table"))) > len(body.FindAll(tagIs("p"))) && lenAlgo > 2*minExtractedSize:
		algoFlag = true
	}
	if algoFlag {
		body, n = algo, lenAlgo
	}
	jt := false
	if body.Find(tagIn(sanitizedTags)) != nil || n < minExtractedSize {
		cleaned := x.loadedTree()
		if cleaned != nil {
			cleaned = x.treeCleaning(cleaned)
			b2, n2, ok := x.justextRescue(cleaned)
			jt = ok
			if ok && !(n > 4*n2) {
				body, n = b2, n2
			}
		}
	}
	if algoFlag && !jt {
		body, n = x.sanitizeTree(body)
	}
	return body, n
}

// teiValidTags are TEI_VALID_TAGS.
var teiValidTags = map[string]bool{
	"ab": true, "body": true, "cell": true, "code": true, "del": true, "div": true, "graphic": true,
	"head": true, "hi": true, "item": true, "lb": true, "list": true, "p": true, "quote": true,
	"ref": true, "row": true, "table": true,
}

// sanitizeTree is sanitize_tree (external.py): readability's result cleaned
// and converted like a page, table cells renamed, tags outside TEI's list
// stripped. (Its findall of SANITIZED_XPATH finds nothing: ElementPath has
// no '|', so that step is a no-op upstream.)
func (x *extractor) sanitizeTree(tree *dom.Node) (*dom.Node, int) {
	tree = x.treeCleaning(tree)
	dom.StripTags(tree, tagIs("a"))
	dom.StripTags(tree, tagIs("span"))
	tree = x.convertTags(tree)
	iterLive(tree, tagIs("td", "th", "tr"), func(e *dom.Node) {
		switch e.Tag {
		case "tr":
			e.Tag = "row"
		case "td", "th":
			if e.Tag == "th" {
				e.Set("role", "head")
			}
			e.Tag = "cell"
		}
	})
	dom.StripTags(tree, func(t string) bool { return !teiValidTags[t] })
	return tree, trimmedJoinLen(tree)
}
