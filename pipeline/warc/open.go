package warc

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"github.com/datarefine/refine/retry"
)

// Open opens a WARC file by path or http(s) URL and streams it (nothing is
// downloaded ahead). A URL is read through the retrying HTTP layer with
// CommonCrawl's policy (retry.CommonCrawl: at least a second between
// tries), and a stream cut mid-way resumes with a Range request where it
// stopped instead of starting the WARC over. The context bounds the HTTP
// requests; Close the Reader when done. opts.Name defaults to location.
func Open(ctx context.Context, location string, opts Options) (*Reader, error) {
	return OpenWith(ctx, location, opts, retry.StreamOptions{Policy: retry.CommonCrawl})
}

// OpenWith is Open with the HTTP stream's options (client, policy).
func OpenWith(ctx context.Context, location string, opts Options, sopts retry.StreamOptions) (*Reader, error) {
	if opts.Name == "" {
		opts.Name = location
	}
	if IsURL(location) {
		// Ask for the bytes as stored: offsets must be file offsets.
		sopts.Header = http.Header{"Accept-Encoding": {"identity"}}
		s, err := retry.Open(ctx, location, sopts)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", location, err)
		}
		r := NewReader(s, opts)
		r.closer = s
		return r, nil
	}
	f, err := os.Open(location)
	if err != nil {
		return nil, fmt.Errorf("open WARC: %w", err)
	}
	r := NewReader(f, opts)
	r.closer = f
	return r, nil
}
