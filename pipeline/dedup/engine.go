package dedup

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"time"
)

// EngineOptions configures cross-dataset deduplication.
type EngineOptions struct {
	// Memory bounds the engine's buffers and tables, in bytes. The union-find
	// takes 4 bytes per shard row and 128 MiB are reserved; 90% of the rest
	// goes to sort buffers, and the input is spilled to TempDir in sorted
	// runs whatever its size. Callers should also set the GC limit
	// (debug.SetMemoryLimit) a little under Memory, as refine dedup does.
	Memory int64
	// TempDir receives the spill files (removed when done). Required.
	TempDir string
	// Workers sorts and merges buckets in parallel (default GOMAXPROCS).
	Workers int
	// Signer gives the configuration every signature file must have and
	// recomputes signatures for shards whose file is missing or corrupt.
	Signer *Signer
	// Texts re-reads shards to recompute their signatures; nil: a missing
	// or corrupt signature file is an error.
	Texts TextSource
	// Progress, if set, is called from the engine's goroutines (serially).
	Progress func(Progress)

	// Test knobs: cap the records of a sort buffer and the merge fan-in to
	// force spills and merge rounds on small inputs.
	maxBufferRecords int
	maxFanIn         int
}

// Progress reports one phase's advance.
type Progress struct {
	Phase string // "open", "scan", "merge", "cluster", "write"
	Done  int64
	Total int64
}

// Removal is one removed document and the document kept in its place.
type Removal struct {
	Dataset     string `json:"dataset"`
	Shard       string `json:"shard"`
	Row         int64  `json:"row"`
	ID          string `json:"id"`
	KeptDataset string `json:"kept_dataset"`
	KeptShard   string `json:"kept_shard"`
	KeptRow     int64  `json:"kept_row"`
	KeptID      string `json:"kept_id"`
}

// Stats describes a cross-dataset run.
type Stats struct {
	Datasets          []DatasetStats     `json:"datasets"`
	Shards            int                `json:"shards"`
	Documents         int64              `json:"documents"`
	WithSignature     int64              `json:"with_signature"`
	MatchesPerBucket  []int64            `json:"matches_per_bucket"`
	Matches           int64              `json:"matches"`
	Clusters          int64              `json:"clusters"`
	InClusters        int64              `json:"documents_in_clusters"`
	LargestCluster    int64              `json:"largest_cluster"`
	ClusterSizes      map[string]int64   `json:"cluster_sizes"`
	Removed           int64              `json:"removed"`
	RemovedCross      int64              `json:"removed_for_other_dataset"`
	RecomputedShards  []string           `json:"recomputed_shards,omitempty"`
	RunFiles          int                `json:"run_files"`
	SpilledBytes      int64              `json:"spilled_bytes"`
	MemoryBound       int64              `json:"memory_bound"`
	SortBufferRecords int                `json:"sort_buffer_records"`
	Seconds           map[string]float64 `json:"seconds"`
}

// DatasetStats is one input dataset's share.
type DatasetStats struct {
	Name          string `json:"name"`
	Shards        int    `json:"shards"`
	Documents     int64  `json:"documents"`
	WithSignature int64  `json:"with_signature"`
	Removed       int64  `json:"removed"`
	Kept          int64  `json:"kept"`
}

// A signature file of the run, with the position of its first row in the
// global document numbering (dataset order, shard order, row).
type sigInput struct {
	dataset  int
	ds       Dataset
	shard    Shard
	path     string
	rowBase  uint32
	rows     int64
	records  int64
	redone   bool
	tempPath bool
}

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

type engine struct {
	opts     EngineOptions
	datasets []Dataset
	cfg      Config
	inputs   []*sigInput
	rows     int64
	records  int64
	stats    *Stats
	tmp      string

	progMu sync.Mutex

	runsMu sync.Mutex
	runs   [][]string
	runSeq int
}

