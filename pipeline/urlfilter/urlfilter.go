// Package urlfilter is datatrove's URLFilter (datatrove a649de79,
// pipeline/filters/url_filter.py) as FineWeb runs it (soft_word_threshold=2,
// integrated lists): a document is dropped, with the first matching reason,
// when
//
//  1. the registered domain of its URL is on the domain blocklist: "domain"
//  2. its full host name is on the domain blocklist: "subdomain"
//  3. the exact URL is on the URL blocklist: "url"
//  4. a banned word is one of the URL's words: "hard_blacklisted"
//  5. at least SoftWordThreshold soft banned words are: "soft_blacklisted"
//  6. a banned subword occurs in the normalised URL: "blacklisted_subword"
//
// The URL's words are set(re.split("[^a-zA-Z0-9]+", url)), compared
// case-sensitively with the lowercased list words; the normalised URL is the
// URL without non-alphanumerics, lowercased. Registered domains follow
// tldextract (see psl.go).
//
// The word lists are datatrove's assets (banned_words.txt,
// soft_banned_words.txt, banned_subwords.txt); the domain and URL blocklist
// is UT1's "adult" category (files domains and urls), which datatrove ships
// as a tarball. Load reads them from an asset folder. A Filter is read-only
// and safe for concurrent use.
package urlfilter

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/datarefine/refine/pipeline"
)

// File names in an asset folder.
const (
	BannedWordsFile     = "banned_words.txt"
	SoftBannedWordsFile = "soft_banned_words.txt"
	BannedSubwordsFile  = "banned_subwords.txt"
	// BlocklistDir is the folder (inside the asset folder) holding UT1's
	// adult "domains" and "urls" files.
	BlocklistDir = "adult"
	// BlocklistTarball is UT1's blacklists.tar.gz, holding adult/domains and
	// adult/urls.
	BlocklistTarball = "blacklists.tar.gz"
)

// Options configures a Filter.
type Options struct {
	// SoftWordThreshold is the number of distinct soft banned words that
	// drops a URL; 0 means FineWeb's 2.
	SoftWordThreshold int
	// Blocklist is the UT1 adult domain/URL blocklist: a folder with files
	// "domains" and "urls", or a tarball (.tar.gz / .tgz / .tar) with members
	// ending in adult/domains and adult/urls (or bare domains and urls, as in
	// datatrove's own tarball). Empty: Load looks for <dir>/adult/ and then
	// <dir>/blacklists.tar.gz, and goes without a blocklist if neither is
	// there.
	Blocklist string
	// RequireBlocklist makes Load fail when no blocklist is found.
	RequireBlocklist bool
	// Extra entries are added to the loaded ones, as datatrove's extra_*
	// constructor arguments are.
	Extra Lists
}

// Lists are the raw list entries, one per element, as lines of datatrove's
// files: entries starting with "#" are skipped; words are normalised
// (non-alphanumerics removed, lowercased); domains and URLs are stripped.
type Lists struct {
	BannedWords     []string
	SoftBannedWords []string
	BannedSubwords  []string
	Domains         []string
	URLs            []string
}

// Filter is datatrove's URLFilter.
type Filter struct {
	threshold     int
	domains, urls []stringSet
	banned, soft  map[string]struct{}
	subwords      *matcher
	nSubwords     int
}

// Name implements pipeline.Filter.
func (f *Filter) Name() string { return "url" }

// New builds a Filter from in-memory lists.
func New(lists Lists, opts Options) *Filter {
	return build(lists, nil, nil, opts)
}

// Load builds a Filter from the asset folder dir: the three word lists
// (required) and, if found, the UT1 adult blocklist (see Options.Blocklist).
func Load(dir string, opts Options) (*Filter, error) {
	files := map[string][]byte{}
	for _, name := range []string{BannedWordsFile, SoftBannedWordsFile, BannedSubwordsFile} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("urlfilter: word list %s: %w", name, err)
		}
		files[name] = b
	}
	return FromFiles(files, dir, opts)
}

