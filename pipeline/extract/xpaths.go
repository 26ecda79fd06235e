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
//
// Each expression is `tag test and (test on @class or test on @id)`, plus,
// for some, tests on other attributes. The @class and @id tests are the
// costly part (dozens of substring searches) and pages repeat the same
// values, so their results are cached per page and value.

// pred is one expression: other(t, a) || tags(t) && (class(a.class) ||
// id(a.id)); nil parts are false (tags: nil is true).
type pred struct {
	bit   uint64
	tags  func(t string) bool
	class func(string) bool
	id    func(string) bool
	other func(t string, a *attrs) bool
}

// preds are all expressions, so that the @class and @id tests of every
// one run together the first time a value is seen.
var preds []*pred

func newPred(tags func(string) bool, class, id func(string) bool, other func(string, *attrs) bool) *pred {
	if len(preds) == 64 {
		panic("extract: too many predicates for the cache's bit sets")
	}
	p := &pred{bit: 1 << len(preds), tags: tags, class: class, id: id, other: other}
	preds = append(preds, p)
	return p
}

// attrs holds the attributes other tests read.
type attrs struct {
	class, id, style, role, itemprop, dataComponent, ariaHidden string
	// data-lp-replacement-content and data-testid are present
	lpReplacement, testID bool
}

func (a *attrs) fill(n *dom.Node) {
	for _, at := range n.Attr {
		switch at.Key {
		case "class":
			a.class = at.Val
		case "id":
			a.id = at.Val
		case "style":
			a.style = at.Val
		case "role":
			a.role = at.Val
		case "itemprop":
			a.itemprop = at.Val
		case "data-component":
			a.dataComponent = at.Val
		case "aria-hidden":
			a.ariaHidden = at.Val
		case "data-lp-replacement-content":
			a.lpReplacement = true
		case "data-testid":
			a.testID = true
		}
	}
}

// valueBits returns, for an attribute value, the set of expressions whose
// test on it passes, computed once per page and value.
func valueBits(memo map[string]uint64, v string, class bool) uint64 {
	if bits, ok := memo[v]; ok {
		return bits
	}
	var bits uint64
	for _, p := range preds {
		test := p.id
		if class {
			test = p.class
		}
		if test != nil && test(v) {
			bits |= p.bit
		}
	}
	memo[v] = bits
	return bits
}

// matches evaluates p on n.
func (x *extractor) matches(p *pred, n *dom.Node) bool {
	return x.firstMatch([]*pred{p}, n) == 0
}

