// Package warc reads web pages out of WARC files the way datatrove's
// WarcReader does, and says why every other record was skipped.
//
// A Reader walks a plain .warc, a .warc.gz with one gzip member per record,
// or a single gzip stream, and yields every record it meets (Record.Skip
// tells which ones carry no usable HTML). Bad input never stops a run when
// reading can go on: a corrupt record is yielded with Skip "corrupt_record"
// and the reader resynchronises on the next record or gzip member; only
// input that cannot be read at all (I/O errors, a format that is not WARC)
// ends Next with an error naming the file and offset.
//
// Each record carries the byte offset where it starts in the file (the start
// of its gzip member for .warc.gz), so that a validator can fetch exactly
// that record with a range request and read it back with ReadRecordAt.
package warc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/klauspost/compress/gzip"
)

// Skip reasons. Reasons for unwanted payload types are "mime_" followed by
// the type, e.g. "mime_application/pdf" (datatrove's vocabulary).
const (
	SkipNotResponse = "not_response"     // request, metadata, warcinfo, revisit, ...
	SkipUndecodable = "undecodable"      // neither UTF-8 nor the detected charset decodes it
	SkipEmpty       = "empty"            // no payload bytes
	SkipCorrupt     = "corrupt_record"   // the record could not be parsed; Err says why
	SkipTruncated   = "truncated_record" // the file ends inside the record
	SkipTooLarge    = "too_large"        // payload over Options.MaxPayloadBytes
	skipMIMEPrefix  = "mime_"
)

// DefaultMaxPayloadBytes bounds the payload the reader decodes. Common Crawl
// truncates payloads at 1 MiB, so the default never bites on its WARCs.
const DefaultMaxPayloadBytes = 32 << 20

// Options configures a Reader.
type Options struct {
	// Name identifies the input in errors (a path or URL).
	Name string
	// MaxPayloadBytes skips records with larger blocks ("too_large").
	// 0 means DefaultMaxPayloadBytes; negative means no limit.
	MaxPayloadBytes int64
}

// Record is one WARC record. HTML is set only when Skip is empty.
type Record struct {
	// Index is the position of the record in its input, counting every
	// record met (0-based); -1 for ReadRecordAt.
	Index int64
	// Offset is the byte offset of the record in the file: the start of its
	// gzip member for compressed input. It is -1 for a record that does not
	// start its own gzip member (single-stream .gz), which cannot be fetched
	// alone.
	Offset int64
	Type   string // WARC-Type, e.g. "response"
	ID     string // WARC-Record-ID, e.g. "<urn:uuid:...>"
	URL    string // WARC-Target-URI without surrounding <...>
	Date   string // WARC-Date as written
	MIME   string // identified or sniffed payload type ("" when not looked at)

	HTML    string // decoded payload
	Charset string // codec that decoded HTML ("UTF-8", "WINDOWS-1252", ...)
	// Detected is the fallback detector's guess for a payload that was not
	// valid UTF-8 (also set for undecodable records).
	Detected string

	Skip string // "" for a usable page, else the reason (see Skip*)
	Err  error  // detail for corrupt and truncated records

	// IsPartOf is, for a warcinfo record, its isPartOf field: the crawl or
	// collection the file belongs to (CommonCrawl writes the crawl id,
	// e.g. CC-MAIN-2024-22). Empty otherwise.
	IsPartOf string
}

// Reader yields the records of one WARC input in order. It is not safe for
// concurrent use.
type Reader struct {
	opts   Options
	src    *countingReader
	br     *bufio.Reader
	gz     *gzip.Reader
	member *bufio.Reader // decompressed current gzip member, nil when none
	// memberStart is the file offset of the current gzip member; -1 after its
	// first record.
	memberStart int64
	index       int64
	err         error
	closer      io.Closer // set by Open
	// seeker, when the input can seek, lets the reader resynchronise right
	// after the start of a corrupt gzip member (base: its initial position).
	seeker io.Seeker
	base   int64
}

// Close closes the input opened by Open; it is a no-op for NewReader.
func (r *Reader) Close() error {
	if r.closer == nil {
		return nil
	}
	err := r.closer.Close()
	r.closer = nil
	return err
}

