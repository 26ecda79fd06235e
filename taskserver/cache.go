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
// most once per ttl. It holds at most max answers; when full, expired
// ones are dropped first, then the oldest.
type readCache struct {
	ttl time.Duration
	max int

	mu      sync.Mutex
	entries map[string]*cached
}

type cached struct {
	body    []byte
	header  http.Header
	expires time.Time
	added   time.Time
}

func newReadCache(ttl time.Duration, max int) *readCache {
	return &readCache{ttl: ttl, max: max, entries: map[string]*cached{}}
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
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		var oldest string
		for k, x := range c.entries {
			if now.After(x.expires) {
				delete(c.entries, k)
				continue
			}
			if oldest == "" || x.added.Before(c.entries[oldest].added) {
				oldest = k
			}
		}
		if len(c.entries) >= c.max && oldest != "" {
			delete(c.entries, oldest)
		}
	}
	c.entries[key] = e
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
