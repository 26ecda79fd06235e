// Command validator measures what one submission costs a validator at the
// default limits: an honest one-WARC submission next to a dictionary bomb
// and a zstd bomb for the same task (docs/mechanism.md, "Cost").
//
//	go run ./bench/validator [-warc PATH] [-runs 3]
//	go run ./bench/validator -large 36 [-runs 3]
//
// With -large N the task's WARC is built in the temporary folder from the
// shared test data — the golden pages' WARC (990 real pages, 28 MB)
// repeated N times, then the real Common Crawl and browsertrix WARCs —
// (36: about 1 GB, a Common Crawl WARC's size) and only the honest
// evaluation is measured: how much of the WARC a validator reads to check
// it (issue 19: at most 1 % plus the submission itself). Each copy after
// the first of a page is a near-duplicate the miner's deduplication drops
// (and lists in the record index with its link to the copy kept).
//
// "dictionary" and "zstd" are bombs for the task at its own budget (the
// test WARC: 214 KB, 1 MiB of text); "dictionary-1GiB" and "zstd-1GiB" are
// bombs for a task claiming a 1 GiB byte range, i.e. at a production
// WARC's budget (4 GiB of text, 8 GiB of pages), the zstd one just under it.
// The driver prepares, in a temporary folder, a local dataset store holding
// the three submissions (the honest one made by process.Run on the WARC;
// each bomb is that submission with its shards replaced, see
// internal/attack), then runs each evaluation in a child process of its own
// (verify.Evaluator with the validator's default parameters), so that its
// peak RSS is its own. In the child the WARC is served over HTTP from a
// loopback server, as Common Crawl serves it, and the bytes read from the
// store and from the WARC server are counted. "baseline" loads the
// reference pipeline and evaluates nothing: what every evaluation costs
// before it starts. Reported: wall time, CPU time (user+sys), peak RSS and
// bytes read, medians over -runs.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/datarefine/refine/assets"
	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/internal/attack"
	"github.com/datarefine/refine/internal/attack/replace"
	"github.com/datarefine/refine/internal/shareddata"
	"github.com/datarefine/refine/process"
	"github.com/datarefine/refine/store"
	"github.com/datarefine/refine/store/local"
	"github.com/datarefine/refine/submission"
	"github.com/datarefine/refine/taskapi"
	"github.com/datarefine/refine/validator"
	"github.com/datarefine/refine/validator/verify"
)

const (
	taskID   = 1
	hotkey   = "5MinerHotkey"
	warcName = "crawl-data/BENCH/segments/0/warc/bench.warc.gz"
)

var scenarios = []string{"baseline", "honest", "dictionary", "zstd", "dictionary-1GiB", "zstd-1GiB"}

// largeSpan is the span the "-1GiB" scenarios' task claims (a byte range
// of a production-size WARC), so that their bombs meet a production
// budget: 4 GiB of text, 8 GiB of pages.
const largeSpan = 1 << 30

// result is one child's report.
type result struct {
	Scenario string  `json:"scenario"`
	Code     string  `json:"code"`
	Accepted bool    `json:"accepted"`
	Wall     float64 `json:"wall_s"`
	CPU      float64 `json:"cpu_s"`
	MaxRSS   int64   `json:"max_rss_bytes"`
	Store    int64   `json:"store_bytes"`
	WARC     int64   `json:"warc_bytes"`
	// StoreFiles and WARCRequests count the files fetched from the store
	// and the requests made to the WARC server (HEAD and range GETs).
	StoreFiles   int64  `json:"store_files"`
	WARCRequests int64  `json:"warc_requests"`
	Reason       string `json:"reason,omitempty"`
}

