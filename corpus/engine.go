package corpus

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
	"sync"
	"time"

	"github.com/datarefine/refine/pipeline/dedup"
)

// EngineOptions configures cross-dataset deduplication (`refine dedup`).
type EngineOptions struct {
	// Memory bounds the engine's buffers and tables, in bytes. The union-find
	// takes 4 bytes per shard row and 128 MiB are reserved; 90% of the rest
	// goes to sort buffers, and the input is spilled to TempDir in sorted
	// runs whatever its size. Callers should also set the GC limit
	// a little under Memory (SetGCLimit), as refine dedup does.
	Memory int64
	// TempDir receives the spill files (removed when done). Required.
	TempDir string
	// Workers recompute signatures, sort and merge buckets in parallel
	// (default GOMAXPROCS).
	Workers int
	// MinHasher gives the configuration every signature file must have and
	// computes signatures from texts.
	MinHasher *dedup.MinHasher
	// Texts re-reads shards. Required unless TrustSignatures.
	Texts TextSource
	// TrustSignatures uses the datasets' signature files instead of
	// recomputing every shard's signatures from its texts. Signature files
	// come from whoever made the dataset: a forged file can make the
	// engine delete honest documents (docs/mechanism.md), so only trust the
	// files of datasets you made. With a Texts that also lists ids
	// (IDLister), each trusted file is checked against its shard (row count
	// and the id of every row it signs); a missing or corrupt file is
	// recomputed from Texts unless NoRecompute (or Texts is nil), which
	// makes such files an error naming every one.
	TrustSignatures bool
	NoRecompute     bool
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
	TrustedSignatures bool               `json:"trusted_signatures"`
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
	dataset int
	ds      Dataset
	shard   Shard
	path    string
	rowBase uint32
	rows    int64
	records int64
	redone  bool
}

type engine struct {
	opts     EngineOptions
	datasets []Dataset
	cfg      dedup.Config
	inputs   []*sigInput
	rows     int64
	records  int64
	stats    *Stats
	tmp      string

	progMu sync.Mutex
	mu     sync.Mutex
}

