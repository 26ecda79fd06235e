// Package dom is the element tree the extractor works on, built by an HTML
// parser that reproduces libxml2 2.9's (the parser under Python's lxml, and
// so under trafilatura in datatrove's FineWeb run).
//
// The tree follows lxml's model rather than the DOM's: only elements are
// nodes; the text before an element's first child is its Text and the text
// after its end tag is its Tail. Python code distinguishes a missing text
// (None) from an empty one (""), and trafilatura's output depends on it in
// places, so both are kept: HasText/HasTail say whether the string is
// present. Operations mirror lxml's: Append moves an element together with
// its tail, Remove drops the tail with the element, DropTree keeps it.
//
// Nodes are allocated from an Arena in blocks, so a page's tree costs a few
// allocations rather than one per element.
package dom

// Attr is one attribute; names are lower case as the parser leaves them.
type Attr struct{ Key, Val string }

// Node is an element.
type Node struct {
	Tag        string
	Attr       []Attr
	Text, Tail string
	// HasText and HasTail tell a present (possibly empty) text from a
	// missing one, like Python's None.
	HasText, HasTail bool

	Parent, FirstChild, LastChild, Prev, Next *Node

	a    *Arena // for work accounting
	home *Node  // the parent it was last removed from (see DocRoot)
}

// Arena allocates nodes and attribute lists in blocks, which Reset makes
// reusable, and keeps the work account of the document they belong to:
// tree walks charge one unit per element visited and one per byte of text
// read, and once the account passes Budget (when set) the walk panics with
// ErrWorkBudget, which the caller recovers. This bounds the work on
// adversarial pages deterministically, whatever the machine's speed or
// load.
type Arena struct {
	blocks [][]Node
	used   int    // blocks handed out
	cur    []Node // free part of the current block
	slabs  [][]Attr
	aused  int
	acur   []Attr
	// Work is the units charged so far; Budget, when positive, the most
	// allowed.
	Work, Budget int64
}

// ErrWorkBudget is the panic value of a walk that exceeded its budget.
var ErrWorkBudget = errWorkBudget{}

type errWorkBudget struct{}

func (errWorkBudget) Error() string { return "dom: work budget exceeded" }

// Charge adds units to the account and panics with ErrWorkBudget when the
// budget is exceeded.
func (a *Arena) Charge(units int) {
	a.Work += int64(units)
	if a.Budget > 0 && a.Work > a.Budget {
		panic(ErrWorkBudget)
	}
}

const (
	blockSize = 256
	slabSize  = 512
	// keepBlocks bounds what Reset keeps for reuse (a huge page's tree is
	// left to the garbage collector).
	keepBlocks = 64
	keepSlabs  = 32
)

// New returns a fresh element with the given tag.
func (a *Arena) New(tag string) *Node {
	if len(a.cur) == 0 {
		if a.used < len(a.blocks) {
			a.cur = a.blocks[a.used]
		} else {
			a.cur = make([]Node, blockSize)
			a.blocks = append(a.blocks, a.cur)
		}
		a.used++
	}
	n := &a.cur[0]
	a.cur = a.cur[1:]
	n.Tag = tag
	n.a = a
	a.Charge(1)
	return n
}

// CopyAttrs returns a copy of attrs from the arena (capacity = length, so
// that appending to it reallocates).
func (a *Arena) CopyAttrs(attrs []Attr) []Attr {
	if len(attrs) == 0 {
		return nil
	}
	if len(a.acur) < len(attrs) {
		if len(attrs) > slabSize {
			return append([]Attr(nil), attrs...)
		}
		if a.aused < len(a.slabs) {
			a.acur = a.slabs[a.aused]
		} else {
			a.acur = make([]Attr, slabSize)
			a.slabs = append(a.slabs, a.acur)
		}
		a.aused++
	}
	n := len(attrs)
	out := a.acur[:n:n]
	copy(out, attrs)
	a.acur = a.acur[n:]
	return out
}

// Reset forgets every node and attribute list handed out (they must not be
// used afterwards) and zeroes the work account, keeping the memory for the
// next document.
func (a *Arena) Reset() {
	for i := 0; i < a.used && i < len(a.blocks); i++ {
		clear(a.blocks[i])
	}
	for i := 0; i < a.aused && i < len(a.slabs); i++ {
		clear(a.slabs[i])
	}
	if len(a.blocks) > keepBlocks {
		a.blocks = a.blocks[:keepBlocks]
	}
	if len(a.slabs) > keepSlabs {
		a.slabs = a.slabs[:keepSlabs]
	}
	a.used, a.aused = 0, 0
	a.cur, a.acur = nil, nil
	a.Work, a.Budget = 0, 0
}