// NewReader reads WARC records from r.
func NewReader(r io.Reader, opts Options) *Reader {
	if opts.MaxPayloadBytes == 0 {
		opts.MaxPayloadBytes = DefaultMaxPayloadBytes
	}
	if opts.MaxPayloadBytes < 0 {
		opts.MaxPayloadBytes = math.MaxInt64
	}
	if opts.Name == "" {
		opts.Name = "WARC input"
	}
	src := &countingReader{r: r}
	rd := &Reader{
		opts: opts,
		src:  src,
		br:   bufio.NewReaderSize(src, 256<<10),
	}
	if s, ok := r.(io.Seeker); ok {
		if base, err := s.Seek(0, io.SeekCurrent); err == nil {
			rd.seeker, rd.base = s, base
		}
	}
	return rd
}

// pos is the file offset of the next unread raw byte.
func (r *Reader) pos() int64 { return r.src.n - int64(r.br.Buffered()) }

// Next returns the next record, io.EOF at the end of the input, or an error
// when the input cannot be read further (the error names input and offset).
// Skipped records are returned too, with Skip set.
func (r *Reader) Next(ctx context.Context) (*Record, error) {
	if r.err != nil {
		return nil, r.err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rec, err := r.next()
	if err != nil {
		r.err = err
		return nil, err
	}
	return rec, nil
}

func (r *Reader) next() (*Record, error) {
	for {
		if r.member != nil {
			rec, done := r.nextInMember()
			if r.err != nil {
				return nil, r.err
			}
			if !done {
				return rec, nil
			}
			continue
		}
		start, kind, err := r.seekRecordStart()
		if err != nil {
			return nil, err
		}
		switch kind {
		case startGzip:
			if err := r.openMember(start); err != nil {
				// A gzip header that does not parse: count it and resync
				// past its magic bytes.
				rec := r.corrupt(start, fmt.Errorf("gzip member header: %w", err))
				r.rewindAfter(start)
				r.skipTo(start + 2)
				return rec, nil
			}
		case startWARC:
			if rec := r.readOne(r.br, start); rec != nil {
				return rec, nil
			}
		}
	}
}

type startKind int

const (
	startGzip startKind = iota
	startWARC
)

var (
	gzipMagic = []byte{0x1f, 0x8b, 0x08}
	warcMagic = []byte("WARC/")
	arcMagic  = []byte("filedesc://")
)

// seekRecordStart skips bytes up to the next WARC header or gzip member and
// returns its offset. Garbage between records is skipped silently, as
// gowarc does; an input that starts like an ARC file is an error.
func (r *Reader) seekRecordStart() (int64, startKind, error) {
	for {
		peek, err := r.br.Peek(len(warcMagic))
		switch {
		case bytes.HasPrefix(peek, gzipMagic):
			return r.pos(), startGzip, nil
		case bytes.Equal(peek, warcMagic):
			return r.pos(), startWARC, nil
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0, 0, io.EOF
			}
			return 0, 0, fmt.Errorf("%s: read at offset %d: %w", r.opts.Name, r.pos(), err)
		}
		if r.pos() == 0 {
			if p, _ := r.br.Peek(len(arcMagic)); bytes.Equal(p, arcMagic) {
				return 0, 0, fmt.Errorf("%s: offset 0: ARC files are not supported, only WARC", r.opts.Name)
			}
		}
		if _, err := r.br.Discard(1); err != nil {
			return 0, 0, fmt.Errorf("%s: read at offset %d: %w", r.opts.Name, r.pos(), err)
		}
	}
}

// skipTo discards raw input up to offset off (no-op if already past).
func (r *Reader) skipTo(off int64) {
	if n := off - r.pos(); n > 0 {
		_, _ = r.br.Discard(int(n))
	}
}

func (r *Reader) openMember(start int64) error {
	var err error
	if r.gz == nil {
		r.gz, err = gzip.NewReader(r.br)
	} else {
		err = r.gz.Reset(r.br)
	}
	if err != nil {
		return err
	}
	// One member at a time: its offset is what a range request needs.
	r.gz.Multistream(false)
	if r.member == nil {
		r.member = bufio.NewReaderSize(r.gz, 64<<10)
	} else {
		r.member.Reset(r.gz)
	}
	r.memberStart = start
	return nil
}

