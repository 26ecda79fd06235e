package warc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLocate: the WARC location rule the planner, the miner and the
// validator share, case by case.
func TestLocate(t *testing.T) {
	mirror := t.TempDir()
	const have = "crawl-data/CC-MAIN-2024-10/segments/1/warc/a.warc.gz"
	if err := os.MkdirAll(filepath.Join(mirror, filepath.Dir(have)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mirror, have), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	const missing = "crawl-data/CC-MAIN-2024-10/segments/1/warc/b.warc.gz"
	const cc = "https://data.commoncrawl.org/"
	for _, tc := range []struct {
		name, warc, dir, base string
		want                  string // "" with wantErr
		wantErr               string
	}{
		{"in the mirror", have, mirror, cc, filepath.Join(mirror, have), ""},
		{"in the mirror, no base", have, mirror, "", filepath.Join(mirror, have), ""},
		{"not in the mirror: base URL", missing, mirror, cc, cc + missing, ""},
		{"no mirror: base URL", have, "", cc, cc + have, ""},
		{"base URL without a slash", have, "", "http://127.0.0.1:8080/cc", "http://127.0.0.1:8080/cc/" + have, ""},
		{"base URL with a path and a slash", have, "", "http://h/cc/", "http://h/cc/" + have, ""},
		{"absolute path as it is", "/srv/warcs/x.warc.gz", mirror, cc, "/srv/warcs/x.warc.gz", ""},
		{"https URL as it is", "https://example.org/x.warc.gz", mirror, cc, "https://example.org/x.warc.gz", ""},
		{"http URL as it is", "http://127.0.0.1:1/x.warc", "", "", "http://127.0.0.1:1/x.warc", ""},
		{"not in the mirror, no base", missing, mirror, "", "", "not in mirror"},
		{"relative, neither mirror nor base", have, "", "", "", "needs a mirror folder or a base URL"},
		{"escapes the mirror", "../" + have, mirror, cc, "", "relative path inside the crawl"},
		{"escapes inside", "crawl-data/../../x.warc.gz", mirror, cc, "", "relative path inside the crawl"},
		{"empty", "", mirror, cc, "", "relative path inside the crawl"},
	} {
		got, err := Locate(tc.warc, tc.dir, tc.base)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: Locate(%q, %q, %q) = %q, %v; want an error saying %q", tc.name, tc.warc, tc.dir, tc.base, got, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || got != tc.want):
			t.Errorf("%s: Locate(%q, %q, %q) = %q, %v; want %q", tc.name, tc.warc, tc.dir, tc.base, got, err, tc.want)
		}
	}
	for loc, want := range map[string]bool{"http://x/y": true, "https://x/y": true, "/srv/x": false, "crawl-data/x": false, "ftp://x": false} {
		if IsURL(loc) != want {
			t.Errorf("IsURL(%q) = %v, want %v", loc, !want, want)
		}
	}
}
