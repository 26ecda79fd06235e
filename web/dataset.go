package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/store"
	"github.com/datarefine/refine/submission"
)

// The Dataset page shows the subnet's product: the dataset `refine dataset
// build` publishes (package corpus), read as any user reads it, from its
// repository in a store: the latest revision (main), its summary.json
// (documents, tokens and removed duplicates per dump, every build), the
// size of its parquet files, how to load it, and random documents with
// where they came from (lineage/<dump>/<build>.jsonl names each row's
// submission, miner and commitment; docs/formats/corpus.md). A document is read from the submission it came
// from, at the revision the miner committed: the same row as in the
// dataset's shard, without downloading a shard of a gigabyte.

// DatasetSource is where the site reads the published dataset.
type DatasetSource struct {
	// Store holds the dataset repository and the miners' repositories
	// (the Hub, or a local store); Refs resolves main to a revision.
	Store store.Store
	Refs  store.Tagger
	Repo  string
	// MaxFileBytes bounds every file the site reads from the store
	// (summary.json, the part of a lineage file it samples, a
	// submission's shard; default 64 MiB).
	MaxFileBytes int64
	// TempDir receives a submission shard while a sample is read from it
	// (default: the system's).
	TempDir string
	// URL links the repository's page for people (the Hub's dataset
	// page; none for a local store).
	URL string

	mu    sync.Mutex
	cache map[string]*datasetCache // by revision
	// drawing admits one draw at a time: visitors who arrive before a
	// revision's pool exists wait for it rather than each downloading
	// lineage and shards (up to MaxFileBytes apiece).
	drawing chan struct{}
}

type datasetCache struct {
	summary *DatasetSummary
	samples []Sample
}

// The published files, as docs/formats/corpus.md describes them: the site
// reads them as any user of the dataset does (package corpus writes them;
// importing it would tie the website to the build engine, which runs a
// devnet in its own tests).

// summaryFormat is the summary.json format the site reads.
const summaryFormat = "refine-corpus-summary/1"

// Summary is what the site reads of summary.json.
type Summary struct {
	Format    string `json:"format"`
	Name      string `json:"name"`
	License   string `json:"license"`
	Build     int    `json:"build"`
	Tag       string `json:"tag"`
	Documents int64  `json:"documents"`
	Tokens    int64  `json:"tokens"`
	Removed   int64  `json:"removed"`
	Shards    int    `json:"shards"`
	Dumps     []struct {
		Dump      string `json:"dump"`
		Documents int64  `json:"documents"`
		Tokens    int64  `json:"tokens"`
		Removed   int64  `json:"removed"`
		Shards    int    `json:"shards"`
	} `json:"dumps"`
	Contributors []struct {
		Hotkey      string `json:"hotkey"`
		Submissions int64  `json:"submissions"`
		Documents   int64  `json:"documents"`
		Tokens      int64  `json:"tokens"`
	} `json:"contributors"`
	History []struct {
		Build       int    `json:"build"`
		Tag         string `json:"tag"`
		Revision    string `json:"revision"`
		Submissions int    `json:"submissions"`
		Excluded    int    `json:"excluded"`
		Documents   int64  `json:"documents"`
		Tokens      int64  `json:"tokens"`
		Removed     int64  `json:"removed"`
	} `json:"history"`
}

// lineageRange is one line of lineage/<dump>/<build>.jsonl: output rows
// Rows of Shard are, in order, rows SourceRows of the submission's shard
// Source.
type lineageRange struct {
	Shard      string   `json:"shard"`
	Rows       [2]int64 `json:"rows"`
	Submission struct {
		Commitment string `json:"commitment"`
		Hotkey     string `json:"hotkey"`
		Block      uint64 `json:"block"`
		Task       string `json:"task"`
	} `json:"submission"`
	Source     string     `json:"source"`
	SourceRows [][2]int64 `json:"source_rows"`
}

// DatasetSummary is the published dataset at one revision.
type DatasetSummary struct {
	Summary
	Revision string
	// Bytes is the size of its parquet files (what a user downloads),
	// DumpBytes per dump, as the store lists them.
	Bytes     int64
	DumpBytes map[string]int64
	URL       string
	Repo      string
}

