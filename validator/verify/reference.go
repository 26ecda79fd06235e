package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/datarefine/refine/pipeline"
	"github.com/datarefine/refine/pipeline/dedup"
	"github.com/datarefine/refine/pipeline/input"
	"github.com/datarefine/refine/pipeline/pii"
	"github.com/datarefine/refine/pipeline/warc"
	"github.com/datarefine/refine/process"
	"github.com/datarefine/refine/retry"
)

// ReferenceOptions configures the reference pipeline a validator re-runs.
type ReferenceOptions struct {
	// Steps are the pipeline's step options (AssetsDir is required). An
	// ExtractTimeout of 0 becomes 30 s: a validator re-runs few records and
	// must not drop one the miner extracted in time on a faster machine.
	Steps process.StepOptions
	// Resolve maps a task's WARC name (as recorded in records.jsonl, e.g.
	// crawl-data/…/x.warc.gz) to where the validator reads it: a local path
	// or an http(s) URL. Default: the name itself.
	Resolve func(name string) string
	// MaxRecordBytes bounds the bytes read from an http(s) WARC at a cited
	// offset (one range request; default 16 MiB).
	MaxRecordBytes int64
	// HTTPClient for remote WARCs (default: retrying, retry.CommonCrawl).
	HTTPClient *http.Client
}

// Reference re-runs the pipeline on single WARC records.
type Reference struct {
	opts    ReferenceOptions
	steps   *process.Steps
	filters []pipeline.Filter
}

// NewReference loads the pipeline's steps.
func NewReference(opts ReferenceOptions) (*Reference, error) {
	if opts.Steps.ExtractTimeout <= 0 {
		opts.Steps.ExtractTimeout = 30 * time.Second
	}
	if opts.Resolve == nil {
		opts.Resolve = func(s string) string { return s }
	}
	if opts.MaxRecordBytes <= 0 {
		opts.MaxRecordBytes = 16 << 20
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = retry.NewClient(retry.CommonCrawl)
	}
	steps, err := process.NewSteps(opts.Steps)
	if err != nil {
		return nil, fmt.Errorf("reference pipeline: %w", err)
	}
	return &Reference{opts: opts, steps: steps, filters: steps.Filters(input.WARC)}, nil
}

// Signer is the pipeline's MinHash signer.
func (r *Reference) Signer() *dedup.Signer { return r.steps.Signer }

// Run passes a document read from a WARC record through the pipeline's
// filters and annotators with the Runner's own loop (pipeline.Process, so a
// step that panics drops the record here exactly as it does on a miner), and
// reports whether it is kept and, if not, the step and reason that dropped
// it.
func (r *Reference) Run(d *pipeline.Document) (kept bool, step, reason string) {
	res := pipeline.Process(r.filters, r.steps.Annotators, d)
	return res.Kept(), res.Step, res.Reason
}

// firstRange is the size of the first range request for a remote record:
// Common Crawl's records are smaller (payloads are truncated at 1 MiB and
// gzipped); a record that does not fit is fetched again with
// MaxRecordBytes.
const firstRange = 1 << 20

// Record reads the record at offset of the named WARC: from a local file,
// or with an HTTP range request whose body is read only as far as the
// record goes.
func (r *Reference) Record(ctx context.Context, name string, offset int64) (*pipeline.Document, error) {
	loc := r.opts.Resolve(name)
	var rec *warc.Record
	if strings.HasPrefix(loc, "http://") || strings.HasPrefix(loc, "https://") {
		var err error
		for _, n := range []int64{min(firstRange, r.opts.MaxRecordBytes), r.opts.MaxRecordBytes} {
			if rec, err = r.remoteRecord(ctx, name, loc, offset, n); err != nil || rec.Skip != warc.SkipTruncated {
				break
			}
		}
		if err != nil {
			return nil, err
		}
	} else {
		f, err := os.Open(loc)
		if err != nil {
			return nil, fmt.Errorf("open WARC %s: %w", name, err)
		}
		defer f.Close()
		if rec, err = warc.ReadRecordAt(ctx, f, offset, warc.Options{Name: name}); err != nil {
			return nil, err
		}
	}
	return &pipeline.Document{ID: rec.ID, URL: rec.URL, Date: rec.Date, FilePath: name,
		Offset: rec.Offset, Index: -1, HTML: rec.HTML, Skip: rec.Skip}, nil
}

