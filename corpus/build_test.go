package corpus

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/store"
	"github.com/datarefine/refine/store/local"
)

// randWords returns n pseudo-random words, a different text for every seed.
func randWords(seed uint64, n int) string {
	r := rand.New(rand.NewPCG(seed, 99))
	w := make([]string, n)
	for i := range w {
		w[i] = fmt.Sprintf("w%c%c%c", 'a'+r.IntN(26), 'a'+r.IntN(26), 'a'+r.IntN(26))
	}
	return strings.Join(w, " ")
}

// testDoc is one document of a test input.
type testDoc struct {
	id, dump, text string
}

// writeFolder writes a dataset folder as `refine process` does (shards,
// records, manifest), cutting shards every shardDocs documents.
func writeFolder(t testing.TB, dir string, docs []testDoc, shardDocs int64) {
	t.Helper()
	w, err := dataset.NewWriter(dataset.WriterOptions{Dir: dir, MaxShardDocs: shardDocs})
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range docs {
		doc := dataset.Doc{Text: d.text, ID: d.id, Dump: d.dump, URL: "https://example.com/" + d.id, Date: "2024-03-01T00:00:00Z",
			FilePath: "crawl-data/x.warc.gz", Language: "en", LanguageScore: 0.9, TokenCount: int64(len(strings.Fields(d.text)))}
		if err := w.Write(&doc, "crawl-data/x.warc.gz", int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	shards, records, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	m := &dataset.Manifest{Format: dataset.Format, PipelineVersion: "test", Hotkey: "hk-" + filepath.Base(dir), Task: filepath.Base(dir),
		Inputs: []dataset.Input{}, Assets: []dataset.Asset{}, Shards: shards, Records: records}
	for _, s := range shards {
		m.Documents += s.Documents
		m.Tokens += s.Tokens
	}
	if _, err := dataset.WriteManifest(dir, m); err != nil {
		t.Fatal(err)
	}
}

// corpusFixture is three inputs over two dumps: b repeats some of a's
// documents with one word changed (near-duplicates) and one of its own;
// c, added in a second build, repeats some of a's and b's.
type corpusFixture struct {
	dirs []string
	docs [][]testDoc
	// dups maps a duplicate's id to the id of the earliest document of
	// its cluster (the one that survives).
	dups map[string]string
}

func newFixture(t testing.TB, root string, scale int) *corpusFixture {
	t.Helper()
	return newFixtureRuns(t, root, scale, 7)
}

// newFixtureRuns is newFixture with the dump changing every run documents
// (each change starts a new input shard).
func newFixtureRuns(t testing.TB, root string, scale, run int) *corpusFixture {
	t.Helper()
	f := &corpusFixture{dups: map[string]string{}}
	dumps := []string{"CC-MAIN-2024-10", "CC-MAIN-2023-50"}
	text := map[string]string{}
	mk := func(in, n int) []testDoc {
		var docs []testDoc
		for i := range n {
			d := testDoc{id: fmt.Sprintf("in%d-%04d", in, i), dump: dumps[(i/run)%2], text: randWords(uint64(in*100000+i), 60+i%40)}
			if i%13 == 5 {
				d.text = "too short to sign" // no signature: never removed
			}
			docs = append(docs, d)
			text[d.id] = d.text
		}
		return docs
	}
	near := func(d *testDoc, of testDoc) {
		d.dump = of.dump
		d.text = text[of.id][:len(text[of.id])-1] + "q" // one word changed
		text[d.id] = d.text
		f.dups[d.id] = of.id
	}
	a := mk(0, 40*scale)
	b := mk(1, 30*scale)
	c := mk(2, 25*scale)
	for i := 0; i < 30*scale; i += 3 { // b copies a
		if a[i].text != "too short to sign" && b[i].text != "too short to sign" {
			near(&b[i], a[i])
		}
	}
	b[len(b)-1].dump, b[len(b)-1].text = b[1].dump, b[1].text // b repeats itself
	f.dups[b[len(b)-1].id] = f.root(b[1].id)
	for i := 1; i < 25*scale; i += 4 { // c copies a and b
		if c[i].text == "too short to sign" {
			continue
		}
		of := a[i]
		if i%8 == 1 {
			of = b[i]
		}
		if of.text == "too short to sign" {
			continue
		}
		near(&c[i], of)
		f.dups[c[i].id] = f.root(of.id)
	}
	f.docs = [][]testDoc{a, b, c}
	for i, docs := range f.docs {
		dir := filepath.Join(root, fmt.Sprintf("in%d", i))
		writeFolder(t, dir, docs, int64(12*scale))
		f.dirs = append(f.dirs, dir)
	}
	return f
}

func (f *corpusFixture) root(id string) string {
	for {
		r, ok := f.dups[id]
		if !ok {
			return id
		}
		id = r
	}
}

// kept returns the ids the dataset must hold after the first n inputs.
func (f *corpusFixture) kept(n int) map[string]bool {
	out := map[string]bool{}
	for _, docs := range f.docs[:n] {
		for _, d := range docs {
			if _, dup := f.dups[d.id]; !dup {
				out[d.id] = true
			}
		}
	}
	return out
}

// readDataset reads every shard the glob data/*/*.parquet finds (as
// DuckDB or datasets would), returning ids by shard and row.
func readDataset(t testing.TB, dir string) (map[string][]dataset.Doc, []string) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "data", "*", "*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]dataset.Doc{}
	var ids []string
	for _, p := range paths {
		rel, _ := filepath.Rel(dir, p)
		err := dataset.ReadShard(p, func(d dataset.Doc) error {
			out[filepath.ToSlash(rel)] = append(out[filepath.ToSlash(rel)], d)
			ids = append(ids, d.ID)
			if "data/"+d.Dump != filepath.ToSlash(filepath.Dir(rel)) {
				return fmt.Errorf("%s: document of dump %s", rel, d.Dump)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out, ids
}

func readLines[T any](t testing.TB, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func testOptions(t testing.TB, work string, src Source, st store.Store) Options {
	o := DefaultOptions(work)
	o.Source = src
	o.Store, o.Repo = st, "owner/corpus"
	o.Memory = 256 << 20
	o.ShardBytes = 8 << 10 // several shards per dump
	o.Workers = 2
	return o
}

// checkBuild checks the working copy against the fixture's first n inputs.
func checkBuild(t *testing.T, f *corpusFixture, dir string, n int) {
	t.Helper()
	shards, ids := readDataset(t, dir)
	want := f.kept(n)
	got := map[string]bool{}
	for _, id := range ids {
		if got[id] {
			t.Errorf("document %s published twice", id)
		}
		got[id] = true
	}
	for id := range want {
		if !got[id] {
			t.Errorf("document %s missing", id)
		}
	}
	for id := range got {
		if !want[id] {
			t.Errorf("document %s published, want removed (duplicate of %s)", id, f.dups[id])
		}
	}
	// The lineage maps every output row to its source row.
	src := map[string]map[string][]testDoc{} // folder key → shard → docs
	for _, dir := range f.dirs[:n] {
		m, err := dataset.ReadManifest(dir)
		if err != nil {
			t.Fatal(err)
		}
		byShard := map[string][]testDoc{}
		err = dataset.ReadAll(dir, m, func(shard int, row int64, d dataset.Doc) error {
			p := m.Shards[shard].Path
			byShard[p] = append(byShard[p], testDoc{id: d.ID})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		src[m.Hotkey] = byShard
	}
	rows := 0
	dumps, _ := filepath.Glob(filepath.Join(dir, "lineage", "*", "*.removed.jsonl"))
	for _, rp := range dumps {
		lp := strings.TrimSuffix(rp, ".removed.jsonl") + ".jsonl"
		for _, l := range readLines[LineageRange](t, lp) {
			out := shards[l.Shard]
			at := l.Rows[0]
			for _, r := range l.SourceRows {
				for row := r[0]; row < r[1]; row++ {
					if want := src[l.Submission.Hotkey][l.Source][row].id; out[at].ID != want {
						t.Fatalf("lineage %s row %d: %s, source %s row %d is %s", l.Shard, at, out[at].ID, l.Source, row, want)
					}
					at++
					rows++
				}
			}
			if at != l.Rows[1] {
				t.Fatalf("lineage %+v: source rows fill %d rows", l, at-l.Rows[0])
			}
		}
		for _, r := range readLines[RemovedDoc](t, rp) {
			if f.root(r.ID) == r.ID {
				t.Errorf("removed %s is not a duplicate", r.ID)
			}
			of := src[r.DuplicateOf.Hotkey][r.DuplicateOf.Source][r.DuplicateOf.Row].id
			if f.root(of) != f.root(r.ID) {
				t.Errorf("removed %s said to duplicate %s", r.ID, of)
			}
		}
	}
	if rows != len(ids) {
		t.Fatalf("lineage covers %d rows, the shards hold %d", rows, len(ids))
	}
}

// checkCard parses the card's YAML header and checks its configs.
func checkCard(t *testing.T, dir string, dumps []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.SplitN(string(b), "---\n", 3)
	if len(parts) != 3 || parts[0] != "" {
		t.Fatalf("card has no YAML header:\n%s", b)
	}
	var meta struct {
		License        string   `yaml:"license"`
		Language       []string `yaml:"language"`
		TaskCategories []string `yaml:"task_categories"`
		Configs        []struct {
			Name      string `yaml:"config_name"`
			DataFiles []struct {
				Split string `yaml:"split"`
				Path  string `yaml:"path"`
			} `yaml:"data_files"`
		} `yaml:"configs"`
	}
	if err := yaml.Unmarshal([]byte(parts[1]), &meta); err != nil {
		t.Fatalf("card YAML: %v\n%s", err, parts[1])
	}
	var names []string
	for _, c := range meta.Configs {
		names = append(names, c.Name)
		if len(c.DataFiles) != 1 || c.DataFiles[0].Split != "train" {
			t.Fatalf("config %s: data files %+v", c.Name, c.DataFiles)
		}
		glob := c.DataFiles[0].Path
		matches, _ := filepath.Glob(filepath.Join(dir, filepath.FromSlash(glob)))
		if len(matches) == 0 {
			t.Errorf("config %s: %s matches no file", c.Name, glob)
		}
	}
	want := append([]string{"default"}, dumps...)
	if !slices.Equal(names, want) || meta.License != "odc-by" || !slices.Equal(meta.TaskCategories, []string{"text-generation"}) || !slices.Equal(meta.Language, []string{"en"}) {
		t.Fatalf("card configs %v (want %v), license %q, tasks %v, language %v", names, want, meta.License, meta.TaskCategories, meta.Language)
	}
}

// TestBuildFoldersIncremental builds a dataset from two folders, then
// adds a third: the second build processes only the new folder, and both
// publish exactly the deduplicated documents, with a card, lineage and
// summary, as tagged revisions of the store.
func TestBuildFoldersIncremental(t *testing.T) {
	root := t.TempDir()
	f := newFixture(t, filepath.Join(root, "in"), 1)
	st, err := local.New(filepath.Join(root, "store"))
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(root, "work")
	ctx := context.Background()

	res1, err := Build(ctx, testOptions(t, work, Folders(f.dirs[:2]), st))
	if err != nil {
		t.Fatal(err)
	}
	if res1.Build != 1 || res1.Tag != "v1" || res1.Submissions != 2 || res1.Revision == "" {
		t.Fatalf("build 1: %+v", res1)
	}
	checkBuild(t, f, res1.Dir, 2)
	checkCard(t, res1.Dir, []string{"CC-MAIN-2023-50", "CC-MAIN-2024-10"})
	before := snapshot(t, res1.Dir)

	// Build 2: only the new folder is fetched and signed.
	res2, err := Build(ctx, testOptions(t, work, Folders(f.dirs), st))
	if err != nil {
		t.Fatal(err)
	}
	if res2.Build != 2 || res2.Submissions != 1 || res2.Removed == 0 {
		t.Fatalf("build 2: %+v", res2)
	}
	checkBuild(t, f, res2.Dir, 3)
	after := snapshot(t, res2.Dir)
	for p, sum := range before {
		if strings.HasPrefix(p, "data/") && after[p] != sum {
			t.Errorf("build 2 changed shard %s", p)
		}
	}
	if _, err := Build(ctx, testOptions(t, work, Folders(f.dirs), st)); !errors.Is(err, ErrUpToDate) {
		t.Fatalf("third build with no new input: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(work, "builds")); len(entries) != 0 {
		t.Errorf("build folders left behind: %v", entries)
	}

	// Both builds are tagged revisions; main is the second, and its
	// summary is readable through the store.
	for tag, rev := range map[string]string{"v1": res1.Revision, "v2": res2.Revision, "main": res2.Revision} {
		got, err := st.Resolve(ctx, "owner/corpus", tag)
		if err != nil || got != rev {
			t.Fatalf("Resolve(%s) = %s, %v; want %s", tag, got, err, rev)
		}
	}
	rc, err := st.Open(ctx, "owner/corpus", res2.Revision, "summary.json")
	if err != nil {
		t.Fatal(err)
	}
	var sum Summary
	err = json.NewDecoder(rc).Decode(&sum)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if sum.Build != 2 || len(sum.History) != 2 || sum.History[0].Revision != res1.Revision || sum.Documents != int64(len(f.kept(3))) ||
		len(sum.Dumps) != 2 || len(sum.Contributors) != 3 {
		t.Fatalf("summary: %+v", sum)
	}
	files, err := st.List(ctx, "owner/corpus", res2.Revision)
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, fl := range files {
		listed = append(listed, fl.Path)
	}
	var local []string
	for p := range after {
		local = append(local, p)
	}
	local = append(local, ".gitattributes")
	sort.Strings(local)
	if !slices.Equal(listed, local) {
		t.Fatalf("revision lists %v, the working copy %v", listed, local)
	}
}

// snapshot maps every file under dir to its sha256.
func snapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		_, sum, err := hashFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = sum
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// runRanks runs every stage as world ranks, ranks of a stage in a
// shuffled order, as independent calls sharing only the work folder.
func runRanks(t *testing.T, opts Options, world int, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	for _, st := range Stages {
		for _, rank := range r.Perm(world) {
			if err := RunStage(context.Background(), opts, st, rank, world); err != nil {
				t.Fatalf("stage %s rank %d/%d: %v", st, rank, world, err)
			}
		}
	}
}

// TestBuildRanksMatchOneProcess builds the same inputs in one process and
// as 3 and 4 ranks per stage: the working copies are byte-identical and
// the published revisions equal.
func TestBuildRanksMatchOneProcess(t *testing.T) {
	root := t.TempDir()
	f := newFixture(t, filepath.Join(root, "in"), 2)
	ctx := context.Background()
	var snaps []map[string]string
	var revs []string
	for i, world := range []int{1, 3, 4} {
		st, err := local.New(filepath.Join(root, fmt.Sprintf("store%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		work := filepath.Join(root, fmt.Sprintf("work%d", i))
		for _, n := range []int{2, 3} { // two builds: the second uses the band index
			opts := testOptions(t, work, Folders(f.dirs[:n]), st)
			if world == 1 {
				if _, err := Build(ctx, opts); err != nil {
					t.Fatal(err)
				}
			} else {
				runRanks(t, opts, world, uint64(world*10+n))
			}
		}
		res, err := LastResult(work)
		if err != nil {
			t.Fatal(err)
		}
		checkBuild(t, f, res.Dir, 3)
		snaps = append(snaps, snapshot(t, res.Dir))
		revs = append(revs, res.Revision)
	}
	for i := 1; i < len(snaps); i++ {
		if fmt.Sprint(snaps[i]) != fmt.Sprint(snaps[0]) || revs[i] != revs[0] {
			t.Fatalf("world %d differs from one process:\n%v\n%v\nrevisions %s %s", []int{1, 3, 4}[i], snaps[0], snaps[i], revs[0], revs[i])
		}
	}
}

// TestBuildStageOrder: a stage whose predecessor has not finished stops
// with a clear error instead of building on half of it.
func TestBuildStageOrder(t *testing.T) {
	root := t.TempDir()
	f := newFixture(t, filepath.Join(root, "in"), 1)
	opts := testOptions(t, filepath.Join(root, "work"), Folders(f.dirs[:2]), nil)
	ctx := context.Background()
	if err := RunStage(ctx, opts, StageFetch, 0, 1); !errors.Is(err, ErrNoBuild) {
		t.Fatalf("fetch before plan: %v", err)
	}
	if err := RunStage(ctx, opts, StagePlan, 0, 1); err != nil {
		t.Fatal(err)
	}
	if err := RunStage(ctx, opts, StageFetch, 0, 2); err != nil { // rank 1 of 2 never runs
		t.Fatal(err)
	}
	if err := RunStage(ctx, opts, StageBucket, 0, 2); err == nil || !strings.Contains(err.Error(), "fetch stage of build 1 is not complete") {
		t.Fatalf("bucket after half a fetch: %v", err)
	}
	if err := RunStage(ctx, opts, StageFetch, 1, 2); err != nil {
		t.Fatal(err)
	}
	if err := RunStage(ctx, opts, StageCluster, 0, 1); err == nil || !strings.Contains(err.Error(), "bucket stage of build 1 is not complete") {
		t.Fatalf("cluster before bucket: %v", err)
	}
}

// TestBuildBandIndexOverManyBuilds adds one input per build over five
// builds, so that levels are written, looked up and compacted; the result
// is what one build of all inputs publishes.
func TestBuildBandIndexOverManyBuilds(t *testing.T) {
	root := t.TempDir()
	ctx := context.Background()
	// Five inputs, each repeating (near-duplicating) documents of all
	// earlier ones.
	var dirs []string
	var docs [][]testDoc
	for in := range 5 {
		var ds []testDoc
		for i := range 40 {
			d := testDoc{id: fmt.Sprintf("b%d-%02d", in, i), dump: "CC-MAIN-2024-10", text: randWords(uint64(1000*in+i), 70)}
			if in > 0 && i%4 == 0 {
				src := docs[i%in][i]
				d.text = src.text[:len(src.text)-1] + "z"
			}
			ds = append(ds, d)
		}
		docs = append(docs, ds)
		dir := filepath.Join(root, "in", fmt.Sprint(in))
		writeFolder(t, dir, ds, 16)
		dirs = append(dirs, dir)
	}
	incr := filepath.Join(root, "incremental")
	for n := 1; n <= 5; n++ {
		if _, err := Build(ctx, testOptions(t, incr, Folders(dirs[:n]), nil)); err != nil {
			t.Fatal(err)
		}
	}
	once := filepath.Join(root, "once")
	if _, err := Build(ctx, testOptions(t, once, Folders(dirs), nil)); err != nil {
		t.Fatal(err)
	}
	_, a := readDataset(t, filepath.Join(incr, "dataset"))
	_, b := readDataset(t, filepath.Join(once, "dataset"))
	sort.Strings(a)
	sort.Strings(b)
	if !slices.Equal(a, b) || len(a) != 5*40-4*10 {
		t.Fatalf("incremental kept %d documents, one build %d (want %d)", len(a), len(b), 5*40-4*10)
	}
	st, err := loadState(layout{incr})
	if err != nil {
		t.Fatal(err)
	}
	for bk, levels := range st.Dumps["CC-MAIN-2024-10"].Levels {
		var total int64
		for i, lv := range levels {
			total += lv.Records
			if i > 0 && levels[i-1].Records <= 2*lv.Records {
				t.Errorf("bucket %d: levels %v not compacted", bk, levels)
			}
		}
		if total != 5*40 || len(levels) > 3 {
			t.Errorf("bucket %d: levels %v hold %d records, want 200 in at most 3 levels", bk, levels, total)
		}
	}
	entries, _ := filepath.Glob(filepath.Join(incr, "index", "*", "*", "*"))
	if len(entries) != 2*len(st.Dumps["CC-MAIN-2024-10"].Levels[0])*14 {
		// Obsolete levels are removed when the next build is planned;
		// the last build's leftovers stay until then.
		t.Logf("index files: %d", len(entries))
	}
}
