package urlfilter

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datarefine/refine/internal/shareddata"
	"github.com/datarefine/refine/pipeline"
)

func assetsDir(t testing.TB) string {
	return shareddata.Path(t, "filters_dedup", "datatrove_assets")
}

// tldextract's behaviour, derived from its source (tldextract.py, remote.py)
// with include_psl_private_domains=False.
func TestSplitHost(t *testing.T) {
	tests := []struct {
		url, registered, fqdn string
	}{
		{"https://blocked.com/some-path", "blocked.com", "blocked.com"},
		{"https://hey.danger.org/x", "danger.org", "hey.danger.org"},
		{"http://forums.bbc.co.uk/path", "bbc.co.uk", "forums.bbc.co.uk"},
		{"http://user:pw@www.Example.COM:8080/a?b#c", "Example.COM", "www.Example.COM"},
		{"www.example.com/no-scheme", "example.com", "www.example.com"},
		{"//example.org/x", "example.org", "example.org"},
		{"http://example.com./", "example.com", "example.com"},
		{"http://example.com?q=a/b", "example.com", "example.com"},
		// Private section ignored: blogspot.com is not a suffix.
		{"http://waiterrant.blogspot.com", "blogspot.com", "waiterrant.blogspot.com"},
		// Unknown TLD, IPs and bare suffixes have no registered domain.
		{"http://localhost:8080/", "", ""},
		{"http://foo.notarealtld/", "", ""},
		{"http://192.168.1.1/admin", "", ""},
		{"http://[::1]:80/", "", ""},
		{"http://co.uk/", "", ""},
		// Wildcard and exception rules (*.ck, !www.ck).
		{"http://a.b.ck/", "a.b.ck", "a.b.ck"},
		{"http://www.ck/", "www.ck", "www.ck"},
		{"http://foo.ck/", "", ""},
		// Ideographic full stop is a dot.
		{"http://www.example\u3002com/", "example.com", "www.example.com"},
		// Empty labels stay in the subdomain.
		{"http://a..b.com/", "b.com", "a..b.com"},
		// Punycode and Unicode suffixes.
		{"http://xn--fiqs8s.xn--fiqs8s/", "xn--fiqs8s.xn--fiqs8s", "xn--fiqs8s.xn--fiqs8s"},
		{"http://例子.中国/", "例子.中国", "例子.中国"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got := splitHost(tt.url)
			if got.registered != tt.registered || got.fqdn != tt.fqdn {
				t.Errorf("splitHost(%q) = %+v, want registered %q fqdn %q", tt.url, got, tt.registered, tt.fqdn)
			}
		})
	}
}

func TestCheckRules(t *testing.T) {
	f := New(Lists{
		BannedWords:     []string{"#comment", "badword", "Two-Part"},
		SoftBannedWords: []string{"soft", "squishy", "mushy"},
		BannedSubwords:  []string{"nasty stuff", "xyz"},
		Domains:         []string{"blocked.com", "  padded.org  ", "#skipped.com", "badsub.nice.com"},
		URLs:            []string{"http://nice.com/bad-page"},
	}, Options{})
	tests := []struct {
		url, reason string
	}{
		{"https://www.blocked.com/x", "domain"},
		{"https://padded.org/", "domain"},
		{"https://skipped.com/", ""},
		{"https://badsub.nice.com/", "subdomain"},
		{"https://deeper.badsub.nice.com/", ""},
		{"http://nice.com/bad-page", "url"},
		{"http://nice.com/bad-page/", ""},
		{"http://nice.com/a-badword-b", "hard_blacklisted"},
		// URL words are case-sensitive, list words lowercased.
		{"http://nice.com/a-BadWord-b", ""},
		// List entries are normalised: "Two-Part" → "twopart".
		{"http://nice.com/twopart", "hard_blacklisted"},
		{"http://nice.com/two-part", ""},
		{"http://nice.com/soft", ""},
		{"http://nice.com/soft/soft", ""},
		{"http://nice.com/soft/squishy", "soft_blacklisted"},
		// Subwords are matched in the normalised URL, across separators.
		{"http://nice.com/nasty-stuff", "blacklisted_subword"},
		{"http://nice.com/NastyStuff", "blacklisted_subword"},
		{"http://a.com/x/y-z", "blacklisted_subword"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			keep, reason := f.Filter(&pipeline.Document{URL: tt.url})
			if keep != (tt.reason == "") || reason != tt.reason {
				t.Errorf("Check(%q) = %v %q, want %q", tt.url, keep, reason, tt.reason)
			}
		})
	}
}

