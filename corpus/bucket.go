package corpus

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
)

// bucketResult is the completion marker of one (dump, bucket) unit.
type bucketResult struct {
	Dump   string `json:"dump"`
	Bucket int    `json:"bucket"`
	// Levels is the bucket's band index after this build.
	Levels []Level `json:"levels"`
	// Records is the new documents' bands; Matches the duplicate pairs
	// among them; OldMatches the new bands found in the index.
	Records    int64 `json:"records"`
	Matches    int64 `json:"matches"`
	OldMatches int64 `json:"old_matches"`
	// BlocksRead counts index blocks read for lookups (of fenceEvery
	// records each): what the lookup cost instead of a full scan.
	BlocksRead int64 `json:"blocks_read"`
}

// bucketStage runs this rank's (dump, bucket) units: unit
// dumpIndex*NumBuckets+bucket, dumps in name order. A rank reads each
// dump's signature files once for all of its buckets of that dump.
func (b *builder) bucketStage(ctx context.Context) error {
	_, dumps, err := b.inputs()
	if err != nil {
		return err
	}
	nb := b.opts.MinHasher.Config().NumBuckets
	for di, dump := range sortedDumps(dumps) {
		var mine []int
		for bk := range nb {
			if b.mine(di*nb+bk) && !exists(b.l.bucketDone(b.n, dump, bk)) {
				mine = append(mine, bk)
			}
		}
		if len(mine) == 0 {
			continue
		}
		b.log.Info("bucket", "build", b.n, "dump", dump, "buckets", mine)
		if err := b.bucketDump(ctx, dump, dumps[dump], mine); err != nil {
			return fmt.Errorf("dataset build: dump %s: %w", dump, err)
		}
	}
	return nil
}

func (b *builder) bucketDump(ctx context.Context, dump string, shards []docShard, buckets []int) error {
	cfg := b.opts.MinHasher.Config()
	h := cfg.HashesPerBucket
	ds := b.state.dumpState(dump, cfg)
	tmp := filepath.Join(b.l.build(b.n), "tmp", fmt.Sprintf("bucket-%s-r%d", dump, b.rank))
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	// Memory: the fences of the levels merged at once (at most Workers
	// buckets' worth) stay out of the sort buffers.
	var fences int64
	for _, bk := range buckets {
		var f int64
		for _, lv := range ds.Levels[bk] {
			f += fenceBytes(lv)
		}
		fences = max(fences, f)
	}
	sortMem := (b.opts.Memory - engineReserve - int64(b.opts.Workers)*fences) / 10 * 9
	var records int64
	for _, s := range shards {
		records += s.sh.Signed
	}
	perBuf := sortMem / int64(len(buckets)+b.opts.Workers) / recMemSize
	if perBuf < 1024 {
		return fmt.Errorf("memory bound %d bytes too small for the band index (%d bytes of fences per bucket, %d reserved)", b.opts.Memory, fences, engineReserve)
	}
	perBuf = min(perBuf, max(records, 1))
	sp := newSpiller(ctx, len(buckets), h, int(perBuf), b.opts.Workers, tmp, "s")
	err := func() error {
		var r bucketRec
		for _, s := range shards {
			bf, err := openBands(b.abs(s.sh.Bands), b.opts.MinHasher.Config())
			if err != nil {
				return err
			}
			for slot, bk := range buckets {
				err = bf.scan(bk, func(rec *bucketRec) error {
					r = *rec
					r.g = uint32(s.first + int64(rec.g))
					return sp.add(slot, &r)
				})
				if err != nil {
					break
				}
			}
			bf.close()
			if err != nil {
				return err
			}
		}
		return nil
	}()
	runs, err := sp.finish(err)
	if err != nil {
		return err
	}
	fanIn := max(2, int(sortMem/int64(b.opts.Workers)/runReadBuffer))
	return forEach(ctx, len(buckets), b.opts.Workers, func(ctx context.Context, slot int) error {
		bk := buckets[slot]
		return b.bucketOne(ctx, dump, bk, runs[slot], ds.Levels[bk], fanIn, tmp)
	})
}