// Sample is one document of the dataset and where it came from.
type Sample struct {
	Text          string  `json:"text"`
	Truncated     bool    `json:"truncated,omitempty"`
	ID            string  `json:"id"`
	URL           string  `json:"url"`
	Dump          string  `json:"dump"`
	Date          string  `json:"date"`
	TokenCount    int64   `json:"token_count"`
	LanguageScore float64 `json:"language_score"`
	// Shard and Row are the document's place in the dataset.
	Shard string `json:"shard"`
	Row   int64  `json:"row"`
	// Miner, Commitment, Task and Block name the submission it came
	// from; Source and SourceRow its place there.
	Miner      string `json:"miner"`
	Commitment string `json:"commitment"`
	Task       string `json:"task"`
	Block      uint64 `json:"block"`
	Source     string `json:"source"`
	SourceRow  int64  `json:"source_row"`
}

func (d *DatasetSource) limit() int64 {
	if d.MaxFileBytes > 0 {
		return d.MaxFileBytes
	}
	return 64 << 20
}

// readAll reads a file of repo at rev, at most the limit.
func (d *DatasetSource) readAll(ctx context.Context, repo, rev, path string) ([]byte, error) {
	rc, err := d.Store.Open(ctx, repo, rev, path)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, d.limit()+1))
	if err != nil {
		return nil, fmt.Errorf("%s@%s/%s: %w", repo, rev, path, err)
	}
	if int64(len(b)) > d.limit() {
		return nil, fmt.Errorf("%s@%s/%s: %w (limit %d bytes)", repo, rev, path, store.ErrTooLarge, d.limit())
	}
	return b, nil
}

// Summary returns the latest build's summary (cached per revision).
func (d *DatasetSource) Summary(ctx context.Context) (*DatasetSummary, error) {
	rev, err := d.Refs.Resolve(ctx, d.Repo, "main")
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", d.Repo, err)
	}
	d.mu.Lock()
	if c := d.cache[rev]; c != nil {
		d.mu.Unlock()
		return c.summary, nil
	}
	d.mu.Unlock()
	b, err := d.readAll(ctx, d.Repo, rev, "summary.json")
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", d.Repo, err)
	}
	sum := &DatasetSummary{Revision: rev, DumpBytes: map[string]int64{}, Repo: d.Repo, URL: d.URL}
	if err := json.Unmarshal(b, &sum.Summary); err != nil {
		return nil, fmt.Errorf("dataset %s: summary.json: %w", d.Repo, err)
	}
	if sum.Format != summaryFormat {
		return nil, fmt.Errorf("dataset %s: summary.json is %q, want %q", d.Repo, sum.Format, summaryFormat)
	}
	files, err := d.Store.List(ctx, d.Repo, rev)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", d.Repo, err)
	}
	for _, f := range files {
		if dump, ok := dataDump(f.Path); ok {
			sum.Bytes += f.Size
			sum.DumpBytes[dump] += f.Size
		}
	}
	d.mu.Lock()
	if d.cache == nil || len(d.cache) > 4 {
		d.cache = map[string]*datasetCache{}
	}
	d.cache[rev] = &datasetCache{summary: sum}
	d.mu.Unlock()
	return sum, nil
}

// dataDump reports whether path is a parquet shard data/<dump>/*.parquet.
func dataDump(path string) (string, bool) {
	parts := strings.Split(path, "/")
	if len(parts) != 3 || parts[0] != "data" || !strings.HasSuffix(parts[2], ".parquet") {
		return "", false
	}
	return parts[1], true
}

// maxSamples is how many documents are drawn per revision; the page shows
// some of them at random.
const maxSamples = 24

// Samples returns n documents drawn at random from the latest revision
// (drawn once per revision, at most maxSamples, then picked from).
func (d *DatasetSource) Samples(ctx context.Context, n int) ([]Sample, error) {
	sum, err := d.Summary(ctx)
	if err != nil {
		return nil, err
	}
	pool, err := d.pool(ctx, sum)
	if err != nil {
		return nil, err
	}
	out := append([]Sample(nil), pool...)
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out[:min(n, len(out))], nil
}

// pool returns the revision's drawn samples, drawing them if no draw has
// yet succeeded, one draw at a time.
func (d *DatasetSource) pool(ctx context.Context, sum *DatasetSummary) ([]Sample, error) {
	cached := func() (*datasetCache, chan struct{}) {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.cache == nil {
			d.cache = map[string]*datasetCache{}
		}
		c := d.cache[sum.Revision]
		if c == nil { // the cache was reset since Summary read the revision
			c = &datasetCache{summary: sum}
			d.cache[sum.Revision] = c
		}
		if d.drawing == nil {
			d.drawing = make(chan struct{}, 1)
		}
		return c, d.drawing
	}
	samples := func(c *datasetCache) []Sample {
		d.mu.Lock()
		defer d.mu.Unlock()
		return c.samples
	}
	c, drawing := cached()
	if pool := samples(c); pool != nil {
		return pool, nil
	}
	select {
	case drawing <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-drawing }()
	// Another visitor's draw may have filled the pool while this one waited.
	if pool := samples(c); pool != nil {
		return pool, nil
	}
	pool, err := d.draw(ctx, sum)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	c.samples = pool
	d.mu.Unlock()
	return pool, nil
}

