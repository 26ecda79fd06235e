package corpus

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"path/filepath"
	"sort"

	"github.com/datarefine/refine/internal/atomicfile"
)

// clusterResult is the completion marker of one dump's cluster unit.
type clusterResult struct {
	Dump      string `json:"dump"`
	First     int64  `json:"first_document"`
	Documents int64  `json:"documents"`
	Removed   int64  `json:"removed"`
	// RemovedForIndexed counts documents removed as copies of documents
	// of earlier builds.
	RemovedForIndexed int64      `json:"removed_for_earlier_builds"`
	Kept              int64      `json:"kept"`
	Shards            []outShard `json:"shards"`
}

// outShard is one output shard: the kept rows of input shards, in order.
type outShard struct {
	Name      string    `json:"name"`
	Docs      int64     `json:"docs"`
	TextBytes int64     `json:"text_bytes"`
	Segments  []segment `json:"segments"`
}

// segment is the run of an output shard's rows that one input shard fills:
// its source rows, as half-open ranges, in order.
type segment struct {
	Input int        `json:"input"`
	Shard int        `json:"shard"`
	Rows  [][2]int64 `json:"rows"`
}

func (s *segment) docs() int64 {
	var n int64
	for _, r := range s.Rows {
		n += r[1] - r[0]
	}
	return n
}

// SubmissionRef names where a document came from in the lineage files.
type SubmissionRef struct {
	Key        string `json:"key"`
	Commitment string `json:"commitment,omitempty"`
	Hotkey     string `json:"hotkey,omitempty"`
	Block      uint64 `json:"block,omitempty"`
	Task       string `json:"task,omitempty"`
}

// LineageRange is one line of lineage/<dump>.jsonl: output rows Rows
// [first, end) of Shard are, in order, the rows SourceRows of the
// submission's shard Source.
type LineageRange struct {
	Shard      string        `json:"shard"`
	Rows       [2]int64      `json:"rows"`
	Build      int           `json:"build"`
	Submission SubmissionRef `json:"submission"`
	Source     string        `json:"source"`
	SourceRows [][2]int64    `json:"source_rows"`
}

// DocRef is a document by its source: the submission (its key, and the
// miner's hotkey; the lineage has the rest), its shard and row.
type DocRef struct {
	Build  int    `json:"build"`
	Key    string `json:"key"`
	Hotkey string `json:"hotkey,omitempty"`
	Source string `json:"source"`
	Row    int64  `json:"row"`
}

func docRef(build int, sub SubmissionRef, source string, row int64) DocRef {
	return DocRef{Build: build, Key: sub.Key, Hotkey: sub.Hotkey, Source: source, Row: row}
}

// RemovedDoc is one line of lineage/<dump>.removed.jsonl: a document
// deduplication dropped, and the earliest document of its cluster that
// the index knows (which may itself have been dropped, in favour of a
// still earlier one).
type RemovedDoc struct {
	DocRef
	ID          string `json:"id"`
	DuplicateOf DocRef `json:"duplicate_of"`
}

// docsLine is one line of state/<dump>.docs.jsonl: an input shard's place
// in the dump's document numbering.
type docsLine struct {
	First      int64         `json:"first"`
	Rows       int64         `json:"rows"`
	Build      int           `json:"build"`
	Submission SubmissionRef `json:"submission"`
	Source     string        `json:"source"`
}

// clusterStage runs this rank's dumps (unit = dump index).
func (b *builder) clusterStage(ctx context.Context) error {
	fr, dumps, err := b.inputs()
	if err != nil {
		return err
	}
	for di, dump := range sortedDumps(dumps) {
		if !b.mine(di) || exists(b.l.clusterDone(b.n, dump)) {
			continue
		}
		b.log.Info("cluster", "build", b.n, "dump", dump)
		if err := b.clusterDump(ctx, dump, dumps[dump], fr); err != nil {
			return fmt.Errorf("dataset build: dump %s: %w", dump, err)
		}
	}
	return nil
}

