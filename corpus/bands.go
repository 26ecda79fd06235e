package corpus

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"github.com/datarefine/refine/pipeline/dedup"
)

// A bands file holds one input shard's MinHash signatures cut into their
// bands, bucket after bucket, so that a rank of the bucket stage reads only
// the bands it owns (8·HashesPerBucket+4 bytes per document and bucket)
// instead of whole signatures. It is the fetch stage's output, in the work
// folder only (docs/formats/corpus.md):
//
//	header   24 bytes: magic "RFBANDS1", buckets u16, hashes per bucket u16,
//	         reserved u32, records u64 (signed rows)
//	crcs     buckets × u32: CRC-32C of each section
//	sections bucket 0 … buckets−1, each records × (band u64 × hashes, row u32),
//	         rows ascending
//
// All integers are little-endian.
const (
	bandsMagic      = "RFBANDS1"
	bandsHeaderSize = 24
)

var errBands = errors.New("corrupt bands file")

// bandsWriter writes a bands file through one temporary file per section,
// joined when complete, so that memory does not follow the shard's size.
type bandsWriter struct {
	path     string
	cfg      dedup.Config
	sections []*os.File
	writers  []*bufio.Writer
	crcs     []uint32
	records  uint64
	buf      []byte
}

func createBands(path string, cfg dedup.Config) (*bandsWriter, error) {
	w := &bandsWriter{path: path, cfg: cfg, crcs: make([]uint32, cfg.NumBuckets), buf: make([]byte, 8*cfg.HashesPerBucket+4)}
	for range cfg.NumBuckets {
		f, err := os.CreateTemp(filepath.Dir(path), ".tmp-bands-*")
		if err != nil {
			w.abort()
			return nil, err
		}
		w.sections = append(w.sections, f)
		w.writers = append(w.writers, bufio.NewWriterSize(f, 64<<10))
	}
	return w, nil
}

// add records row's signature (rows ascending).
func (w *bandsWriter) add(row int64, sig dedup.Signature) error {
	h := w.cfg.HashesPerBucket
	binary.LittleEndian.PutUint32(w.buf[8*h:], uint32(row))
	for b := range w.cfg.NumBuckets {
		for i := range h {
			binary.LittleEndian.PutUint64(w.buf[8*i:], sig[b*h+i])
		}
		w.crcs[b] = crc32.Update(w.crcs[b], castagnoli, w.buf)
		if _, err := w.writers[b].Write(w.buf); err != nil {
			return err
		}
	}
	w.records++
	return nil
}

func (w *bandsWriter) abort() {
	for _, f := range w.sections {
		f.Close()
		os.Remove(f.Name())
	}
	w.sections = nil
}

// close joins the sections into the bands file, atomically.
func (w *bandsWriter) close() error {
	defer w.abort()
	for i, bw := range w.writers {
		if err := bw.Flush(); err != nil {
			return err
		}
		if _, err := w.sections[i].Seek(0, io.SeekStart); err != nil {
			return err
		}
	}
	return writeFileAtomic(w.path, func(out io.Writer) error {
		hdr := make([]byte, bandsHeaderSize+4*w.cfg.NumBuckets)
		copy(hdr, bandsMagic)
		binary.LittleEndian.PutUint16(hdr[8:], uint16(w.cfg.NumBuckets))
		binary.LittleEndian.PutUint16(hdr[10:], uint16(w.cfg.HashesPerBucket))
		binary.LittleEndian.PutUint64(hdr[16:], w.records)
		for b, c := range w.crcs {
			binary.LittleEndian.PutUint32(hdr[bandsHeaderSize+4*b:], c)
		}
		if _, err := out.Write(hdr); err != nil {
			return err
		}
		for _, f := range w.sections {
			if _, err := io.Copy(out, f); err != nil {
				return err
			}
		}
		return nil
	})
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// bandsFile is an open bands file.
type bandsFile struct {
	f       *os.File
	path    string
	cfg     dedup.Config
	records int64
	crcs    []uint32
}

func openBands(path string, cfg dedup.Config) (*bandsFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	hdr := make([]byte, bandsHeaderSize+4*cfg.NumBuckets)
	if _, err := io.ReadFull(f, hdr); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w: %v", path, errBands, err)
	}
	if string(hdr[:8]) != bandsMagic || int(binary.LittleEndian.Uint16(hdr[8:])) != cfg.NumBuckets ||
		int(binary.LittleEndian.Uint16(hdr[10:])) != cfg.HashesPerBucket {
		f.Close()
		return nil, fmt.Errorf("%s: %w: not a bands file of %d buckets × %d hashes", path, errBands, cfg.NumBuckets, cfg.HashesPerBucket)
	}
	bf := &bandsFile{f: f, path: path, cfg: cfg, records: int64(binary.LittleEndian.Uint64(hdr[16:]))}
	for b := range cfg.NumBuckets {
		bf.crcs = append(bf.crcs, binary.LittleEndian.Uint32(hdr[bandsHeaderSize+4*b:]))
	}
	st, err := f.Stat()
	if err == nil && st.Size() != int64(len(hdr))+int64(cfg.NumBuckets)*bf.records*int64(8*cfg.HashesPerBucket+4) {
		err = fmt.Errorf("%s: %w: %d bytes for %d records", path, errBands, st.Size(), bf.records)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return bf, nil
}

func (bf *bandsFile) close() { bf.f.Close() }

// scan calls fn with every record of bucket b's section (r.g is the row),
// and verifies the section's checksum at its end.
func (bf *bandsFile) scan(b int, fn func(r *bucketRec) error) error {
	h := bf.cfg.HashesPerBucket
	rs := int64(8*h + 4)
	off := int64(bandsHeaderSize+4*bf.cfg.NumBuckets) + int64(b)*bf.records*rs
	r := bufio.NewReaderSize(io.NewSectionReader(bf.f, off, bf.records*rs), 256<<10)
	buf := make([]byte, rs)
	var crc uint32
	var rec bucketRec
	for range bf.records {
		if _, err := io.ReadFull(r, buf); err != nil {
			return fmt.Errorf("%s: %w: %v", bf.path, errBands, err)
		}
		crc = crc32.Update(crc, castagnoli, buf)
		for i := range h {
			rec.h[i] = binary.LittleEndian.Uint64(buf[8*i:])
		}
		rec.g = binary.LittleEndian.Uint32(buf[8*h:])
		if err := fn(&rec); err != nil {
			return err
		}
	}
	if crc != bf.crcs[b] {
		return fmt.Errorf("%s: %w: bucket %d checksum mismatch", bf.path, errBands, b)
	}
	return nil
}
