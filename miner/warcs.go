package miner

import (
	"context"

	"github.com/datarefine/refine/pipeline/warc"
)

// Resolver turns a task's WARC paths (as the crawl names them, e.g.
// crawl-data/CC-MAIN-2024-10/segments/…/warc/x.warc.gz) into inputs the
// pipeline reads (local paths or URLs), the names to record for them, and
// a cleanup function.
type Resolver interface {
	Resolve(ctx context.Context, paths []string) (inputs []string, names map[string]string, cleanup func(), err error)
}

// Mirror resolves WARC paths with warc.Locate (the rule the validator
// shares): against a local folder mirror (Dir) or, for paths not there, a
// base URL (BaseURL, e.g. https://data.commoncrawl.org/), which the
// pipeline streams. Absolute local paths and URLs are used as they are.
type Mirror struct {
	Dir     string
	BaseURL string
}

// Resolve implements Resolver.
func (m Mirror) Resolve(ctx context.Context, paths []string) ([]string, map[string]string, func(), error) {
	names := map[string]string{}
	var inputs []string
	for _, p := range paths {
		loc, err := warc.Locate(p, m.Dir, m.BaseURL)
		if err != nil {
			return nil, nil, nil, err
		}
		inputs = append(inputs, loc)
		names[loc] = p
	}
	return inputs, names, func() {}, nil
}
