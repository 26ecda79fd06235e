package dataset

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// A page header's optional statistics hold the page's min and max values,
// parquet-go writes them whole and twice (the deprecated and the current
// fields): a header is bounded by four times the largest value plus this
// much. Headers are read in growing pieces from this size.
const pageHeaderSlack = 64 << 10

// Container elements allowed in a footer (ours: about 10 per column chunk)
// and in a page header.
const (
	maxFooterElems = 1 << 16
	maxHeaderElems = 1 << 10
)

// CheckShard checks the structure of a parquet file before any value of it
// is decoded, so that decoding it costs no more than the limits allow:
//
//   - the footer is at most MaxFooterBytes and a well-formed Thrift struct
//     whose every declared size fits in its bytes (thriftStructLen), the
//     schema is FineWeb's, and the file is neither encrypted nor refers to
//     other files;
//   - every column chunk's pages are walked exactly as parquet-go will read
//     them; each page header is bounded the same way; its codec is one of
//     uncompressed, snappy, gzip and zstd; its uncompressed size is at most
//     MaxPageBytes and its value count at most MaxPageValues. The pages'
//     declared sizes are counted against MaxPagesBytes, and the row
//     groups' rows against MaxRows, before any page is decompressed;
//   - then each page's data, decompressed with its declared size as a hard
//     bound (not trusting the header), must be no larger than declared.
//
// A failure wraps ErrLimit (over a bound) or ErrSchema, or names what is
// malformed.
func (r *Reader) CheckShard(ctx context.Context, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	c := shardCheck{r: r, f: f, path: path, size: size}
	if err := c.run(ctx); err != nil {
		return err
	}
	if r.checked == nil {
		r.checked = map[string]bool{}
	}
	r.checked[path] = true
	return nil
}

type shardCheck struct {
	r     *Reader
	f     *os.File
	path  string
	size  int64
	pages []page
}

func (c *shardCheck) errorf(format string, args ...any) error {
	return fmt.Errorf("%s: %s", c.path, fmt.Sprintf(format, args...))
}

func (c *shardCheck) limit(format string, args ...any) error {
	return fmt.Errorf("%s: %w: %s", c.path, ErrLimit, fmt.Sprintf(format, args...))
}

func (c *shardCheck) run(ctx context.Context) error {
	l := c.r.Limits
	if c.size < 12 {
		return c.errorf("not a parquet file (%d bytes)", c.size)
	}
	var head, tail [8]byte
	if _, err := c.f.ReadAt(head[:4], 0); err != nil {
		return err
	}
	if _, err := c.f.ReadAt(tail[:], c.size-8); err != nil {
		return err
	}
	if string(head[:4]) != "PAR1" || string(tail[4:]) != "PAR1" {
		return c.errorf("not a plain parquet file (magic %q…%q; encrypted files are refused)", head[:4], tail[4:])
	}
	footerLen := int64(binary.LittleEndian.Uint32(tail[:4]))
	footerAt := c.size - 8 - footerLen
	if footerAt < 4 {
		return c.errorf("footer length %d exceeds the file", footerLen)
	}
	if footerLen > l.MaxFooterBytes {
		return c.limit("footer is %d bytes, limit %d", footerLen, l.MaxFooterBytes)
	}
	footer := make([]byte, footerLen)
	if _, err := c.f.ReadAt(footer, footerAt); err != nil {
		return err
	}
	if n, err := thriftStructLen(footer, maxFooterElems); err != nil {
		return c.errorf("footer: %v", err)
	} else if int64(n) != footerLen {
		return c.errorf("footer: %d bytes after its metadata", footerLen-int64(n))
	}
	pf, err := parquet.OpenFile(c.f, c.size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return c.errorf("%v", err)
	}
	if err := CheckSchema(pf.Schema()); err != nil {
		return c.errorf("%v", err)
	}
	md := pf.Metadata()
	var rows int64
	for g, rg := range md.RowGroups {
		if rg.NumRows < 0 {
			return c.errorf("row group %d has %d rows", g, rg.NumRows)
		}
		rows += rg.NumRows
		if l.MaxRows > 0 && rows > l.MaxRows {
			return c.limit("row groups hold more than %d rows", l.MaxRows)
		}
		for k, cc := range rg.Columns {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := c.chunk(&cc, rg.NumRows, footerAt); err != nil {
				return fmt.Errorf("row group %d column %d: %w", g, k, err)
			}
		}
	}
	// Every header is within the limits: now the pages' data, each
	// decompressed with its declared size as the bound.
	for _, p := range c.pages {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := c.decompressed(p.pos, p.size, p.levels, p.declared, p.compressed, p.codec); err != nil {
			return err
		}
	}
	return nil
}

