// Package extract turns a page's HTML into its main text with
// go-trafilatura, configured like datatrove's Trafilatura step in FineWeb:
// favor precision, no comments, tables included, fallback extractors
// (readability, dom-distiller) on, plain-text output, one time limit per
// document, empty results dropped. The text is rendered from
// go-trafilatura's result tree the way trafilatura 1.8.1 (datatrove's
// version) writes its txt output, line breaks included (see text.go).
//
// Deliberate difference from datatrove: no cross-document deduplication.
// datatrove calls trafilatura with deduplicate=True, whose LRU cache is
// shared by every document of a process, so a page's text depends on the
// pages extracted before it. A verifiable network needs extraction to be a
// pure function of one record, so here the duplicate cache lives for one
// document only (go-trafilatura's behaviour): segments repeated inside a
// page are still dropped, nothing carries over between pages.
//
// The input is the already decoded HTML string (see package warc): it is
// parsed once with golang.org/x/net/html and the tree is handed to
// go-trafilatura, which therefore never sniffs or converts charsets itself.
package extract

import (
	"context"
	nurl "net/url"
	"strings"
	"time"

	"github.com/markusmobius/go-htmldate"
	"github.com/markusmobius/go-trafilatura"
	"golang.org/x/net/html"
)

// Drop reasons.
const (
	ReasonEmpty   = "empty"         // nothing extracted
	ReasonTimeout = "timeout"       // over Options.Timeout
	ReasonPanic   = "extract_panic" // go-trafilatura panicked on this page
)

// DefaultTimeout is datatrove's per-document limit.
const DefaultTimeout = time.Second

// Options configures an Extractor. The zero value is datatrove's setup.
type Options struct {
	// Timeout bounds one document's extraction; 0 means DefaultTimeout and
	// a negative value means no limit. A time limit makes the result depend
	// on the machine's speed, so a validator that re-runs a record should
	// use a generous limit.
	Timeout time.Duration
	// NoFallback turns off the readability / dom-distiller fallback
	// (datatrove keeps it on).
	NoFallback bool
}

// Extractor extracts main text. It holds no per-document state and is safe
// for concurrent use.
type Extractor struct {
	opts Options
}

// New returns an Extractor.
func New(opts Options) *Extractor {
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	return &Extractor{opts: opts}
}

// Extract returns the main text of a page (url helps resolve the page's
// links; it may be empty). When nothing usable comes out, text is empty and
// reason says why (ReasonEmpty, ReasonTimeout, ReasonPanic). err is only
// the caller's context error.
//
// On timeout the extraction goroutine cannot be stopped (go-trafilatura has
// no cancellation); it finishes in the background and its result is
// discarded.
func (e *Extractor) Extract(ctx context.Context, page, url string) (text, reason string, err error) {
	if err := ctx.Err(); err != nil {
		return "", "", err
	}
	if e.opts.Timeout < 0 {
		text, reason := extract(page, url, !e.opts.NoFallback)
		return text, reason, nil
	}
	type result struct{ text, reason string }
	done := make(chan result, 1)
	go func() {
		text, reason := extract(page, url, !e.opts.NoFallback)
		done <- result{text, reason}
	}()
	timer := time.NewTimer(e.opts.Timeout)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.text, r.reason, nil
	case <-timer.C:
		return "", ReasonTimeout, nil
	case <-ctx.Done():
		return "", "", ctx.Err()
	}
}

// noDate stands in for go-htmldate's result: the publication date is
// metadata the pipeline does not use, and searching the page for it is the
// most expensive part of go-trafilatura's metadata step.
var noDate = &htmldate.Result{}

// trafilaturaOptions builds the go-trafilatura options for one page.
func trafilaturaOptions(url string, fallback bool) trafilatura.Options {
	opts := trafilatura.Options{
		EnableFallback:   fallback,
		Focus:            trafilatura.FavorPrecision,
		ExcludeComments:  true,
		ExcludeTables:    false,
		Deduplicate:      true, // cache is per call: within-page only
		HtmlDateOverride: noDate,
	}
	if u, err := nurl.Parse(url); err == nil && u.IsAbs() {
		opts.OriginalURL = u
	}
	return opts
}

// extract runs go-trafilatura on one page and renders the text; reason is
// set when there is none. A panic inside the library is caught and
// reported as ReasonPanic: one bad page must not stop a run.
func extract(page, url string, fallback bool) (text, reason string) {
	defer func() {
		if recover() != nil {
			text, reason = "", ReasonPanic
		}
	}()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return "", ReasonEmpty
	}
	res, err := trafilatura.ExtractDocument(doc, trafilaturaOptions(url, fallback))
	if err != nil || res == nil {
		return "", ReasonEmpty
	}
	if text = renderText(res.ContentNode); text == "" {
		return "", ReasonEmpty
	}
	return text, ""
}