// pick is one drawn document: a lineage range and a row of it.
type pick struct {
	dump string
	lr   lineageRange
	row  int64 // output row
	src  int64 // source row
}

// draw picks documents uniformly among the rows the lineage files cover
// (each read up to MaxFileBytes), then reads each from its submission.
func (d *DatasetSource) draw(ctx context.Context, sum *DatasetSummary) ([]Sample, error) {
	type ranged struct {
		dump string
		lr   lineageRange
	}
	var ranges []ranged
	var total int64
	// Every build appends lineage/<dump>/<build>.jsonl; the files are read
	// in random order until MaxFileBytes of them are read.
	files, err := d.Store.List(ctx, d.Repo, sum.Revision)
	if err != nil {
		return nil, err
	}
	var lineage []store.File
	for _, f := range files {
		if strings.HasPrefix(f.Path, "lineage/") && strings.HasSuffix(f.Path, ".jsonl") && !strings.HasSuffix(f.Path, ".removed.jsonl") {
			lineage = append(lineage, f)
		}
	}
	rand.Shuffle(len(lineage), func(i, j int) { lineage[i], lineage[j] = lineage[j], lineage[i] })
	var read int64
	for _, f := range lineage {
		if read >= d.limit() {
			break
		}
		b, err := d.readLines(ctx, sum.Revision, f.Path)
		if err != nil {
			return nil, err
		}
		read += int64(len(b))
		dump := strings.Split(f.Path, "/")[1]
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			var lr lineageRange
			if json.Unmarshal(sc.Bytes(), &lr) != nil || lr.Rows[1] <= lr.Rows[0] {
				continue
			}
			ranges = append(ranges, ranged{dump, lr})
			total += lr.Rows[1] - lr.Rows[0]
		}
	}
	if total == 0 {
		return []Sample{}, nil
	}
	var picks []pick
	seen := map[string]bool{}
	for i := 0; i < 4*maxSamples && len(picks) < maxSamples && len(picks) < int(total); i++ {
		k := rand.Int64N(total)
		for _, r := range ranges {
			n := r.lr.Rows[1] - r.lr.Rows[0]
			if k >= n {
				k -= n
				continue
			}
			key := fmt.Sprintf("%s#%d", r.lr.Shard, r.lr.Rows[0]+k)
			if !seen[key] {
				seen[key] = true
				picks = append(picks, pick{dump: r.dump, lr: r.lr, row: r.lr.Rows[0] + k, src: sourceRow(r.lr.SourceRows, k)})
			}
			break
		}
	}
	// Read the picks, one submission shard at a time.
	bySource := map[string][]pick{}
	for _, p := range picks {
		key := p.lr.Submission.Commitment + "\x00" + p.lr.Source
		bySource[key] = append(bySource[key], p)
	}
	keys := make([]string, 0, len(bySource))
	for k := range bySource {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Sample
	for _, k := range keys {
		ss, err := d.readPicks(ctx, bySource[k])
		if err != nil {
			return nil, err
		}
		out = append(out, ss...)
	}
	return out, nil
}

// readLines reads a lines file of the dataset in one pass: whole when it
// is within the limit, else its first MaxFileBytes cut after the last whole
// line (a huge lineage file is sampled by its start).
func (d *DatasetSource) readLines(ctx context.Context, rev, path string) ([]byte, error) {
	rc, err := d.Store.Open(ctx, d.Repo, rev, path)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, d.limit()+1))
	if err != nil {
		return nil, fmt.Errorf("%s@%s/%s: %w", d.Repo, rev, path, err)
	}
	if int64(len(b)) > d.limit() {
		b = b[:d.limit()]
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			b = b[:i+1]
		}
	}
	return b, nil
}

// sourceRow maps the k-th row of a lineage range to its row in the
// submission's shard.
func sourceRow(ranges [][2]int64, k int64) int64 {
	for _, r := range ranges {
		if n := r[1] - r[0]; k < n {
			return r[0] + k
		} else {
			k -= n
		}
	}
	return -1
}