// bucketOne merges one bucket's new runs into a sorted stream, looks each
// new band up in the index, writes the duplicate pairs and the new level,
// and compacts the levels.
func (b *builder) bucketOne(ctx context.Context, dump string, bk int, runs []string, old []Level, fanIn int, tmp string) error {
	h := b.opts.MinHasher.Config().HashesPerBucket
	runs, err := mergeDown(ctx, runs, h, fanIn, tmp, fmt.Sprintf("b%02d", bk))
	if err != nil {
		return err
	}
	dir := b.l.indexDir(dump, bk)
	var readers []*levelReader
	defer func() {
		for _, lr := range readers {
			lr.close()
		}
	}()
	for _, lv := range old {
		lr, err := openLevel(dir, lv, h)
		if err != nil {
			return err
		}
		readers = append(readers, lr)
	}
	res := bucketResult{Dump: dump, Bucket: bk, Levels: append([]Level(nil), old...)}
	lw, err := createLevel(dir, levelName(b.n, b.n), h)
	if err != nil {
		return err
	}
	pairsPath := b.l.pairs(b.n, dump, bk)
	if err := os.MkdirAll(filepath.Dir(pairsPath), 0o755); err != nil {
		lw.abort()
		return err
	}
	pw, err := createPairs(pairsPath + ".tmp-")
	if err != nil {
		lw.abort()
		return err
	}
	var prev bucketRec
	have := false
	err = mergeRuns(ctx, runs, h, true, func(r *bucketRec) error {
		if !have || r.h != prev.h {
			// The first new document of a band: paired with the earliest
			// indexed document of the same band, if any (all indexed
			// documents come before every new one).
			best, found := uint32(math.MaxUint32), false
			for _, lr := range readers {
				g, ok, err := lr.lookup(&r.h)
				if err != nil {
					return err
				}
				if ok && g < best {
					best, found = g, true
				}
			}
			if found {
				res.OldMatches++
				if err := pw.add(best, r.g); err != nil {
					return err
				}
			}
		} else if r.g != prev.g {
			res.Matches++
			if err := pw.add(prev.g, r.g); err != nil {
				return err
			}
		}
		prev, have = *r, true
		return lw.write(r)
	})
	if cerr := pw.close(true); err == nil {
		err = cerr
	}
	if err != nil {
		lw.abort()
		return err
	}
	for _, lr := range readers {
		res.BlocksRead += lr.reads
	}
	res.Records = lw.n
	if lw.n == 0 {
		lw.abort()
	} else {
		if err := lw.close(); err != nil {
			return err
		}
		res.Levels = append(res.Levels, Level{Name: levelName(b.n, b.n), Records: lw.n})
	}
	if res.Levels, err = b.compact(ctx, dir, res.Levels); err != nil {
		return err
	}
	if err := os.Rename(pairsPath+".tmp-", pairsPath); err != nil {
		return err
	}
	return writeJSON(b.l.bucketDone(b.n, dump, bk), &res)
}

// compact merges the newest level into the one before it while that one
// is at most twice its size. Levels of the committed state are read, never
// changed: the merged level is a new file, and the old ones are removed
// only once the build is committed.
func (b *builder) compact(ctx context.Context, dir string, levels []Level) ([]Level, error) {
	h := b.opts.MinHasher.Config().HashesPerBucket
	for len(levels) >= 2 && levels[len(levels)-2].Records <= 2*levels[len(levels)-1].Records {
		x, y := levels[len(levels)-2], levels[len(levels)-1]
		first, err := levelFirst(x.Name)
		if err != nil {
			return nil, err
		}
		name := levelName(first, b.n)
		w, err := createLevel(dir, name, h)
		if err != nil {
			return nil, err
		}
		err = mergeRuns(ctx, []string{filepath.Join(dir, x.Name+levelExt), filepath.Join(dir, y.Name+levelExt)}, h, false, w.write)
		if err != nil {
			w.abort()
			return nil, err
		}
		if err := w.close(); err != nil {
			return nil, err
		}
		levels = append(levels[:len(levels)-2], Level{Name: name, Records: w.n})
	}
	return levels, nil
}