// FromFiles builds a Filter from the contents of the three word lists, keyed
// by their file names (BannedWordsFile, ...; all required), and the UT1
// adult blocklist that opts.Blocklist names or, when it names none, dir
// holds (dir may be empty: no blocklist is looked for). It is Load for word
// lists read from elsewhere than one folder (e.g. built into the binary).
func FromFiles(files map[string][]byte, dir string, opts Options) (*Filter, error) {
	var lists Lists
	for _, l := range []struct {
		name string
		dst  *[]string
	}{
		{BannedWordsFile, &lists.BannedWords},
		{SoftBannedWordsFile, &lists.SoftBannedWords},
		{BannedSubwordsFile, &lists.BannedSubwords},
	} {
		b, ok := files[l.name]
		if !ok {
			return nil, fmt.Errorf("urlfilter: word list %s not given", l.name)
		}
		*l.dst = splitFileLines(string(b))
	}
	domains, urls, err := loadBlocklist(dir, opts)
	if err != nil {
		return nil, err
	}
	lists.BannedWords = append(lists.BannedWords, opts.Extra.BannedWords...)
	lists.SoftBannedWords = append(lists.SoftBannedWords, opts.Extra.SoftBannedWords...)
	lists.BannedSubwords = append(lists.BannedSubwords, opts.Extra.BannedSubwords...)
	lists.Domains = opts.Extra.Domains
	lists.URLs = opts.Extra.URLs
	return build(lists, domains, urls, opts), nil
}

func build(lists Lists, domains, urls []stringSet, opts Options) *Filter {
	f := &Filter{threshold: opts.SoftWordThreshold}
	if f.threshold == 0 {
		f.threshold = 2
	}
	if len(lists.Domains) > 0 {
		domains = append(domains, parseRawList(strings.Join(lists.Domains, "\n")))
	}
	if len(lists.URLs) > 0 {
		urls = append(urls, parseRawList(strings.Join(lists.URLs, "\n")))
	}
	f.domains, f.urls = domains, urls
	f.banned = parseWordList(lists.BannedWords)
	f.soft = parseWordList(lists.SoftBannedWords)
	sub := parseWordList(lists.BannedSubwords)
	pats := make([]string, 0, len(sub))
	for w := range sub {
		pats = append(pats, w)
	}
	f.subwords = newMatcher(pats)
	f.nSubwords = len(sub)
	return f
}

// loadBlocklist finds and reads the UT1 adult lists.
func loadBlocklist(dir string, opts Options) (domains, urls []stringSet, err error) {
	src := opts.Blocklist
	if src == "" && dir != "" {
		for _, cand := range []string{filepath.Join(dir, BlocklistDir), filepath.Join(dir, BlocklistTarball)} {
			if _, err := os.Stat(cand); err == nil {
				src = cand
				break
			}
		}
	}
	if src == "" {
		if opts.RequireBlocklist {
			return nil, nil, fmt.Errorf("urlfilter: no blocklist in %s (want %s/domains and %s/urls, or %s)",
				dir, BlocklistDir, BlocklistDir, BlocklistTarball)
		}
		return nil, nil, nil
	}
	st, err := os.Stat(src)
	if err != nil {
		return nil, nil, fmt.Errorf("urlfilter: blocklist: %w", err)
	}
	var d, u string
	if st.IsDir() {
		d, u, err = readBlocklistDir(src)
	} else {
		d, u, err = readBlocklistTar(src)
	}
	if err != nil {
		return nil, nil, err
	}
	return []stringSet{parseRawList(d)}, []stringSet{parseRawList(u)}, nil
}

func readBlocklistDir(dir string) (domains, urls string, err error) {
	// Accept the adult folder itself or a folder holding it.
	if _, err := os.Stat(filepath.Join(dir, "domains")); errors.Is(err, fs.ErrNotExist) {
		if _, err2 := os.Stat(filepath.Join(dir, BlocklistDir, "domains")); err2 == nil {
			dir = filepath.Join(dir, BlocklistDir)
		}
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"domains", &domains}, {"urls", &urls}} {
		b, err := os.ReadFile(filepath.Join(dir, f.name))
		if err != nil {
			return "", "", fmt.Errorf("urlfilter: blocklist file %s: %w", f.name, err)
		}
		*f.dst = string(b)
	}
	return domains, urls, nil
}