func (b *builder) submissionRef(fr []fetchResult, i int) SubmissionRef {
	s := b.plan.Inputs[i]
	ref := SubmissionRef{Key: s.Key, Commitment: s.Commitment, Hotkey: s.Hotkey, Block: s.Block, Task: fr[i].Task}
	if ref.Hotkey == "" {
		ref.Hotkey = fr[i].Hotkey // a folder's manifest: a claim
	}
	if s.TaskID != 0 {
		ref.Task = fmt.Sprint(s.TaskID)
	}
	return ref
}

func (b *builder) clusterDump(ctx context.Context, dump string, shards []docShard, fr []fetchResult) error {
	cfg := b.opts.MinHasher.Config()
	base := shards[0].first
	last := shards[len(shards)-1]
	n := last.first + last.sh.Rows - base
	var pairs []string
	for bk := range cfg.NumBuckets {
		if !exists(b.l.bucketDone(b.n, dump, bk)) {
			return fmt.Errorf("the bucket stage of build %d is not complete (bucket %d)", b.n, bk)
		}
		pairs = append(pairs, b.l.pairs(b.n, dump, bk))
	}
	if need := 8*n + engineReserve; need > b.opts.Memory {
		return fmt.Errorf("memory bound %d bytes too small to cluster %d new documents (%d bytes)", b.opts.Memory, n, need)
	}
	// New documents are joined among themselves first; a cluster that
	// also holds an indexed (earlier) document loses all its new members.
	uf := newEarliestUnion(int(n))
	for _, p := range pairs {
		err := readPairs(p, func(a, c uint32) {
			if int64(a) >= base {
				uf.union(uint32(int64(a)-base), uint32(int64(c)-base))
			}
		})
		if err != nil {
			return err
		}
	}
	var oldMin []uint32
	for _, p := range pairs {
		err := readPairs(p, func(a, c uint32) {
			if int64(a) >= base {
				return
			}
			if oldMin == nil {
				oldMin = make([]uint32, n)
				for i := range oldMin {
					oldMin[i] = math.MaxUint32
				}
			}
			r := uf.find(uint32(int64(c) - base))
			oldMin[r] = min(oldMin[r], a)
		})
		if err != nil {
			return err
		}
	}

	res := clusterResult{Dump: dump, First: base, Documents: n}
	// The line files are streamed (a dump's removals can be many), each
	// renamed into place when complete.
	var files []*lineFile
	defer func() {
		for _, f := range files {
			f.abort()
		}
	}()
	open := func(ext string) (*lineFile, error) {
		f, err := createLineFile(b.l.clusterFile(b.n, dump, ext))
		if err == nil {
			files = append(files, f)
		}
		return f, err
	}
	removedF, err := open(".removed.jsonl")
	if err != nil {
		return err
	}
	docsF, err := open(".docs.jsonl")
	if err != nil {
		return err
	}
	linF, err := open(".lineage.jsonl")
	if err != nil {
		return err
	}
	renc, denc, lenc := removedF.enc, docsF.enc, linF.enc
	ds := b.state.dumpState(dump, cfg)
	nextShard := ds.Shards
	var cur *outShard
	closeShard := func() {
		if cur != nil && cur.Docs > 0 {
			res.Shards = append(res.Shards, *cur)
		}
		cur = nil
	}
	var old *oldDocs
	refOf := func(g int64) (DocRef, error) {
		if g >= base {
			k := sort.Search(len(shards), func(i int) bool { return shards[i].first > g }) - 1
			s := shards[k]
			return docRef(b.n, b.submissionRef(fr, s.input), s.sh.Name, g-s.first), nil
		}
		if old == nil {
			var err error
			if old, err = loadOldDocs(b.l.docs(dump), ds.DocsBytes); err != nil {
				return DocRef{}, err
			}
		}
		return old.ref(g)
	}
	for _, s := range shards {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := denc.Encode(docsLine{First: s.first, Rows: s.sh.Rows, Build: b.n, Submission: b.submissionRef(fr, s.input), Source: s.sh.Name}); err != nil {
			return err
		}
		sizes, ids, err := readRows(b.abs(s.sh.RowsFile), s.sh.Rows)
		if err != nil {
			return err
		}
		for row := int64(0); row < s.sh.Rows; row++ {
			x := uint32(s.first - base + row)
			root := uf.find(x)
			dup := int64(-1)
			switch {
			case oldMin != nil && oldMin[root] != math.MaxUint32:
				dup = int64(oldMin[root])
				res.RemovedForIndexed++
			case root != x:
				dup = base + int64(root)
			}
			if dup >= 0 {
				res.Removed++
				me, err := refOf(s.first + row)
				if err != nil {
					return err
				}
				of, err := refOf(dup)
				if err != nil {
					return err
				}
				if err := renc.Encode(RemovedDoc{DocRef: me, ID: ids[row], DuplicateOf: of}); err != nil {
					return err
				}
				continue
			}
			res.Kept++
			if cur == nil {
				cur = &outShard{Name: path.Join("data", dump, fmt.Sprintf("%05d.parquet", nextShard))}
				nextShard++
			}
			seg := len(cur.Segments) - 1
			if seg < 0 || cur.Segments[seg].Input != s.input || cur.Segments[seg].Shard != s.shard {
				cur.Segments = append(cur.Segments, segment{Input: s.input, Shard: s.shard})
				seg++
			}
			rs := &cur.Segments[seg].Rows
			if k := len(*rs) - 1; k >= 0 && (*rs)[k][1] == row {
				(*rs)[k][1]++
			} else {
				*rs = append(*rs, [2]int64{row, row + 1})
			}
			cur.Docs++
			cur.TextBytes += int64(sizes[row])
			if cur.TextBytes >= b.plan.Params.ShardBytes {
				closeShard()
			}
		}
	}
	closeShard()

	// The lineage: one line per segment of every output shard.
	for _, o := range res.Shards {
		var at int64
		for _, sg := range o.Segments {
			sh := fr[sg.Input].Shards[sg.Shard]
			d := sg.docs()
			err := lenc.Encode(LineageRange{
				Shard: o.Name, Rows: [2]int64{at, at + d}, Build: b.n,
				Submission: b.submissionRef(fr, sg.Input), Source: sh.Name, SourceRows: sg.Rows,
			})
			if err != nil {
				return err
			}
			at += d
		}
	}
	for _, f := range files {
		if err := f.commit(); err != nil {
			return err
		}
	}
	files = nil
	return writeJSON(b.l.clusterDone(b.n, dump), &res)
}

