package warc

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// IsURL reports whether a WARC location is an http(s) URL, read with HTTP
// (range) requests, rather than a local path.
func IsURL(location string) bool {
	return strings.HasPrefix(location, "http://") || strings.HasPrefix(location, "https://")
}

// Locate resolves a task's WARC name to the location Open reads. It is the
// one rule the task server's planner, the miner and the validator share, so
// that all of them read the same bytes for the same name:
//
//   - an http(s) URL or an absolute path (a task planned from a local
//     folder) is used as it is;
//   - any other name must be a local relative path (as the crawl names its
//     files, crawl-data/CC-MAIN-…/x.warc.gz; never empty, never with ".."):
//     dir/name when that file exists (a local mirror; "" for none), else
//     baseURL/name (e.g. https://data.commoncrawl.org/; "" for none);
//   - a name found nowhere is an error that says so.
func Locate(name, dir, baseURL string) (string, error) {
	if IsURL(name) || filepath.IsAbs(name) {
		return name, nil
	}
	if !filepath.IsLocal(name) {
		return "", fmt.Errorf("WARC %q: a task's WARC must be a URL, an absolute path or a relative path inside the crawl", name)
	}
	if dir != "" {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if baseURL != "" {
		u, err := url.JoinPath(strings.TrimRight(baseURL, "/")+"/", name)
		if err != nil {
			return "", fmt.Errorf("WARC %s: base URL %q: %w", name, baseURL, err)
		}
		return u, nil
	}
	if dir != "" {
		return "", fmt.Errorf("WARC %s: not in mirror %q and no base URL", name, dir)
	}
	return "", fmt.Errorf("WARC %s: a relative name needs a mirror folder or a base URL", name)
}
