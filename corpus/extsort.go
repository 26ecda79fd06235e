package corpus

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
)

// The external sort shared by `refine dedup` (Deduplicate) and the dataset
// build's bucket stage: band records are cut from signatures into per-band
// buffers, full buffers are sorted and spilled as runs, and runs are merged
// with a heap. A record is one document's band (HashesPerBucket values)
// and the document's number.

const (
	// engineReserve is kept out of the sort buffers for what the bound must
	// also cover: the binary's mapped text, runtime, stacks, I/O buffers,
	// the maps of the last phase. A further tenth of the rest is left to
	// the GC (measured: 10M documents under 2 GB peaked at 1% over the bound
	// with a 48 MiB reserve and no margin).
	engineReserve  = 128 << 20
	runReadBuffer  = 64 << 10
	runWriteBuffer = 256 << 10
	maxRows        = 1<<32 - 2
	recMemSize     = 72 // bytes of a bucketRec in memory
)

// bucketRec is one document's signature in one bucket.
type bucketRec struct {
	h [8]uint64
	g uint32
}

func cmpRec(a, b *bucketRec) int {
	for i := range a.h {
		if a.h[i] != b.h[i] {
			if a.h[i] < b.h[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case a.g < b.g:
		return -1
	case a.g > b.g:
		return 1
	}
	return 0
}

// runWriter writes records to a run file: per record, h little-endian
// uint64 then the uint32 document number.
type runWriter struct {
	path string
	f    *os.File
	w    *bufio.Writer
	buf  []byte
	h    int
	n    int64 // records written
}

func createRun(path string, h int) (*runWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("spill: %w", err)
	}
	return &runWriter{path: path, f: f, w: bufio.NewWriterSize(f, runWriteBuffer), buf: make([]byte, 8*h+4), h: h}, nil
}

func (w *runWriter) write(r *bucketRec) error {
	for i := range w.h {
		binary.LittleEndian.PutUint64(w.buf[8*i:], r.h[i])
	}
	binary.LittleEndian.PutUint32(w.buf[8*w.h:], r.g)
	w.n++
	if _, err := w.w.Write(w.buf); err != nil {
		return fmt.Errorf("spill %s: %w", w.path, err)
	}
	return nil
}

// close flushes and closes the file; with sync it is fsynced first (for
// files that outlive a crash).
func (w *runWriter) close(sync bool) error {
	err := w.w.Flush()
	if err == nil && sync {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("spill %s: %w", w.path, err)
	}
	return nil
}

// abort closes and removes a run that will not be completed.
func (w *runWriter) abort() {
	w.f.Close()
	os.Remove(w.path)
}

// writeRun writes the records produced by gen to path and returns the
// bytes written.
func writeRun(path string, h int, gen func(yield func(*bucketRec) error) error) (int64, error) {
	w, err := createRun(path, h)
	if err != nil {
		return 0, err
	}
	if err := gen(w.write); err != nil {
		w.abort()
		return 0, err
	}
	if err := w.close(false); err != nil {
		os.Remove(path)
		return 0, err
	}
	return w.n * int64(8*h+4), nil
}

// runReader streams one run file.
type runReader struct {
	f   *os.File
	r   *bufio.Reader
	buf []byte
	cur bucketRec
	h   int
}

func openRun(path string, h int) (*runReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open run: %w", err)
	}
	return &runReader{f: f, r: bufio.NewReaderSize(f, runReadBuffer), buf: make([]byte, 8*h+4), h: h}, nil
}

// next loads the following record; false at the end of the run.
func (rr *runReader) next() (bool, error) {
	if _, err := io.ReadFull(rr.r, rr.buf); err != nil {
		if err == io.EOF {
			return false, nil
		}
		return false, fmt.Errorf("read run %s: %w", rr.f.Name(), err)
	}
	for i := range rr.h {
		rr.cur.h[i] = binary.LittleEndian.Uint64(rr.buf[8*i:])
	}
	rr.cur.g = binary.LittleEndian.Uint32(rr.buf[8*rr.h:])
	return true, nil
}

// mergeRuns merges sorted runs into one sorted stream. With remove, the
// runs are deleted afterwards (spill files); index levels are kept.
func mergeRuns(ctx context.Context, runs []string, h int, remove bool, out func(*bucketRec) error) error {
	var heap []*runReader
	defer func() {
		for _, rr := range heap {
			rr.f.Close()
		}
		if remove {
			for _, p := range runs {
				os.Remove(p)
			}
		}
	}()
	for _, p := range runs {
		rr, err := openRun(p, h)
		if err != nil {
			return err
		}
		ok, err := rr.next()
		if err != nil {
			rr.f.Close()
			return err
		}
		if !ok {
			rr.f.Close()
			continue
		}
		heap = append(heap, rr)
	}
	less := func(i, j int) bool { return cmpRec(&heap[i].cur, &heap[j].cur) < 0 }
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= len(heap) {
				return
			}
			m := l
			if r := l + 1; r < len(heap) && less(r, l) {
				m = r
			}
			if !less(m, i) {
				return
			}
			heap[i], heap[m] = heap[m], heap[i]
			i = m
		}
	}
	for i := len(heap)/2 - 1; i >= 0; i-- {
		down(i)
	}
	for n := 0; len(heap) > 0; n++ {
		if n&0xfffff == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		top := heap[0]
		if err := out(&top.cur); err != nil {
			return err
		}
		ok, err := top.next()
		if err != nil {
			return err
		}
		if !ok {
			top.f.Close()
			heap[0] = heap[len(heap)-1]
			heap = heap[:len(heap)-1]
		}
		down(0)
	}
	return nil
}