// SetText sets the text (present).
func (n *Node) SetText(s string) { n.Text, n.HasText = s, true }

// ClearText makes the text missing (None).
func (n *Node) ClearText() { n.Text, n.HasText = "", false }

// SetTail sets the tail (present).
func (n *Node) SetTail(s string) { n.Tail, n.HasTail = s, true }

// ClearTail makes the tail missing (None).
func (n *Node) ClearTail() { n.Tail, n.HasTail = "", false }

// Get returns an attribute's value and whether it is present.
func (n *Node) Get(key string) (string, bool) {
	for i := range n.Attr {
		if n.Attr[i].Key == key {
			return n.Attr[i].Val, true
		}
	}
	return "", false
}

// AttrVal returns an attribute's value, "" when absent.
func (n *Node) AttrVal(key string) string {
	v, _ := n.Get(key)
	return v
}

// Set sets an attribute, keeping its position when it exists.
func (n *Node) Set(key, val string) {
	for i := range n.Attr {
		if n.Attr[i].Key == key {
			n.Attr[i].Val = val
			return
		}
	}
	n.Attr = append(n.Attr, Attr{key, val})
}

// ClearAttrs removes every attribute.
func (n *Node) ClearAttrs() { n.Attr = nil }

// Len is the number of children (Python's len(element)).
func (n *Node) Len() int {
	k := 0
	for c := n.FirstChild; c != nil; c = c.Next {
		k++
	}
	return k
}

// HasChildren reports len(element) > 0.
func (n *Node) HasChildren() bool { return n.FirstChild != nil }

// Children returns the children as a slice (Python's list(element)).
func (n *Node) Children() []*Node {
	var out []*Node
	for c := n.FirstChild; c != nil; c = c.Next {
		n.a.Charge(1)
		out = append(out, c)
	}
	return out
}

// unlink detaches n from its parent and siblings; its tail stays with it.
func (n *Node) unlink() {
	p := n.Parent
	if p == nil {
		return
	}
	if n.Prev != nil {
		n.Prev.Next = n.Next
	} else {
		p.FirstChild = n.Next
	}
	if n.Next != nil {
		n.Next.Prev = n.Prev
	} else {
		p.LastChild = n.Prev
	}
	n.Parent, n.Prev, n.Next = nil, nil, nil
	n.home = p
}

// Append moves c (with its tail) to the end of n's children.
func (n *Node) Append(c *Node) { n.InsertBefore(c, nil) }

// InsertBefore moves c (with its tail) before ref, a child of n; a nil ref
// appends.
func (n *Node) InsertBefore(c, ref *Node) {
	if c == ref {
		return
	}
	c.unlink()
	c.home = nil
	c.Parent = n
	c.Next = ref
	if ref == nil {
		c.Prev = n.LastChild
		n.LastChild = c
	} else {
		c.Prev = ref.Prev
		ref.Prev = c
	}
	if c.Prev != nil {
		c.Prev.Next = c
	} else {
		n.FirstChild = c
	}
}

// Insert moves c to position i of n's children (Python's insert).
func (n *Node) Insert(i int, c *Node) {
	ref := n.FirstChild
	for ; i > 0 && ref != nil; i-- {
		ref = ref.Next
	}
	n.InsertBefore(c, ref)
}

// Remove detaches n from its parent, tail included (parent.remove(n)).
func (n *Node) Remove() { n.unlink() }

// DropTree removes n but keeps its tail in the tree, joined to the previous
// sibling's tail or the parent's text (lxml.html's drop_tree).
func (n *Node) DropTree() {
	p := n.Parent
	if p == nil {
		return
	}
	if n.Tail != "" {
		if n.Prev == nil {
			p.SetText(p.Text + n.Tail)
		} else {
			n.Prev.SetTail(n.Prev.Tail + n.Tail)
		}
	}
	n.unlink()
}

// Root returns the topmost ancestor of n (or n).
func (n *Node) Root() *Node {
	for n.Parent != nil {
		n = n.Parent
	}
	return n
}