func main() {
	warc := flag.String("warc", "", "WARC of the task (default: the shared test data's dolma_browsertrix_sample-0000.warc.gz)")
	large := flag.Int("large", 0, "build the task's WARC from the golden pages repeated this many times (and the real WARCs), and measure the honest evaluation only")
	runs := flag.Int("runs", 3, "runs per scenario (medians reported)")
	child := flag.String("child", "", "internal: evaluate one scenario from this prepared folder")
	scenario := flag.String("scenario", "", "internal: the child's scenario")
	flag.Parse()
	if *child != "" {
		r, err := evaluate(*child, *scenario)
		if err != nil {
			log.Fatal(err)
		}
		json.NewEncoder(os.Stdout).Encode(r)
		return
	}
	if *warc == "" {
		*warc = filepath.Join(shareddata.Root(), "warc", "real_crawls", "dolma_browsertrix_sample-0000.warc.gz")
	}
	dir, err := os.MkdirTemp("", "bench-validator-*")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	task := filepath.Join(dir, "task.warc.gz")
	if *large > 0 {
		scenarios = scenarios[:2]
		err = buildLarge(task, *large)
	} else {
		err = copyFile(*warc, task)
	}
	if err != nil {
		log.Fatal(err)
	}
	start := time.Now()
	if err := prepare(dir); err != nil {
		log.Fatal(err)
	}
	st, err := os.Stat(task)
	if err != nil {
		log.Fatal(err)
	}
	name := filepath.Base(*warc)
	if *large > 0 {
		name = fmt.Sprintf("the golden pages ×%d and the real WARCs; the miner's run took %.0f s", *large, time.Since(start).Seconds())
	}
	fmt.Printf("task: one WARC of %d bytes (%s); %d runs per scenario, medians\n\n", st.Size(), name, *runs)
	fmt.Printf("%-15s %-11s %9s %9s %10s %12s %12s\n", "scenario", "verdict", "wall s", "cpu s", "peak RSS", "store bytes", "WARC bytes")
	for _, sc := range scenarios {
		var rs []result
		for range *runs {
			r, err := runChild(dir, sc)
			if err != nil {
				log.Fatalf("%s: %v", sc, err)
			}
			rs = append(rs, r)
		}
		med := func(f func(result) float64) float64 {
			v := make([]float64, len(rs))
			for i, r := range rs {
				v[i] = f(r)
			}
			slices.Sort(v)
			return v[len(v)/2]
		}
		verdict := rs[0].Code
		if rs[0].Accepted {
			verdict = "accepted"
		}
		fmt.Printf("%-15s %-11s %9.3f %9.3f %7.0f MiB %12.0f %12.0f\n", sc, verdict,
			med(func(r result) float64 { return r.Wall }), med(func(r result) float64 { return r.CPU }),
			med(func(r result) float64 { return float64(r.MaxRSS) })/(1<<20),
			med(func(r result) float64 { return float64(r.Store) }), med(func(r result) float64 { return float64(r.WARC) }))
		if rs[0].Reason != "" {
			fmt.Printf("            reason: %s\n", rs[0].Reason)
		}
		if sc == "honest" {
			w := med(func(r result) float64 { return float64(r.WARC) })
			fmt.Printf("            WARC bytes read: %.2f %% of the WARC in %.0f requests; the submission: %.0f bytes (%.2f %%) in %.0f files\n",
				100*w/float64(st.Size()), med(func(r result) float64 { return float64(r.WARCRequests) }),
				med(func(r result) float64 { return float64(r.Store) }),
				100*med(func(r result) float64 { return float64(r.Store) })/float64(st.Size()),
				med(func(r result) float64 { return float64(r.StoreFiles) }))
		}
	}
}

// copyFile copies a file.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// buildLarge writes the golden pages' WARC copies times, then the real
// gzip WARCs of the shared test data, as one WARC: gzip members
// concatenate, so every record stays a member of its own.
func buildLarge(dst string, copies int) error {
	root := shareddata.Root()
	parts := []string{}
	for range copies {
		parts = append(parts, filepath.Join(root, "golden", "trafilatura_eval.warc.gz"))
	}
	for _, p := range []string{"commoncrawl/resiliparse_CC-MAIN-2020-34_extract.warc.gz", "commoncrawl/whirlwind_CC-MAIN-2024-22_warc.gz",
		"commoncrawl/jwarc_cc.warc.gz", "real_crawls/dolma_browsertrix_sample-0000.warc.gz", "real_crawls/dolma_browsertrix_sample-0001.warc.gz"} {
		parts = append(parts, filepath.Join(root, "warc", filepath.FromSlash(p)))
	}
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	for _, p := range parts {
		in, err := os.Open(p)
		if err != nil {
			out.Close()
			return err
		}
		_, err = io.Copy(out, in)
		in.Close()
		if err != nil {
			out.Close()
			return err
		}
	}
	return out.Close()
}