// mergeDown merges runs in rounds of at most fanIn files until at most
// fanIn remain, so that the final merge's readers fit in memory. Merged
// runs are deleted; the returned runs are the survivors.
func mergeDown(ctx context.Context, runs []string, h, fanIn int, tmp, prefix string) ([]string, error) {
	for round := 0; len(runs) > fanIn; round++ {
		var next []string
		for i := 0; i < len(runs); i += fanIn {
			group := runs[i:min(i+fanIn, len(runs))]
			path := filepath.Join(tmp, fmt.Sprintf("%s-r%d-%06d.run", prefix, round, i))
			_, err := writeRun(path, h, func(yield func(*bucketRec) error) error {
				return mergeRuns(ctx, group, h, true, yield)
			})
			if err != nil {
				return nil, err
			}
			next = append(next, path)
		}
		runs = next
	}
	return runs, nil
}

// spiller cuts records into per-slot buffers; a full buffer is sorted and
// written as a run by a worker while reading goes on. At most
// slots+workers buffers of perBuf records exist.
type spiller struct {
	ctx     context.Context
	cancel  context.CancelCauseFunc
	h       int
	perBuf  int
	tmp     string
	prefix  string
	cur     [][]bucketRec
	jobs    chan spillJob
	free    chan []bucketRec
	wg      sync.WaitGroup
	mu      sync.Mutex
	runs    [][]string
	seq     int
	files   int
	spilled int64
}

type spillJob struct {
	slot int
	recs []bucketRec
}

func newSpiller(ctx context.Context, slots, h, perBuf, workers int, tmp, prefix string) *spiller {
	ctx, cancel := context.WithCancelCause(ctx)
	s := &spiller{
		ctx: ctx, cancel: cancel, h: h, perBuf: perBuf, tmp: tmp, prefix: prefix,
		cur:  make([][]bucketRec, slots),
		jobs: make(chan spillJob),
		free: make(chan []bucketRec, slots+workers), // room for every buffer: never blocks a worker
		runs: make([][]string, slots),
	}
	for range workers {
		s.free <- nil // allocated on first use
	}
	for range workers {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for j := range s.jobs {
				if s.ctx.Err() == nil {
					if err := s.writeRun(j.slot, j.recs); err != nil {
						s.cancel(err)
					}
				}
				s.free <- j.recs[:0]
			}
		}()
	}
	return s
}

func (s *spiller) take() ([]bucketRec, error) {
	select {
	case buf := <-s.free:
		if buf == nil {
			buf = make([]bucketRec, 0, s.perBuf)
		}
		return buf, nil
	case <-s.ctx.Done():
		return nil, context.Cause(s.ctx)
	}
}

func (s *spiller) flush(slot int) error {
	next, err := s.take()
	if err != nil {
		return err
	}
	select {
	case s.jobs <- spillJob{slot, s.cur[slot]}:
	case <-s.ctx.Done():
		return context.Cause(s.ctx)
	}
	s.cur[slot] = next
	return nil
}

// add appends one record to a slot's buffer. Not safe for concurrent use.
func (s *spiller) add(slot int, r *bucketRec) error {
	if s.cur[slot] == nil {
		s.cur[slot] = make([]bucketRec, 0, s.perBuf)
	}
	s.cur[slot] = append(s.cur[slot], *r)
	if len(s.cur[slot]) == s.perBuf {
		return s.flush(slot)
	}
	return nil
}

// finish spills what is left, waits for the workers and returns every
// slot's runs (in the order they were cut), freeing the buffers.
func (s *spiller) finish(err error) ([][]string, error) {
	if err == nil {
		for slot := range s.cur {
			if len(s.cur[slot]) > 0 {
				select {
				case s.jobs <- spillJob{slot, s.cur[slot]}:
				case <-s.ctx.Done():
					err = context.Cause(s.ctx)
				}
				if err != nil {
					break
				}
			}
			s.cur[slot] = nil
		}
	}
	close(s.jobs)
	s.wg.Wait()
	if err == nil {
		err = context.Cause(s.ctx) // a worker's failure
	}
	s.cancel(nil)
	close(s.free)
	for range s.free {
	}
	s.cur = nil
	// Hand the sort buffers back before the merge.
	runtime.GC()
	debug.FreeOSMemory()
	if err != nil {
		for _, rs := range s.runs {
			for _, p := range rs {
				os.Remove(p)
			}
		}
		return nil, err
	}
	return s.runs, nil
}

// writeRun sorts one buffer and spills it. The order of a slot's runs
// does not matter: (band, document) keys are unique, so every merge of
// them gives the same stream.
func (s *spiller) writeRun(slot int, recs []bucketRec) error {
	slices.SortFunc(recs, func(a, b bucketRec) int { return cmpRec(&a, &b) })
	s.mu.Lock()
	path := filepath.Join(s.tmp, fmt.Sprintf("%s-s%03d-%06d.run", s.prefix, slot, s.seq))
	s.seq++
	s.mu.Unlock()
	n, err := writeRun(path, s.h, func(yield func(*bucketRec) error) error {
		for i := range recs {
			if err := yield(&recs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.runs[slot] = append(s.runs[slot], path)
	s.files++
	s.spilled += n
	s.mu.Unlock()
	return nil
}
