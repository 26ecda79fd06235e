package warc

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/zlib"
	"io"
	"strconv"
	"strings"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
)

// httpHeaders is the little of an HTTP response header the reader needs.
type httpHeaders struct {
	transferEncoding string
	contentEncoding  string
}

// splitHTTP separates an HTTP response block into its header and body the
// way warcio does: header lines run up to the first empty line (CRLF or LF
// line ends); a block without an empty line is all header and has no body.
func splitHTTP(block []byte) (httpHeaders, []byte) {
	var h httpHeaders
	rest := block
	first := true
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		var line []byte
		if i < 0 {
			line, rest = rest, nil
		} else {
			line, rest = rest[:i], rest[i+1:]
		}
		line = bytes.TrimRight(line, "\r\n\t ")
		if len(line) == 0 {
			if first {
				// Leading blank lines before the status line are skipped.
				continue
			}
			return h, rest
		}
		if first {
			first = false // the status line
			continue
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		switch strings.ToLower(string(bytes.TrimSpace(name))) {
		case "transfer-encoding":
			h.transferEncoding = strings.ToLower(string(bytes.TrimSpace(value)))
		case "content-encoding":
			h.contentEncoding = strings.ToLower(string(bytes.TrimSpace(value)))
		}
	}
	return h, nil
}

// httpBody returns the entity body of an HTTP response block with chunked
// transfer coding and gzip/deflate/br content coding undone, as warcio's
// content_stream() does (and as leniently: see dechunk and decompress).
func httpBody(block []byte) []byte {
	h, body := splitHTTP(block)
	if h.transferEncoding == "chunked" {
		body = dechunk(body)
	}
	switch h.contentEncoding {
	case "gzip", "deflate", "br":
		body = decompress(body, h.contentEncoding)
	}
	return body
}

// dechunk undoes chunked transfer coding with warcio's fallbacks: a chunk
// size line that does not parse means the body was not chunked after all,
// and from there on the data is taken as is; a body cut inside a chunk ends
// with the data present; a chunk not followed by CRLF is kept together with
// its size line and the rest is taken as is.
func dechunk(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		line, rest, ok := chunkSizeLine(b)
		if !ok {
			return append(out, b...)
		}
		size, ok := parseChunkSize(line)
		if !ok {
			return append(out, b...)
		}
		if size == 0 {
			return out
		}
		if size >= int64(len(rest)) {
			return append(out, rest...)
		}
		data := rest[:size]
		rest = rest[size:]
		if !bytes.HasPrefix(rest, []byte("\r\n")) {
			out = append(out, line...)
			out = append(out, data...)
			if len(rest) >= 2 {
				rest = rest[2:]
			} else {
				rest = nil
			}
			return append(out, rest...)
		}
		out = append(out, data...)
		b = rest[2:]
	}
	return out
}

// chunkSizeLine returns the chunk size line including its line end. Like
// warcio it reads at most 64 bytes and requires the line to end in CRLF.
func chunkSizeLine(b []byte) (line, rest []byte, ok bool) {
	limit := min(len(b), 64)
	i := bytes.IndexByte(b[:limit], '\n')
	if i < 1 || b[i-1] != '\r' {
		return nil, nil, false
	}
	return b[:i+1], b[i+1:], true
}

func parseChunkSize(line []byte) (int64, bool) {
	s := string(line[:len(line)-2])
	s, _, _ = strings.Cut(s, ";")
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	n, err := strconv.ParseInt(s, 16, 64)
	if err != nil || n < 0 || n > 1<<31 {
		return 0, false
	}
	return n, true
}

// decompress undoes a content coding. Like warcio, data that fails to
// decompress before yielding anything is taken as not compressed at all;
// deflate is tried as zlib first, then as raw deflate; a stream that breaks
// or ends early keeps what was decompressed until then.
func decompress(b []byte, coding string) []byte {
	var r io.Reader
	var err error
	switch coding {
	case "gzip":
		var gz *gzip.Reader
		gz, err = gzip.NewReader(bytes.NewReader(b))
		if err == nil {
			gz.Multistream(false)
			r = gz
		}
	case "deflate":
		r, err = zlib.NewReader(bytes.NewReader(b))
		if err != nil {
			r, err = flate.NewReader(bytes.NewReader(b)), nil
		}
	case "br":
		r = brotli.NewReader(bytes.NewReader(b))
	}
	if err != nil {
		return b
	}
	out, err := io.ReadAll(bufio.NewReader(r))
	if err != nil && len(out) == 0 {
		if coding == "deflate" {
			raw, rerr := io.ReadAll(flate.NewReader(bytes.NewReader(b)))
			if rerr == nil || len(raw) > 0 {
				return raw
			}
		}
		return b
	}
	return out
}