// runChild evaluates one scenario in a child process.
func runChild(dir, scenario string) (result, error) {
	cmd := exec.Command(os.Args[0], "-child", dir, "-scenario", scenario)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return result{}, err
	}
	var r result
	if err := json.Unmarshal(out, &r); err != nil {
		return result{}, fmt.Errorf("child output %q: %w", out, err)
	}
	return r, nil
}

// prepare imports the assets and publishes the scenarios' submissions for
// the task's WARC (dir/task.warc.gz), one per repository.
func prepare(dir string) error {
	ctx := context.Background()
	assetDir := filepath.Join(dir, "assets")
	if err := assets.Import(filepath.Join(shareddata.Root(), "filters_dedup", "datatrove_assets"), assetDir, ""); err != nil {
		return err
	}
	fi, err := os.Stat(filepath.Join(dir, "task.warc.gz"))
	if err != nil {
		return err
	}
	size := fi.Size()
	st, err := local.New(filepath.Join(dir, "store"))
	if err != nil {
		return err
	}
	commitments := map[string]string{}
	for _, sc := range scenarios[1:] {
		out := filepath.Join(dir, "work", sc)
		m, err := process.Run(ctx, process.Options{Inputs: []string{filepath.Join(dir, "task.warc.gz")}, Output: out,
			Layout: dataset.SubmissionLayout(taskID), Dump: "CC-MAIN-2024-10",
			Names: map[string]string{filepath.Join(dir, "task.warc.gz"): warcName},
			Steps: process.StepOptions{AssetsDir: assetDir}, Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			return err
		}
		m.Task, m.Hotkey = fmt.Sprint(taskID), hotkey
		// The bombs, each at the scale of a real attack: far more than the
		// task's budget allows.
		value := strings.Repeat("word ", 1<<20/5) // 1 MiB
		switch sc {
		case "dictionary": // 400 rows: 400 MiB decoded
			err = replace.Shards(out, m, 400, int64(len(value)), 0, size, func(p string) error { return attack.DictionaryBomb(p, 400, value, "id") })
		case "zstd": // 400 rows of 4 MiB of one letter: 1.6 GiB decompressed
			err = replace.Shards(out, m, 400, 4<<20, 0, size, func(p string) error { return attack.ZstdBomb(p, 400, 4<<20, "id") })
		case "dictionary-1GiB": // 8,000 rows: 8 GiB decoded, twice the text budget
			err = replace.Shards(out, m, 8000, int64(len(value)), 0, largeSpan, func(p string) error { return attack.DictionaryBomb(p, 8000, value, "id") })
		case "zstd-1GiB": // 1,900 rows of 4 MiB: 7.4 GiB, just under the page budget
			err = replace.Shards(out, m, 1900, 4<<20, 0, largeSpan, func(p string) error { return attack.ZstdBomb(p, 1900, 4<<20, "id") })
		}
		if err != nil {
			return err
		}
		sha, err := dataset.SubmissionLayout(taskID).WriteManifest(out, m)
		if err != nil {
			return err
		}
		repo := "miners/" + sc
		if err := st.Create(ctx, repo); err != nil {
			return err
		}
		rev, err := st.Publish(ctx, repo, out, "submission")
		if err != nil {
			return err
		}
		c, err := submission.New(repo, rev, taskID, sha)
		if err != nil {
			return err
		}
		commitments[sc] = c.String()
	}
	j, err := json.Marshal(commitments)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "commitments.json"), j, 0o644)
}

