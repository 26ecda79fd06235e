// Package clientip finds the address of an HTTP request's client, so that
// servers can limit clients by address also behind reverse proxies.
//
// A server behind a proxy sees the proxy's address as the peer; the
// client's is in X-Forwarded-For, which anybody can also write. So the
// header is believed only as far as the proxies that appended to it are
// trusted: reading it from the right (the entry the nearest proxy added),
// every address of a trusted proxy is skipped and the first other one is
// the client. With no trusted proxies the peer address is the client, and
// a forged header changes nothing.
package clientip

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver finds clients' addresses. The zero Resolver trusts no proxy.
type Resolver struct {
	trusted []netip.Prefix
}

// New returns a resolver that trusts the proxies at the given addresses
// or CIDR prefixes (e.g. "10.0.0.0/8", "127.0.0.1").
func New(trusted []string) (*Resolver, error) {
	r := &Resolver{}
	for _, t := range trusted {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		p, err := netip.ParsePrefix(t)
		if err != nil {
			a, aerr := netip.ParseAddr(t)
			if aerr != nil {
				return nil, fmt.Errorf("trusted proxy %q: not an address or CIDR prefix", t)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		r.trusted = append(r.trusted, p.Masked())
	}
	return r, nil
}

func (r *Resolver) isTrusted(a netip.Addr) bool {
	if r == nil {
		return false
	}
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Addr returns the client's address of req (the zero Addr when even the
// peer address does not parse).
func (r *Resolver) Addr(req *http.Request) netip.Addr {
	peer := parse(req.RemoteAddr)
	if !peer.IsValid() || !r.isTrusted(peer) {
		return peer
	}
	client := peer
	// Every X-Forwarded-For header, in order, is one list.
	var hops []string
	for _, h := range req.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a := parse(strings.TrimSpace(hops[i]))
		if !a.IsValid() {
			// Garbage where an address should be: the last good hop is
			// as far as the chain can be believed.
			return client
		}
		client = a
		if !r.isTrusted(a) {
			return a
		}
	}
	return client
}

// Key is the rate-limiting key of req's client: its IPv4 address, or the
// /64 prefix of its IPv6 address (one host usually owns a whole /64, so
// limiting single IPv6 addresses would let it rotate past the limit).
func (r *Resolver) Key(req *http.Request) string {
	a := r.Addr(req)
	switch {
	case !a.IsValid():
		return "unknown"
	case a.Is4():
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// parse reads "host", "host:port" or "[v6]:port".
func parse(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	a, err := netip.ParseAddr(strings.Trim(s, "[]"))
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}