// Deduplicate finds near-duplicates across datasets, given in submission
// order, and calls emit for every removed document in (dataset, shard, row)
// order. The earliest document of every cluster survives: earliest
// dataset, then shard, then row. The result does not depend on Workers or
// Memory.
func Deduplicate(ctx context.Context, datasets []Dataset, opts EngineOptions, emit func(Removal) error) (*Stats, error) {
	if opts.Signer == nil {
		return nil, fmt.Errorf("dedup: no signer")
	}
	if opts.TempDir == "" {
		return nil, fmt.Errorf("dedup: no temporary folder")
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	cfg := opts.Signer.Config()
	if cfg.HashesPerBucket > 8 {
		return nil, fmt.Errorf("dedup: %d hashes per bucket, the engine supports up to 8", cfg.HashesPerBucket)
	}
	tmp, err := os.MkdirTemp(opts.TempDir, "refine-dedup-")
	if err != nil {
		return nil, fmt.Errorf("dedup: temporary folder: %w", err)
	}
	defer os.RemoveAll(tmp)
	e := &engine{
		opts: opts, datasets: datasets, cfg: cfg, tmp: tmp,
		runs: make([][]string, cfg.NumBuckets),
		stats: &Stats{
			MatchesPerBucket: make([]int64, cfg.NumBuckets),
			ClusterSizes:     map[string]int64{},
			MemoryBound:      opts.Memory,
			Seconds:          map[string]float64{},
		},
	}
	phase := func(name string, f func(context.Context) error) error {
		start := time.Now()
		err := f(ctx)
		e.stats.Seconds[name] = time.Since(start).Seconds()
		return err
	}
	if err := phase("open", e.open); err != nil {
		return nil, err
	}
	sortMem := (opts.Memory - engineReserve - 4*e.rows) / 10 * 9
	perBuf := sortMem / int64(cfg.NumBuckets+opts.Workers) / recMemSize
	if perBuf < 1024 {
		return nil, fmt.Errorf("dedup: memory bound %d bytes too small for %d documents (the union-find alone needs %d bytes, plus %d reserved)",
			opts.Memory, e.rows, 4*e.rows, engineReserve)
	}
	perBuf = min(perBuf, max(e.records, 1))
	if opts.maxBufferRecords > 0 {
		perBuf = min(perBuf, int64(opts.maxBufferRecords))
	}
	e.stats.SortBufferRecords = int(perBuf)
	if err := phase("scan", func(ctx context.Context) error { return e.scatter(ctx, int(perBuf)) }); err != nil {
		return nil, err
	}
	fanIn := max(2, int(sortMem/int64(opts.Workers)/runReadBuffer))
	if opts.maxFanIn > 0 {
		fanIn = min(fanIn, opts.maxFanIn)
	}
	pairs := make([]string, cfg.NumBuckets)
	if err := phase("merge", func(ctx context.Context) error { return e.mergeAll(ctx, fanIn, pairs) }); err != nil {
		return nil, err
	}
	var uf *earliestUnion
	if err := phase("cluster", func(ctx context.Context) (err error) { uf, err = e.cluster(ctx, pairs); return err }); err != nil {
		return nil, err
	}
	if err := phase("write", func(ctx context.Context) error { return e.write(ctx, uf, emit) }); err != nil {
		return nil, err
	}
	return e.stats, nil
}

func (e *engine) progress(p Progress) {
	if e.opts.Progress == nil {
		return
	}
	e.progMu.Lock()
	defer e.progMu.Unlock()
	e.opts.Progress(p)
}

// open lists every shard, checks its signature file and numbers the rows.
// Files that are missing or fail their checks are recomputed from the
// shard's texts when a TextSource is set; otherwise all of them are
// reported together.
func (e *engine) open(ctx context.Context) error {
	var bad []error
	var all []*sigInput
	for di, ds := range e.datasets {
		shards, err := ds.Shards(ctx)
		if err != nil {
			return fmt.Errorf("dedup: %w", err)
		}
		e.stats.Datasets = append(e.stats.Datasets, DatasetStats{Name: ds.Name(), Shards: len(shards)})
		for _, sh := range shards {
			all = append(all, &sigInput{dataset: di, ds: ds, shard: sh, path: sh.SigPath})
		}
	}
	for i, in := range all {
		e.progress(Progress{Phase: "open", Done: int64(i), Total: int64(len(all))})
		if err := e.check(in); err != nil {
			if e.opts.Texts == nil {
				bad = append(bad, err)
				continue
			}
			if err := e.recompute(ctx, in); err != nil {
				return err
			}
		}
		if e.rows+in.rows > maxRows {
			return fmt.Errorf("dedup: more than %d documents in one run", int64(maxRows))
		}
		in.rowBase = uint32(e.rows)
		e.rows += in.rows
		e.records += in.records
		ds := &e.stats.Datasets[in.dataset]
		ds.Documents += in.rows
		ds.WithSignature += in.records
	}
	if len(bad) > 0 {
		return fmt.Errorf("dedup: %d signature file(s) missing or corrupt and no text source to recompute them: %w", len(bad), errors.Join(bad...))
	}
	e.inputs = all
	e.stats.Shards = len(all)
	e.stats.Documents = e.rows
	e.stats.WithSignature = e.records
	return nil
}

// check opens a signature file and compares its configuration.
func (e *engine) check(in *sigInput) error {
	s, err := OpenSigFile(in.path)
	if err != nil {
		return fmt.Errorf("dataset %s shard %s: %w", in.ds.Name(), in.shard.Name, err)
	}
	defer s.Close()
	if s.Config != e.cfg {
		return fmt.Errorf("dataset %s shard %s: signature file made with %+v, want %+v", in.ds.Name(), in.shard.Name, s.Config, e.cfg)
	}
	in.rows, in.records = s.Rows, s.Records
	return nil
}

// recompute writes a fresh signature file for in's shard into the
// temporary folder (inputs are never modified) and switches in to it.
func (e *engine) recompute(ctx context.Context, in *sigInput) error {
	path := filepath.Join(e.tmp, fmt.Sprintf("recomputed-%d.minhash.sig", len(e.stats.RecomputedShards)))
	err := WriteSigFile(path, e.cfg, func(sw *SigWriter) error {
		return e.opts.Texts.Texts(ctx, in.ds, in.shard, func(row int64, id, text string) error {
			return sw.Add(row, id, e.opts.Signer.Sign(text))
		})
	})
	if err != nil {
		return fmt.Errorf("dedup: recompute signatures of dataset %s shard %s: %w", in.ds.Name(), in.shard.Name, err)
	}
	oldRows, hadRows := in.rows, in.redone || in.rows > 0
	in.path, in.redone, in.tempPath = path, true, true
	if err := e.check(in); err != nil {
		return fmt.Errorf("dedup: recomputed signatures: %w", err)
	}
	if hadRows && in.rows != oldRows {
		return fmt.Errorf("dedup: dataset %s shard %s: %d rows in its signature file, %d in the shard", in.ds.Name(), in.shard.Name, oldRows, in.rows)
	}
	e.stats.RecomputedShards = append(e.stats.RecomputedShards, in.ds.Name()+"/"+in.shard.Name)
	return nil
}

// scatter reads every signature file once and cuts each signature into
// its buckets; full bucket buffers are sorted and written as runs by the
// workers while reading goes on. At most NumBuckets+Workers buffers exist.
func (e *engine) scatter(ctx context.Context, perBuf int) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	nb, h := e.cfg.NumBuckets, e.cfg.HashesPerBucket
	type job struct {
		bucket int
		recs   []bucketRec
	}
	jobs := make(chan job)
	free := make(chan []bucketRec, nb+e.opts.Workers) // room for every buffer: never blocks a worker
	for range e.opts.Workers {
		free <- nil // allocated on first use
	}
	var wg sync.WaitGroup
	for range e.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if ctx.Err() == nil {
					if err := e.writeRun(j.bucket, j.recs); err != nil {
						cancel(err)
					}
				}
				free <- j.recs[:0]
			}
		}()
	}
	cur := make([][]bucketRec, nb)
	take := func() ([]bucketRec, error) {
		select {
		case buf := <-free:
			if buf == nil {
				buf = make([]bucketRec, 0, perBuf)
			}
			return buf, nil
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
	flush := func(b int) error {
		next, err := take()
		if err != nil {
			return err
		}
		select {
		case jobs <- job{b, cur[b]}:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		cur[b] = next
		return nil
	}
	var scanned int64
	scanFile := func(in *sigInput) error {
		s, err := OpenSigFile(in.path)
		if err != nil {
			return err
		}
		defer s.Close()
		return s.ScanSignatures(func(_, row int64, sig Signature) error {
			g := in.rowBase + uint32(row)
			for b := range nb {
				if cur[b] == nil {
					cur[b] = make([]bucketRec, 0, perBuf)
				}
				r := bucketRec{g: g}
				copy(r.h[:h], sig[b*h:(b+1)*h])
				cur[b] = append(cur[b], r)
				if len(cur[b]) == perBuf {
					if err := flush(b); err != nil {
						return err
					}
				}
			}
			scanned++
			if scanned&0xffff == 0 {
				e.progress(Progress{Phase: "scan", Done: scanned, Total: e.records})
			}
			return nil
		})
	}
	err := func() error {
		for _, in := range e.inputs {
			err := scanFile(in)
			if errors.Is(err, ErrCorrupt) && e.opts.Texts != nil && !in.redone {
				// The blocks passed on so far were intact; rescanning the
				// whole recomputed shard repeats their records with the
				// same document numbers, which pairs a document with
				// itself only, and is skipped when merging.
				if err = e.recompute(ctx, in); err == nil {
					err = scanFile(in)
				}
			}
			if err != nil {
				return fmt.Errorf("dedup: dataset %s shard %s: %w", in.ds.Name(), in.shard.Name, err)
			}
		}
		for b := range nb {
			if len(cur[b]) > 0 {
				select {
				case jobs <- job{b, cur[b]}:
				case <-ctx.Done():
					return context.Cause(ctx)
				}
			}
			cur[b] = nil
		}
		return nil
	}()
	close(jobs)
	wg.Wait()
	if err == nil {
		err = context.Cause(ctx) // a worker's failure
	}
	e.progress(Progress{Phase: "scan", Done: scanned, Total: e.records})
	// Hand the sort buffers back before the merge and the union-find.
	close(free)
	for range free {
	}
	cur = nil
	runtime.GC()
	debug.FreeOSMemory()
	return err
}

// writeRun sorts one bucket buffer and spills it.
func (e *engine) writeRun(bucket int, recs []bucketRec) error {
	slices.SortFunc(recs, func(a, b bucketRec) int { return cmpRec(&a, &b) })
	e.runsMu.Lock()
	path := filepath.Join(e.tmp, fmt.Sprintf("b%03d-%06d.run", bucket, e.runSeq))
	e.runSeq++
	e.runsMu.Unlock()
	n, err := e.writeRecs(path, func(yield func(*bucketRec) error) error {
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
	e.runsMu.Lock()
	e.runs[bucket] = append(e.runs[bucket], path)
	e.stats.RunFiles++
	e.stats.SpilledBytes += n
	e.runsMu.Unlock()
	return nil
}

// writeRecs writes the records produced by gen to a run file: per record,
// HashesPerBucket little-endian uint64 then the uint32 document number.
func (e *engine) writeRecs(path string, gen func(yield func(*bucketRec) error) error) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, fmt.Errorf("dedup: spill: %w", err)
	}
	w := bufio.NewWriterSize(f, runWriteBuffer)
	h := e.cfg.HashesPerBucket
	buf := make([]byte, 8*h+4)
	var n int64
	err = gen(func(r *bucketRec) error {
		for i := range h {
			binary.LittleEndian.PutUint64(buf[8*i:], r.h[i])
		}
		binary.LittleEndian.PutUint32(buf[8*h:], r.g)
		n += int64(len(buf))
		_, err := w.Write(buf)
		return err
	})
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("dedup: spill %s: %w", path, err)
	}
	return n, nil
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
		return nil, fmt.Errorf("dedup: open run: %w", err)
	}
	return &runReader{f: f, r: bufio.NewReaderSize(f, runReadBuffer), buf: make([]byte, 8*h+4), h: h}, nil
}

