// Command dedup benchmarks cross-dataset MinHash deduplication on a
// synthetic signature set built from real shingles, generated here and
// never stored in the repository.
//
//	go run ./bench/dedup -dir /tmp/dedupbench -docs 10000000 -memory 2GB
//
// Phase "gen" writes -datasets dataset folders of signature files; phase
// "run" deduplicates them in this process and reports the time and the
// peak RSS (getrusage); "all" does both. To time the real command instead,
// run `/usr/bin/time -v refine dedup --input ... --memory 2GB` on the
// folders that "gen" wrote.
//
// Documents: every synthetic document is 4 chunks of 15–40 consecutive
// shingles taken at random from the real documents' shingle stream (the
// golden FineWeb pages, simplified and tokenized as MinHash does). 10% are
// near-copies of a random earlier document (2–5 shingles replaced) and 5%
// exact copies, across datasets as well as within.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/datarefine/refine/bench/golden"
	"github.com/datarefine/refine/corpus"
	"github.com/datarefine/refine/pipeline/dedup"
	"github.com/datarefine/refine/pipeline/words"
)

func main() {
	var (
		dir        = flag.String("dir", "", "work folder for the synthetic datasets (required)")
		phase      = flag.String("phase", "all", "gen, run or all")
		docs       = flag.Int64("docs", 10_000_000, "documents in total")
		datasets   = flag.Int("datasets", 10, "datasets (submissions)")
		shardDocs  = flag.Int64("shard-docs", 100_000, "documents per shard")
		memory     = flag.String("memory", "2GB", "memory bound of the run")
		workers    = flag.Int("workers", 0, "generation and engine workers (default all cores)")
		goldenPath = flag.String("golden", "", "golden JSONL with extracted_text (default: the shared test data)")
	)
	flag.Parse()
	if *dir == "" {
		log.Fatal("-dir is required")
	}
	if *workers <= 0 {
		*workers = runtime.GOMAXPROCS(0)
	}
	ctx := context.Background()
	if *phase == "gen" || *phase == "all" {
		path := *goldenPath
		if path == "" {
			var err error
			if path, err = golden.Path(); err != nil {
				log.Fatal(err)
			}
		}
		if err := generate(ctx, path, *dir, *docs, *datasets, *shardDocs, *workers); err != nil {
			log.Fatal(err)
		}
	}
	if *phase == "run" || *phase == "all" {
		mem, err := humanize.ParseBytes(*memory)
		if err != nil {
			log.Fatal(err)
		}
		if err := run(ctx, *dir, *datasets, int64(mem), *workers); err != nil {
			log.Fatal(err)
		}
	}
}

// shingleStream returns the shingle hashes of the golden documents, one
// document after another.
func shingleStream(path string) ([]uint64, error) {
	var out []uint64
	err := golden.Texts(path, func(text string) {
		out = append(out, dedup.Shingles(words.Words(dedup.Simplify(text)), 5)...)
	})
	return out, err
}

// synth builds synthetic documents from the stream; a document's shingles
// are a pure function of its global number.
type synth struct {
	stream []uint64
}

func (s *synth) base(g int64, dst []uint64) []uint64 {
	r := rand.New(rand.NewPCG(1, uint64(g)))
	for range 4 {
		n := 15 + r.IntN(26)
		start := r.IntN(len(s.stream) - n)
		dst = append(dst, s.stream[start:start+n]...)
	}
	return dst
}

func (s *synth) doc(g int64, dst []uint64) []uint64 {
	r := rand.New(rand.NewPCG(2, uint64(g)))
	p := r.Float64()
	if g == 0 || p >= 0.15 {
		return s.base(g, dst)
	}
	dst = s.base(r.Int64N(g), dst)
	if p < 0.05 {
		return dst // exact copy
	}
	for range 2 + r.IntN(4) {
		dst[r.IntN(len(dst))] = s.stream[r.IntN(len(s.stream))]
	}
	return dst
}

