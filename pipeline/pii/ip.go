package pii

import "strings"

// replaceIPs is re.sub over datatrove's unanchored IPv4 pattern
//
//	(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)
//
// with a hand-written backtracking matcher (the pattern is small and the
// text is scanned only where a digit is), followed by datatrove's
// validator: a match that ipaddress.ip_address rejects (leading zeros) or
// that is not global is written back unchanged and does not advance the
// cycle.
func (f *Formatter) replaceIPs(text string) string {
	var b strings.Builder
	copied := 0
	for i := 0; i < len(text); {
		if !isDigit(text, i) {
			i++
			continue
		}
		end := matchIPv4(text, i)
		if end < 0 {
			i++
			continue
		}
		if addr, ok := parseIPv4(text[i:end]); ok && (f.opts.AllIPs || isGlobal(addr)) {
			b.WriteString(text[copied:i])
			b.WriteString(f.nextIP())
			copied = end
		}
		i = end
	}
	if copied == 0 {
		return text
	}
	b.WriteString(text[copied:])
	return b.String()
}

func isDigit(s string, i int) bool { return i < len(s) && '0' <= s[i] && s[i] <= '9' }

// octetEnds appends, in the order Python's backtracking tries them, the
// possible ends of the octet alternative
// 25[0-5] | 2[0-4][0-9] | [01]?[0-9][0-9]? starting at i.
func octetEnds(dst []int, s string, i int) []int {
	if !isDigit(s, i) {
		return dst
	}
	if s[i] == '2' && i+2 < len(s) && s[i+1] == '5' && '0' <= s[i+2] && s[i+2] <= '5' {
		dst = append(dst, i+3)
	}
	if s[i] == '2' && i+2 < len(s) && '0' <= s[i+1] && s[i+1] <= '4' && isDigit(s, i+2) {
		dst = append(dst, i+3)
	}
	// [01]? greedy: first with the optional digit consumed.
	if s[i] == '0' || s[i] == '1' {
		if isDigit(s, i+1) {
			if isDigit(s, i+2) {
				dst = append(dst, i+3)
			}
			dst = append(dst, i+2)
		}
	}
	if isDigit(s, i+1) {
		dst = append(dst, i+2)
	}
	return append(dst, i+1)
}

// matchIPv4 returns the end of the pattern's match anchored at i, or -1.
func matchIPv4(s string, i int) int {
	return matchOctets(s, i, 0)
}

func matchOctets(s string, i, k int) int {
	var buf [6]int
	ends := octetEnds(buf[:0], s, i)
	if k == 3 {
		if len(ends) == 0 {
			return -1
		}
		return ends[0] // the pattern ends here: the first alternative wins
	}
	for _, e := range ends {
		if e < len(s) && s[e] == '.' {
			if m := matchOctets(s, e+1, k+1); m >= 0 {
				return m
			}
		}
	}
	return -1
}

// parseIPv4 is ipaddress.IPv4Address(s) for a dotted quad the pattern
// matched: octets with a leading zero are rejected ("Leading zeros are not
// permitted" since Python 3.9.5).
func parseIPv4(s string) (uint32, bool) {
	var addr uint32
	for _, part := range strings.Split(s, ".") {
		if len(part) > 1 && part[0] == '0' {
			return 0, false
		}
		v := 0
		for i := 0; i < len(part); i++ {
			v = v*10 + int(part[i]-'0')
		}
		if v > 255 {
			return 0, false
		}
		addr = addr<<8 | uint32(v)
	}
	return addr, true
}

type ipv4Net struct {
	addr uint32
	bits uint
}

func (n ipv4Net) contains(a uint32) bool {
	mask := ^uint32(0) << (32 - n.bits)
	return a&mask == n.addr
}

// privateNets is ipaddress's _IPv4Constants._private_networks of CPython
// 3.11.7, the interpreter the golden outputs were made with. (CPython
// 3.11.10 / 3.12.4 and later widen 192.0.0.0/29 to 192.0.0.0/24 minus
// 192.0.0.9 and 192.0.0.10.)
var privateNets = []ipv4Net{
	{0x00000000, 8},  // 0.0.0.0/8
	{0x0A000000, 8},  // 10.0.0.0/8
	{0x7F000000, 8},  // 127.0.0.0/8
	{0xA9FE0000, 16}, // 169.254.0.0/16
	{0xAC100000, 12}, // 172.16.0.0/12
	{0xC0000000, 29}, // 192.0.0.0/29
	{0xC00000AA, 31}, // 192.0.0.170/31
	{0xC0000200, 24}, // 192.0.2.0/24
	{0xC0A80000, 16}, // 192.168.0.0/16
	{0xC6120000, 15}, // 198.18.0.0/15
	{0xC6336400, 24}, // 198.51.100.0/24
	{0xCB007100, 24}, // 203.0.113.0/24
	{0xF0000000, 4},  // 240.0.0.0/4
	{0xFFFFFFFF, 32}, // 255.255.255.255/32
}

// sharedNet is 100.64.0.0/10 (carrier-grade NAT), neither private nor
// global.
var sharedNet = ipv4Net{0x64400000, 10}

// isGlobal is IPv4Address.is_global: not in 100.64.0.0/10 and not private.
func isGlobal(a uint32) bool {
	if sharedNet.contains(a) {
		return false
	}
	for _, n := range privateNets {
		if n.contains(a) {
			return false
		}
	}
	return true
}