// DocRoot is the root element of n's document, which an absolute XPath
// ("//p") searches. An element removed from its tree stays in its document
// in lxml, so for a detached subtree this is the root of the tree it was
// removed from; a copy or a new element is a document of its own.
func (n *Node) DocRoot() *Node {
	r := n.Root()
	for hops := 0; r.home != nil && hops < 64; hops++ {
		next := r.home.Root()
		if next == r {
			break
		}
		r = next
	}
	return r
}

// StripTags removes the descendants of root whose tag matches, keeping
// their text and children in their place (lxml's strip_tags). Nested
// matches are stripped too; root itself is not. Adjacent texts merge as
// libxml2's text nodes do: a merged text is present when any part was.
// Each parent's children are rebuilt in one pass, so stripping many
// siblings costs time linear in the text, not quadratic.
func StripTags(root *Node, match func(tag string) bool) {
	for c := root.FirstChild; c != nil; c = c.Next {
		if match(c.Tag) {
			stripChildren(root, match)
			break
		}
	}
	for c := root.FirstChild; c != nil; c = c.Next {
		root.a.Charge(1)
		if c.FirstChild != nil {
			StripTags(c, match)
		}
	}
}

// textSlot gathers the pieces of one merged text.
type textSlot struct {
	first   string
	buf     []byte
	n       int // pieces
	present bool
}

func (t *textSlot) add(s string, present bool) {
	if !present {
		return
	}
	t.present = true
	switch t.n {
	case 0:
		t.first = s
	case 1:
		t.buf = append(append(t.buf[:0], t.first...), s...)
	default:
		t.buf = append(t.buf, s...)
	}
	t.n++
}

func (t *textSlot) get() (string, bool) {
	if t.n <= 1 {
		return t.first, t.present
	}
	return string(t.buf), t.present
}

// stripChildren splices the matching children of p (recursively: the
// content of a stripped child is examined in turn) into p.
func stripChildren(p *Node, match func(tag string) bool) {
	var kept, stripped []*Node
	var slot textSlot // text before the first kept child, then each one's tail
	last := (*Node)(nil)
	flush := func() {
		t, ok := slot.get()
		if last == nil {
			p.Text, p.HasText = t, ok
		} else {
			last.Tail, last.HasTail = t, ok
		}
		slot = textSlot{buf: slot.buf[:0]}
	}
	var walk func(n *Node)
	walk = func(n *Node) {
		// n is a stripped element (or p): its text, then its children
		for c := n.FirstChild; c != nil; {
			next := c.Next
			p.a.Charge(1)
			if match(c.Tag) {
				slot.add(c.Text, c.HasText)
				p.a.Charge(len(c.Text))
				walk(c)
				stripped = append(stripped, c)
			} else {
				flush()
				kept = append(kept, c)
				last = c
			}
			slot.add(c.Tail, c.HasTail)
			p.a.Charge(len(c.Tail))
			c = next
		}
	}
	slot.add(p.Text, p.HasText)
	walk(p)
	flush()
	// the stripped elements end up detached and empty, as lxml leaves them
	for _, c := range stripped {
		c.home = c.Parent
		c.Parent, c.Prev, c.Next, c.FirstChild, c.LastChild = nil, nil, nil, nil, nil
		c.Text, c.HasText, c.Tail, c.HasTail = "", false, "", false
	}
	// relink p's children to the kept ones, in order
	p.FirstChild, p.LastChild = nil, nil
	for _, c := range kept {
		c.Parent, c.Next = p, nil
		c.Prev = p.LastChild
		if p.LastChild != nil {
			p.LastChild.Next = c
		} else {
			p.FirstChild = c
		}
		p.LastChild = c
	}
}

// StripElements removes the descendants of root whose tag matches,
// together with their tails (lxml's strip_elements with with_tail=True).
func StripElements(root *Node, match func(tag string) bool) {
	for c := root.FirstChild; c != nil; {
		root.a.Charge(1)
		next := c.Next
		if match(c.Tag) {
			c.unlink()
		} else if c.FirstChild != nil {
			StripElements(c, match)
		}
		c = next
	}
}

// Iter calls f on n and its descendants in document order (Python's
// element.iter()). Returning false from f stops the walk.
func (n *Node) Iter(f func(*Node) bool) bool {
	n.a.Charge(1)
	if !f(n) {
		return false
	}
	for c := n.FirstChild; c != nil; c = c.Next {
		if !c.Iter(f) {
			return false
		}
	}
	return true
}

