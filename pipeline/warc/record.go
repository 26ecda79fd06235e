package warc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Why not gowarc's Unmarshaler: in its lenient modes it either discards the
// block before returning (no validation) or, with validation on, blanks every
// header field that fails validation, such as the `<https://...>`
// WARC-Target-URI that browsertrix writes. datatrove (warcio) keeps those.
// A WARC record header is simple enough to read here, leniently, with exact
// control over offsets and resynchronisation.

// header is a WARC record header: field names as written, in order.
type header []field

type field struct{ name, value string }

// lookup returns the first value of a field, matched case-insensitively.
func (h header) lookup(name string) (string, bool) {
	for _, f := range h {
		if strings.EqualFold(f.name, name) {
			return f.value, true
		}
	}
	return "", false
}

func (h header) get(name string) string {
	v, _ := h.lookup(name)
	return v
}

var (
	errTooLarge    = errors.New("record block larger than the payload limit")
	errNoLength    = errors.New("missing or invalid Content-Length")
	errHeaderLimit = errors.New("WARC header longer than 1 MiB")
)

const maxHeaderBytes = 1 << 20

// readRecord reads one record from rd, positioned at "WARC/" (or at the end
// of input, when it returns a nil header and nil error). It returns the
// header and the block. A block over maxBlock bytes is skipped over and
// errTooLarge returned with the header.
func readRecord(rd *bufio.Reader, maxBlock int64) (header, []byte, error) {
	line, err := rd.ReadSlice('\n')
	if len(line) == 0 && errors.Is(err, io.EOF) {
		return nil, nil, nil
	}
	if !bytes.HasPrefix(line, []byte("WARC/")) {
		return nil, nil, nil // junk without a record: nothing here
	}
	if err != nil {
		return nil, nil, fmt.Errorf("WARC version line: %w", io.ErrUnexpectedEOF)
	}
	h := make(header, 0, 16)
	read := len(line)
	for {
		line, err = rd.ReadSlice('\n')
		read += len(line)
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return h, nil, fmt.Errorf("WARC header: %w", err)
		}
		if read > maxHeaderBytes {
			return h, nil, errHeaderLimit
		}
		s := strings.TrimRight(string(line), "\r\n")
		if s == "" {
			break
		}
		if (s[0] == ' ' || s[0] == '\t') && len(h) > 0 {
			// Continuation line (WARC/1.0 allows folding).
			h[len(h)-1].value += " " + strings.TrimSpace(s)
			continue
		}
		name, value, ok := strings.Cut(s, ":")
		if !ok {
			continue // not a field; warcio ignores such lines too
		}
		h = append(h, field{strings.TrimSpace(name), strings.TrimSpace(value)})
	}
	n, err := strconv.ParseInt(h.get("Content-Length"), 10, 64)
	if err != nil || n < 0 {
		return h, nil, errNoLength
	}
	if n > maxBlock {
		if _, err := rd.Discard(int(min(n, int64(^uint(0)>>1)))); err != nil {
			return h, nil, fmt.Errorf("record block: %w", io.ErrUnexpectedEOF)
		}
		skipRecordEnd(rd)
		return h, nil, errTooLarge
	}
	block := make([]byte, n)
	if got, err := io.ReadFull(rd, block); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return h, block[:got], fmt.Errorf("record block (%d of %d bytes): %w", got, n, err)
	}
	skipRecordEnd(rd)
	return h, block, nil
}

// skipRecordEnd consumes the CRLF CRLF that ends a record, tolerating bare
// LFs and missing line ends.
func skipRecordEnd(rd *bufio.Reader) {
	for range 4 {
		b, err := rd.Peek(1)
		if err != nil || (b[0] != '\r' && b[0] != '\n') {
			return
		}
		_, _ = rd.Discard(1)
	}
}