func TestSoftThreshold(t *testing.T) {
	f := New(Lists{SoftBannedWords: []string{"a", "b", "c"}}, Options{SoftWordThreshold: 3})
	if keep, _ := f.Check("http://x.org/a/b"); !keep {
		t.Error("two soft words dropped with threshold 3")
	}
	if keep, reason := f.Check("http://x.org/a/b/c"); keep || reason != "soft_blacklisted" {
		t.Errorf("three soft words: %v %q", keep, reason)
	}
}

// A blank line in a list adds "" as datatrove's parse_list does; "" is a
// URL word whenever the URL ends with a separator.
func TestBlankLineQuirk(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, BannedWordsFile, "word\n\nother\n")
	write(t, dir, SoftBannedWordsFile, "soft\n")
	write(t, dir, BannedSubwordsFile, "zzz\n")
	f, err := Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if keep, reason := f.Check("http://x.org/page/"); keep || reason != "hard_blacklisted" {
		t.Errorf("trailing separator with a blank list line: %v %q", keep, reason)
	}
	if keep, _ := f.Check("http://x.org/page"); !keep {
		t.Error("URL ending in a word dropped")
	}
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func wordAssets(t *testing.T) string {
	dir := t.TempDir()
	write(t, dir, BannedWordsFile, "#x\nbanned\n")
	write(t, dir, SoftBannedWordsFile, "soft\r\nsofter\r\n")
	write(t, dir, BannedSubwordsFile, "sub word")
	return dir
}

func TestLoadMissingFile(t *testing.T) {
	for _, missing := range []string{BannedWordsFile, SoftBannedWordsFile, BannedSubwordsFile} {
		dir := wordAssets(t)
		os.Remove(filepath.Join(dir, missing))
		_, err := Load(dir, Options{})
		if err == nil || !strings.Contains(err.Error(), missing) {
			t.Errorf("missing %s: error %v does not name it", missing, err)
		}
	}
	dir := wordAssets(t)
	if _, err := Load(dir, Options{RequireBlocklist: true}); err == nil {
		t.Error("RequireBlocklist without a blocklist: no error")
	}
	write(t, dir, "adult/domains", "x.com\n")
	if _, err := Load(dir, Options{}); err == nil || !strings.Contains(err.Error(), "urls") {
		t.Errorf("blocklist folder without urls: error %v", err)
	}
}

