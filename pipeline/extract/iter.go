package extract

import "github.com/datarefine/refine/pipeline/extract/dom"

// Iteration as lxml does it while the loop body changes the tree: the next
// element is found (depth first, within top) before the current one is
// handed out, so an element removed or renamed by the body still leads on
// to the element that followed it when it was reached — which may now be
// detached, in which case iteration continues in the detached part and ends
// there.

// nextPreorder is the element after c in document order within top.
func nextPreorder(c, top *dom.Node) *dom.Node {
	if c.FirstChild != nil {
		return c.FirstChild
	}
	if c == top {
		return nil
	}
	for {
		if c.Next != nil {
			return c.Next
		}
		c = c.Parent
		if c == nil || c == top {
			return nil
		}
	}
}

func nextMatch(c, top *dom.Node, match func(string) bool) *dom.Node {
	for c = nextPreorder(c, top); c != nil; c = nextPreorder(c, top) {
		if match == nil || match(c.Tag) {
			return c
		}
	}
	return nil
}

// iterLive is lxml's element.iter(tags): top itself (when it matches) and
// its descendants; match nil matches every element.
func iterLive(top *dom.Node, match func(string) bool, f func(*dom.Node)) {
	cur := top
	if match != nil && !match(top.Tag) {
		cur = nextMatch(top, top, match)
	}
	for cur != nil {
		next := nextMatch(cur, top, match)
		f(cur)
		cur = next
	}
}

// iterDescendantsLive is lxml's element.iterdescendants(tags).
func iterDescendantsLive(top *dom.Node, match func(string) bool, f func(*dom.Node)) {
	cur := nextMatch(top, top, match)
	for cur != nil {
		next := nextMatch(cur, top, match)
		f(cur)
		cur = next
	}
}

// iterChildrenLive is `for child in element` in lxml: the next sibling is
// taken before the body runs.
func iterChildrenLive(n *dom.Node, f func(*dom.Node)) {
	cur := n.FirstChild
	for cur != nil {
		next := cur.Next
		f(cur)
		cur = next
	}
}

func tagIs(tags ...string) func(string) bool {
	if len(tags) == 1 {
		t := tags[0]
		return func(s string) bool { return s == t }
	}
	return func(s string) bool {
		for _, t := range tags {
			if s == t {
				return true
			}
		}
		return false
	}
}

func tagIn(set map[string]bool) func(string) bool {
	return func(s string) bool { return set[s] }
}