func readBlocklistTar(file string) (domains, urls string, err error) {
	fh, err := os.Open(file)
	if err != nil {
		return "", "", fmt.Errorf("urlfilter: blocklist tarball: %w", err)
	}
	defer fh.Close()
	var r io.Reader = fh
	if !strings.HasSuffix(file, ".tar") {
		gz, err := gzip.NewReader(fh)
		if err != nil {
			return "", "", fmt.Errorf("urlfilter: blocklist tarball %s: %w", file, err)
		}
		defer gz.Close()
		r = gz
	}
	tr := tar.NewReader(r)
	var haveD, haveU bool
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", "", fmt.Errorf("urlfilter: blocklist tarball %s: %w", file, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "./"))
		var dst *string
		var have *bool
		switch {
		case isMember(name, "domains"):
			dst, have = &domains, &haveD
		case isMember(name, "urls"):
			dst, have = &urls, &haveU
		default:
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return "", "", fmt.Errorf("urlfilter: blocklist tarball %s: %s: %w", file, h.Name, err)
		}
		*dst, *have = string(b), true
	}
	if !haveD || !haveU {
		return "", "", fmt.Errorf("urlfilter: blocklist tarball %s lacks adult/domains or adult/urls", file)
	}
	return domains, urls, nil
}

// isMember reports whether a tarball member is the adult list file: bare
// (datatrove's tarball), adult/file or .../adult/file (UT1's, under
// blacklists/).
func isMember(name, file string) bool {
	return name == file || name == BlocklistDir+"/"+file || strings.HasSuffix(name, "/"+BlocklistDir+"/"+file)
}

// Sizes reports how many entries each list holds (for logs).
func (f *Filter) Sizes() (domains, urls, banned, soft, subwords int) {
	for _, s := range f.domains {
		domains += s.size()
	}
	for _, s := range f.urls {
		urls += s.size()
	}
	return domains, urls, len(f.banned), len(f.soft), f.nSubwords
}

func inAny(sets []stringSet, x string) bool {
	for _, s := range sets {
		if s.has(x) {
			return true
		}
	}
	return false
}

// Filter implements pipeline.Filter. A document without a URL is kept
// (datatrove asserts that there is one).
func (f *Filter) Filter(doc *pipeline.Document) (bool, string) {
	return f.Check(doc.URL)
}

// Check applies the rules to one URL.
func (f *Filter) Check(url string) (keep bool, reason string) {
	if url == "" {
		return true, ""
	}
	if len(f.domains) > 0 {
		hp := splitHost(url)
		if inAny(f.domains, hp.registered) {
			return false, "domain"
		}
		if inAny(f.domains, hp.fqdn) {
			return false, "subdomain"
		}
	}
	if inAny(f.urls, url) {
		return false, "url"
	}

	// The URL's words, as re.split("[^a-zA-Z0-9]+", url): pieces between
	// runs of other characters, with "" at either end when the URL starts
	// or ends with such a run.
	var softSeen [8]string
	soft := softSeen[:0]
	hard := false
	forURLWords(url, func(w string) bool {
		if _, ok := f.banned[w]; ok {
			hard = true
			return false
		}
		if _, ok := f.soft[w]; ok {
			for _, s := range soft {
				if s == w {
					return true
				}
			}
			soft = append(soft, w)
		}
		return true
	})
	if hard {
		return false, "hard_blacklisted"
	}
	if len(soft) >= f.threshold {
		return false, "soft_blacklisted"
	}
	// Subwords are searched in the URL with the separators removed, so they
	// also match across them ("po-rn").
	if f.nSubwords > 0 && f.subwords.any(normalize(url)) {
		return false, "blacklisted_subword"
	}
	return true, ""
}

func forURLWords(url string, fn func(string) bool) {
	start := 0
	for i := 0; i < len(url); {
		if isAlnum(url[i]) {
			i++
			continue
		}
		j := i
		for j < len(url) && !isAlnum(url[j]) {
			j++
		}
		if !fn(url[start:i]) {
			return
		}
		start, i = j, j
	}
	fn(url[start:])
}