func TestLoadBlocklistFolderAndTarball(t *testing.T) {
	const domains = "porn.example\n# comment\nbad.co.uk\n"
	const urls = "http://ok.org/bad.html\n"
	checks := func(t *testing.T, f *Filter) {
		t.Helper()
		for url, want := range map[string]string{
			"http://www.porn.example/":     "", // .example is no public suffix
			"http://bad.co.uk/x":           "domain",
			"http://sub.bad.co.uk/x":       "domain",
			"http://ok.org/bad.html":       "url",
			"http://ok.org/fine.html":      "",
			"http://ok.org/soft-softer":    "soft_blacklisted",
			"http://ok.org/SubWord":        "blacklisted_subword",
			"http://ok.org/banned?x=1":     "hard_blacklisted",
			"http://ok.org/not-banned-too": "hard_blacklisted",
		} {
			keep, reason := f.Check(url)
			if keep != (want == "") || reason != want {
				t.Errorf("Check(%q) = %v %q, want %q", url, keep, reason, want)
			}
		}
		if d, u, _, _, _ := f.Sizes(); d != 2 || u != 1 {
			t.Errorf("sizes: %d domains, %d urls", d, u)
		}
	}
	t.Run("folder auto-detected", func(t *testing.T) {
		dir := wordAssets(t)
		write(t, dir, "adult/domains", domains)
		write(t, dir, "adult/urls", urls)
		f, err := Load(dir, Options{RequireBlocklist: true})
		if err != nil {
			t.Fatal(err)
		}
		checks(t, f)
	})
	t.Run("UT1 tarball auto-detected", func(t *testing.T) {
		dir := wordAssets(t)
		writeTarGz(t, filepath.Join(dir, BlocklistTarball), map[string]string{
			"blacklists/adult/domains": domains, "blacklists/adult/urls": urls,
			"blacklists/gambling/domains": "casino.com\n",
		})
		f, err := Load(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		checks(t, f)
		if keep, _ := f.Check("http://casino.com/"); !keep {
			t.Error("another category's domain was loaded")
		}
	})
	t.Run("explicit datatrove-style tarball", func(t *testing.T) {
		dir := wordAssets(t)
		tgz := filepath.Join(t.TempDir(), "lists.tar.gz")
		writeTarGz(t, tgz, map[string]string{"domains": domains, "urls": urls})
		f, err := Load(dir, Options{Blocklist: tgz})
		if err != nil {
			t.Fatal(err)
		}
		checks(t, f)
	})
}

func writeTarGz(t *testing.T, file string, members map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, content := range members {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestMatcher(t *testing.T) {
	m := newMatcher([]string{"he", "she", "his", "hers", "", "bad-pattern"})
	for text, want := range map[string]bool{
		"ushers": true, "xhx": false, "ahishe": true, "h": false, "s": false, "": false,
		"badpattern": false, // the pattern with a hyphen is ignored
	} {
		if got := m.any(text); got != want {
			t.Errorf("any(%q) = %v, want %v", text, got, want)
		}
	}
}

type vector struct {
	Filter string `json:"filter"`
	Params struct {
		ExtraDomains []string `json:"extra_domains"`
	} `json:"params"`
	URL      string `json:"url"`
	Expected any    `json:"expected"`
}

// TestDatatroveVectors runs datatrove's own URLFilter test cases (with its
// integrated word lists).
func TestDatatroveVectors(t *testing.T) {
	b, err := os.ReadFile(shareddata.Path(t, "filters_dedup", "datatrove_test_vectors", "datatrove_filter_vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []vector `json:"vectors"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	ran, passed := 0, 0
	for _, v := range file.Vectors {
		if v.Filter != "URLFilter" {
			continue
		}
		ran++
		f, err := Load(assetsDir(t), Options{Extra: Lists{Domains: v.Params.ExtraDomains}})
		if err != nil {
			t.Fatal(err)
		}
		keep, reason := f.Check(v.URL)
		ok := false
		switch e := v.Expected.(type) {
		case bool:
			ok = keep == e
		case string:
			ok = !keep && reason == e
		}
		if ok {
			passed++
		} else {
			t.Errorf("%s: want %v, got keep=%v reason=%q", v.URL, v.Expected, keep, reason)
		}
	}
	t.Logf("datatrove URLFilter vectors: %d/%d pass", passed, ran)
	if ran != 8 {
		t.Errorf("ran %d URLFilter vectors, the file has 8", ran)
	}
}

// TestGoldenURLFilter compares with the reference run's url_filter verdicts
// (word lists only: the reference had no UT1 blocklist).
func TestGoldenURLFilter(t *testing.T) {
	f, err := Load(assetsDir(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	n, ok := 0, 0
	for _, name := range []string{"golden_trafilatura_eval.jsonl", "golden_realwarcs.jsonl"} {
		for _, r := range goldenURLRows(t, name) {
			n++
			keep, reason := f.Check(r.URL)
			if keep == r.Verdict.Keep && reason == r.Verdict.reason() {
				ok++
			} else {
				t.Errorf("%s: got %v %q, want %+v", r.URL, keep, reason, r.Verdict)
			}
		}
	}
	t.Logf("url_filter: %d/%d identical", ok, n)
	if n == 0 {
		t.Fatal("no golden rows")
	}
}

type urlRow struct {
	URL     string `json:"url"`
	Verdict *struct {
		Keep   bool    `json:"keep"`
		Reason *string `json:"reason"`
	} `json:"url_filter"`
}

type goldenURL struct {
	URL     string
	Verdict goldenVerdict
}

type goldenVerdict struct {
	Keep   bool
	Reason *string
}

func (v goldenVerdict) reason() string {
	if v.Reason == nil {
		return ""
	}
	return *v.Reason
}

func goldenURLRows(t testing.TB, name string) []goldenURL {
	fh, err := os.Open(shareddata.Path(t, "golden", name))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []goldenURL
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<28)
	for sc.Scan() {
		var r urlRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if r.Verdict != nil {
			out = append(out, goldenURL{URL: r.URL, Verdict: goldenVerdict{Keep: r.Verdict.Keep, Reason: r.Verdict.Reason}})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func BenchmarkCheck(b *testing.B) {
	f, err := Load(assetsDir(b), Options{Extra: Lists{Domains: []string{"blocked.com"}}})
	if err != nil {
		b.Fatal(err)
	}
	var urls []string
	for _, name := range []string{"golden_trafilatura_eval.jsonl", "golden_realwarcs.jsonl"} {
		for _, r := range goldenURLRows(b, name) {
			urls = append(urls, r.URL)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f.Check(urls[i%len(urls)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
}