// remoteRecord reads the record at offset of a remote WARC with one range
// request of n bytes.
func (r *Reference) remoteRecord(ctx context.Context, name, url string, offset, n int64) (*warc.Record, error) {
	body, err := r.rangeGet(ctx, url, offset, n)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	rec, err := warc.NewReader(io.LimitReader(body, n), warc.Options{Name: name}).Next(ctx)
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: no record at offset %d", name, offset)
	}
	if err != nil {
		return nil, err
	}
	if rec.Offset >= 0 {
		rec.Offset += offset
	}
	return rec, nil
}

// rangeGet requests n bytes from offset of a remote WARC and returns the
// response body.
func (r *Reference) rangeGet(ctx context.Context, url string, offset, n int64) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", offset, offset+n-1))
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := r.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s at %d: %w", url, offset, err)
	}
	if resp.StatusCode != http.StatusPartialContent {
		resp.Body.Close()
		return nil, fmt.Errorf("fetch %s at %d: HTTP status %s (want 206)", url, offset, resp.Status)
	}
	return resp.Body, nil
}

// Open streams a task's WARC by name.
func (r *Reference) Open(ctx context.Context, name string) (*warc.Reader, error) {
	return warc.Open(ctx, r.opts.Resolve(name), warc.Options{Name: name})
}

// NewPII returns a fresh PII formatter with the pipeline's settings.
func (r *Reference) NewPII() *pii.Formatter { return r.steps.NewPII() }

// piiNormal maps every PII replacement string to one placeholder per kind.
// The miner's output is PII-formatted with replacement cycles that carry
// across its whole run, so which replacement a document got depends on the
// documents before it; comparing texts with every replacement folded to a
// placeholder makes the comparison independent of the cycle position.
var piiNormal = func() *strings.Replacer {
	var pairs []string
	for _, e := range pii.DefaultEmailReplacements {
		pairs = append(pairs, e, "\x00EMAIL\x00")
	}
	for _, ip := range pii.DefaultIPReplacements {
		pairs = append(pairs, ip, "\x00IP\x00")
	}
	return strings.NewReplacer(pairs...)
}()

// FoldPII maps every PII replacement string of a PII-formatted text to one
// placeholder per kind, so that texts formatted at different positions of
// the replacement cycles compare (and evaluate) alike.
func FoldPII(text string) string { return piiNormal.Replace(text) }

// Folded is the reference pipeline's text PII-formatted (as the miner's
// output is) and folded (FoldPII): what a miner's folded text must equal.
func (r *Reference) Folded(reference string) string {
	return FoldPII(r.NewPII().Replace(reference))
}

// SameText reports whether the miner's text equals the reference text once
// both are PII-formatted and every replacement folded to its placeholder.
func (r *Reference) SameText(reference, submitted string) bool {
	return r.Folded(reference) == FoldPII(submitted)
}

// MirrorResolver resolves a task's WARC name as the miner does: an absolute
// path as it is, else dir/name when that file exists, else baseURL/name
// (e.g. https://data.commoncrawl.org/, read with range requests).
func MirrorResolver(dir, baseURL string) func(string) string {
	return func(name string) string {
		if filepath.IsAbs(name) || strings.HasPrefix(name, "http://") || strings.HasPrefix(name, "https://") {
			return name
		}
		if dir != "" {
			p := filepath.Join(dir, filepath.FromSlash(name))
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
		if baseURL != "" {
			if u, err := url.JoinPath(strings.TrimRight(baseURL, "/")+"/", name); err == nil {
				return u
			}
		}
		return name
	}
}

// Size returns the size in bytes of the named WARC: its file's size, or the
// Content-Length of an HTTP HEAD request.
func (r *Reference) Size(ctx context.Context, name string) (int64, error) {
	loc := r.opts.Resolve(name)
	if !strings.HasPrefix(loc, "http://") && !strings.HasPrefix(loc, "https://") {
		st, err := os.Stat(loc)
		if err != nil {
			return 0, fmt.Errorf("WARC %s: %w", name, err)
		}
		return st.Size(), nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, loc, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := r.opts.HTTPClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("WARC %s: %w", name, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ContentLength < 0 {
		return 0, fmt.Errorf("WARC %s: HEAD: %s, length %d", name, resp.Status, resp.ContentLength)
	}
	return resp.ContentLength, nil
}