// nextInMember reads the next record of the current gzip member. done is
// true when the member holds no further record.
func (r *Reader) nextInMember() (rec *Record, done bool) {
	mr := r.member
	if _, err := mr.Peek(1); err != nil {
		// End of member: verify its trailer, then move on. A member that
		// breaks before its first record still counts as one bad record.
		off := r.memberStart
		r.closeMember(err)
		if !errors.Is(err, io.EOF) && off >= 0 {
			r.rewindAfter(off)
			return r.corrupt(off, fmt.Errorf("gzip member: %w", err)), false
		}
		return nil, true
	}
	off := r.memberStart
	r.memberStart = -1
	if off == 0 {
		if p, _ := mr.Peek(len(arcMagic)); bytes.Equal(p, arcMagic) {
			r.member = nil
			r.err = fmt.Errorf("%s: offset 0: ARC files are not supported, only WARC", r.opts.Name)
			return nil, true
		}
	}
	rec = r.readOne(mr, off)
	if rec == nil {
		r.closeMember(nil)
		return nil, true
	}
	if rec.Skip == SkipCorrupt || rec.Skip == SkipTruncated {
		// The member stream is unusable after a decompression error; resync
		// on the next gzip magic in the raw input.
		r.member = nil
		r.rewindAfter(off)
	}
	return rec, false
}

// rewindAfter moves a seekable input back to just after the gzip member
// that started at off, because a corrupt deflate stream may have consumed
// the following members. A stream that cannot seek resumes where the
// decompressor stopped.
func (r *Reader) rewindAfter(off int64) {
	if r.seeker == nil || off < 0 {
		return
	}
	to := off + int64(len(gzipMagic))
	if _, err := r.seeker.Seek(r.base+to, io.SeekStart); err != nil {
		return
	}
	r.src.n = to
	r.br.Reset(r.src)
}

func (r *Reader) closeMember(err error) {
	if err == nil || errors.Is(err, io.EOF) {
		_, _ = io.Copy(io.Discard, r.gz)
	}
	r.member = nil
}

// readOne parses one record from rd, which starts at file offset off. It
// returns nil when rd holds no further record.
func (r *Reader) readOne(rd *bufio.Reader, off int64) *Record {
	h, block, err := readRecord(rd, r.opts.MaxPayloadBytes)
	if h == nil && err == nil {
		return nil
	}
	idx := r.index
	r.index++
	rec := &Record{Index: idx, Offset: off}
	if h != nil {
		rec.Type = h.get("WARC-Type")
		rec.ID = h.get("WARC-Record-ID")
		rec.URL = trimAngle(h.get("WARC-Target-URI"))
		rec.Date = h.get("WARC-Date")
	}
	switch {
	case errors.Is(err, errTooLarge):
		rec.Skip = SkipTooLarge
		return rec
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		rec.Skip = SkipTruncated
	case err != nil:
		rec.Skip = SkipCorrupt
	}
	if err != nil {
		rec.Err = fmt.Errorf("%s: record %d at offset %d: %w", r.opts.Name, idx, off, err)
		return rec
	}
	r.fillPayload(rec, h, block)
	return rec
}

func (r *Reader) corrupt(off int64, err error) *Record {
	idx := r.index
	r.index++
	return &Record{
		Index: idx, Offset: off, Skip: SkipCorrupt,
		Err: fmt.Errorf("%s: record %d at offset %d: %w", r.opts.Name, idx, off, err),
	}
}

// fillPayload applies datatrove's record selection and decoding.
func (r *Reader) fillPayload(rec *Record, h header, block []byte) {
	typ := strings.ToLower(rec.Type)
	if typ != "response" && typ != "conversion" {
		rec.Skip = SkipNotResponse
		if typ == "warcinfo" {
			rec.IsPartOf = warcField(block, "isPartOf")
		}
		return
	}
	mime, identified := h.lookup("WARC-Identified-Payload-Type")
	if identified {
		mime = normalizeMIME(mime)
		rec.MIME = mime
		if !acceptedMIME(mime, typ) {
			rec.Skip = skipMIMEPrefix + mime
			return
		}
	}
	payload := block
	if hasHTTPHeaders(typ, rec.URL, block) {
		payload = httpBody(block)
	}
	if !identified {
		mime = SniffMIME(payload)
		rec.MIME = mime
		if !acceptedMIME(mime, typ) {
			rec.Skip = skipMIMEPrefix + mime
			return
		}
	}
	dec, ok := Decode(payload)
	rec.Detected = dec.Detected
	if !ok {
		rec.Skip = SkipUndecodable
		return
	}
	if dec.Text == "" {
		rec.Skip = SkipEmpty
		return
	}
	rec.HTML = dec.Text
	rec.Charset = dec.Charset
}

