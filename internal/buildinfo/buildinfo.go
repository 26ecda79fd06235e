// Package buildinfo says which refine this is: the module version and the
// VCS revision the Go toolchain stamped into the binary
// (runtime/debug.ReadBuildInfo), for `refine --version`, the User-Agent of
// every HTTP request, and the created_by of the files a run writes.
//
// What goes into output files is Version alone, deliberately: the same
// input must give the same manifest and shards byte for byte on every
// machine that runs the same release, and the same release built with
// `go install …@v1.2.3` (no VCS stamp) or from a git checkout of the tag
// (stamped with the commit) has the same Version but not the same VCS
// fields. An untagged build's Version is Go's pseudo-version, which already
// names its commit (v0.0.0-20250101120000-abcdef123456, "+dirty" for
// uncommitted changes), so files still say exactly which code made them.
// Under `go test` and `go run` there is no module version: Version is
// "dev", which keeps test outputs stable.
package buildinfo

import (
	"runtime/debug"
	"strings"
	"sync"
)

// ProjectURL is the project's home, named in the User-Agent.
const ProjectURL = "https://github.com/datarefine/refine"

// Info is what the binary knows about its build.
type Info struct {
	// Version is the main module's version: a release tag, a
	// pseudo-version, or "dev" when the toolchain stamped none.
	Version string
	// Revision is the VCS commit (full hash) and Time its commit time,
	// empty when not stamped; Modified reports uncommitted changes.
	Revision string
	Time     string
	Modified bool
	// GoVersion is the toolchain that built the binary.
	GoVersion string
}

var (
	once sync.Once
	info Info
)

// Get returns the build's Info.
func Get() Info {
	once.Do(func() { info = parse(debug.ReadBuildInfo()) })
	return info
}

func parse(bi *debug.BuildInfo, ok bool) Info {
	out := Info{Version: "dev"}
	if !ok || bi == nil {
		return out
	}
	out.GoVersion = bi.GoVersion
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		out.Version = v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			out.Revision = s.Value
		case "vcs.time":
			out.Time = s.Value
		case "vcs.modified":
			out.Modified = s.Value == "true"
		}
	}
	return out
}

// Version is Get().Version: what output files record.
func Version() string { return Get().Version }

// String is the long form for `refine --version`:
// "v1.2.3 (commit abcdef123456 2025-01-01T12:00:00Z, modified; go1.26.8)".
func (i Info) String() string {
	var parts []string
	if i.Revision != "" {
		c := "commit " + short(i.Revision)
		if i.Time != "" {
			c += " " + i.Time
		}
		if i.Modified {
			c += ", modified"
		}
		parts = append(parts, c)
	}
	if i.GoVersion != "" {
		parts = append(parts, i.GoVersion)
	}
	if len(parts) == 0 {
		return i.Version
	}
	return i.Version + " (" + strings.Join(parts, "; ") + ")"
}

// UserAgent is the User-Agent of refine's HTTP requests, as CommonCrawl
// and the Hub ask clients to identify themselves:
// "refine/v1.2.3 (+https://github.com/datarefine/refine)".
func UserAgent() string {
	i := Get()
	v := i.Version
	if v == "dev" && i.Revision != "" {
		v += "-" + short(i.Revision)
	}
	return "refine/" + v + " (+" + ProjectURL + ")"
}

func short(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}
