// Package process runs the FineWeb pipeline over a set of inputs into a
// dataset folder: the job of `refine process`, of a miner on its task, and of
// a validator re-running sampled records. It wires the pipeline's steps,
// sources, runner and the ordered stages (deduplication, PII, writing) that
// must see documents in input order.
package process

import (
	"bufio"
	"context"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"time"

	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/pipeline"
	"github.com/datarefine/refine/pipeline/dedup"
	"github.com/datarefine/refine/pipeline/input"
)

// Version identifies the pipeline's semantics. It changes whenever a change
// could alter any output byte: validators compare outputs only between equal
// versions. 0.3: extraction reimplements trafilatura 1.8.1 on a
// libxml2-compatible tree (replacing go-trafilatura), with a work budget
// instead of a time limit.
const Version = "fineweb-go/0.3"

// Options configures a run.
type Options struct {
	// Inputs are WARC files, folders and URLs, or JSONL/parquet document files.
	Inputs []string
	// Output is the dataset folder to write.
	Output string
	// Layout places the files in Output: the zero value is a standalone
	// dataset folder, dataset.SubmissionLayout(T) a miner's submission for
	// task T (see dataset.Layout).
	Layout dataset.Layout
	// Workers is the number of parallel workers (default GOMAXPROCS).
	Workers int
	// Decisions, when set, is a file that receives one JSON line per record:
	// id, url, and kept or the step and reason that dropped it.
	Decisions string
	// Steps configures the pipeline's steps.
	Steps StepOptions
	// Dump is the crawl id written in the dump column of documents that do
	// not carry their own, and the folder of their shards (data/<dump>/).
	// Default: the first crawl id (CC-MAIN-YYYY-WW) an input's path or
	// recorded name holds, else the isPartOf field of the first WARC input's
	// warcinfo record (CommonCrawl writes the crawl id there, other crawlers
	// their collection's name), else DefaultDump. Never empty.
	Dump string
	// Names gives the name recorded for an input (file_path column, records
	// file, manifest) when it differs from where it is read: a miner reads
	// a local copy of crawl-data/…/x.warc.gz but records the crawl path.
	Names map[string]string
	// RecordStart and RecordEnd limit each WARC input to the records with
	// index in [RecordStart, RecordEnd) (RecordEnd 0: to the end), for tasks
	// that are record ranges of a WARC.
	RecordStart, RecordEnd int64
	// Task and Hotkey are recorded in the manifest (set by the miner).
	Task, Hotkey string
	// MaxShardBytes bounds a shard's text size (default 256 MiB).
	MaxShardBytes int64
	// Progress, if set, is called from the ordered stage as records are done.
	Progress func(Progress)
	// Log receives structured progress and warnings (default: discard).
	Log *slog.Logger
}

// Progress is a snapshot of a running job.
type Progress struct {
	Input     string // current input
	Inputs    int    // inputs done
	Records   int64
	Kept      int64
	BytesRead int64 // input bytes consumed (compressed bytes for .gz)
}

var dumpRe = regexp.MustCompile(`CC-MAIN-\d{4}-\d{2}`)

// DefaultDump is the dump of documents from inputs that name no crawl (see
// Options.Dump).
const DefaultDump = "local"

// validDump is what a dump taken from a WARC's own header may look like: a
// crawl's name, usable as a folder name as it is.
var validDump = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// CheckDump returns an error unless d can name a dump: a crawl's name that
// is usable as a folder name as it is (e.g. CC-MAIN-2024-10).
func CheckDump(d string) error {
	if !validDump.MatchString(d) {
		return fmt.Errorf("dump %q: want a crawl name of letters, digits, '.', '_' and '-', starting with a letter or digit (e.g. CC-MAIN-2024-10)", d)
	}
	return nil
}

// ErrNotWARC reports a WARC input in which no record could be read.
var ErrNotWARC = errors.New("no readable WARC record: not a WARC file (WARC/1.0 or 1.1, plain or gzip), or every record is corrupt")