// evaluate runs one evaluation in this process and measures it.
func evaluate(dir, scenario string) (result, error) {
	ctx := context.Background()
	r := result{Scenario: scenario}
	var warcBytes, warcRequests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		warcRequests.Add(1)
		http.ServeFile(countingWriter{w, &warcBytes}, req, filepath.Join(dir, "task.warc.gz"))
	}))
	defer srv.Close()
	st, err := local.New(filepath.Join(dir, "store"))
	if err != nil {
		return r, err
	}
	counted := &countingStore{Store: st}
	opts := validator.DefaultOptions()
	opts.WorkDir = filepath.Join(dir, "eval-"+scenario)
	if err := os.MkdirAll(opts.WorkDir, 0o755); err != nil {
		return r, err
	}
	defer os.RemoveAll(opts.WorkDir)
	ref, err := verify.NewReference(verify.ReferenceOptions{Steps: process.StepOptions{AssetsDir: filepath.Join(dir, "assets")},
		Resolve: func(string) (string, error) { return srv.URL + "/task.warc.gz", nil }})
	if err != nil {
		return r, err
	}
	if scenario == "baseline" {
		return measure(r, time.Now(), counted, &warcBytes, &warcRequests), nil
	}
	b, err := os.ReadFile(filepath.Join(dir, "commitments.json"))
	if err != nil {
		return r, err
	}
	var commitments map[string]string
	if err := json.Unmarshal(b, &commitments); err != nil {
		return r, err
	}
	data := commitments[scenario]
	tk := tasks{data: data}
	if strings.HasSuffix(scenario, "-1GiB") {
		tk.byteEnd = largeSpan
	}
	e := &verify.Evaluator{Params: opts.EvalParams(), Reference: ref, Store: counted,
		Tasks: tk, Chain: blocks{}, History: history{}, Quality: validator.StandInQuality{}}
	start := time.Now()
	vd, _, _, err := e.Evaluate(ctx, chain.Commitment{Hotkey: hotkey, Block: 10, Data: []byte(data)}, slog.New(slog.DiscardHandler))
	if f, ok := verify.AsFailure(err); ok {
		r.Code, r.Reason = string(f.Code), f.Detail
		if len(r.Reason) > 160 {
			r.Reason = r.Reason[:160] + "…"
		}
	} else if err != nil {
		return r, err
	}
	r.Accepted = vd.Accepted
	return measure(r, start, counted, &warcBytes, &warcRequests), nil
}

func measure(r result, start time.Time, s *countingStore, warc, requests *atomic.Int64) result {
	r.Wall = time.Since(start).Seconds()
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	r.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	r.MaxRSS = ru.Maxrss << 10 // KiB on Linux
	r.Store, r.WARC = s.n.Load(), warc.Load()
	r.StoreFiles, r.WARCRequests = s.files.Load(), requests.Load()
	return r
}

// tasks serves the one task, leased and completed by the miner; byteEnd
// makes it a byte range of that size.
type tasks struct {
	data    string
	byteEnd int64
}

func (t tasks) Task(_ context.Context, id int64) (taskapi.TaskResponse, error) {
	return taskapi.TaskResponse{
		Task: taskapi.Task{ID: taskID, Crawl: "BENCH", WARCs: []string{warcName}, ByteEnd: t.byteEnd},
		Leases: []taskapi.Lease{{ID: 1, TaskID: taskID, Hotkey: hotkey, State: taskapi.LeaseCompleted,
			GrantedBlock: 5, EndedBlock: 10, Commitment: t.data}},
	}, nil
}

type blocks struct{}

func (blocks) BlockHash(context.Context, uint64) (string, error) {
	return "0x5eed000000000000000000000000000000000000000000000000000000000000", nil
}

type history struct{}

func (history) Earlier(context.Context, string, string) (string, uint64, bool, error) {
	return "", 0, false, nil
}
func (history) Overlap(_ context.Context, _ string, _ uint64, docs []verify.Doc) ([]bool, uint64, error) {
	return make([]bool, len(docs)), 0, nil
}
func (history) Recent(context.Context, string, uint64, []verify.Doc, uint64, []bool) error {
	return nil
}

// countingStore counts the bytes read from the store.
type countingStore struct {
	store.Store
	n, files atomic.Int64
}

func (s *countingStore) Open(ctx context.Context, repo, revision, path string) (io.ReadCloser, error) {
	rc, err := s.Store.Open(ctx, repo, revision, path)
	if err != nil {
		return nil, err
	}
	s.files.Add(1)
	return countingReader{rc, &s.n}, nil
}

type countingReader struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n.Add(int64(n))
	return n, err
}
