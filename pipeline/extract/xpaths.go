package extract

import (
	"strings"

	"github.com/datarefine/refine/pipeline/extract/dom"
)

// trafilatura 1.8.1's XPath expressions (xpaths.py), written as Go
// predicates. XPath's contains() and starts-with() on a missing attribute
// see an empty string; translate() maps the listed characters. Where the
// original cannot match (contains(translate(@class, "B", "b"),
// "articleBody") asks for an upper-case B after lower-casing it) the
// predicate keeps the impossible test, so it behaves the same.

// attrs holds the attributes the predicates read.
type attrs struct {
	class, id, style, role, itemprop, dataComponent, ariaHidden string
	// lpReplacement and testID: data-lp-replacement-content and
	// data-testid are present.
	lpReplacement, testID bool
}

// fill reads n's attributes; rare reports an attribute other than class
// and id that some predicate reads (then a predicate's result is not
// memoized by tag, class and id).
func (a *attrs) fill(n *dom.Node) (rare bool) {
	for _, at := range n.Attr {
		switch at.Key {
		case "class":
			a.class = at.Val
		case "id":
			a.id = at.Val
		case "style":
			a.style, rare = at.Val, true
		case "role":
			a.role, rare = at.Val, true
		case "itemprop":
			a.itemprop, rare = at.Val, true
		case "data-component":
			a.dataComponent, rare = at.Val, true
		case "aria-hidden":
			a.ariaHidden, rare = at.Val, true
		case "data-lp-replacement-content":
			a.lpReplacement, rare = true, true
		case "data-testid":
			a.testID, rare = true, true
		}
	}
	return rare
}

// pred is one XPath predicate over an element's tag and attributes.
type pred struct {
	id int
	f  func(tag string, a *attrs) bool
}

var predCount int

func newPred(f func(tag string, a *attrs) bool) *pred {
	p := &pred{id: predCount, f: f}
	predCount++
	return p
}

// memoEntry caches, for one (tag, class, id), which predicates were
// evaluated (done) and their results (val), one bit per predicate.
type memoEntry struct{ done, val uint64 }

// matches evaluates p on n. Pages repeat the same tag, class and id many
// times; the result is cached per page for those elements whose other
// attributes do not matter.
func (x *extractor) matches(p *pred, n *dom.Node) bool {
	var a attrs
	if rare := a.fill(n); rare || a.class == "" && a.id == "" {
		return p.f(n.Tag, &a)
	}
	b := append(x.key[:0], n.Tag...)
	b = append(b, 0)
	b = append(b, a.class...)
	b = append(b, 0)
	b = append(b, a.id...)
	x.key = b
	e, ok := x.memo[string(b)]
	if !ok {
		if x.memo == nil {
			x.memo = make(map[string]*memoEntry, 64)
		}
		e = &memoEntry{}
		x.memo[string(b)] = e
	}
	bit := uint64(1) << p.id
	if e.done&bit == 0 {
		e.done |= bit
		if p.f(n.Tag, &a) {
			e.val |= bit
		}
	}
	return e.val&bit != 0
}

// translate is XPath's translate(s, from, to) for same-length ASCII maps.
func translate(s, from, to string) string {
	if !strings.ContainsAny(s, from) {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if k := strings.IndexByte(from, c); k >= 0 {
			b[i] = to[k]
		}
	}
	return string(b)
}

func has(s, sub string) bool { return strings.Contains(s, sub) }

func pre(s, p string) bool { return strings.HasPrefix(s, p) }

func isArticleDivMainSection(t string) bool {
	return t == "article" || t == "div" || t == "main" || t == "section"
}

