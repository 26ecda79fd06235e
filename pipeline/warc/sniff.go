package warc

import "bytes"

// sniffWindow is how far into the payload libmagic's HTML rules search.
const sniffWindow = 4096

// SniffMIME guesses a payload's MIME type for records that carry no
// WARC-Identified-Payload-Type, approximating what libmagic (python-magic,
// used by datatrove) answers for web pages:
//   - an XML declaration at the very start is "text/xml";
//   - otherwise any of libmagic's case-insensitive HTML markers within the
//     first 4096 bytes of a text payload is "text/html";
//   - other text is "text/plain", empty input "application/x-empty", and
//     binary input "application/octet-stream".
//
// Only the html/not-html decision matters to the reader; the other labels
// name the skip reason. Known gap: libmagic's JavaScript rules, which call
// some HTML pages with inline scripts "application/javascript", are not
// reproduced. The sniffer only runs for records without
// WARC-Identified-Payload-Type (Common Crawl has written it since 2017).
func SniffMIME(b []byte) string {
	if len(b) == 0 {
		return "application/x-empty"
	}
	head := b
	if len(head) > sniffWindow {
		head = head[:sniffWindow]
	}
	if !looksText(head) {
		return "application/octet-stream"
	}
	lower := bytes.ToLower(head)
	if bytes.HasPrefix(lower, []byte("<?xml")) {
		return "text/xml" // even XHTML: libmagic 5.44 says so (golden data)
	}
	compact := compactSpace(lower)
	for _, m := range htmlMarkers {
		if bytes.Contains(compact, m) {
			return "text/html"
		}
	}
	return "text/plain"
}

// htmlMarkers are libmagic's HTML search strings (Magdir/sgml), lower-cased,
// with runs of white space compacted to one space.
var htmlMarkers = [][]byte{
	[]byte("<!doctype html"),
	[]byte("<head>"), []byte("<head "),
	[]byte("<title>"), []byte("<title "),
	[]byte("<html>"), []byte("<html "),
	[]byte("<script>"), []byte("<script "),
	[]byte("<style>"), []byte("<style "),
	[]byte("<table>"), []byte("<table "),
	[]byte("<a href="),
}

// compactSpace collapses runs of ASCII white space to one space, like
// libmagic's /W search flag.
func compactSpace(b []byte) []byte {
	out := make([]byte, 0, len(b))
	space := false
	for _, c := range b {
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' {
			if !space {
				out = append(out, ' ')
			}
			space = true
			continue
		}
		space = false
		out = append(out, c)
	}
	return out
}

// looksText approximates libmagic's text test: no NUL bytes and few
// control characters. Non-UTF-8 high bytes are allowed (ISO-8859 text).
func looksText(b []byte) bool {
	ctrl := 0
	for _, c := range b {
		switch {
		case c == 0:
			return false
		case c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f' && c != 0x1b && c != '\b':
			ctrl++
		}
	}
	return ctrl*100 <= len(b)
}
