package corpus

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// The band index is the state that makes builds incremental: for every
// dump and bucket, the bands of every document ever numbered (kept or
// removed), sorted by (band, document). A build looks its new documents'
// bands up in it, never re-reading old texts or signatures, then adds
// them as a new sorted level. Levels are merged as in a log-structured
// merge tree (a level is merged into the one before it while that one is
// at most twice its size), so a bucket has O(log documents) levels and a
// record is rewritten O(log documents) times over the dataset's life.
//
// A level is <name>.idx, its records in run format, and <name>.fence,
// every fenceEvery-th record, so that a lookup reads one block of the
// level instead of the whole of it.
const (
	levelExt   = ".idx"
	fenceExt   = ".fence"
	fenceEvery = 1024
)

// levelName names the level holding builds first..last.
func levelName(first, last int) string { return fmt.Sprintf("L%06d-%06d", first, last) }

// levelFirst is the first build of a level's name.
func levelFirst(name string) (int, error) {
	a, _, ok := strings.Cut(strings.TrimPrefix(name, "L"), "-")
	if !ok {
		return 0, fmt.Errorf("band index level %q: bad name", name)
	}
	return strconv.Atoi(a)
}

// levelWriter writes a level and its fences atomically.
type levelWriter struct {
	idx, fence *runWriter
	final      string // path without extension
	n          int64
}

func createLevel(dir, name string, h int) (*levelWriter, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	final := filepath.Join(dir, name)
	idx, err := createRun(final+levelExt+".tmp-", h)
	if err != nil {
		return nil, err
	}
	fence, err := createRun(final+fenceExt+".tmp-", h)
	if err != nil {
		idx.abort()
		return nil, err
	}
	return &levelWriter{idx: idx, fence: fence, final: final}, nil
}

func (w *levelWriter) write(r *bucketRec) error {
	if w.n%fenceEvery == 0 {
		if err := w.fence.write(r); err != nil {
			return err
		}
	}
	w.n++
	return w.idx.write(r)
}

func (w *levelWriter) abort() {
	w.idx.abort()
	w.fence.abort()
}

// close syncs both files and renames them into place (the fence file
// last: a level is complete when its fence file exists).
func (w *levelWriter) close() error {
	if err := w.idx.close(true); err != nil {
		w.fence.abort()
		return err
	}
	if err := w.fence.close(true); err != nil {
		return err
	}
	if err := os.Rename(w.idx.path, w.final+levelExt); err != nil {
		return err
	}
	return os.Rename(w.fence.path, w.final+fenceExt)
}

// levelReader answers lookups of ascending bands in one level.
type levelReader struct {
	f      *os.File
	h      int
	recs   int64
	fences []bucketRec
	block  []bucketRec
	bno    int64 // loaded block, -1 none
	buf    []byte
	reads  int64 // blocks read
}

func openLevel(dir string, lv Level, h int) (*levelReader, error) {
	base := filepath.Join(dir, lv.Name)
	f, err := os.Open(base + levelExt)
	if err != nil {
		return nil, fmt.Errorf("band index: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	rs := int64(8*h + 4)
	if st.Size() != lv.Records*rs {
		f.Close()
		return nil, fmt.Errorf("band index level %s: %d bytes, want %d records of %d", base, st.Size(), lv.Records, rs)
	}
	lr := &levelReader{f: f, h: h, recs: lv.Records, bno: -1, buf: make([]byte, fenceEvery*rs)}
	err = mergeRuns(context.Background(), []string{base + fenceExt}, h, false, func(r *bucketRec) error {
		lr.fences = append(lr.fences, *r)
		return nil
	})
	if err == nil && int64(len(lr.fences)) != (lv.Records+fenceEvery-1)/fenceEvery {
		err = fmt.Errorf("band index level %s: %d fences for %d records", base, len(lr.fences), lv.Records)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return lr, nil
}

func (lr *levelReader) close() { lr.f.Close() }

// fenceBytes is the memory a level's fences take.
func fenceBytes(lv Level) int64 { return (lv.Records/fenceEvery + 1) * recMemSize }

func cmpBand(a, b *[8]uint64) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

func (lr *levelReader) load(bno int64) error {
	if bno == lr.bno {
		return nil
	}
	rs := int64(8*lr.h + 4)
	n := min(int64(fenceEvery), lr.recs-bno*fenceEvery)
	buf := lr.buf[:n*rs]
	if _, err := lr.f.ReadAt(buf, bno*fenceEvery*rs); err != nil && err != io.EOF {
		return fmt.Errorf("band index %s: %w", lr.f.Name(), err)
	}
	lr.block = lr.block[:0]
	for k := int64(0); k < n; k++ {
		p := buf[k*rs:]
		var r bucketRec
		for i := range lr.h {
			r.h[i] = binary.LittleEndian.Uint64(p[8*i:])
		}
		r.g = binary.LittleEndian.Uint32(p[8*lr.h:])
		lr.block = append(lr.block, r)
	}
	lr.bno = bno
	lr.reads++
	return nil
}

// lookup returns the smallest document number with band h in the level.
// Bands must be looked up in ascending order for the block cache to pay.
func (lr *levelReader) lookup(h *[8]uint64) (uint32, bool, error) {
	// j: the last block whose first band is below h; the first record
	// with band >= h is in block j or is block j+1's first.
	j := int64(sort.Search(len(lr.fences), func(i int) bool { return cmpBand(&lr.fences[i].h, h) >= 0 })) - 1
	if j >= 0 {
		if err := lr.load(j); err != nil {
			return 0, false, err
		}
		k := sort.Search(len(lr.block), func(i int) bool { return cmpBand(&lr.block[i].h, h) >= 0 })
		if k < len(lr.block) {
			r := &lr.block[k]
			return r.g, r.h == *h, nil
		}
	}
	if next := j + 1; next < int64(len(lr.fences)) {
		r := &lr.fences[next]
		return r.g, r.h == *h, nil
	}
	return 0, false, nil
}
