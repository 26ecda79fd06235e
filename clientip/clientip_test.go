package clientip

import (
	"net/http/httptest"
	"testing"
)

func TestAddr(t *testing.T) {
	r, err := New([]string{"10.0.0.0/8", "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"direct client", "203.0.113.5:4000", nil, "203.0.113.5"},
		{"untrusted peer's header is ignored", "203.0.113.5:4000", []string{"1.2.3.4"}, "203.0.113.5"},
		{"one trusted proxy", "10.1.2.3:80", []string{"198.51.100.9"}, "198.51.100.9"},
		{"forged hop left of the real client", "10.1.2.3:80", []string{"6.6.6.6, 198.51.100.9"}, "198.51.100.9"},
		{"two trusted proxies", "10.1.2.3:80", []string{"198.51.100.9, 192.0.2.7"}, "198.51.100.9"},
		{"several headers are one list", "10.1.2.3:80", []string{"6.6.6.6", "198.51.100.9, 10.9.9.9"}, "198.51.100.9"},
		{"only proxies: the leftmost", "10.1.2.3:80", []string{"10.4.4.4"}, "10.4.4.4"},
		{"trusted peer, no header", "10.1.2.3:80", nil, "10.1.2.3"},
		{"garbage hop stops the walk", "10.1.2.3:80", []string{"198.51.100.9, nonsense"}, "10.1.2.3"},
		{"ipv6 client", "[2001:db8::1]:443", nil, "2001:db8::1"},
		{"ipv4-mapped peer", "[::ffff:10.1.2.3]:80", []string{"198.51.100.9"}, "198.51.100.9"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = c.peer
			for _, h := range c.xff {
				req.Header.Add("X-Forwarded-For", h)
			}
			if got := r.Addr(req).String(); got != c.want {
				t.Fatalf("Addr = %s, want %s", got, c.want)
			}
		})
	}
}

func TestNoProxiesTrusted(t *testing.T) {
	var r *Resolver // nil trusts nobody
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = "127.0.0.1:5555"
	req.Header.Set("X-Forwarded-For", "1.1.1.1")
	if got := r.Addr(req).String(); got != "127.0.0.1" {
		t.Fatalf("Addr = %s", got)
	}
}

func TestKeyGroupsIPv6By64(t *testing.T) {
	r := &Resolver{}
	a := httptest.NewRequest("GET", "/", nil)
	a.RemoteAddr = "[2001:db8:1:2::1]:1"
	b := httptest.NewRequest("GET", "/", nil)
	b.RemoteAddr = "[2001:db8:1:2:ffff::9]:1"
	c := httptest.NewRequest("GET", "/", nil)
	c.RemoteAddr = "[2001:db8:1:3::1]:1"
	if r.Key(a) != r.Key(b) || r.Key(a) == r.Key(c) {
		t.Fatalf("keys %s %s %s", r.Key(a), r.Key(b), r.Key(c))
	}
}

func TestBadProxy(t *testing.T) {
	if _, err := New([]string{"10.0.0.0/99"}); err == nil {
		t.Fatal("bad prefix accepted")
	}
}