// page is a data or dictionary page found by the header walk.
type page struct {
	pos, size, levels, declared int64
	compressed                  bool
	codec                       format.CompressionCodec
}

// chunk walks one column chunk's pages as parquet-go's reader does: from the
// dictionary page (or the first data page) through TotalCompressedSize bytes.
func (c *shardCheck) chunk(cc *format.ColumnChunk, rows, footerAt int64) error {
	if cc.FilePath != "" || len(cc.EncryptedColumnMetadata) > 0 {
		return c.errorf("column chunk in another file or encrypted")
	}
	m := &cc.MetaData
	switch m.Codec {
	case format.Uncompressed, format.Snappy, format.Gzip, format.Zstd:
	default:
		return c.errorf("compression codec %s is not accepted", m.Codec)
	}
	start := m.DataPageOffset
	if m.DictionaryPageOffset != 0 {
		start = m.DictionaryPageOffset
	}
	if start < 4 || m.TotalCompressedSize < 0 || m.TotalCompressedSize > footerAt-start {
		return c.errorf("column chunk [%d, +%d) outside the file's data", start, m.TotalCompressedSize)
	}
	end := start + m.TotalCompressedSize
	var values int64
	maxHeader := 4*c.r.Limits.MaxRowTextBytes + pageHeaderSlack
	for pos := start; pos < end; {
		// Read the header in growing pieces: most are a few dozen bytes.
		var hbuf []byte
		var hn int
		for n := min(pageHeaderSlack, end-pos); ; n = min(2*n, maxHeader, end-pos) {
			hbuf = make([]byte, n)
			if _, err := c.f.ReadAt(hbuf, pos); err != nil {
				return err
			}
			var err error
			if hn, err = thriftStructLen(hbuf, maxHeaderElems); err == nil {
				break
			}
			if n == min(maxHeader, end-pos) {
				return c.errorf("page header at %d: %v", pos, err)
			}
		}
		var h format.PageHeader
		if err := thrift.NewDecoder(new(thrift.CompactProtocol).NewReader(bytes.NewReader(hbuf[:hn]))).Decode(&h); err != nil {
			return c.errorf("page header at %d: %v", pos, err)
		}
		pos += int64(hn)
		if h.CompressedPageSize < 0 || int64(h.CompressedPageSize) > end-pos || h.UncompressedPageSize < 0 {
			return c.errorf("page at %d: sizes %d/%d outside its column chunk", pos, h.CompressedPageSize, h.UncompressedPageSize)
		}
		if int64(h.UncompressedPageSize) > c.r.Limits.MaxPageBytes {
			return c.limit("page at %d declares %d uncompressed bytes, limit %d", pos, h.UncompressedPageSize, c.r.Limits.MaxPageBytes)
		}
		c.r.PageBytes += int64(h.UncompressedPageSize)
		if l := c.r.Limits.MaxPagesBytes; l > 0 && c.r.PageBytes > l {
			return c.limit("pages decompress to more than %d bytes", l)
		}
		var pageValues int64
		levels := int64(0)
		compressed := true
		switch h.Type {
		case format.DataPage:
			if !h.DataPageHeader.Valid {
				return c.errorf("data page at %d without its header", pos)
			}
			pageValues = int64(h.DataPageHeader.V.NumValues)
		case format.DataPageV2:
			if !h.DataPageHeaderV2.Valid {
				return c.errorf("data page at %d without its header", pos)
			}
			v2 := &h.DataPageHeaderV2.V
			pageValues = int64(v2.NumValues)
			levels = int64(v2.DefinitionLevelsByteLength) + int64(v2.RepetitionLevelsByteLength)
			if v2.DefinitionLevelsByteLength < 0 || v2.RepetitionLevelsByteLength < 0 || levels > int64(h.CompressedPageSize) || levels > int64(h.UncompressedPageSize) {
				return c.errorf("data page at %d: level lengths outside the page", pos)
			}
			if v2.IsCompressed.Valid && !v2.IsCompressed.V {
				compressed = false
			}
		case format.DictionaryPage:
			if !h.DictionaryPageHeader.Valid {
				return c.errorf("dictionary page at %d without its header", pos)
			}
			pageValues = int64(h.DictionaryPageHeader.V.NumValues)
		default:
			// parquet-go refuses to read other page types.
			return c.errorf("page at %d has type %s", pos, h.Type)
		}
		if pageValues < 0 || pageValues > c.r.Limits.MaxPageValues {
			return c.limit("page at %d declares %d values, limit %d", pos, pageValues, c.r.Limits.MaxPageValues)
		}
		if h.Type != format.DictionaryPage {
			values += pageValues
		}
		c.pages = append(c.pages, page{pos, int64(h.CompressedPageSize), levels, int64(h.UncompressedPageSize), compressed, m.Codec})
		pos += int64(h.CompressedPageSize)
	}
	if values != rows {
		return c.errorf("column chunk holds %d values for %d rows", values, rows)
	}
	return nil
}