// bodyXPath are BODY_XPATH: each returns the first match in document order
// under root (root excluded), or nil.
var bodyXPath = []*pred{
	newPred(func(t string, a *attrs) bool {
		if !isArticleDivMainSection(t) {
			return false
		}
		c, id := a.class, a.id
		return c == "post" || c == "entry" ||
			has(c, "post-text") || has(c, "post_text") ||
			has(c, "post-body") || has(c, "post-entry") || has(c, "postentry") ||
			has(c, "post-content") || has(c, "post_content") ||
			has(c, "postcontent") || has(c, "postContent") || has(c, "post_inner_wrapper") ||
			has(c, "article-text") || has(c, "articletext") || has(c, "articleText") ||
			has(id, "entry-content") ||
			has(c, "entry-content") || has(id, "article-content") ||
			has(c, "article-content") || has(id, "article__content") ||
			has(c, "article__content") || has(id, "article-body") ||
			has(c, "article-body") || has(id, "article__body") ||
			has(c, "article__body") || a.itemprop == "articleBody" ||
			has(translate(id, "B", "b"), "articlebody") || has(translate(c, "B", "b"), "articleBody") ||
			id == "articleContent" || has(c, "ArticleContent") ||
			has(c, "page-content") || has(c, "text-content") ||
			has(id, "body-text") || has(c, "body-text") ||
			has(c, "article__container") || has(id, "art-content") || has(c, "art-content")
	}),
	newPred(func(t string, a *attrs) bool { return t == "article" }),
	newPred(func(t string, a *attrs) bool {
		if !isArticleDivMainSection(t) {
			return false
		}
		c, id := a.class, a.id
		return has(c, "post-bodycopy") ||
			has(c, "storycontent") || has(c, "story-content") ||
			c == "postarea" || c == "art-postcontent" ||
			has(c, "theme-content") || has(c, "blog-content") ||
			has(c, "section-content") || has(c, "single-content") ||
			has(c, "single-post") ||
			has(c, "main-column") || has(c, "wpb_text_column") ||
			pre(id, "primary") || pre(c, "article ") || c == "text" ||
			id == "article" || c == "cell" || id == "story" || c == "story" ||
			has(c, "story-body") || has(id, "story-body") || has(c, "field-body") ||
			has(translate(c, "FULTEX", "fultex"), "fulltext") ||
			a.role == "article"
	}),
	newPred(func(t string, a *attrs) bool {
		if !isArticleDivMainSection(t) {
			return false
		}
		c, id := a.class, a.id
		return has(id, "content-main") || has(c, "content-main") || has(c, "content_main") ||
			has(id, "content-body") || has(c, "content-body") || has(id, "contentBody") ||
			has(c, "content__body") || has(translate(id, "CM", "cm"), "main-content") || has(translate(c, "CM", "cm"), "main-content") ||
			has(translate(c, "CP", "cp"), "page-content") ||
			id == "content" || c == "content"
	}),
	newPred(func(t string, a *attrs) bool {
		if t == "main" {
			return true
		}
		if t != "article" && t != "div" && t != "section" {
			return false
		}
		return pre(a.class, "main") || pre(a.id, "main") || pre(a.role, "main")
	}),
}

func isDivItemListPSectionSpan(t string) bool {
	switch t {
	case "div", "item", "list", "p", "section", "span":
		return true
	}
	return false
}

// overallDiscard is OVERALL_DISCARD_XPATH: navigation, footers, sharing,
// related links...; then comment debris and hidden parts.
var overallDiscard = []*pred{
	newPred(func(t string, a *attrs) bool {
		if !isDivItemListPSectionSpan(t) {
			return false
		}
		c, id := a.class, a.id
		return has(translate(id, "F", "f"), "footer") || has(translate(c, "F", "f"), "footer") ||
			has(id, "related") || has(translate(c, "R", "r"), "related") ||
			has(id, "viral") || has(c, "viral") ||
			pre(id, "shar") || pre(c, "shar") ||
			has(c, "share-") ||
			has(translate(id, "S", "s"), "share") ||
			has(id, "social") || has(c, "social") || has(c, "sociable") ||
			has(id, "syndication") || has(c, "syndication") ||
			pre(id, "jp-") || pre(id, "dpsp-content") ||
			has(c, "embedded") || has(c, "embed") ||
			has(id, "newsletter") || has(c, "newsletter") ||
			has(c, "subnav") ||
			has(id, "cookie") || has(c, "cookie") ||
			has(id, "tags") || has(c, "tags") || has(c, "tag-list") ||
			has(id, "sidebar") || has(c, "sidebar") ||
			has(id, "banner") || has(c, "banner") || has(c, "bar") ||
			has(c, "meta") || has(id, "menu") || has(c, "menu") ||
			has(translate(id, "N", "n"), "nav") || has(translate(a.role, "N", "n"), "nav") ||
			pre(c, "nav") || has(translate(c, "N", "n"), "navigation") ||
			has(c, "navbar") || has(c, "navbox") || pre(c, "post-nav") ||
			has(id, "breadcrumb") || has(c, "breadcrumb") ||
			has(id, "bread-crumb") || has(c, "bread-crumb") ||
			has(id, "author") || has(c, "author") ||
			has(id, "button") || has(c, "button") ||
			has(translate(c, "B", "b"), "byline") ||
			has(c, "rating") || has(c, "widget") ||
			has(c, "attachment") || has(c, "timestamp") ||
			has(c, "user-info") || has(c, "user-profile") ||
			has(c, "-ad-") || has(c, "-icon") ||
			has(c, "article-infos") ||
			has(translate(c, "I", "i"), "infoline") ||
			has(a.dataComponent, "MostPopularStories") ||
			has(c, "outbrain") || has(c, "taboola") ||
			has(c, "criteo") || has(c, "options") || has(c, "expand") ||
			has(c, "consent") || has(c, "modal-content") ||
			has(c, "paid-content") || has(c, "paidcontent") ||
			has(id, "premium-") || has(id, "paywall") ||
			has(c, "obfuscated") || has(c, "blurred") ||
			has(c, " ad ") ||
			has(c, "next-") || has(c, "side-stories") ||
			has(c, "related-stories") || has(c, "most-popular") ||
			has(c, "mol-factbox") || pre(c, "ZendeskForm") ||
			has(c, "message-container") || has(id, "message_container") ||
			has(c, "yin") || has(c, "zlylin") ||
			has(c, "xg1") || has(id, "bmdh") ||
			has(c, "slide") || has(c, "viewport") ||
			a.lpReplacement || a.testID
	}),
	newPred(func(t string, a *attrs) bool {
		c, id, st := a.class, a.id, a.style
		return c == "comments-title" || has(c, "comments-title") ||
			has(c, "nocomments") || pre(id, "reply-") || pre(c, "reply-") ||
			has(c, "-reply-") || has(c, "message") || has(id, "reader-comments") ||
			has(id, "akismet") || has(c, "akismet") || has(c, "suggest-links") ||
			pre(c, "hide-") || has(c, "-hide-") || has(c, "hide-print") ||
			has(id, "hidden") || has(st, "hidden") || has(c, " hidden") ||
			has(c, "noprint") || has(st, "display:none") || has(st, "display: none") ||
			a.ariaHidden == "true" || has(c, "notloaded")
	}),
}

