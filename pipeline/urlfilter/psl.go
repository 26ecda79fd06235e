package urlfilter

import (
	"strings"
	"unicode/utf8"

	"github.com/weppos/publicsuffix-go/publicsuffix"
	"golang.org/x/net/idna"
)

// hostParts is what datatrove takes from tldextract's ExtractResult:
// registered_domain ("domain.suffix") and fqdn (subdomain.domain.suffix),
// both "" when the host has no public suffix or nothing left of it.
//
// tldextract is reproduced with these choices:
//   - the ICANN section of the Public Suffix List only: TLDExtract() defaults
//     to include_psl_private_domains=False, so "foo.blogspot.com" registers
//     "blogspot.com". This is why github.com/weppos/publicsuffix-go is used:
//     its Find can ignore the private section and can be told not to apply
//     the PSL's implicit "*" rule (tldextract finds no suffix for an unknown
//     TLD, so the registered domain is ""). golang.org/x/net/publicsuffix
//     can do neither.
//   - suffixes are matched case-insensitively, but the labels are returned
//     as written in the URL (tldextract keeps their case).
//   - the list is the one compiled into publicsuffix-go (see ListVersion);
//     tldextract fetches the live list at run time, so rare, recent suffix
//     changes may differ.
type hostParts struct {
	registered string
	fqdn       string
}

var findOpts = &publicsuffix.FindOptions{IgnorePrivate: true, DefaultRule: nil}

// splitHost returns the tldextract parts of url.
func splitHost(url string) hostParts {
	netloc := lenientNetloc(url)
	// tldextract treats the ideographic full stops as dots.
	if strings.ContainsAny(netloc, "\u3002\uff0e\uff61") {
		netloc = strings.NewReplacer("\u3002", ".", "\uff0e", ".", "\uff61", ".").Replace(netloc)
	}
	if len(netloc) >= 4 && netloc[0] == '[' && netloc[len(netloc)-1] == ']' {
		return hostParts{} // IPv6 literal (or bracketed junk): no suffix either way
	}
	labels := strings.Split(netloc, ".")
	n := suffixLabels(labels)
	if n == 0 || n >= len(labels) {
		return hostParts{}
	}
	domain := labels[len(labels)-n-1]
	if domain == "" {
		return hostParts{}
	}
	suffix := strings.Join(labels[len(labels)-n:], ".")
	p := hostParts{registered: domain + "." + suffix}
	var parts []string
	if sub := strings.Join(labels[:len(labels)-n-1], "."); sub != "" {
		parts = append(parts, sub)
	}
	p.fqdn = strings.Join(append(parts, domain, suffix), ".")
	return p
}

// suffixLabels returns how many trailing labels form the public suffix
// (ICANN section), 0 when none matches.
func suffixLabels(labels []string) int {
	lookup := make([]string, len(labels))
	for i, l := range labels {
		lookup[i] = lookupLabel(l)
	}
	name := strings.Join(lookup, ".")
	if name == "" {
		return 0
	}
	r := publicsuffix.DefaultList.Find(name, findOpts)
	if r == nil {
		return 0
	}
	switch r.Type {
	case publicsuffix.WildcardType:
		return r.Length
	case publicsuffix.ExceptionType:
		return r.Length - 1
	}
	return r.Length
}

// lookupLabel is the form of a label the list is searched with: lowercased
// (Python's str.lower), and A-label (punycode) for Unicode labels because
// publicsuffix-go stores the rules in A-labels while tldextract compares
// U-labels; the two agree on any label that is valid IDNA.
func lookupLabel(l string) string {
	l = strings.ToLower(l)
	for i := 0; i < len(l); i++ {
		if l[i] >= utf8.RuneSelf {
			if a, err := idna.ToASCII(l); err == nil {
				return a
			}
			return l
		}
	}
	return l
}

// lenientNetloc is tldextract's lenient_netloc: the host of a URL-like
// string without scheme, path, query, fragment, user info, port and trailing
// dots.
func lenientNetloc(url string) string {
	s := schemelessURL(url)
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		// partition("/")[0] then partition("?")[0] then partition("#")[0]:
		// the first of the three wins.
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	}
	if strings.HasPrefix(s, "[") {
		if i := strings.IndexByte(s, ']'); i >= 0 {
			return s[:i+1]
		}
	}
	if i := strings.IndexByte(s, ':'); i >= 0 {
		s = s[:i]
	}
	s = pyStrip(s)
	for {
		t := strings.TrimSuffix(s, ".")
		t = strings.TrimSuffix(t, "\u3002")
		t = strings.TrimSuffix(t, "\uff0e")
		t = strings.TrimSuffix(t, "\uff61")
		if t == s {
			return s
		}
		s = t
	}
}

// schemelessURL is tldextract's _schemeless_url.
func schemelessURL(url string) string {
	i := strings.Index(url, "//")
	if i == 0 {
		return url[2:]
	}
	if i < 2 || url[i-1] != ':' {
		return url
	}
	for _, c := range url[:i-1] {
		if !isSchemeChar(c) {
			return url
		}
	}
	return url[i+2:]
}

func isSchemeChar(c rune) bool {
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') || c == '+' || c == '-' || c == '.'
}