// next loads the following record; false at the end of the run.
func (rr *runReader) next() (bool, error) {
	if _, err := io.ReadFull(rr.r, rr.buf); err != nil {
		if err == io.EOF {
			return false, nil
		}
		return false, fmt.Errorf("dedup: read run %s: %w", rr.f.Name(), err)
	}
	for i := range rr.h {
		rr.cur.h[i] = binary.LittleEndian.Uint64(rr.buf[8*i:])
	}
	rr.cur.g = binary.LittleEndian.Uint32(rr.buf[8*rr.h:])
	return true, nil
}

// mergeRuns merges sorted runs into one sorted stream and deletes them.
func (e *engine) mergeRuns(ctx context.Context, runs []string, out func(*bucketRec) error) error {
	var heap []*runReader
	defer func() {
		for _, rr := range heap {
			rr.f.Close()
		}
		for _, p := range runs {
			os.Remove(p)
		}
	}()
	for _, p := range runs {
		rr, err := openRun(p, e.cfg.HashesPerBucket)
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

// mergeAll merges every bucket's runs (buckets in parallel) into the
// bucket's duplicate pairs: neighbours in (signature, document) order with
// equal signatures, as datatrove's MinhashDedupBuckets writes them.
func (e *engine) mergeAll(ctx context.Context, fanIn int, pairs []string) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	buckets := make(chan int)
	var wg sync.WaitGroup
	var done int64
	for range e.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range buckets {
				if ctx.Err() != nil {
					continue
				}
				path, matches, err := e.mergeBucket(ctx, b, fanIn)
				if err != nil {
					cancel(err)
					continue
				}
				e.runsMu.Lock()
				pairs[b] = path
				e.stats.MatchesPerBucket[b] = matches
				e.stats.Matches += matches
				done++
				d := done
				e.runsMu.Unlock()
				e.progress(Progress{Phase: "merge", Done: d, Total: int64(e.cfg.NumBuckets)})
			}
		}()
	}
	for b := range e.cfg.NumBuckets {
		select {
		case buckets <- b:
		case <-ctx.Done():
		}
	}
	close(buckets)
	wg.Wait()
	return context.Cause(ctx)
}

