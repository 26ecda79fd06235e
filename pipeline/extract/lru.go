package extract

// lru is trafilatura's duplicate cache (filters.LRU_TEST, 4096 entries):
// a string's count, least recently used evicted first. datatrove shares
// one cache across all the documents a process extracts, which makes a
// page's text depend on the pages before it; here each document gets its
// own, so extraction is a function of the record alone (the golden data
// has no page whose text depends on the shared cache).
type lru struct {
	max   int
	items map[string]*lruEntry
	head  lruEntry // sentinel: head.next is the oldest
}

type lruEntry struct {
	key        string
	val        int
	prev, next *lruEntry
}

const lruSize = 4096

func newLRU() *lru {
	c := &lru{max: lruSize, items: make(map[string]*lruEntry, 64)}
	c.head.prev, c.head.next = &c.head, &c.head
	return c
}

func (c *lru) moveToEnd(e *lruEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
	last := c.head.prev
	last.next, e.prev, e.next, c.head.prev = e, last, &c.head, e
}

// get returns the count, -1 when absent; a hit becomes the most recent.
func (c *lru) get(k []byte) int {
	if e, ok := c.items[string(k)]; ok {
		c.moveToEnd(e)
		return e.val
	}
	return -1
}

// put stores a count; when full, the oldest entry makes room.
func (c *lru) put(k []byte, v int) {
	if e, ok := c.items[string(k)]; ok {
		c.moveToEnd(e)
		e.val = v
		return
	}
	if len(c.items) >= c.max {
		old := c.head.next
		old.prev.next, old.next.prev = old.next, old.prev
		delete(c.items, old.key)
	}
	e := &lruEntry{key: string(k), val: v}
	last := c.head.prev
	last.next, e.prev, e.next, c.head.prev = e, last, &c.head, e
	c.items[e.key] = e
}
