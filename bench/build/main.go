// Command build benchmarks `refine dataset build` on a synthetic input
// generated here and never stored in the repository: its throughput per
// stage (documents per CPU-second, user+sys) and each stage's peak RSS
// under a memory bound.
//
//	go run ./bench/build -dir /tmp/buildbench -docs 10000000 -memory 2GB
//
// Phase "gen" writes -datasets dataset folders of parquet shards; phase
// "build" runs every stage of one build in a child process of its own (so
// that getrusage gives each stage's CPU time and peak RSS) and prints a
// JSON report; "all" does both.
//
// Documents: 4 runs of 10–25 consecutive words of the real documents' word
// stream (the golden FineWeb pages, tokenized as MinHash does), ~60 words
// and ~380 bytes each. 10% are near-copies of a random earlier document
// (1–3 words replaced) and 5% exact copies, across datasets as well as
// within. Real pages are longer (FineWeb averages ~3 KB): the stages whose
// cost follows the text (fetch's signatures, write's copy) are reported
// per byte too, so that docs/dataset.md can project real sizes.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/datarefine/refine/bench/golden"
	"github.com/datarefine/refine/corpus"
	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/pipeline/dedup"
	"github.com/datarefine/refine/pipeline/words"
)

func main() {
	var (
		dir        = flag.String("dir", "", "work folder (required)")
		phase      = flag.String("phase", "all", "gen, build or all")
		docs       = flag.Int64("docs", 10_000_000, "documents in total")
		datasets   = flag.Int("datasets", 20, "input dataset folders (submissions)")
		shardDocs  = flag.Int64("shard-docs", 100_000, "documents per input shard")
		memory     = flag.String("memory", "2GB", "memory bound of each stage's process")
		workers    = flag.Int("workers", 0, "generation and build workers (default all cores)")
		goldenPath = flag.String("golden", "", "golden JSONL with extracted_text (default: the shared test data)")
		stage      = flag.String("stage", "", "internal: run one stage in this process")
	)
	flag.Parse()
	if *dir == "" {
		log.Fatal("-dir is required")
	}
	if *workers <= 0 {
		*workers = runtime.GOMAXPROCS(0)
	}
	mem, err := humanize.ParseBytes(*memory)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if *stage != "" {
		if err := runStage(ctx, *dir, *datasets, int64(mem), *workers, corpus.Stage(*stage)); err != nil {
			log.Fatal(err)
		}
		return
	}
	if *phase == "gen" || *phase == "all" {
		path := *goldenPath
		if path == "" {
			var err error
			if path, err = golden.Path(); err != nil {
				log.Fatal(err)
			}
		}
		if err := generate(path, *dir, *docs, *datasets, *shardDocs, *workers); err != nil {
			log.Fatal(err)
		}
	}
	if *phase == "build" || *phase == "all" {
		if err := build(*dir, *datasets, *memory, *workers); err != nil {
			log.Fatal(err)
		}
	}
}

// wordStream returns the words of the golden documents, one after another.
func wordStream(path string) ([]string, error) {
	var out []string
	err := golden.Texts(path, func(text string) {
		for _, w := range words.Words(dedup.Simplify(text)) {
			if strings.TrimSpace(w) != "" {
				out = append(out, w)
			}
		}
	})
	return out, err
}

// synth makes document g's text, a pure function of g.
type synth struct{ stream []string }

func (s *synth) base(g int64, dst []string) []string {
	r := rand.New(rand.NewPCG(1, uint64(g)))
	for range 4 {
		n := 10 + r.IntN(16)
		start := r.IntN(len(s.stream) - n)
		dst = append(dst, s.stream[start:start+n]...)
	}
	return dst
}

func (s *synth) text(g int64, dst []string) string {
	r := rand.New(rand.NewPCG(2, uint64(g)))
	p := r.Float64()
	if g == 0 || p >= 0.15 {
		dst = s.base(g, dst)
	} else {
		dst = s.base(r.Int64N(g), dst)
		if p >= 0.05 { // near copy
			for range 1 + r.IntN(3) {
				dst[r.IntN(len(dst))] = s.stream[r.IntN(len(s.stream))]
			}
		}
	}
	return strings.Join(dst, " ")
}

func folder(dir string, d int) string { return filepath.Join(dir, "in", fmt.Sprintf("ds%02d", d)) }

func generate(golden, dir string, docs int64, datasets int, shardDocs int64, workers int) error {
	start := time.Now()
	stream, err := wordStream(golden)
	if err != nil {
		return err
	}
	log.Printf("word stream: %d real words from %s", len(stream), golden)
	s := &synth{stream: stream}
	per := docs / int64(datasets)
	var wg sync.WaitGroup
	errs := make(chan error, datasets)
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range next {
				if err := genFolder(s, folder(dir, d), int64(d)*per, per, shardDocs); err != nil {
					errs <- err
				}
			}
		}()
	}
	for d := range datasets {
		next <- d
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	log.Printf("generated %d documents in %d folders in %.0fs", per*int64(datasets), datasets, time.Since(start).Seconds())
	return nil
}