func (e *engine) mergeBucket(ctx context.Context, b, fanIn int) (string, int64, error) {
	runs := e.runs[b]
	// Merge in rounds while there are more runs than readers fit in memory.
	for round := 0; len(runs) > fanIn; round++ {
		var next []string
		for i := 0; i < len(runs); i += fanIn {
			group := runs[i:min(i+fanIn, len(runs))]
			path := filepath.Join(e.tmp, fmt.Sprintf("b%03d-r%d-%06d.run", b, round, i))
			_, err := e.writeRecs(path, func(yield func(*bucketRec) error) error {
				return e.mergeRuns(ctx, group, yield)
			})
			if err != nil {
				return "", 0, err
			}
			next = append(next, path)
		}
		runs = next
	}
	path := filepath.Join(e.tmp, fmt.Sprintf("b%03d.pairs", b))
	f, err := os.Create(path)
	if err != nil {
		return "", 0, fmt.Errorf("dedup: pairs: %w", err)
	}
	w := bufio.NewWriterSize(f, runWriteBuffer)
	var last bucketRec
	have := false
	var matches int64
	var pair [8]byte
	err = e.mergeRuns(ctx, runs, func(r *bucketRec) error {
		if have && last.h == r.h && last.g != r.g {
			binary.LittleEndian.PutUint32(pair[:4], last.g)
			binary.LittleEndian.PutUint32(pair[4:], r.g)
			if _, err := w.Write(pair[:]); err != nil {
				return err
			}
			matches++
		}
		last, have = *r, true
		return nil
	})
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", 0, fmt.Errorf("dedup: bucket %d: %w", b, err)
	}
	return path, matches, nil
}

