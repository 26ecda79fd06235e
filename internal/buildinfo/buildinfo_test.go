package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/datarefine/refine", Version: "v0.0.0-20250101120000-abcdef123456+dirty"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abcdef1234567890abcdef1234567890abcdef12"}, {Key: "vcs.time", Value: "2025-01-01T12:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	i := parse(bi, true)
	if i.Version != "v0.0.0-20250101120000-abcdef123456+dirty" || !i.Modified || i.Revision == "" {
		t.Fatalf("parse = %+v", i)
	}
	if got := i.String(); got != "v0.0.0-20250101120000-abcdef123456+dirty (commit abcdef123456 2025-01-01T12:00:00Z, modified; go1.26.8)" {
		t.Fatalf("String = %q", got)
	}
	// go test / go run: no module version, no VCS stamp.
	dev := parse(&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, true)
	if dev.Version != "dev" || dev.String() != "dev (go1.26.8)" {
		t.Fatalf("devel build = %+v %q", dev, dev.String())
	}
	if parse(nil, false).Version != "dev" {
		t.Fatal("no build info")
	}
}

func TestUserAgent(t *testing.T) {
	ua := UserAgent()
	if !strings.HasPrefix(ua, "refine/") || !strings.HasSuffix(ua, " (+"+ProjectURL+")") {
		t.Fatalf("User-Agent %q", ua)
	}
}
