package web

import (
	"bufio"
	"bytes"
	"sort"
	"strings"
	"testing"
)

// documented reads the (method, path) operations of openapi.yaml: paths
// are the two-space-indented keys under "paths:", methods the four-space
// ones under them.
func documented(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(OpenAPI))
	inPaths, path := false, ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "paths:":
			inPaths = true
		case !inPaths || strings.TrimSpace(line) == "":
		case !strings.HasPrefix(line, " "):
			inPaths = false
		case strings.HasPrefix(line, "  /") && strings.HasSuffix(line, ":"):
			path = strings.TrimSuffix(strings.TrimSpace(line), ":")
		case strings.HasPrefix(line, "    ") && !strings.HasPrefix(line, "     "):
			m := strings.TrimSuffix(strings.TrimSpace(line), ":")
			switch m {
			case "get", "put", "post", "delete", "patch":
				out[strings.ToUpper(m)+" "+path] = true
			}
		}
	}
	if len(out) < 20 {
		t.Fatalf("parsed only %d operations from openapi.yaml", len(out))
	}
	return out
}

// TestOpenAPIMatchesRoutes checks that every /v1/site route is documented
// and every documented operation is routed.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	f := newFixture(t, "sqlite")
	doc := documented(t)
	routed := map[string]bool{}
	if err := walkRoutes(f.site, func(method, route string) {
		if strings.HasPrefix(route, "/v1/") {
			routed[method+" "+route] = true
		}
	}); err != nil {
		t.Fatal(err)
	}
	var missing, extra []string
	for r := range routed {
		if !doc[r] {
			missing = append(missing, r)
		}
	}
	for d := range doc {
		if !routed[d] {
			extra = append(extra, d)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("routes not in openapi.yaml: %v\ndocumented but not routed: %v", missing, extra)
	}
}