// warcField returns the value of a field of an application/warc-fields
// block ("name: value" lines), "" when absent. Values are bounded: a
// crawl's name is short, anything longer is not one.
func warcField(block []byte, name string) string {
	for len(block) > 0 {
		line := block
		if i := bytes.IndexByte(block, '\n'); i >= 0 {
			line, block = block[:i], block[i+1:]
		} else {
			block = nil
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if ok && strings.EqualFold(string(bytes.TrimSpace(k)), name) {
			v = bytes.TrimSpace(v)
			if len(v) > 256 {
				return ""
			}
			return string(v)
		}
	}
	return ""
}

// hasHTTPHeaders follows warcio: only response (and revisit) records of
// http: or https: URIs with a non-empty block carry HTTP headers. Records
// of other URIs keep their whole block as payload, headers included.
func hasHTTPHeaders(recType, uri string, block []byte) bool {
	if recType != "response" || len(block) == 0 {
		return false
	}
	return strings.HasPrefix(uri, "http:") || strings.HasPrefix(uri, "https:")
}

func normalizeMIME(v string) string {
	v, _, _ = strings.Cut(v, ";")
	return strings.ToLower(strings.TrimSpace(v))
}

// acceptedMIME: HTML (and XHTML) pages; WET conversion records are text.
func acceptedMIME(mime, recType string) bool {
	switch mime {
	case "text/html", "application/xhtml+xml":
		return true
	case "text/plain":
		return recType == "conversion"
	}
	return false
}

// trimAngle strips the <...> some crawlers (browsertrix, WARC/1.0 style)
// put around WARC-Target-URI.
func trimAngle(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '<' && s[len(s)-1] == '>' {
		return s[1 : len(s)-1]
	}
	return s
}

// countingReader counts the bytes read through it, which gives file offsets.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ReadRecordAt reads the single record that starts at offset in ra (a
// Record.Offset), e.g. a file or a buffer fetched by a range request. The
// returned record has Index -1.
func ReadRecordAt(ctx context.Context, ra io.ReaderAt, offset int64, opts Options) (*Record, error) {
	sr := io.NewSectionReader(ra, offset, math.MaxInt64-offset)
	rd := NewReader(sr, opts)
	rec, err := rd.Next(ctx)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: no record at offset %d", rd.opts.Name, offset)
		}
		return nil, err
	}
	rec.Index = -1
	if rec.Offset >= 0 {
		rec.Offset += offset
	}
	return rec, nil
}

// Offset is the file offset of the next unread byte of the input; after
// Next returned io.EOF it is the input's size. With the offsets of the
// records it gives each record's length: from its offset to the next
// record's (or to Offset at the end), which is what a record index lists.
func (r *Reader) Offset() int64 { return r.pos() }

// ErrNotOneRecord reports bytes that do not hold exactly one record starting
// at their first byte (ReadEntry).
var ErrNotOneRecord = errors.New("not exactly one record")

// ReadEntry decodes the bytes of one record index entry: the n bytes that
// r yields must hold exactly one record, starting at their first byte and
// ending (up to the next record's start) at their last, as the Reader
// yields it while streaming the whole file — so a record read back this way
// is the record a miner's run saw, decoded by the same code. Anything else
// (no record at the first byte, a second record inside the bytes, fewer
// bytes than n) is an error wrapping ErrNotOneRecord, naming what was found;
// a record the file itself makes corrupt or truncated is returned with its
// Skip set, as streaming returns it.
func ReadEntry(ctx context.Context, r io.Reader, n int64, opts Options) (*Record, error) {
	b, err := io.ReadAll(io.LimitReader(r, n))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) != n {
		return nil, fmt.Errorf("%w: %d of %d bytes", ErrNotOneRecord, len(b), n)
	}
	rd := NewReader(bytes.NewReader(b), opts)
	rec, err := rd.Next(ctx)
	switch {
	case errors.Is(err, io.EOF):
		return nil, fmt.Errorf("%w: no record in %d bytes", ErrNotOneRecord, n)
	case err != nil:
		return nil, err
	case rec.Offset != 0:
		return nil, fmt.Errorf("%w: the first record starts at byte %d, not 0", ErrNotOneRecord, rec.Offset)
	}
	next, err := rd.Next(ctx)
	switch {
	case err == nil && next.Offset < 0:
		return nil, fmt.Errorf("%w: a second record follows in the same gzip member", ErrNotOneRecord)
	case err == nil:
		return nil, fmt.Errorf("%w: a second record starts at byte %d of %d", ErrNotOneRecord, next.Offset, n)
	case !errors.Is(err, io.EOF):
		return nil, err
	}
	rec.Index = -1
	return rec, nil
}