// cluster joins the pairs of all buckets; every set's smallest document
// number, the earliest document, is its root.
func (e *engine) cluster(ctx context.Context, pairs []string) (*earliestUnion, error) {
	uf := newEarliestUnion(int(e.rows))
	for b, path := range pairs {
		e.progress(Progress{Phase: "cluster", Done: int64(b), Total: int64(len(pairs))})
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("dedup: pairs: %w", err)
		}
		r := bufio.NewReaderSize(f, runReadBuffer)
		var pair [8]byte
		for {
			if _, err = io.ReadFull(r, pair[:]); err != nil {
				break
			}
			uf.union(binary.LittleEndian.Uint32(pair[:4]), binary.LittleEndian.Uint32(pair[4:]))
		}
		f.Close()
		os.Remove(path)
		if err != io.EOF {
			return nil, fmt.Errorf("dedup: read pairs %s: %w", path, err)
		}
	}
	return uf, nil
}

// clusterSizeClass names the histogram bin of a cluster size.
func clusterSizeClass(n int64) string {
	switch {
	case n <= 4:
		return fmt.Sprint(n)
	case n < 10:
		return "5-9"
	case n < 100:
		return "10-99"
	case n < 1000:
		return "100-999"
	}
	return "1000+"
}

type keptDoc struct {
	in  *sigInput
	row int64
	id  string
}

