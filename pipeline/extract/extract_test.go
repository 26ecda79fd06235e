package extract

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"
)

const article = `<html><head><title>T</title></head><body>
<nav><a href="/">Home</a> <a href="/about">About</a></nav>
<article><h1>A headline</h1>
<p>The first paragraph of the article explains in some detail what happened, why it matters, and who was involved in the events described here.</p>
<p>A second paragraph adds more detail, with <b>bold</b> words and a <a href="/x">link</a>, so that the text is long enough to be taken as the main content.</p>
<ul><li>one point</li><li>another point</li></ul>
</article><footer>Impressum · Datenschutz</footer></body></html>`

func TestExtract(t *testing.T) {
	e := New(Options{})
	tests := []struct {
		name, html       string
		reason           string
		contains, absent []string
	}{
		{"article", article, "", []string{"A headline\n", "first paragraph", "with bold words and a link, so", "one point\n-\nanother point\n-"}, []string{"Impressum", "Home"}},
		{"empty page", "<html><body></body></html>", ReasonEmpty, nil, nil},
		{"not html at all", "", ReasonEmpty, nil, nil},
	}
	for _, tt := range tests {
		text, reason, err := e.Extract(context.Background(), tt.html, "https://example.com/a")
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if reason != tt.reason {
			t.Errorf("%s: reason %q, want %q (text %q)", tt.name, reason, tt.reason, text)
		}
		for _, s := range tt.contains {
			if !strings.Contains(text, s) {
				t.Errorf("%s: %q missing from %q", tt.name, s, text)
			}
		}
		for _, s := range tt.absent {
			if strings.Contains(text, s) {
				t.Errorf("%s: %q present in %q", tt.name, s, text)
			}
		}
	}
}

// TestTimeout: a limit too short for any page drops it with "timeout".
func TestTimeout(t *testing.T) {
	e := New(Options{Timeout: time.Nanosecond})
	text, reason, err := e.Extract(context.Background(), strings.Repeat(article, 50), "")
	if err != nil || reason != ReasonTimeout || text != "" {
		t.Fatalf("got %q %q %v, want timeout", text, reason, err)
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := New(Options{}).Extract(ctx, article, ""); err == nil {
		t.Fatal("no error for a cancelled context")
	}
}

// TestPureAndConcurrent: the same page gives the same text whatever was
// extracted before and from however many goroutines (no shared dedup cache).
func TestPureAndConcurrent(t *testing.T) {
	e := New(Options{Timeout: -1})
	want, _, _ := e.Extract(context.Background(), article, "")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 3 {
				got, _, _ := e.Extract(context.Background(), article, "")
				if got != want {
					t.Errorf("got %q, want %q", got, want)
				}
			}
		})
	}
	wg.Wait()
}

func TestSanitize(t *testing.T) {
	if got := sanitize("  a \t b \n\n\n c\u00a0 \n"); got != "a b\nc" {
		t.Errorf("sanitize: %q", got)
	}
}