// Run processes opts.Inputs into opts.Output and returns the manifest it
// wrote. The output folder must not exist or be empty; when Run fails it
// leaves nothing behind (it removes what it created).
func Run(ctx context.Context, opts Options) (m *dataset.Manifest, err error) {
	if opts.Output == "" {
		return nil, errors.New("process: no output folder")
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	inputs, err := input.Expand(opts.Inputs)
	if err != nil {
		return nil, err
	}
	if opts.Dump == "" {
		for _, in := range inputs {
			if m := dumpRe.FindString(in.Path + " " + opts.Names[in.Path]); m != "" {
				opts.Dump = m
				break
			}
		}
	}
	steps, err := NewSteps(opts.Steps)
	if err != nil {
		return nil, err
	}
	cleanup, err := createOutput(opts.Output)
	if err != nil {
		return nil, err
	}
	wroteDecisions := false
	defer func() {
		if err != nil {
			cleanup()
			if wroteDecisions {
				os.Remove(opts.Decisions)
			}
		}
	}()
	j := &job{opts: opts, steps: steps, start: time.Now()}
	j.stats = pipeline.NewStats(steps.StepNames()...)
	if j.dedup, err = dedup.NewTaskDeduper(dedup.TaskOptions{MinHasher: steps.MinHasher}); err != nil {
		return nil, err
	}
	spill, err := os.CreateTemp(opts.Output, ".kept-*.gob")
	if err != nil {
		return nil, fmt.Errorf("create spill file: %w", err)
	}
	defer os.Remove(spill.Name())
	defer spill.Close()
	j.spillBuf = bufio.NewWriterSize(spill, 1<<20)
	j.spill = gob.NewEncoder(j.spillBuf)

	m = &dataset.Manifest{
		Format: dataset.Format, PipelineVersion: steps.Version(), CreatedBy: dataset.CreatedBy(),
		Task: opts.Task, Hotkey: opts.Hotkey,
		Assets: steps.Assets,
	}
	for i, in := range inputs {
		n, err := j.runInput(ctx, in)
		if err != nil {
			return nil, err
		}
		m.Inputs = append(m.Inputs, dataset.Input{Path: j.name(in.Path), Records: n})
		j.progress.Inputs = i + 1
	}
	// The dump is known once the inputs are read: a WARC's warcinfo record
	// may name it. Kept documents without their own get it when written.
	if j.opts.Dump == "" {
		j.opts.Dump = DefaultDump
		if validDump.MatchString(j.isPartOf) {
			j.opts.Dump = j.isPartOf
		}
	}
	m.Dump = j.opts.Dump
	if err := j.spillBuf.Flush(); err != nil {
		return nil, fmt.Errorf("write spill file: %w", err)
	}

	// Deduplication needs every kept document's signature: it runs once
	// the inputs are read, then the kept documents are replayed in order
	// through PII formatting into the dataset writer.
	removed, dstats, err := j.dedup.Finish(ctx)
	if err != nil {
		return nil, fmt.Errorf("dedup: %w", err)
	}
	opts.Log.Info("dedup done", "documents", dstats.Documents, "clusters", dstats.Clusters, "removed", dstats.Removed)
	if _, err := spill.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	if err := j.write(ctx, spill, removed, m); err != nil {
		return nil, err
	}
	m.Stats = j.stats
	if m.RecordIndex, err = j.writeIndex(); err != nil {
		return nil, err
	}
	if opts.Decisions != "" {
		wroteDecisions = true
		if err := j.writeDecisions(opts.Decisions); err != nil {
			return nil, err
		}
	}
	if _, err := opts.Layout.WriteManifest(opts.Output, m); err != nil {
		return nil, err
	}
	return m, nil
}

// job is one run's ordered state.
type job struct {
	opts      Options
	steps     *Steps
	stats     *pipeline.Stats
	dedup     *dedup.TaskDeduper
	spill     *gob.Encoder
	spillBuf  *bufio.Writer
	kept      int // documents in the spill file
	decisions []decision
	progress  Progress
	doneBytes int64 // input bytes of the inputs already done
	// isPartOf is the first WARC input's warcinfo isPartOf field.
	isPartOf string
	// keptDecision maps a kept document's spill index to its decision.
	keptDecision []int
	// inputEnds is, per input, the byte offset where its last record
	// ends (the file's size, or a range's end); noIndex says why the run
	// has no record index ("" when it has one).
	inputEnds []int64
	noIndex   string
	start     time.Time
	lastLog   time.Time
}

// decision is one line of the decisions file.
type decision struct {
	ID     string `json:"id"`
	URL    string `json:"url,omitempty"`
	Input  string `json:"input"`
	Index  int64  `json:"index"`
	Kept   bool   `json:"kept"`
	Step   string `json:"step,omitempty"`
	Reason string `json:"reason,omitempty"`
	KeptID string `json:"kept_id,omitempty"` // dedup: the document kept in its place

	input  int   // the input's position
	offset int64 // the record's byte offset in its input
	via    int   // dedup: the decision of a record sharing a band, toward KeptID's
}

// keptDoc is a kept document in the spill file.
type keptDoc struct {
	dataset.Doc
	Offset   int64
	MinHash  []uint64
	Decision int // index in job.decisions
}

// name is the recorded name of an input.
func (j *job) name(path string) string {
	if n, ok := j.opts.Names[path]; ok {
		return n
	}
	return path
}

func (j *job) runInput(ctx context.Context, in input.Input) (int64, error) {
	src, closer, err := j.steps.Open(ctx, in)
	if err != nil {
		return 0, err
	}
	defer closer.Close()
	ws, _ := src.(*warcSource)
	if ws != nil {
		ws.name = j.name(in.Path)
		ws.start, ws.stop = j.opts.RecordStart, j.opts.RecordEnd
	} else if j.noIndex == "" {
		j.noIndex = fmt.Sprintf("input %s is not a WARC", in.Path)
	}
	j.progress.Input = in.Path
	runner := &pipeline.Runner{
		Filters:    j.steps.Filters(in.Kind),
		Annotators: j.steps.Annotators,
		Workers:    j.opts.Workers,
	}
	var n int64
	err = runner.Run(ctx, src, func(r pipeline.Result) error {
		n++
		return j.sink(in, r)
	})
	if err != nil {
		return n, fmt.Errorf("process %s: %w", in.Path, err)
	}
	if ws != nil {
		// A file with no readable record is not a WARC (a gzip of
		// something else, a renamed file): an error, not an empty dataset.
		if ws.read == ws.unreadable {
			return n, fmt.Errorf("process %s: %w", in.Path, ErrNotWARC)
		}
		if j.isPartOf == "" {
			j.isPartOf = ws.isPartOf
		}
		if ws.unindexed && j.noIndex == "" {
			j.noIndex = fmt.Sprintf("WARC %s has records that do not start a gzip member of their own", in.Path)
		}
	}
	j.inputEnds = append(j.inputEnds, ws.endOffset())
	j.doneBytes = j.progress.BytesRead
	return n, nil
}

// createOutput creates the output folder, which must not exist or be
// empty (a run never mixes its shards with another's), and returns the
// function that removes what it created.
func createOutput(dir string) (cleanup func(), err error) {
	entries, err := os.ReadDir(dir)
	switch {
	case err == nil && len(entries) > 0:
		return nil, fmt.Errorf("output folder %s is not empty: give a new folder (or remove it)", dir)
	case err == nil:
		// An empty folder: empty it again on failure.
		return func() {
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				os.RemoveAll(filepath.Join(dir, e.Name()))
			}
		}, nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("output folder: %w", err)
	}
	// The topmost folder that MkdirAll creates is the one to remove.
	top := filepath.Clean(dir)
	for {
		parent := filepath.Dir(top)
		if parent == top {
			break
		}
		if _, err := os.Stat(parent); err == nil {
			break
		}
		top = parent
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create output folder: %w", err)
	}
	return func() { os.RemoveAll(top) }, nil
}

