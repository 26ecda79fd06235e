package retry

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkStream compares reading a 32 MiB body over loopback through
// Stream (watchdog timer per read, offset bookkeeping) with a plain GET.
func BenchmarkStream(b *testing.B) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 2<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	}))
	defer srv.Close()
	buf := make([]byte, 64<<10)
	b.Run("plain", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for range b.N {
			resp, err := http.Get(srv.URL)
			if err != nil {
				b.Fatal(err)
			}
			io.CopyBuffer(io.Discard, resp.Body, buf)
			resp.Body.Close()
		}
	})
	b.Run("stream", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for range b.N {
			s, err := Open(context.Background(), srv.URL, StreamOptions{})
			if err != nil {
				b.Fatal(err)
			}
			n, _ := io.CopyBuffer(io.Discard, s, buf)
			s.Close()
			if n != int64(len(data)) {
				b.Fatalf("read %d", n)
			}
		}
	})
}
