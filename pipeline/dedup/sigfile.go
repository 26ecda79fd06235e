package dedup

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strings"

	"github.com/datarefine/refine/internal/atomicfile"
)

// Signature files (docs/formats/signatures.md) hold the MinHash signatures
// of one dataset shard, so that cross-dataset deduplication never has to
// re-read texts. Layout, all integers little-endian:
//
//	header   64 bytes: magic, version, config, block size, CRC
//	blocks   records of (row u64, NumHashes × u64), BlockRecords per block,
//	         each block followed by the CRC-32C of its bytes
//	refs     per record: uvarint(row − previous row), uvarint(len id), id;
//	         then the CRC-32C of the section
//	footer   48 bytes: records, rows, refs offset and length, CRC, magic
const (
	sigMagic         = "RFMINSIG"
	sigFooterMagic   = "RFSIGEND"
	sigVersion       = 1
	sigHashSHA1x64   = 1
	sigHeaderSize    = 64
	sigFooterSize    = 48
	sigBlockRecords  = 1024
	sigFileExtension = SignatureExt
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt marks a signature file that fails its integrity checks.
var ErrCorrupt = errors.New("corrupt signature file")

// SignaturePath is where the signature file of a shard lives: next to it,
// with ".parquet" replaced by ".minhash.sig".
func SignaturePath(shardPath string) string {
	return strings.TrimSuffix(shardPath, ".parquet") + SignatureExt
}

// SignatureExt ends a signature file's name. The signature file format is
// this package's; the dataset layout (package dataset) places the files
// with SignaturePath. The pipeline never imports the output format.
const SignatureExt = ".minhash.sig"

// SigWriter writes one shard's signature file. Add every row of the shard
// in order, with a nil signature for rows that have none.
type SigWriter struct {
	w       *bufio.Writer
	cfg     Config
	rows    int64
	records int64
	offset  int64
	block   []byte
	inBlock int
	refs    bytes.Buffer
	lastRow int64
	err     error
}

// NewSigWriter writes the header to w. Close must be called to complete
// the file; it does not close w.
func NewSigWriter(w io.Writer, cfg Config) (*SigWriter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	sw := &SigWriter{w: bufio.NewWriterSize(w, 1<<20), cfg: cfg, lastRow: -1}
	hdr := make([]byte, sigHeaderSize)
	copy(hdr, sigMagic)
	binary.LittleEndian.PutUint16(hdr[8:], sigVersion)
	binary.LittleEndian.PutUint16(hdr[10:], uint16(cfg.NGrams))
	binary.LittleEndian.PutUint16(hdr[12:], uint16(cfg.NumBuckets))
	binary.LittleEndian.PutUint16(hdr[14:], uint16(cfg.HashesPerBucket))
	binary.LittleEndian.PutUint32(hdr[16:], cfg.Seed)
	binary.LittleEndian.PutUint16(hdr[20:], sigHashSHA1x64)
	binary.LittleEndian.PutUint16(hdr[22:], 64)
	binary.LittleEndian.PutUint32(hdr[24:], sigBlockRecords)
	binary.LittleEndian.PutUint32(hdr[60:], crc32.Checksum(hdr[:60], castagnoli))
	sw.write(hdr)
	return sw, sw.err
}

func (sw *SigWriter) write(b []byte) {
	if sw.err != nil {
		return
	}
	n, err := sw.w.Write(b)
	sw.offset += int64(n)
	if err != nil {
		sw.err = fmt.Errorf("write signature file: %w", err)
	}
}

// Add records row (which must equal the number of rows added before) with
// its document id and signature (nil: the document has none).
func (sw *SigWriter) Add(row int64, id string, sig Signature) error {
	if sw.err != nil {
		return sw.err
	}
	if row != sw.rows {
		return fmt.Errorf("signature file: row %d added after %d rows: every row must be added in order", row, sw.rows)
	}
	sw.rows++
	if sig == nil {
		return nil
	}
	if len(sig) != sw.cfg.NumHashes() {
		return fmt.Errorf("signature file: row %d: %d values, want %d", row, len(sig), sw.cfg.NumHashes())
	}
	sw.block = binary.LittleEndian.AppendUint64(sw.block, uint64(row))
	for _, v := range sig {
		sw.block = binary.LittleEndian.AppendUint64(sw.block, v)
	}
	sw.inBlock++
	if sw.inBlock == sigBlockRecords {
		sw.flushBlock()
	}
	var tmp [2 * binary.MaxVarintLen64]byte
	n := binary.PutUvarint(tmp[:], uint64(row-sw.lastRow))
	n += binary.PutUvarint(tmp[n:], uint64(len(id)))
	sw.refs.Write(tmp[:n])
	sw.refs.WriteString(id)
	sw.lastRow = row
	sw.records++
	return sw.err
}

func (sw *SigWriter) flushBlock() {
	if sw.inBlock == 0 {
		return
	}
	sw.write(sw.block)
	sw.write(binary.LittleEndian.AppendUint32(nil, crc32.Checksum(sw.block, castagnoli)))
	sw.block = sw.block[:0]
	sw.inBlock = 0
}

// Close writes the refs section and the footer and flushes.
func (sw *SigWriter) Close() error {
	sw.flushBlock()
	refsOffset := sw.offset
	refs := binary.LittleEndian.AppendUint32(sw.refs.Bytes(), crc32.Checksum(sw.refs.Bytes(), castagnoli))
	sw.write(refs)
	ftr := make([]byte, sigFooterSize)
	binary.LittleEndian.PutUint64(ftr[0:], uint64(sw.records))
	binary.LittleEndian.PutUint64(ftr[8:], uint64(sw.rows))
	binary.LittleEndian.PutUint64(ftr[16:], uint64(refsOffset))
	binary.LittleEndian.PutUint64(ftr[24:], uint64(len(refs)))
	binary.LittleEndian.PutUint32(ftr[32:], crc32.Checksum(ftr[:32], castagnoli))
	copy(ftr[40:], sigFooterMagic)
	sw.write(ftr)
	if sw.err == nil {
		if err := sw.w.Flush(); err != nil {
			sw.err = fmt.Errorf("write signature file: %w", err)
		}
	}
	return sw.err
}

// WriteSigFile writes a whole signature file at path, atomically (through
// a temporary file renamed into place).
func WriteSigFile(path string, cfg Config, fill func(sw *SigWriter) error) error {
	// Not synced, as before: a reader checks the file's CRCs.
	tmp, err := atomicfile.Create(path, atomicfile.Options{NoSync: true})
	if err != nil {
		return fmt.Errorf("create signature file: %w", err)
	}
	defer tmp.Abort()
	sw, err := NewSigWriter(tmp, cfg)
	if err != nil {
		return err
	}
	if err := fill(sw); err != nil {
		return err
	}
	if err := sw.Close(); err != nil {
		return err
	}
	if err := tmp.Commit(); err != nil {
		return fmt.Errorf("write signature file: %w", err)
	}
	return nil
}

// SigFile is an open, structurally checked signature file.
type SigFile struct {
	Path       string
	Config     Config
	Records    int64 // documents with a signature
	Rows       int64 // rows of the shard
	f          *os.File
	refsOffset int64
	refsLen    int64
}

// OpenSigFile opens path and checks its header, footer, size and refs
// section (ids and rows, small next to the signatures); the signature
// blocks are checked as they are scanned. Integrity failures wrap
// ErrCorrupt; for a missing file errors.Is(err, os.ErrNotExist) holds.
func OpenSigFile(path string) (*SigFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open signature file: %w", err)
	}
	s, err := checkSigFile(path, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

func corrupt(path, format string, args ...any) error {
	return fmt.Errorf("%s: %w: %s", path, ErrCorrupt, fmt.Sprintf(format, args...))
}

func checkSigFile(path string, f *os.File) (*SigFile, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat signature file: %w", err)
	}
	size := st.Size()
	if size < sigHeaderSize+sigFooterSize+4 {
		return nil, corrupt(path, "%d bytes, too short", size)
	}
	hdr := make([]byte, sigHeaderSize)
	if _, err := f.ReadAt(hdr, 0); err != nil {
		return nil, fmt.Errorf("read signature header: %w", err)
	}
	if string(hdr[:8]) != sigMagic {
		return nil, corrupt(path, "not a signature file (magic %q)", hdr[:8])
	}
	if crc32.Checksum(hdr[:60], castagnoli) != binary.LittleEndian.Uint32(hdr[60:]) {
		return nil, corrupt(path, "header checksum mismatch")
	}
	if v := binary.LittleEndian.Uint16(hdr[8:]); v != sigVersion {
		return nil, fmt.Errorf("%s: signature file version %d, this build reads %d", path, v, sigVersion)
	}
	if h := binary.LittleEndian.Uint16(hdr[20:]); h != sigHashSHA1x64 || binary.LittleEndian.Uint16(hdr[22:]) != 64 {
		return nil, fmt.Errorf("%s: unsupported shingle hash %d", path, h)
	}
	cfg := Config{
		NGrams:          int(binary.LittleEndian.Uint16(hdr[10:])),
		NumBuckets:      int(binary.LittleEndian.Uint16(hdr[12:])),
		HashesPerBucket: int(binary.LittleEndian.Uint16(hdr[14:])),
		Seed:            binary.LittleEndian.Uint32(hdr[16:]),
	}
	if err := cfg.Validate(); err != nil {
		return nil, corrupt(path, "%v", err)
	}
	if b := binary.LittleEndian.Uint32(hdr[24:]); b != sigBlockRecords {
		return nil, corrupt(path, "block of %d records, want %d", b, sigBlockRecords)
	}
	ftr := make([]byte, sigFooterSize)
	if _, err := f.ReadAt(ftr, size-sigFooterSize); err != nil {
		return nil, fmt.Errorf("read signature footer: %w", err)
	}
	if string(ftr[40:]) != sigFooterMagic {
		return nil, corrupt(path, "no footer (truncated?)")
	}
	if crc32.Checksum(ftr[:32], castagnoli) != binary.LittleEndian.Uint32(ftr[32:]) {
		return nil, corrupt(path, "footer checksum mismatch")
	}
	s := &SigFile{
		Path:       path,
		Config:     cfg,
		Records:    int64(binary.LittleEndian.Uint64(ftr[0:])),
		Rows:       int64(binary.LittleEndian.Uint64(ftr[8:])),
		f:          f,
		refsOffset: int64(binary.LittleEndian.Uint64(ftr[16:])),
		refsLen:    int64(binary.LittleEndian.Uint64(ftr[24:])),
	}
	if s.Records < 0 || s.Rows < s.Records {
		return nil, corrupt(path, "%d records for %d rows", s.Records, s.Rows)
	}
	blocks := (s.Records + sigBlockRecords - 1) / sigBlockRecords
	if want := sigHeaderSize + s.Records*int64(s.recordSize()) + 4*blocks; s.refsOffset != want {
		return nil, corrupt(path, "refs at %d, want %d", s.refsOffset, want)
	}
	if s.refsLen < 4 || s.refsOffset+s.refsLen+sigFooterSize != size {
		return nil, corrupt(path, "size %d does not match its footer", size)
	}
	if err := s.scanRefs(nil); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *SigFile) recordSize() int { return 8 * (1 + s.Config.NumHashes()) }

// Close closes the file.
func (s *SigFile) Close() error { return s.f.Close() }

// Ref is where a document with a signature sits in its shard.
type Ref struct {
	Row int64
	ID  string
}

// ScanRefs calls fn for every record's row and id, in record order.
func (s *SigFile) ScanRefs(fn func(record int64, ref Ref) error) error { return s.scanRefs(fn) }

func (s *SigFile) scanRefs(fn func(record int64, ref Ref) error) error {
	buf := make([]byte, s.refsLen)
	if _, err := s.f.ReadAt(buf, s.refsOffset); err != nil {
		return fmt.Errorf("%s: read refs: %w", s.Path, err)
	}
	body, sum := buf[:len(buf)-4], binary.LittleEndian.Uint32(buf[len(buf)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return corrupt(s.Path, "refs checksum mismatch")
	}
	row := int64(-1)
	for i := int64(0); i < s.Records; i++ {
		d, n := binary.Uvarint(body)
		if n <= 0 || d == 0 {
			return corrupt(s.Path, "record %d: bad row delta", i)
		}
		body = body[n:]
		l, n := binary.Uvarint(body)
		if n <= 0 || uint64(len(body)-n) < l {
			return corrupt(s.Path, "record %d: bad id length", i)
		}
		row += int64(d)
		if row >= s.Rows {
			return corrupt(s.Path, "record %d: row %d beyond %d rows", i, row, s.Rows)
		}
		id := body[n : n+int(l)]
		body = body[n+int(l):]
		if fn != nil {
			if err := fn(i, Ref{Row: row, ID: string(id)}); err != nil {
				return err
			}
		}
	}
	if len(body) != 0 {
		return corrupt(s.Path, "%d bytes after the last ref", len(body))
	}
	return nil
}

// ScanSignatures calls fn for every record in order with its row and
// signature; sig is reused between calls. Each block's checksum is verified
// before any of its records is passed on, so fn never sees corrupt data;
// a failing block stops the scan with an error wrapping ErrCorrupt.
func (s *SigFile) ScanSignatures(fn func(record, row int64, sig Signature) error) error {
	rs := s.recordSize()
	r := bufio.NewReaderSize(io.NewSectionReader(s.f, sigHeaderSize, s.refsOffset-sigHeaderSize), 1<<20)
	block := make([]byte, sigBlockRecords*rs+4)
	sig := make(Signature, s.Config.NumHashes())
	lastRow := int64(-1)
	for rec := int64(0); rec < s.Records; {
		n := min(int64(sigBlockRecords), s.Records-rec)
		b := block[:int(n)*rs+4]
		if _, err := io.ReadFull(r, b); err != nil {
			return corrupt(s.Path, "block at record %d: %v", rec, err)
		}
		body := b[:len(b)-4]
		if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
			return corrupt(s.Path, "block at record %d: checksum mismatch", rec)
		}
		for k := 0; k < int(n); k++ {
			p := body[k*rs : (k+1)*rs]
			row := int64(binary.LittleEndian.Uint64(p))
			if row <= lastRow || row >= s.Rows {
				return corrupt(s.Path, "record %d: row %d out of order", rec, row)
			}
			lastRow = row
			for i := range sig {
				sig[i] = binary.LittleEndian.Uint64(p[8+8*i:])
			}
			if err := fn(rec, row, sig); err != nil {
				return err
			}
			rec++
		}
	}
	return nil
}