// write compresses the union-find, counts clusters, then streams every
// file's refs in document order: roots of clusters are remembered until
// their last member has been emitted (a root always comes first).
func (e *engine) write(ctx context.Context, uf *earliestUnion, emit func(Removal) error) error {
	members := map[uint32]uint32{}
	for g := uint32(0); g < uint32(e.rows); g++ {
		if r := uf.find(g); r != g {
			members[r]++
		}
	}
	for _, m := range members {
		size := int64(m) + 1
		e.stats.Clusters++
		e.stats.InClusters += size
		e.stats.Removed += int64(m)
		e.stats.ClusterSizes[clusterSizeClass(size)]++
		e.stats.LargestCluster = max(e.stats.LargestCluster, size)
	}
	kept := map[uint32]keptDoc{}
	for i, in := range e.inputs {
		e.progress(Progress{Phase: "write", Done: int64(i), Total: int64(len(e.inputs))})
		if err := ctx.Err(); err != nil {
			return err
		}
		s, err := OpenSigFile(in.path)
		if err != nil {
			return fmt.Errorf("dedup: %w", err)
		}
		err = s.ScanRefs(func(_ int64, ref Ref) error {
			g := in.rowBase + uint32(ref.Row)
			root := uf.parent[g]
			if root == g {
				if _, ok := members[g]; ok {
					kept[g] = keptDoc{in: in, row: ref.Row, id: ref.ID}
				}
				return nil
			}
			k, ok := kept[root]
			if !ok {
				return fmt.Errorf("dedup: document %d's cluster root %d not seen first", g, root)
			}
			e.stats.Datasets[in.dataset].Removed++
			if k.in.dataset != in.dataset {
				e.stats.RemovedCross++
			}
			if members[root]--; members[root] == 0 {
				delete(members, root)
				delete(kept, root)
			}
			return emit(Removal{
				Dataset: in.ds.Name(), Shard: in.shard.Name, Row: ref.Row, ID: ref.ID,
				KeptDataset: k.in.ds.Name(), KeptShard: k.in.shard.Name, KeptRow: k.row, KeptID: k.id,
			})
		})
		s.Close()
		if err != nil {
			return err
		}
	}
	for i := range e.stats.Datasets {
		d := &e.stats.Datasets[i]
		d.Kept = d.Documents - d.Removed
	}
	e.progress(Progress{Phase: "write", Done: int64(len(e.inputs)), Total: int64(len(e.inputs))})
	return nil
}
