package taskserver

import (
	"fmt"
	"testing"
	"time"
)

// TestReadCacheBounds: the cache holds at most max answers and maxBytes of
// them, however many distinct queries of large answers are asked, drops
// the oldest first, and keeps no answer above a quarter of maxBytes.
func TestReadCacheBounds(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	c := newReadCache(time.Minute, 8, 1000)
	body := make([]byte, 200)
	for i := range 20 {
		at := now.Add(time.Duration(i) * time.Millisecond)
		c.put(fmt.Sprintf("/v1/scores?x=%d", i), &cached{body: body, expires: at.Add(time.Minute), added: at}, at)
		if c.bytes > 1000 || len(c.entries) > 8 {
			t.Fatalf("after %d answers the cache holds %d bytes in %d answers", i+1, c.bytes, len(c.entries))
		}
	}
	if len(c.entries) != 5 || c.get("/v1/scores?x=19", now) == nil || c.get("/v1/scores?x=14", now) != nil {
		t.Fatalf("cache holds %d answers, want the 5 newest", len(c.entries))
	}
	c.put("big", &cached{body: make([]byte, 251), expires: now.Add(time.Minute), added: now}, now)
	if c.get("big", now) != nil {
		t.Fatal("an answer above a quarter of the budget was kept")
	}
	// Replacing an answer counts its bytes once.
	c.put("/v1/scores?x=19", &cached{body: body, expires: now.Add(time.Minute), added: now}, now)
	if c.bytes != 1000 || len(c.entries) != 5 {
		t.Fatalf("after a replacement: %d bytes in %d answers", c.bytes, len(c.entries))
	}
}
