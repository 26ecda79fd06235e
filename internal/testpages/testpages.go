// Package testpages reads the HTML pages of the shared test WARCs
// (../shared/data, see internal/testdata) for tests and benchmarks that need
// decoded pages without running the pipeline.
package testpages

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/datarefine/refine/internal/shareddata"
	"github.com/datarefine/refine/pipeline/warc"
)

// Page is one usable response record: decoded HTML and its record's id and
// target URI.
type Page struct{ ID, URL, HTML string }

// Load returns the usable pages (those the reader does not skip) of the WARC
// at shareddata.Path(tb, elem...), in record order.
func Load(tb testing.TB, elem ...string) []Page {
	tb.Helper()
	ctx := context.Background()
	r, err := warc.Open(ctx, shareddata.Path(tb, elem...), warc.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	var pages []Page
	for {
		rec, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			return pages
		}
		if err != nil {
			tb.Fatal(err)
		}
		if rec.Skip == "" {
			pages = append(pages, Page{ID: rec.ID, URL: rec.URL, HTML: rec.HTML})
		}
	}
}