// sink is the ordered stage: it sees every document in input order.
func (j *job) sink(in input.Input, r pipeline.Result) error {
	j.stats.Add(r)
	d := r.Doc
	dec := decision{ID: d.ID, URL: d.URL, Input: j.name(in.Path), Index: d.Index, Kept: r.Kept(), Step: r.Step, Reason: r.Reason,
		input: len(j.inputEnds), offset: d.Offset}
	j.decisions = append(j.decisions, dec)
	if r.Kept() {
		j.keptDecision = append(j.keptDecision, len(j.decisions)-1)
		if err := j.dedup.AddSignature(j.kept, d.ID, d.MinHash); err != nil {
			return err
		}
		k := keptDoc{Doc: dataset.DocOf(d), Offset: d.Offset, MinHash: d.MinHash, Decision: len(j.decisions) - 1}
		if err := j.spill.Encode(&k); err != nil {
			return fmt.Errorf("write spill file: %w", err)
		}
		j.kept++
	}
	if d.Offset >= 0 {
		j.progress.BytesRead = j.doneBytes + d.Offset
	}
	j.progress.Records = j.stats.Records
	j.progress.Kept = j.stats.Kept
	if j.opts.Progress != nil {
		j.opts.Progress(j.progress)
	}
	if now := time.Now(); now.Sub(j.lastLog) >= 10*time.Second {
		j.lastLog = now
		j.opts.Log.Info("progress", "input", in.Path, "records", j.stats.Records, "kept", j.stats.Kept,
			"docs_per_s", float64(j.stats.Records)/now.Sub(j.start).Seconds())
	}
	return nil
}

