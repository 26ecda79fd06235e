// Package pii replaces e-mail addresses and public IPv4 addresses in text
// exactly as datatrove's PIIFormatter does (datatrove a649de79,
// pipeline/formatters/pii.py): e-mails first, then IPs, each replaced by the
// next string of a fixed cycle.
//
// Determinism: the replacement cycle advances with every replacement and
// carries over from one document to the next, as in datatrove, where one
// formatter instance serves a whole task. A Formatter therefore has state,
// and a run is reproducible only when documents reach it in a fixed order:
// own one Formatter per output stream, in the single ordered writer stage
// (after the Runner has put documents back in input order), never one shared
// by parallel workers. State and Restore expose the cycle position so that a
// resumed run can continue where it stopped.
package pii

import (
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/datarefine/refine/pipeline"
)

// Defaults are datatrove's replacement cycles.
var (
	DefaultEmailReplacements = []string{"email@example.com", "firstname.lastname@example.org"}
	DefaultIPReplacements    = []string{
		"22.214.171.124", "126.96.36.199", "188.8.131.52",
		"184.108.40.206", "220.127.116.11", "18.104.22.168",
	}
)

// Options configures a Formatter. The zero value is datatrove's default:
// replace e-mails and public IPs with the default cycles.
type Options struct {
	KeepEmails bool // do not replace e-mail addresses
	KeepIPs    bool // do not replace IP addresses
	// AllIPs replaces every address the IPv4 pattern finds and that parses,
	// not only global ones (datatrove's only_remove_public_ips=False).
	AllIPs            bool
	EmailReplacements []string // nil: DefaultEmailReplacements
	IPReplacements    []string // nil: DefaultIPReplacements
}

// State is the position of both replacement cycles: the index of the next
// replacement to use.
type State struct {
	Email int
	IP    int
}

// Formatter is datatrove's PIIFormatter. Its methods are safe to call from
// several goroutines, but the output then depends on the call order; see the
// package comment.
type Formatter struct {
	opts  Options
	mu    sync.Mutex
	state State
}

// New returns a Formatter with both cycles at their start.
func New(opts Options) *Formatter {
	if opts.EmailReplacements == nil {
		opts.EmailReplacements = DefaultEmailReplacements
	}
	if opts.IPReplacements == nil {
		opts.IPReplacements = DefaultIPReplacements
	}
	return &Formatter{opts: opts}
}

// Name implements pipeline.Formatter.
func (f *Formatter) Name() string { return "pii" }

// Format implements pipeline.Formatter.
func (f *Formatter) Format(doc *pipeline.Document) { doc.Text = f.Replace(doc.Text) }

// State returns the current cycle positions.
func (f *Formatter) State() State {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state
}

// Restore sets the cycle positions, e.g. from a checkpoint.
func (f *Formatter) Restore(s State) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state = s
}

// Replace returns text with e-mails, then IPs, replaced, advancing the
// cycles.
func (f *Formatter) Replace(text string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.opts.KeepEmails && len(f.opts.EmailReplacements) > 0 {
		text = f.replaceEmails(text)
	}
	if !f.opts.KeepIPs && len(f.opts.IPReplacements) > 0 {
		text = f.replaceIPs(text)
	}
	return text
}

func (f *Formatter) nextEmail() string {
	r := f.opts.EmailReplacements[f.state.Email]
	f.state.Email = (f.state.Email + 1) % len(f.opts.EmailReplacements)
	return r
}

func (f *Formatter) nextIP() string {
	r := f.opts.IPReplacements[f.state.IP]
	f.state.IP = (f.state.IP + 1) % len(f.opts.IPReplacements)
	return r
}

// emailDomain is the part of datatrove's e-mail pattern after the "@". It is
// matched anchored right after each "@": Go's leftmost-first matching picks
// the same match as Python's backtracking engine for this pattern, which has
// no assertion in it.
var emailDomain = regexp.MustCompile(`^(?:(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?|\[(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?|[A-Za-z0-9-]*[A-Za-z0-9]:)\])`)

// isLocalChar is the local-part class [A-Za-z0-9!#$%&'*+/=?^_`{|}~-].
var isLocalChar = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "!#$%&'*+/=?^_`{|}~-" {
		t[c] = true
	}
	return t
}()

// isDomainChar is every character the domain part can match.
var isDomainChar = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "0123456789.-:[]" {
		t[c] = true
	}
	return t
}()

// pyIsWord is Python's \w for str patterns: alphanumeric (Unicode) or "_".
func pyIsWord(r rune) bool {
	if r < utf8.RuneSelf {
		return r == '_' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')
	}
	return unicode.IsLetter(r) || unicode.IsNumber(r)
}

// pyWordBoundary is Python's Unicode-aware \b at byte offset i of s (RE2's
// \b only knows ASCII word characters).
func pyWordBoundary(s string, i int) bool {
	before, after := false, false
	if i > 0 {
		r, _ := utf8.DecodeLastRuneInString(s[:i])
		before = pyIsWord(r)
	}
	if i < len(s) {
		r, _ := utf8.DecodeRuneInString(s[i:])
		after = pyIsWord(r)
	}
	return before != after
}

// replaceEmails is re.sub over datatrove's pattern
//
//	\b[L]+(?:\.[L]+)*@DOMAIN
//
// done without running a regexp over the whole text: a match needs an "@",
// its local part must be exactly the dot-separated run of local characters
// that ends at that "@" (the "@" must follow it), and the domain match does
// not depend on where the local part starts. So for each "@", in order, the
// match starts at the leftmost position that Python's scan would accept: not
// inside the previous replacement, not on a ".", with no ".." after it, and
// at a (Unicode) word boundary.
func (f *Formatter) replaceEmails(text string) string {
	var b strings.Builder
	copied, lastEnd := 0, 0
	for search := 0; ; {
		j := strings.IndexByte(text[search:], '@')
		if j < 0 {
			break
		}
		at := search + j
		search = at + 1
		if at <= lastEnd || text[at-1] == '.' || !isLocalChar[text[at-1]] {
			continue
		}
		start := at - 1 // first byte of the run of local characters and dots
		for start > lastEnd && (isLocalChar[text[start-1]] || text[start-1] == '.') {
			start--
		}
		// The local part cannot contain "..": start after the last one.
		if k := strings.LastIndex(text[start:at], ".."); k >= 0 {
			start += k + 2
		}
		p := -1
		for q := start; q < at; q++ {
			if text[q] != '.' && pyWordBoundary(text, q) {
				p = q
				break
			}
		}
		if p < 0 {
			continue
		}
		// The domain can only consume [A-Za-z0-9.:[\]-]; bounding the input
		// keeps the regexp's work proportional to the match.
		dom := text[at+1:]
		for k := 0; k < len(dom); k++ {
			if !isDomainChar[dom[k]] {
				dom = dom[:k]
				break
			}
		}
		m := emailDomain.FindStringIndex(dom)
		if m == nil {
			continue
		}
		end := at + 1 + m[1]
		b.WriteString(text[copied:p])
		b.WriteString(f.nextEmail())
		copied, lastEnd = end, end
		search = end
	}
	if copied == 0 {
		return text
	}
	b.WriteString(text[copied:])
	return b.String()
}