// maxSampleText is how much of a document's text a sample shows.
const maxSampleText = 2000

// readPicks reads the picked rows of one submission shard, fetched at the
// revision the miner committed.
func (d *DatasetSource) readPicks(ctx context.Context, picks []pick) ([]Sample, error) {
	p0 := picks[0]
	c, err := submission.Parse(p0.lr.Submission.Commitment)
	if err != nil {
		return nil, fmt.Errorf("lineage of %s: %w", p0.lr.Shard, err)
	}
	tmp, err := os.MkdirTemp(d.TempDir, "refine-web-sample-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	b, err := d.readAll(ctx, c.Repo, c.Revision, p0.lr.Source)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(tmp, "shard.parquet")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, err
	}
	want := map[int64][]pick{}
	for _, p := range picks {
		want[p.src] = append(want[p.src], p)
	}
	var out []Sample
	var row int64
	rd := dataset.NewReader(dataset.ReadLimits{})
	err = rd.ReadShard(ctx, path, func(doc dataset.Doc) error {
		for _, p := range want[row] {
			s := Sample{ID: doc.ID, URL: doc.URL, Dump: doc.Dump, Date: doc.Date, TokenCount: doc.TokenCount, LanguageScore: doc.LanguageScore,
				Shard: p.lr.Shard, Row: p.row, Miner: p.lr.Submission.Hotkey, Commitment: p.lr.Submission.Commitment, Task: p.lr.Submission.Task,
				Block: p.lr.Submission.Block, Source: p.lr.Source, SourceRow: p.src, Text: doc.Text}
			if len(s.Text) > maxSampleText {
				cut := maxSampleText
				for cut > 0 && !utf8.RuneStart(s.Text[cut]) {
					cut--
				}
				s.Text, s.Truncated = s.Text[:cut], true
			}
			out = append(out, s)
		}
		row++
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s@%s/%s: %w", c.Repo, c.Revision, p0.lr.Source, err)
	}
	return out, nil
}

// ---- the page and its JSON ----

type datasetPage struct {
	Summary *DatasetSummary
	Samples []Sample
	Err     string
	Repo    string
}

func (s *Site) pageDataset(w http.ResponseWriter, r *http.Request) {
	if s.opts.Dataset == nil {
		s.pageError(w, r, http.StatusNotFound, "This site shows no published dataset (refine web --dataset-repo).")
		return
	}
	d := datasetPage{Repo: s.opts.Dataset.Repo}
	sum, err := s.opts.Dataset.Summary(r.Context())
	if errors.Is(err, store.ErrNotFound) {
		d.Err = "Nothing is published yet: no build of the dataset in " + s.opts.Dataset.Repo + "."
		s.render(w, r, http.StatusOK, "dataset", "Dataset", "dataset", d, "")
		return
	}
	if err != nil {
		s.pageFail(w, r, err)
		return
	}
	d.Summary = sum
	if d.Samples, err = s.opts.Dataset.Samples(r.Context(), 5); err != nil {
		s.opts.Logger.Warn("web: dataset samples", "err", err)
		d.Err = "Samples unavailable: " + err.Error()
	}
	s.render(w, r, http.StatusOK, "dataset", "Dataset", "dataset", d, "")
}

func (s *Site) apiDatasetSamples(w http.ResponseWriter, r *http.Request) {
	if s.opts.Dataset == nil {
		writeError(w, http.StatusNotFound, "not_found", "this site shows no published dataset")
		return
	}
	ss, err := s.opts.Dataset.Samples(r.Context(), 5)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			err = fmt.Errorf("%w: nothing published yet", errNotFound)
		}
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"samples": nonNil(ss)})
}

// datasetChart is the dataset's growth: documents and tokens after each
// build.
func (s *Site) datasetChart(r *http.Request) (Series, error) {
	out := Series{X: []int64{}, Axis: "build", Step: 1, Y: Axis{Label: "tokens"}, Series: []SeriesLine{{Label: "tokens after each build", Values: []*float64{}}}}
	if s.opts.Dataset == nil {
		return out, fmt.Errorf("%w: this site shows no published dataset", errNotFound)
	}
	sum, err := s.opts.Dataset.Summary(r.Context())
	if errors.Is(err, store.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return out, err
	}
	var tokens int64
	for _, b := range sum.History {
		tokens += b.Tokens
		out.X = append(out.X, int64(b.Build))
		out.Series[0].Values = append(out.Series[0].Values, fp(float64(tokens)))
	}
	return out, nil
}
