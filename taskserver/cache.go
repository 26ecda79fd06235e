package taskserver

import (
	"bytes"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// readCache keeps the answers of public reads for a short time, so that
// however often clients poll, each distinct query reaches the database at
// most once per ttl. It holds at most max answers and maxBytes of them
// (anybody can ask distinct queries of large answers: ?limit=1000&x=1,
// &x=2, ...); when full, expired ones are dropped first, then the oldest.
// An answer larger than a quarter of maxBytes is served, not kept.
type readCache struct {
	ttl      time.Duration
	max      int
	maxBytes int

	mu      sync.Mutex
	entries map[string]*cached
	bytes   int // of the bodies held
}

type cached struct {
	body    []byte
	header  http.Header
	expires time.Time
	added   time.Time
}

// readCacheBytes bounds the bodies the API's read cache holds.
const readCacheBytes = 64 << 20

func newReadCache(ttl time.Duration, max, maxBytes int) *readCache {
	return &readCache{ttl: ttl, max: max, maxBytes: maxBytes, entries: map[string]*cached{}}
}

func (c *readCache) get(key string, now time.Time) *cached {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || now.After(e.expires) {
		return nil
	}
	return e
}

func (c *readCache) put(key string, e *cached, now time.Time) {
	size := len(e.body)
	if size > c.maxBytes/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drop(key)
	full := func() bool { return len(c.entries) >= c.max || c.bytes+size > c.maxBytes }
	if full() {
		for k, x := range c.entries {
			if now.After(x.expires) {
				c.drop(k)
			}
		}
	}
	for full() && len(c.entries) > 0 {
		var oldest string
		for k, x := range c.entries {
			if oldest == "" || x.added.Before(c.entries[oldest].added) {
				oldest = k
			}
		}
		c.drop(oldest)
	}
	c.entries[key] = e
	c.bytes += size
}

// drop removes key's answer, if held.
func (c *readCache) drop(key string) {
	if x, ok := c.entries[key]; ok {
		c.bytes -= len(x.body)
		delete(c.entries, key)
	}
}

// captureWriter keeps a copy of the answer and its status.
type captureWriter struct {
	statusWriter
	buf bytes.Buffer
}

func (c *captureWriter) Write(b []byte) (int, error) {
	c.buf.Write(b)
	return c.statusWriter.Write(b)
}

// cached serves a public read from the cache, keyed by its path and query.
func (a *API) cached(next http.Handler) http.Handler {
	if a.opts.PublicCacheTTL < 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.URL.Path + "?" + r.URL.RawQuery
		now := a.svc.Now()
		if e := a.cache.get(key, now); e != nil {
			for k, v := range e.header {
				w.Header()[k] = v
			}
			w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(max(0, int(a.opts.PublicCacheTTL.Seconds()))))
			w.WriteHeader(http.StatusOK)
			w.Write(e.body)
			return
		}
		cw := &captureWriter{statusWriter: statusWriter{ResponseWriter: w}}
		w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(max(0, int(a.opts.PublicCacheTTL.Seconds()))))
		next.ServeHTTP(cw, r)
		if cw.status == http.StatusOK {
			h := http.Header{}
			for _, k := range []string{"Content-Type", "X-Content-Type-Options"} {
				if v := w.Header().Get(k); v != "" {
					h.Set(k, v)
				}
			}
			a.cache.put(key, &cached{body: cw.buf.Bytes(), header: h, expires: now.Add(a.opts.PublicCacheTTL), added: now}, now)
		}
	})
}
