package epistula

import (
	"container/heap"
	"sync"
)

// replayCache remembers (signer, uuid) pairs until their timestamp can no
// longer pass the clock-skew check, so memory is bounded by the request
// rate times the acceptance window, and by max in any case. When full of
// unexpired entries it refuses new requests rather than forget one (which
// would re-open a replay). Safe for concurrent use.
type replayCache struct {
	mu   sync.Mutex
	max  int
	seen map[string]int64 // key → expiry (unix ms)
	exp  expiryHeap
}

func newReplayCache(max int) *replayCache {
	return &replayCache{max: max, seen: make(map[string]int64)}
}

type addResult int

const (
	added addResult = iota
	replayed
	cacheFull
)

// add records key until expiry unless it is already present; entries that
// expired by now are dropped first.
func (c *replayCache) add(key string, expiry, now int64) addResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.exp) > 0 && c.exp[0].expiry < now {
		e := heap.Pop(&c.exp).(entry)
		if c.seen[e.key] == e.expiry {
			delete(c.seen, e.key)
		}
	}
	if _, ok := c.seen[key]; ok {
		return replayed
	}
	if len(c.seen) >= c.max {
		return cacheFull
	}
	c.seen[key] = expiry
	heap.Push(&c.exp, entry{key: key, expiry: expiry})
	return added
}

// contains is a cheap pre-check before verifying a signature.
func (c *replayCache) contains(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.seen[key]
	return ok
}

func (c *replayCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

type entry struct {
	key    string
	expiry int64
}

type expiryHeap []entry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expiry < h[j].expiry }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(entry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