// Deduplicate finds near-duplicates across datasets, given in submission
// order, and calls emit for every removed document in (dataset, shard, row)
// order. The earliest document of every cluster survives: earliest
// dataset, then shard, then row. The result does not depend on Workers or
// Memory.
func Deduplicate(ctx context.Context, datasets []Dataset, opts EngineOptions, emit func(Removal) error) (*Stats, error) {
	if opts.MinHasher == nil {
		return nil, fmt.Errorf("dedup: no signer")
	}
	if opts.TempDir == "" {
		return nil, fmt.Errorf("dedup: no temporary folder")
	}
	if !opts.TrustSignatures && opts.Texts == nil {
		return nil, fmt.Errorf("dedup: no text source to compute signatures from (or trust the signature files)")
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	cfg := opts.MinHasher.Config()
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
		stats: &Stats{
			MatchesPerBucket:  make([]int64, cfg.NumBuckets),
			ClusterSizes:      map[string]int64{},
			MemoryBound:       opts.Memory,
			TrustedSignatures: opts.TrustSignatures,
			Seconds:           map[string]float64{},
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
	var runs [][]string
	if err := phase("scan", func(ctx context.Context) (err error) { runs, err = e.scatter(ctx, int(perBuf)); return err }); err != nil {
		return nil, err
	}
	fanIn := max(2, int(sortMem/int64(opts.Workers)/runReadBuffer))
	if opts.maxFanIn > 0 {
		fanIn = min(fanIn, opts.maxFanIn)
	}
	pairs := make([]string, cfg.NumBuckets)
	if err := phase("merge", func(ctx context.Context) error { return e.mergeAll(ctx, runs, fanIn, pairs) }); err != nil {
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

// open lists every shard and gets its signature file: recomputed from the
// shard's texts (untrusted inputs, the default), or the dataset's own file,
// checked against the shard where ids can be listed. Shards are handled by
// Workers goroutines; the numbering follows the input order.
func (e *engine) open(ctx context.Context) error {
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
	errs := make([]error, len(all))
	var done int64
	err := forEach(ctx, len(all), e.opts.Workers, func(ctx context.Context, i int) error {
		err := e.prepare(ctx, i, all[i])
		e.mu.Lock()
		done++
		d := done
		e.mu.Unlock()
		e.progress(Progress{Phase: "open", Done: d, Total: int64(len(all))})
		if err != nil && e.opts.TrustSignatures {
			errs[i] = err // gather every bad file for one message
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	if bad := errors.Join(errs...); bad != nil {
		n := 0
		for _, err := range errs {
			if err != nil {
				n++
			}
		}
		return fmt.Errorf("dedup: %d signature file(s) unusable: %w", n, bad)
	}
	for _, in := range all {
		if in.redone {
			e.stats.RecomputedShards = append(e.stats.RecomputedShards, in.ds.Name()+"/"+in.shard.Name)
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
	e.inputs = all
	e.stats.Shards = len(all)
	e.stats.Documents = e.rows
	e.stats.WithSignature = e.records
	return nil
}

// prepare makes shard i's signature file usable: recomputed, or trusted
// and checked.
func (e *engine) prepare(ctx context.Context, i int, in *sigInput) error {
	if !e.opts.TrustSignatures {
		return e.recompute(ctx, i, in)
	}
	err := e.check(in)
	if err == nil {
		if ids, ok := e.opts.Texts.(IDLister); ok {
			return checkAgainstShard(ctx, ids, in)
		}
		return nil
	}
	if !e.canRecompute() {
		return err
	}
	return e.recompute(ctx, i, in)
}

// canRecompute says whether a bad trusted file may be replaced.
func (e *engine) canRecompute() bool { return e.opts.Texts != nil && !e.opts.NoRecompute }

// check opens a signature file and compares its configuration.
func (e *engine) check(in *sigInput) error {
	s, err := dedup.OpenSigFile(in.path)
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

// checkAgainstShard compares a trusted signature file with its shard: the
// same number of rows, and every signed row's id equal to the shard's id
// at that row. A file carrying another shard's rows (a forgery that would
// remove honest documents elsewhere) fails here.
func checkAgainstShard(ctx context.Context, ids IDLister, in *sigInput) error {
	s, err := dedup.OpenSigFile(in.path)
	if err != nil {
		return err
	}
	var refs []dedup.Ref
	err = s.ScanRefs(func(_ int64, r dedup.Ref) error { refs = append(refs, r); return nil })
	s.Close()
	if err != nil {
		return err
	}
	var row int64
	k := 0
	err = ids.IDs(ctx, in.ds, in.shard, func(r int64, id string) error {
		if r != row {
			return fmt.Errorf("row %d listed after %d", r, row)
		}
		if k < len(refs) && refs[k].Row == r {
			if refs[k].ID != id {
				return fmt.Errorf("row %d: signature file signs id %q, the shard holds %q", r, refs[k].ID, id)
			}
			k++
		}
		row++
		return nil
	})
	if err == nil && row != in.rows {
		err = fmt.Errorf("signature file covers %d rows, the shard has %d", in.rows, row)
	}
	if err != nil {
		return fmt.Errorf("dedup: dataset %s shard %s: signature file does not match its shard: %w", in.ds.Name(), in.shard.Name, err)
	}
	return nil
}

// recompute writes a fresh signature file for in's shard into the
// temporary folder (inputs are never modified) and switches in to it.
func (e *engine) recompute(ctx context.Context, i int, in *sigInput) error {
	path := filepath.Join(e.tmp, fmt.Sprintf("recomputed-%06d.minhash.sig", i))
	err := dedup.WriteSigFile(path, e.cfg, func(sw *dedup.SigWriter) error {
		return e.opts.Texts.Texts(ctx, in.ds, in.shard, func(row int64, id, text string) error {
			return sw.Add(row, id, e.opts.MinHasher.Sign(text))
		})
	})
	if err != nil {
		return fmt.Errorf("dedup: compute signatures of dataset %s shard %s: %w", in.ds.Name(), in.shard.Name, err)
	}
	oldRows, hadRows := in.rows, in.rows > 0
	in.path, in.redone = path, true
	if err := e.check(in); err != nil {
		return fmt.Errorf("dedup: recomputed signatures: %w", err)
	}
	if hadRows && in.rows != oldRows {
		return fmt.Errorf("dedup: dataset %s shard %s: %d rows in its signature file, %d in the shard", in.ds.Name(), in.shard.Name, oldRows, in.rows)
	}
	return nil
}

// forEach runs f(0..n-1) on up to workers goroutines; the first error
// cancels the rest.
func forEach(ctx context.Context, n, workers int, f func(context.Context, int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(1, min(workers, n)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if ctx.Err() != nil {
					continue
				}
				if err := f(ctx, i); err != nil {
					cancel(err)
				}
			}
		}()
	}
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}

// scatter reads every signature file once and cuts each signature into
// its buckets; full bucket buffers are sorted and written as runs by the
// workers while reading goes on.
func (e *engine) scatter(ctx context.Context, perBuf int) ([][]string, error) {
	nb, h := e.cfg.NumBuckets, e.cfg.HashesPerBucket
	sp := newSpiller(ctx, nb, h, perBuf, e.opts.Workers, e.tmp, "b")
	var scanned int64
	scanFile := func(in *sigInput) error {
		s, err := dedup.OpenSigFile(in.path)
		if err != nil {
			return err
		}
		defer s.Close()
		var r bucketRec
		return s.ScanSignatures(func(_, row int64, sig dedup.Signature) error {
			r.g = in.rowBase + uint32(row)
			for b := range nb {
				copy(r.h[:h], sig[b*h:(b+1)*h])
				if err := sp.add(b, &r); err != nil {
					return err
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
		for i, in := range e.inputs {
			err := scanFile(in)
			if errors.Is(err, dedup.ErrCorrupt) && e.canRecompute() && !in.redone {
				// The blocks passed on so far were intact; rescanning the
				// whole recomputed shard repeats their records with the
				// same document numbers, which pairs a document with
				// itself only, and is skipped when merging.
				if err = e.recompute(ctx, i, in); err == nil {
					e.stats.RecomputedShards = append(e.stats.RecomputedShards, in.ds.Name()+"/"+in.shard.Name)
					err = scanFile(in)
				}
			}
			if err != nil {
				return fmt.Errorf("dedup: dataset %s shard %s: %w", in.ds.Name(), in.shard.Name, err)
			}
		}
		return nil
	}()
	runs, err := sp.finish(err)
	e.progress(Progress{Phase: "scan", Done: scanned, Total: e.records})
	e.stats.RunFiles = sp.files
	e.stats.SpilledBytes = sp.spilled
	return runs, err
}

// mergeAll merges every bucket's runs (buckets in parallel) into the
// bucket's duplicate pairs: neighbours in (signature, document) order with
// equal signatures, as datatrove's MinhashDedupBuckets writes them.
func (e *engine) mergeAll(ctx context.Context, runs [][]string, fanIn int, pairs []string) error {
	var done int64
	return forEach(ctx, e.cfg.NumBuckets, e.opts.Workers, func(ctx context.Context, b int) error {
		path, matches, err := e.mergeBucket(ctx, b, runs[b], fanIn)
		if err != nil {
			return err
		}
		e.mu.Lock()
		pairs[b] = path
		e.stats.MatchesPerBucket[b] = matches
		e.stats.Matches += matches
		done++
		d := done
		e.mu.Unlock()
		e.progress(Progress{Phase: "merge", Done: d, Total: int64(e.cfg.NumBuckets)})
		return nil
	})
}

func (e *engine) mergeBucket(ctx context.Context, b int, runs []string, fanIn int) (string, int64, error) {
	h := e.cfg.HashesPerBucket
	runs, err := mergeDown(ctx, runs, h, fanIn, e.tmp, fmt.Sprintf("b%03d", b))
	if err != nil {
		return "", 0, err
	}
	path := filepath.Join(e.tmp, fmt.Sprintf("b%03d.pairs", b))
	pw, err := createPairs(path)
	if err != nil {
		return "", 0, err
	}
	var last bucketRec
	have := false
	err = mergeRuns(ctx, runs, h, true, func(r *bucketRec) error {
		if have && last.h == r.h && last.g != r.g {
			if err := pw.add(last.g, r.g); err != nil {
				return err
			}
		}
		last, have = *r, true
		return nil
	})
	if cerr := pw.close(false); err == nil {
		err = cerr
	}
	if err != nil {
		return "", 0, fmt.Errorf("dedup: bucket %d: %w", b, err)
	}
	return path, pw.n, nil
}

// pairWriter writes duplicate pairs: two little-endian uint32 document
// numbers each.
type pairWriter struct {
	f    *os.File
	w    *bufio.Writer
	n    int64
	pair [8]byte
}

func createPairs(path string) (*pairWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("pairs: %w", err)
	}
	return &pairWriter{f: f, w: bufio.NewWriterSize(f, runWriteBuffer)}, nil
}

func (p *pairWriter) add(a, b uint32) error {
	binary.LittleEndian.PutUint32(p.pair[:4], a)
	binary.LittleEndian.PutUint32(p.pair[4:], b)
	p.n++
	_, err := p.w.Write(p.pair[:])
	return err
}

func (p *pairWriter) close(sync bool) error {
	err := p.w.Flush()
	if err == nil && sync {
		err = p.f.Sync()
	}
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("pairs %s: %w", p.f.Name(), err)
	}
	return nil
}

// readPairs calls fn for every pair of a pairs file.
func readPairs(path string, fn func(a, b uint32)) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("pairs: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, runReadBuffer)
	var pair [8]byte
	for {
		if _, err = io.ReadFull(r, pair[:]); err != nil {
			break
		}
		fn(binary.LittleEndian.Uint32(pair[:4]), binary.LittleEndian.Uint32(pair[4:]))
	}
	if err != io.EOF {
		return fmt.Errorf("read pairs %s: %w", path, err)
	}
	return nil
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
		if err := readPairs(path, uf.union); err != nil {
			return nil, fmt.Errorf("dedup: %w", err)
		}
		os.Remove(path)
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
		s, err := dedup.OpenSigFile(in.path)
		if err != nil {
			return fmt.Errorf("dedup: %w", err)
		}
		err = s.ScanRefs(func(_ int64, ref dedup.Ref) error {
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