// lineFile streams JSON lines (HTML left alone) to a temporary file that
// commit renames into place.
type lineFile struct {
	f   *atomicfile.File
	w   *bufio.Writer
	enc *json.Encoder
}

func createLineFile(path string) (*lineFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := atomicfile.Create(path, atomicfile.Options{})
	if err != nil {
		return nil, err
	}
	lf := &lineFile{f: f, w: bufio.NewWriterSize(f, 1<<20)}
	lf.enc = json.NewEncoder(lf.w)
	lf.enc.SetEscapeHTML(false)
	return lf, nil
}

func (lf *lineFile) commit() error {
	if err := lf.w.Flush(); err != nil {
		lf.f.Abort()
		return err
	}
	return lf.f.Commit()
}

func (lf *lineFile) abort() { lf.f.Abort() }

// oldDocs is the committed part of a dump's document numbering.
type oldDocs struct{ lines []docsLine }

func loadOldDocs(path string, committed int64) (*oldDocs, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, committed))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var od oldDocs
	for sc.Scan() {
		var l docsLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		od.lines = append(od.lines, l)
	}
	return &od, sc.Err()
}

func (od *oldDocs) ref(g int64) (DocRef, error) {
	k := sort.Search(len(od.lines), func(i int) bool { return od.lines[i].First > g }) - 1
	if k < 0 || g >= od.lines[k].First+od.lines[k].Rows {
		return DocRef{}, fmt.Errorf("document %d is not in the committed numbering", g)
	}
	l := od.lines[k]
	return docRef(l.Build, l.Submission, l.Source, g-l.First), nil
}

// clustered reads every dump's cluster marker; the stage must be complete.
func (b *builder) clustered(dumps []string) ([]clusterResult, error) {
	out := make([]clusterResult, len(dumps))
	for i, d := range dumps {
		ok, err := readJSON(b.l.clusterDone(b.n, d), &out[i])
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("dataset build: the cluster stage of build %d is not complete (dump %s)", b.n, d)
		}
	}
	return out, nil
}