// Descendants returns n's descendants in document order (xpath './/*').
func (n *Node) Descendants() []*Node {
	var out []*Node
	n.appendDescendants(&out)
	return out
}

func (n *Node) appendDescendants(out *[]*Node) {
	for c := n.FirstChild; c != nil; c = c.Next {
		n.a.Charge(1)
		*out = append(*out, c)
		c.appendDescendants(out)
	}
}

// IterTags returns n (when it matches) and its matching descendants in
// document order, as a list taken before any change (Python iterates lxml's
// iter(tags) lazily, but the callers here either do not change the tree
// shape ahead of the walk or take the list first).
func (n *Node) IterTags(match func(tag string) bool) []*Node {
	var out []*Node
	n.Iter(func(e *Node) bool {
		if match(e.Tag) {
			out = append(out, e)
		}
		return true
	})
	return out
}

// FindAll returns the matching descendants in document order (findall
// './/tag').
func (n *Node) FindAll(match func(tag string) bool) []*Node {
	var out []*Node
	for c := n.FirstChild; c != nil; c = c.Next {
		c.Iter(func(e *Node) bool {
			if match(e.Tag) {
				out = append(out, e)
			}
			return true
		})
	}
	return out
}

// Find returns the first matching descendant (find './/tag') or nil.
func (n *Node) Find(match func(tag string) bool) *Node {
	var found *Node
	for c := n.FirstChild; c != nil && found == nil; c = c.Next {
		c.Iter(func(e *Node) bool {
			if match(e.Tag) {
				found = e
				return false
			}
			return true
		})
	}
	return found
}

// IterText calls f with each text of n's subtree in document order: n's
// text, then for each child its subtree's texts and its tail (Python's
// itertext()); n's own tail is not included. Empty strings are skipped.
func (n *Node) IterText(f func(string)) {
	n.a.Charge(1 + len(n.Text))
	if n.Text != "" {
		f(n.Text)
	}
	for c := n.FirstChild; c != nil; c = c.Next {
		c.IterText(f)
		if c.Tail != "" {
			n.a.Charge(len(c.Tail))
			f(c.Tail)
		}
	}
}

// IterTextAll is IterText with the present but empty texts too, as lxml's
// itertext() yields them.
func (n *Node) IterTextAll(f func(string)) {
	n.a.Charge(1 + len(n.Text))
	if n.HasText {
		f(n.Text)
	}
	for c := n.FirstChild; c != nil; c = c.Next {
		c.IterTextAll(f)
		if c.HasTail {
			n.a.Charge(len(c.Tail))
			f(c.Tail)
		}
	}
}

// TextContent is the concatenation of IterText (lxml.html's text_content()).
func (n *Node) TextContent() string {
	if n.FirstChild == nil {
		n.a.Charge(1 + len(n.Text))
		return n.Text
	}
	var b []byte
	n.IterText(func(s string) { b = append(b, s...) })
	return string(b)
}

// TextLen is len(TextContent()) in runes (Python's len of a str).
func (n *Node) TextLen() int {
	k := 0
	n.IterText(func(s string) { k += RuneLen(s) })
	return k
}

// RuneLen is Python's len() of s.
func RuneLen(s string) int {
	k := 0
	for i := 0; i < len(s); i++ {
		if s[i] < 0x80 || s[i] >= 0xC0 {
			k++
		}
	}
	return k
}

// Copy returns a deep copy of n's subtree, tail included, detached
// (Python's deepcopy of an element).
func (a *Arena) Copy(n *Node) *Node {
	c := a.New(n.Tag)
	c.Attr = a.CopyAttrs(n.Attr)
	c.Text, c.HasText, c.Tail, c.HasTail = n.Text, n.HasText, n.Tail, n.HasTail
	for ch := n.FirstChild; ch != nil; ch = ch.Next {
		cc := a.Copy(ch)
		cc.Parent = c
		cc.Prev = c.LastChild
		if c.LastChild != nil {
			c.LastChild.Next = cc
		} else {
			c.FirstChild = cc
		}
		c.LastChild = cc
	}
	return c
}

// Index returns the position of n among its parent's children.
func (n *Node) Index() int {
	i := 0
	for c := n.Prev; c != nil; c = c.Prev {
		i++
	}
	return i
}