// decompressed checks that a page's data decompresses to at most its
// declared size, decompressing with that size as a hard bound.
func (c *shardCheck) decompressed(pos, size, levels, declared int64, compressed bool, codec format.CompressionCodec) error {
	if codec == format.Uncompressed || !compressed {
		if size != declared {
			return c.errorf("uncompressed page at %d: %d bytes, header says %d", pos, size, declared)
		}
		return nil
	}
	data := make([]byte, size)
	if _, err := c.f.ReadAt(data, pos); err != nil {
		return err
	}
	data = data[levels:]
	bound := declared - levels
	var n int64
	switch codec {
	case format.Snappy:
		dl, err := snappy.DecodedLen(data)
		if err != nil {
			return c.errorf("page at %d: %v", pos, err)
		}
		n = int64(dl) // a snappy block decodes to exactly its stated length
	case format.Gzip:
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return c.errorf("page at %d: %v", pos, err)
		}
		n, err = io.Copy(io.Discard, io.LimitReader(zr, bound+1))
		if err != nil {
			return c.errorf("page at %d: %v", pos, err)
		}
	case format.Zstd:
		zr, err := zstd.NewReader(bytes.NewReader(data), zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxMemory(uint64(max(c.r.Limits.MaxPageBytes, zstd.MinWindowSize))), zstd.WithDecoderMaxWindow(uint64(max(c.r.Limits.MaxPageBytes, zstd.MinWindowSize))))
		if err != nil {
			return c.errorf("page at %d: %v", pos, err)
		}
		n, err = io.Copy(io.Discard, io.LimitReader(zr, bound+1))
		zr.Close()
		if err != nil {
			return c.errorf("page at %d: %v", pos, err)
		}
		// parquet-go decodes with DecodeAll, which allocates what each
		// frame header declares: it must not declare more than the page.
		if n <= bound {
			if err := zstdFramesWithin(data, bound, c.r.Limits.MaxPageBytes); err != nil {
				return c.limit("page at %d: %v", pos, err)
			}
		}
	}
	if n > bound {
		return c.limit("page at %d decompresses to more than the %d bytes its header declares", pos, bound)
	}
	return nil
}

// zstdFramesWithin walks every frame of data and checks that together
// they declare no more content than bound, and no window larger than
// maxWindow: parquet-go decodes with DecodeAll, which allocates what each
// frame header declares before it decodes the frame.
func zstdFramesWithin(data []byte, bound, maxWindow int64) error {
	var total uint64
	for len(data) > 0 {
		if len(data) >= 8 && binary.LittleEndian.Uint32(data)&0xFFFFFFF0 == 0x184D2A50 { // skippable frame
			n := uint64(binary.LittleEndian.Uint32(data[4:]))
			if n > uint64(len(data)-8) {
				return fmt.Errorf("zstd skippable frame overruns the page")
			}
			data = data[8+n:]
			continue
		}
		var h zstd.Header
		if err := h.Decode(data); err != nil {
			return err
		}
		if h.HasFCS {
			total += h.FrameContentSize
			if h.FrameContentSize > uint64(bound) || total > uint64(bound) {
				return fmt.Errorf("zstd frames declare more than the page's %d bytes", bound)
			}
		}
		if h.WindowSize > uint64(max(maxWindow, zstd.MinWindowSize)) {
			return fmt.Errorf("zstd window of %d bytes, limit %d", h.WindowSize, maxWindow)
		}
		// Skip the frame's blocks: each has a 3-byte header (last flag,
		// type, size); an RLE block stores one byte.
		p := h.HeaderSize
		for {
			if p+3 > len(data) {
				return fmt.Errorf("zstd frame truncated")
			}
			bh := uint32(data[p]) | uint32(data[p+1])<<8 | uint32(data[p+2])<<16
			p += 3
			size := int(bh >> 3)
			if (bh>>1)&3 == 1 { // RLE
				size = 1
			}
			if size > len(data)-p {
				return fmt.Errorf("zstd block overruns the page")
			}
			p += size
			if bh&1 == 1 {
				break
			}
		}
		if h.HasCheckSum {
			p += 4
		}
		if p > len(data) {
			return fmt.Errorf("zstd frame truncated")
		}
		data = data[p:]
	}
	return nil
}
