package verify

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"

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
	// Steps are the pipeline's step options (AssetsDir is required).
	// Extraction is bounded by a work budget, not a time limit, so a
	// validator's re-run drops exactly the records the miner's did.
	Steps process.StepOptions
	// Resolve maps a task's WARC name (as recorded in records.jsonl, e.g.
	// crawl-data/…/x.warc.gz) to where the validator reads it: a local path
	// or an http(s) URL. Default: MirrorResolver("", "") (URLs and absolute
	// paths as they are; a relative name is an error).
	Resolve func(name string) (string, error)
	// HTTPClient for remote WARCs (default: retrying, retry.CommonCrawl).
	HTTPClient *http.Client
}

// Reference re-runs the pipeline on single WARC records.
type Reference struct {
	opts    ReferenceOptions
	steps   *process.Steps
	filters []pipeline.Filter
	fetched atomic.Int64 // WARC bytes read by Entry
}

// NewReference loads the pipeline's steps.
func NewReference(opts ReferenceOptions) (*Reference, error) {
	if opts.Resolve == nil {
		opts.Resolve = MirrorResolver("", "")
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

// MinHasher is the pipeline's MinHash signer.
func (r *Reference) MinHasher() *dedup.MinHasher { return r.steps.MinHasher }

// Run passes a document read from a WARC record through the pipeline's
// filters and annotators with the Runner's own loop (pipeline.Process, so a
// step that panics drops the record here exactly as it does on a miner), and
// reports whether it is kept and, if not, the step and reason that dropped
// it.
func (r *Reference) Run(d *pipeline.Document) (kept bool, step, reason string) {
	res := pipeline.Process(r.filters, r.steps.Annotators, d)
	return res.Kept(), res.Step, res.Reason
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

// MirrorResolver resolves a task's WARC name as the miner does
// (warc.Locate): a URL or an absolute path as it is, else dir/name when that
// file exists, else baseURL/name (e.g. https://data.commoncrawl.org/, read
// with range requests).
func MirrorResolver(dir, baseURL string) func(string) (string, error) {
	return func(name string) (string, error) { return warc.Locate(name, dir, baseURL) }
}

// Size returns the size in bytes of the named WARC: its file's size, or the
// Content-Length of an HTTP HEAD request.
func (r *Reference) Size(ctx context.Context, name string) (int64, error) {
	loc, err := r.opts.Resolve(name)
	if err != nil {
		return 0, err
	}
	if !warc.IsURL(loc) {
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