func genFolder(s *synth, dir string, first, n, shardDocs int64) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	w, err := dataset.NewWriter(dataset.WriterOptions{Dir: dir, MaxShardDocs: shardDocs})
	if err != nil {
		return err
	}
	var buf []string
	for i := range n {
		g := first + i
		d := dataset.Doc{Text: s.text(g, buf[:0]), ID: fmt.Sprintf("<urn:synthetic:%012d>", g), Dump: "CC-MAIN-2024-10",
			URL: fmt.Sprintf("https://example.com/%d", g), Date: "2024-03-01T00:00:00Z", FilePath: "synthetic.warc.gz",
			Language: "en", LanguageScore: 0.9}
		d.TokenCount = int64(len(d.Text) / 4)
		if err := w.Write(&d, "synthetic.warc.gz", i); err != nil {
			return err
		}
	}
	shards, records, err := w.Close()
	if err != nil {
		return err
	}
	m := &dataset.Manifest{Format: dataset.Format, PipelineVersion: "synthetic", Hotkey: "5Synthetic" + filepath.Base(dir),
		Inputs: []dataset.Input{}, Assets: []dataset.Asset{}, Shards: shards, Records: records, Documents: n}
	_, err = dataset.WriteManifest(dir, m)
	return err
}

func options(dir string, datasets int, mem int64, workers int) corpus.Options {
	var in []string
	for d := range datasets {
		in = append(in, folder(dir, d))
	}
	o := corpus.DefaultOptions(filepath.Join(dir, "work"))
	o.Source = corpus.Folders(in)
	o.Memory, o.Workers = mem, workers
	return o
}

func runStage(ctx context.Context, dir string, datasets int, mem int64, workers int, st corpus.Stage) error {
	debug.SetMemoryLimit(mem - min(64<<20, mem/8)) // as the CLI does
	return corpus.RunStage(ctx, options(dir, datasets, mem, workers), st, 0, 1)
}

// stageReport is one stage's cost.
type stageReport struct {
	Stage          string  `json:"stage"`
	Wall           float64 `json:"wall_s"`
	CPU            float64 `json:"cpu_s"`
	PeakRSS        int64   `json:"peak_rss_bytes"`
	DocsPerCPUSec  float64 `json:"docs_per_cpu_s"`
	BytesPerCPUSec float64 `json:"text_bytes_per_cpu_s"`
}

func build(dir string, datasets int, memory string, workers int) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if err := os.RemoveAll(filepath.Join(dir, "work")); err != nil {
		return err
	}
	// The input's size, for the rates.
	var docs, textBytes int64
	for d := range datasets {
		m, err := dataset.ReadManifest(folder(dir, d))
		if err != nil {
			return err
		}
		docs += m.Documents
	}
	var reports []stageReport
	for _, st := range corpus.Stages {
		cmd := exec.Command(self, "-dir", dir, "-datasets", fmt.Sprint(datasets), "-memory", memory, "-workers", fmt.Sprint(workers), "-stage", string(st))
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("stage %s: %w", st, err)
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		r := stageReport{Stage: string(st), Wall: time.Since(start).Seconds(),
			CPU:     time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds(),
			PeakRSS: ru.Maxrss * 1024}
		r.DocsPerCPUSec = float64(docs) / r.CPU
		if st == corpus.StageFetch {
			textBytes = fetchedTextBytes(filepath.Join(dir, "work"))
		}
		if textBytes > 0 {
			r.BytesPerCPUSec = float64(textBytes) / r.CPU
		}
		reports = append(reports, r)
		log.Printf("%-8s wall %7.1fs  cpu %7.1fs  %9.0f docs/cpu-s  peak RSS %s", st, r.Wall, r.CPU, r.DocsPerCPUSec, humanize.IBytes(uint64(r.PeakRSS)))
	}
	res, err := corpus.LastResult(filepath.Join(dir, "work"))
	if err != nil {
		return err
	}
	out, _ := json.MarshalIndent(map[string]any{
		"documents": docs, "text_bytes": textBytes, "memory_bound": memory, "workers": workers,
		"kept": res.Documents, "removed": res.Removed, "stages": reports,
	}, "", "  ")
	fmt.Println(string(out))
	return nil
}

// fetchedTextBytes sums the text bytes the fetch stage measured.
func fetchedTextBytes(work string) int64 {
	var n int64
	paths, _ := filepath.Glob(filepath.Join(work, "builds", "*", "fetch", "*.json"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var fr struct {
			Shards []struct {
				TextBytes int64 `json:"text_bytes"`
			} `json:"shards"`
		}
		if json.Unmarshal(b, &fr) == nil {
			for _, s := range fr.Shards {
				n += s.TextBytes
			}
		}
	}
	return n
}
