package warc

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// Open opens a WARC file by path or http(s) URL and streams it (nothing is
// downloaded ahead). The context bounds the HTTP request; Close the Reader
// when done. opts.Name defaults to location.
func Open(ctx context.Context, location string, opts Options) (*Reader, error) {
	if opts.Name == "" {
		opts.Name = location
	}
	if strings.HasPrefix(location, "http://") || strings.HasPrefix(location, "https://") {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, location, nil)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", location, err)
		}
		// Ask for the bytes as stored: offsets must be file offsets.
		req.Header.Set("Accept-Encoding", "identity")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", location, err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("open %s: HTTP status %s", location, resp.Status)
		}
		r := NewReader(resp.Body, opts)
		r.closer = resp.Body
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