// firstMatch is the index of the first expression n matches, -1 for none.
func (x *extractor) firstMatch(exprs []*pred, n *dom.Node) int {
	a := &x.at // scratch: a local would escape through the tests
	*a = attrs{}
	a.fill(n)
	if x.classMemo == nil {
		x.classMemo = make(map[string]uint64, 64)
		x.idMemo = make(map[string]uint64, 64)
	}
	bits := valueBits(x.classMemo, a.class, true) | valueBits(x.idMemo, a.id, false)
	for k, p := range exprs {
		if p.other != nil && p.other(n.Tag, a) {
			return k
		}
		if bits&p.bit != 0 && (p.tags == nil || p.tags(n.Tag)) {
			return k
		}
	}
	return -1
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

func isDivItemListPSectionSpan(t string) bool {
	switch t {
	case "div", "item", "list", "p", "section", "span":
		return true
	}
	return false
}

// bodyXPath are BODY_XPATH; the first element (document order) below the
// tree that matches is the content's container.
var bodyXPath = []*pred{
	newPred(isArticleDivMainSection,
		func(c string) bool {
			return c == "post" || c == "entry" ||
				has(c, "post-text") || has(c, "post_text") ||
				has(c, "post-body") || has(c, "post-entry") || has(c, "postentry") ||
				has(c, "post-content") || has(c, "post_content") ||
				has(c, "postcontent") || has(c, "postContent") || has(c, "post_inner_wrapper") ||
				has(c, "article-text") || has(c, "articletext") || has(c, "articleText") ||
				has(c, "entry-content") ||
				has(c, "article-content") ||
				has(c, "article__content") ||
				has(c, "article-body") ||
				has(c, "article__body") ||
				has(translate(c, "B", "b"), "articleBody") ||
				has(c, "ArticleContent") ||
				has(c, "page-content") || has(c, "text-content") ||
				has(c, "body-text") ||
				has(c, "article__container") || has(c, "art-content")
		},
		func(id string) bool {
			return has(id, "entry-content") || has(id, "article-content") ||
				has(id, "article__content") || has(id, "article-body") ||
				has(id, "article__body") || has(translate(id, "B", "b"), "articlebody") ||
				id == "articleContent" || has(id, "body-text") || has(id, "art-content")
		},
		func(t string, a *attrs) bool {
			return isArticleDivMainSection(t) && a.itemprop == "articleBody"
		}),
	newPred(nil, nil, nil, func(t string, _ *attrs) bool { return t == "article" }),
	newPred(isArticleDivMainSection,
		func(c string) bool {
			return has(c, "post-bodycopy") ||
				has(c, "storycontent") || has(c, "story-content") ||
				c == "postarea" || c == "art-postcontent" ||
				has(c, "theme-content") || has(c, "blog-content") ||
				has(c, "section-content") || has(c, "single-content") ||
				has(c, "single-post") ||
				has(c, "main-column") || has(c, "wpb_text_column") ||
				pre(c, "article ") || c == "text" ||
				c == "cell" || c == "story" ||
				has(c, "story-body") || has(c, "field-body") ||
				has(translate(c, "FULTEX", "fultex"), "fulltext")
		},
		func(id string) bool {
			return pre(id, "primary") || id == "article" || id == "story" || has(id, "story-body")
		},
		func(t string, a *attrs) bool {
			return isArticleDivMainSection(t) && a.role == "article"
		}),
	newPred(isArticleDivMainSection,
		func(c string) bool {
			return has(c, "content-main") || has(c, "content_main") ||
				has(c, "content-body") ||
				has(c, "content__body") || has(translate(c, "CM", "cm"), "main-content") ||
				has(translate(c, "CP", "cp"), "page-content") ||
				c == "content"
		},
		func(id string) bool {
			return has(id, "content-main") || has(id, "content-body") || has(id, "contentBody") ||
				has(translate(id, "CM", "cm"), "main-content") || id == "content"
		},
		nil),
	// (.//*[(self::article or self::div or self::section)][starts-with(...)])[1]|(.//main)[1]
	newPred(func(t string) bool { return t == "article" || t == "div" || t == "section" },
		func(c string) bool { return pre(c, "main") },
		func(id string) bool { return pre(id, "main") },
		func(t string, a *attrs) bool {
			return t == "main" || (t == "article" || t == "div" || t == "section") && pre(a.role, "main")
		}),
}

// overallDiscard is OVERALL_DISCARD_XPATH: navigation, footers, sharing,
// related links...; then comment debris and hidden parts.
var overallDiscard = []*pred{
	newPred(isDivItemListPSectionSpan,
		func(c string) bool {
			return has(translate(c, "F", "f"), "footer") ||
				has(translate(c, "R", "r"), "related") ||
				has(c, "viral") ||
				pre(c, "shar") ||
				has(c, "share-") ||
				has(c, "social") || has(c, "sociable") ||
				has(c, "syndication") ||
				has(c, "embedded") || has(c, "embed") ||
				has(c, "newsletter") ||
				has(c, "subnav") ||
				has(c, "cookie") ||
				has(c, "tags") || has(c, "tag-list") ||
				has(c, "sidebar") ||
				has(c, "banner") || has(c, "bar") ||
				has(c, "meta") || has(c, "menu") ||
				pre(c, "nav") || has(translate(c, "N", "n"), "navigation") ||
				has(c, "navbar") || has(c, "navbox") || pre(c, "post-nav") ||
				has(c, "breadcrumb") ||
				has(c, "bread-crumb") ||
				has(c, "author") ||
				has(c, "button") ||
				has(translate(c, "B", "b"), "byline") ||
				has(c, "rating") || has(c, "widget") ||
				has(c, "attachment") || has(c, "timestamp") ||
				has(c, "user-info") || has(c, "user-profile") ||
				has(c, "-ad-") || has(c, "-icon") ||
				has(c, "article-infos") ||
				has(translate(c, "I", "i"), "infoline") ||
				has(c, "outbrain") || has(c, "taboola") ||
				has(c, "criteo") || has(c, "options") || has(c, "expand") ||
				has(c, "consent") || has(c, "modal-content") ||
				has(c, "paid-content") || has(c, "paidcontent") ||
				has(c, "obfuscated") || has(c, "blurred") ||
				has(c, " ad ") ||
				has(c, "next-") || has(c, "side-stories") ||
				has(c, "related-stories") || has(c, "most-popular") ||
				has(c, "mol-factbox") || pre(c, "ZendeskForm") ||
				has(c, "message-container") ||
				has(c, "yin") || has(c, "zlylin") ||
				has(c, "xg1") ||
				has(c, "slide") || has(c, "viewport")
		},
		func(id string) bool {
			return has(translate(id, "F", "f"), "footer") ||
				has(id, "related") ||
				has(id, "viral") ||
				pre(id, "shar") ||
				has(translate(id, "S", "s"), "share") ||
				has(id, "social") ||
				has(id, "syndication") ||
				pre(id, "jp-") || pre(id, "dpsp-content") ||
				has(id, "newsletter") ||
				has(id, "cookie") ||
				has(id, "tags") ||
				has(id, "sidebar") ||
				has(id, "banner") ||
				has(id, "menu") ||
				has(translate(id, "N", "n"), "nav") ||
				has(id, "breadcrumb") ||
				has(id, "bread-crumb") ||
				has(id, "author") ||
				has(id, "button") ||
				has(id, "premium-") || has(id, "paywall") ||
				has(id, "message_container") ||
				has(id, "bmdh")
		},
		func(t string, a *attrs) bool {
			return isDivItemListPSectionSpan(t) &&
				(has(translate(a.role, "N", "n"), "nav") ||
					has(a.dataComponent, "MostPopularStories") ||
					a.lpReplacement || a.testID)
		}),
	newPred(nil,
		func(c string) bool {
			return c == "comments-title" || has(c, "comments-title") ||
				has(c, "nocomments") || pre(c, "reply-") ||
				has(c, "-reply-") || has(c, "message") ||
				has(c, "akismet") || has(c, "suggest-links") ||
				pre(c, "hide-") || has(c, "-hide-") || has(c, "hide-print") ||
				has(c, " hidden") ||
				has(c, "noprint") ||
				has(c, "notloaded")
		},
		func(id string) bool {
			return pre(id, "reply-") || has(id, "reader-comments") ||
				has(id, "akismet") || has(id, "hidden")
		},
		func(_ string, a *attrs) bool {
			return has(a.style, "hidden") || has(a.style, "display:none") || has(a.style, "display: none") ||
				a.ariaHidden == "true"
		}),
}

// paywallDiscard is PAYWALL_DISCARD_XPATH.
var paywallDiscard = []*pred{
	newPred(func(t string) bool { return t == "div" || t == "p" },
		func(c string) bool {
			return has(c, "paid-content") || has(c, "paidcontent") ||
				has(c, "obfuscated") || has(c, "blurred") ||
				has(c, "restricted") || has(c, "overlay")
		},
		func(id string) bool { return has(id, "paywall") || has(id, "premium") },
		nil),
}

// removeCommentsXPath is REMOVE_COMMENTS_XPATH.
var removeCommentsXPath = []*pred{
	newPred(func(t string) bool { return t == "div" || t == "list" || t == "section" },
		func(c string) bool {
			return pre(translate(c, "C", "c"), "comment") ||
				has(c, "article-comments") || has(c, "post-comments")
		},
		func(id string) bool {
			return pre(translate(id, "C", "c"), "comment") ||
				pre(id, "comol") || pre(id, "disqus_thread") ||
				pre(id, "dsq-comments")
		},
		nil),
}

// teaserDiscard is TEASER_DISCARD_XPATH.
var teaserDiscard = []*pred{
	newPred(isDivItemListPSectionSpan,
		func(c string) bool { return has(translate(c, "T", "t"), "teaser") },
		func(id string) bool { return has(translate(id, "T", "t"), "teaser") },
		nil),
}

// precisionDiscard is PRECISION_DISCARD_XPATH.
var precisionDiscard = []*pred{
	newPred(nil, nil, nil, func(t string, _ *attrs) bool { return t == "header" }),
	newPred(isDivItemListPSectionSpan,
		func(c string) bool { return has(c, "bottom") || has(c, "link") },
		func(id string) bool { return has(id, "bottom") || has(id, "link") },
		func(t string, a *attrs) bool { return isDivItemListPSectionSpan(t) && has(a.style, "border") }),
}

// discardImageElements is DISCARD_IMAGE_ELEMENTS.
var discardImageElements = []*pred{
	newPred(isDivItemListPSectionSpan,
		func(c string) bool { return has(c, "caption") },
		func(id string) bool { return has(id, "caption") },
		nil),
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