func generate(ctx context.Context, golden, dir string, docs int64, datasets int, shardDocs int64, workers int) error {
	start := time.Now()
	stream, err := shingleStream(golden)
	if err != nil {
		return err
	}
	log.Printf("shingle stream: %d real shingles from %s", len(stream), golden)
	signer, err := dedup.NewMinHasher(dedup.MinHasherOptions{Words: words.Words})
	if err != nil {
		return err
	}
	s := &synth{stream: stream}
	perDataset := docs / int64(datasets)
	type shard struct {
		path     string
		first, n int64
	}
	var shards []shard
	for d := range datasets {
		first := int64(d) * perDataset
		n := perDataset
		if d == datasets-1 {
			n = docs - first
		}
		for k := int64(0); k*shardDocs < n; k++ {
			path := filepath.Join(dir, fmt.Sprintf("ds%02d", d), "data", fmt.Sprintf("%05d.parquet", k))
			shards = append(shards, shard{path: path, first: first + k*shardDocs, n: min(shardDocs, n-k*shardDocs)})
		}
	}
	jobs := make(chan shard)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []uint64
			for sh := range jobs {
				if err := os.MkdirAll(filepath.Dir(sh.path), 0o755); err != nil {
					errs <- err
					return
				}
				err := dedup.WriteSigFile(dedup.SignaturePath(sh.path), signer.Config(), func(sw *dedup.SigWriter) error {
					for row := range sh.n {
						g := sh.first + row
						buf = s.doc(g, buf[:0])
						if err := sw.Add(row, fmt.Sprintf("<urn:synthetic:%012d>", g), signer.SignShingles(buf)); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	done := 0
	for _, sh := range shards {
		select {
		case jobs <- sh:
		case err := <-errs:
			close(jobs)
			return err
		}
		done++
		if done%10 == 0 {
			log.Printf("generated %d/%d shards (%.0fs)", done, len(shards), time.Since(start).Seconds())
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	log.Printf("generated %d documents in %d shards of %d datasets in %.1fs", docs, len(shards), datasets, time.Since(start).Seconds())
	return nil
}

func run(ctx context.Context, dir string, datasets int, mem int64, workers int) error {
	signer, err := dedup.NewMinHasher(dedup.MinHasherOptions{Words: words.Words})
	if err != nil {
		return err
	}
	var inputs []corpus.Dataset
	for d := range datasets {
		inputs = append(inputs, corpus.DirDataset{Root: filepath.Join(dir, fmt.Sprintf("ds%02d", d))})
	}
	debug.SetMemoryLimit(mem - min(64<<20, mem/8)) // as refine dedup does
	out, err := os.Create(filepath.Join(dir, "removed.ids"))
	if err != nil {
		return err
	}
	defer out.Close()
	w := bufio.NewWriterSize(out, 1<<20)
	start := time.Now()
	// The synthetic datasets are signature files only: trusted by
	// construction (generated here).
	stats, err := corpus.Deduplicate(ctx, inputs, corpus.EngineOptions{
		Memory: mem, TempDir: dir, Workers: workers, MinHasher: signer, TrustSignatures: true,
	}, func(r corpus.Removal) error {
		_, err := fmt.Fprintf(w, "%s %s\n", r.ID, r.KeptID)
		return err
	})
	if err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	elapsed := time.Since(start)
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return err
	}
	sj, _ := json.MarshalIndent(stats, "", "  ")
	fmt.Println(string(sj))
	fmt.Printf("documents %d, removed %d, clusters %d: %.1fs wall, %.1fs user, %.1fs sys, peak RSS %.0f MiB (bound %.0f MiB)\n",
		stats.Documents, stats.Removed, stats.Clusters, elapsed.Seconds(),
		time.Duration(ru.Utime.Nano()).Seconds(), time.Duration(ru.Stime.Nano()).Seconds(),
		float64(ru.Maxrss)/1024, float64(mem)/(1<<20))
	return nil
}