// write replays the kept documents: drops dedup's removals, formats PII in
// order and writes the dataset.
func (j *job) write(ctx context.Context, spill io.Reader, removed map[int]dedup.KeptBy, m *dataset.Manifest) error {
	w, err := dataset.NewWriter(dataset.WriterOptions{Dir: j.opts.Output, MaxShardBytes: j.opts.MaxShardBytes, Layout: j.opts.Layout})
	if err != nil {
		return err
	}
	dec := gob.NewDecoder(bufio.NewReaderSize(spill, 1<<20))
	pii := j.steps.NewPII()
	var sigs []dedup.Signature
	var ids []string
	for i := 0; i < j.kept; i++ {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		var k keptDoc
		if err := dec.Decode(&k); err != nil {
			return fmt.Errorf("read spill file: %w", err)
		}
		if by, ok := removed[i]; ok {
			j.stats.Unkeep("dedup", "duplicate")
			d := &j.decisions[k.Decision]
			d.Kept, d.Step, d.Reason, d.KeptID = false, "dedup", "duplicate", by.ID
			d.via = j.keptDecision[by.Via]
			continue
		}
		if k.Dump == "" {
			k.Dump = j.opts.Dump
		}
		doc := pipeline.Document{Text: k.Text, ID: k.ID}
		pii.Format(&doc)
		out := k.Doc
		out.Text = doc.Text
		if err := w.Write(&out, k.FilePath, k.Offset); err != nil {
			return err
		}
		m.Documents++
		m.Tokens += k.TokenCount
		// The signature file signs the text as published, so that anyone
		// can check it against the shard (validators do): a text whose PII
		// was replaced is signed again.
		sig := k.MinHash
		if doc.Text != k.Text {
			sig = j.steps.MinHasher.Sign(doc.Text)
		}
		sigs = append(sigs, sig)
		ids = append(ids, k.ID)
	}
	shards, records, err := w.Close()
	if err != nil {
		return err
	}
	// Each shard gets its signature file next to it, so that cross-dataset
	// dedup (refine dedup) and validators need not recompute signatures.
	first := 0
	for i := range shards {
		sh := &shards[i]
		rel := dedup.SignaturePath(sh.Path)
		n := int(sh.Documents)
		err := dedup.WriteSigFile(filepath.Join(j.opts.Output, filepath.FromSlash(rel)), j.steps.MinHasher.Config(), func(sw *dedup.SigWriter) error {
			for row := 0; row < n; row++ {
				if err := sw.Add(int64(row), ids[first+row], sigs[first+row]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("write signatures of %s: %w", sh.Path, err)
		}
		first += n
		if sh.Signatures, err = dataset.HashFile(j.opts.Output, rel); err != nil {
			return err
		}
	}
	m.Shards, m.Records = shards, records
	return nil
}

// writeIndex writes the record index (dataset.IndexEntry): one entry per
// record, with its bytes — from its offset to the next record's, the last
// to its input's end — and its decision. A run with an input that is not a
// WARC, or whose records cannot be fetched alone, has none.
func (j *job) writeIndex() (*dataset.File, error) {
	if j.noIndex != "" {
		j.opts.Log.Warn("no record index: validators cannot check this dataset as a submission", "why", j.noIndex)
		return nil, nil
	}
	w, err := dataset.NewIndexWriter(j.opts.Output, j.opts.Layout.IndexPath())
	if err != nil {
		return nil, err
	}
	for i := range j.decisions {
		d := &j.decisions[i]
		end := j.inputEnds[d.input]
		if i+1 < len(j.decisions) && j.decisions[i+1].input == d.input {
			end = j.decisions[i+1].offset
		}
		e := dataset.IndexEntry{WARC: d.input, Offset: d.offset, Length: end - d.offset, Kept: d.Kept}
		if !d.Kept {
			e.Step, e.Reason = d.Step, d.Reason
		}
		if d.Step == "dedup" {
			via := int64(d.via)
			e.Dup = &via
		}
		if err := w.Add(e); err != nil {
			w.Abort()
			return nil, fmt.Errorf("write record index: %w", err)
		}
	}
	return w.Close()
}

func (j *job) writeDecisions(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create decisions file: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for i := range j.decisions {
		if err := enc.Encode(&j.decisions[i]); err != nil {
			f.Close()
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write decisions file: %w", err)
	}
	return f.Close()
}
