package miner

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Resolver turns a task's WARC paths (as the crawl names them, e.g.
// crawl-data/CC-MAIN-2024-10/segments/…/warc/x.warc.gz) into inputs the
// pipeline reads (local paths or URLs), the names to record for them, and
// a cleanup function.
type Resolver interface {
	Resolve(ctx context.Context, paths []string) (inputs []string, names map[string]string, cleanup func(), err error)
}

// Mirror resolves WARC paths against a local folder mirror (Dir) or, for
// paths not there, a base URL (BaseURL, e.g. https://data.commoncrawl.org/),
// which the pipeline streams. Absolute local paths are used as they are.
type Mirror struct {
	Dir     string
	BaseURL string
}

// Resolve implements Resolver.
func (m Mirror) Resolve(ctx context.Context, paths []string) ([]string, map[string]string, func(), error) {
	names := map[string]string{}
	var inputs []string
	for _, p := range paths {
		if !filepath.IsLocal(p) && !filepath.IsAbs(p) {
			return nil, nil, nil, fmt.Errorf("WARC path %q is neither relative nor absolute", p)
		}
		var loc string
		switch {
		case filepath.IsAbs(p):
			loc = p
		case m.Dir != "":
			cand := filepath.Join(m.Dir, filepath.FromSlash(p))
			if _, err := os.Stat(cand); err == nil {
				loc = cand
			}
		}
		if loc == "" && m.BaseURL != "" {
			u, err := url.JoinPath(strings.TrimRight(m.BaseURL, "/")+"/", p)
			if err != nil {
				return nil, nil, nil, err
			}
			loc = u
		}
		if loc == "" {
			return nil, nil, nil, fmt.Errorf("WARC %s: not in mirror %q and no base URL", p, m.Dir)
		}
		inputs = append(inputs, loc)
		names[loc] = p
	}
	return inputs, names, func() {}, nil
}
