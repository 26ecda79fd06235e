package eval

import (
	"bufio"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

// Opener opens an evaluation asset (reference text, benchmark) by path or
// URL. The evaluation data is never bundled with the binary: validators
// point at files fetched by the asset mechanism (refine assets) or at URLs.
type Opener interface {
	Open(ctx context.Context, src string) (io.ReadCloser, error)
}

// DefaultOpener opens local paths and http(s) URLs, and transparently
// decompresses names ending in .gz or .bz2.
type DefaultOpener struct {
	Client *http.Client // nil: http.DefaultClient
}

// Open implements Opener.
func (o DefaultOpener) Open(ctx context.Context, src string) (io.ReadCloser, error) {
	var rc io.ReadCloser
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
		if err != nil {
			return nil, fmt.Errorf("eval: asset %s: %w", src, err)
		}
		client := o.Client
		if client == nil {
			client = http.DefaultClient
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("eval: fetch asset %s: %w", src, err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("eval: fetch asset %s: %s", src, resp.Status)
		}
		rc = resp.Body
	} else {
		f, err := os.Open(src)
		if err != nil {
			return nil, fmt.Errorf("eval: open asset: %w", err)
		}
		rc = f
	}
	return decompress(rc, src)
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }

// decompress wraps rc by the compression its name announces.
func decompress(rc io.ReadCloser, name string) (io.ReadCloser, error) {
	base := name
	if i := strings.IndexAny(base, "?#"); i >= 0 && strings.Contains(base, "://") {
		base = base[:i]
	}
	switch {
	case strings.HasSuffix(base, ".gz"):
		zr, err := gzip.NewReader(bufio.NewReader(rc))
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("eval: gunzip %s: %w", name, err)
		}
		return readCloser{zr, func() error { zr.Close(); return rc.Close() }}, nil
	case strings.HasSuffix(base, ".bz2"):
		return readCloser{bzip2.NewReader(bufio.NewReader(rc)), rc.Close}, nil
	}
	return rc, nil
}

// readAsset reads a whole asset.
func readAsset(ctx context.Context, o Opener, src string) ([]byte, error) {
	rc, err := o.Open(ctx, src)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("eval: read asset %s: %w", src, err)
	}
	return b, nil
}