// paywallDiscard is PAYWALL_DISCARD_XPATH.
var paywallDiscard = []*pred{
	newPred(func(t string, a *attrs) bool {
		if t != "div" && t != "p" {
			return false
		}
		c, id := a.class, a.id
		return has(id, "paywall") || has(id, "premium") ||
			has(c, "paid-content") || has(c, "paidcontent") ||
			has(c, "obfuscated") || has(c, "blurred") ||
			has(c, "restricted") || has(c, "overlay")
	}),
}

// removeCommentsXPath is REMOVE_COMMENTS_XPATH.
var removeCommentsXPath = []*pred{
	newPred(func(t string, a *attrs) bool {
		if t != "div" && t != "list" && t != "section" {
			return false
		}
		c, id := a.class, a.id
		return pre(translate(id, "C", "c"), "comment") ||
			pre(translate(c, "C", "c"), "comment") ||
			has(c, "article-comments") || has(c, "post-comments") ||
			pre(id, "comol") || pre(id, "disqus_thread") ||
			pre(id, "dsq-comments")
	}),
}

// teaserDiscard is TEASER_DISCARD_XPATH.
var teaserDiscard = []*pred{
	newPred(func(t string, a *attrs) bool {
		if !isDivItemListPSectionSpan(t) {
			return false
		}
		return has(translate(a.id, "T", "t"), "teaser") || has(translate(a.class, "T", "t"), "teaser")
	}),
}

// precisionDiscard is PRECISION_DISCARD_XPATH.
var precisionDiscard = []*pred{
	newPred(func(t string, a *attrs) bool { return t == "header" }),
	newPred(func(t string, a *attrs) bool {
		if !isDivItemListPSectionSpan(t) {
			return false
		}
		return has(a.id, "bottom") || has(a.class, "bottom") ||
			has(a.id, "link") || has(a.class, "link") ||
			has(a.style, "border")
	}),
}

// discardImageElements is DISCARD_IMAGE_ELEMENTS.
var discardImageElements = []*pred{
	newPred(func(t string, a *attrs) bool {
		if !isDivItemListPSectionSpan(t) {
			return false
		}
		return has(a.id, "caption") || has(a.class, "caption")
	}),
}

// firstDescendant returns the first descendant of root (document order)
// that matches.
func firstDescendant(root *dom.Node, match func(*dom.Node) bool) *dom.Node {
	for c := root.FirstChild; c != nil; c = c.Next {
		if m := firstSelfOrDescendant(c, match); m != nil {
			return m
		}
	}
	return nil
}

func firstSelfOrDescendant(n *dom.Node, match func(*dom.Node) bool) *dom.Node {
	if match(n) {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.Next {
		if m := firstSelfOrDescendant(c, match); m != nil {
			return m
		}
	}
	return nil
}

// descendants returns root's descendants that match, in document order
// (an XPath './/*[...]' node set).
func descendants(root *dom.Node, match func(*dom.Node) bool) []*dom.Node {
	var out []*dom.Node
	for c := root.FirstChild; c != nil; c = c.Next {
		c.Iter(func(n *dom.Node) bool {
			if match(n) {
				out = append(out, n)
			}
			return true
		})
	}
	return out
}
