package corpus

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/datarefine/refine/acceptance"
	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/internal/attack"
	"github.com/datarefine/refine/store"
	"github.com/datarefine/refine/store/local"
	"github.com/datarefine/refine/submission"
	"github.com/datarefine/refine/taskapi"
)

// publishSubmission writes task's documents in the submission layout to a
// miner's repository and returns its commitment.
func publishSubmission(t *testing.T, st store.Store, repo, hotkey string, task int64, docs []testDoc) submission.Commitment {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	lay := dataset.SubmissionLayout(task)
	w, err := dataset.NewWriter(dataset.WriterOptions{Dir: dir, Layout: lay, MaxShardDocs: 20})
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range docs {
		doc := dataset.Doc{Text: d.text, ID: d.id, Dump: d.dump, URL: "https://example.com/" + d.id, Language: "en", LanguageScore: 0.9, TokenCount: 7}
		if err := w.Write(&doc, "crawl-data/x.warc.gz", int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	shards, records, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	m := &dataset.Manifest{Format: dataset.Format, PipelineVersion: "test", Task: fmt.Sprint(task), Hotkey: hotkey,
		Inputs: []dataset.Input{}, Assets: []dataset.Asset{}, Shards: shards, Records: records}
	sum, err := lay.WriteManifest(dir, m)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Create(ctx, repo); err != nil {
		t.Fatal(err)
	}
	rev, err := st.Publish(ctx, repo, dir, fmt.Sprintf("task %d", task))
	if err != nil {
		t.Fatal(err)
	}
	c, err := submission.New(repo, rev, task, sum)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestBuildFromNetwork builds from accepted submissions in miners'
// repositories: each fetched at its pinned revision with submission.Fetch.
// A commitment whose manifest hash does not match, and one whose manifest
// names another hotkey, are left out with their reasons; a copy of another
// miner's documents committed later loses to the original.
func TestBuildFromNetwork(t *testing.T) {
	root := t.TempDir()
	st, err := local.New(filepath.Join(root, "hub"))
	if err != nil {
		t.Fatal(err)
	}
	mk := func(prefix string, n int, seed uint64) []testDoc {
		var ds []testDoc
		for i := range n {
			ds = append(ds, testDoc{id: fmt.Sprintf("%s-%d", prefix, i), dump: "CC-MAIN-2024-10", text: randWords(seed+uint64(i), 70)})
		}
		return ds
	}
	alice := mk("alice", 30, 0)
	bob := mk("bob", 30, 1000)
	for i := 0; i < 30; i += 3 { // bob's task holds near-copies of alice's pages
		bob[i].text = alice[i].text[:len(alice[i].text)-1] + "x"
	}
	mallory := mk("mallory", 10, 5000)
	c1 := publishSubmission(t, st, "alice/refined", "5Alice", 1, alice)
	c2 := publishSubmission(t, st, "bob/refined", "5Bob", 2, bob)
	c3 := publishSubmission(t, st, "mallory/refined", "5Mallory", 3, mallory)
	forged := c3
	forged.ManifestHash = strings.Repeat("0", submission.HashPrefixLen)
	c4 := publishSubmission(t, st, "mallory/refined", "5Alice", 4, mk("imposter", 5, 9000))
	accepted := []Submission{
		{Commitment: c2.String(), Hotkey: "5Bob", Block: 120, TaskID: 2},
		{Commitment: c1.String(), Hotkey: "5Alice", Block: 100, TaskID: 1},
		{Commitment: forged.String(), Hotkey: "5Mallory", Block: 130, TaskID: 3},
		{Commitment: c4.String(), Hotkey: "5Mallory", Block: 140, TaskID: 4},
	}
	src := &Network{
		Accepted: func(context.Context) ([]Submission, float64, error) { return accepted, 2.0 / 3, nil },
		Rule:     acceptance.Rule{Share: 2.0 / 3}, URL: "http://taskserver.test", Store: st,
	}
	out, err := local.New(filepath.Join(root, "out"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Build(context.Background(), testOptions(t, filepath.Join(root, "work"), src, out))
	if err != nil {
		t.Fatal(err)
	}
	if res.Submissions != 2 || res.Excluded != 2 || res.Documents != 50 || res.Removed != 10 || res.LastBlock != 140 {
		t.Fatalf("build: %+v", res)
	}
	_, ids := readDataset(t, res.Dir)
	for _, id := range ids {
		if n := 0; strings.HasPrefix(id, "mallory") || strings.HasPrefix(id, "imposter") {
			t.Fatalf("excluded submission's document %s published", id)
		} else if _, err := fmt.Sscanf(id, "bob-%d", &n); err == nil && n%3 == 0 {
			t.Fatalf("bob's copy %s published; alice committed first", id)
		}
	}
	sum := readSummary(t, res.Dir)
	if sum.Source.Kind != "network" || sum.Source.Share != 2.0/3 || !strings.Contains(sum.Source.Rule, "0.666") {
		t.Fatalf("source recorded as %+v", sum.Source)
	}
	lin := readLines[LineageRange](t, filepath.Join(res.Dir, "lineage", "CC-MAIN-2024-10", "000001.jsonl"))
	if lin[0].Submission.Commitment != c1.String() || lin[0].Submission.Hotkey != "5Alice" || lin[0].Submission.Block != 100 || lin[0].Submission.Task != "1" ||
		!strings.HasPrefix(lin[0].Source, "data/CC-MAIN-2024-10/1_") {
		t.Fatalf("lineage: %+v", lin[0])
	}
	// Why each excluded input is out is on record.
	ex := sum.History[0].Exclusions
	if len(ex) != 2 || ex[0].Key != forged.String() || !strings.Contains(ex[0].Reason, "manifest_hash") ||
		ex[1].Key != c4.String() || !strings.Contains(ex[1].Reason, "hotkey") {
		t.Fatalf("exclusions: %+v", ex)
	}
}

func readSummary(t *testing.T, dir string) Summary {
	t.Helper()
	var s Summary
	if ok, err := readJSON(filepath.Join(dir, "summary.json"), &s); err != nil || !ok {
		t.Fatalf("summary.json: %v", err)
	}
	return s
}

// TestBuildExcludesBombs: folder inputs whose shard is a dictionary bomb
// (one 1 MB text, 2,000 rows: 2 GB decoded from a tiny file), a zstd bomb
// or not parquet at all are left out, in seconds, with their reasons; the
// honest folder is built.
func TestBuildExcludesBombs(t *testing.T) {
	root := t.TempDir()
	honest := filepath.Join(root, "honest")
	var docs []testDoc
	for i := range 20 {
		docs = append(docs, testDoc{id: fmt.Sprintf("h%d", i), dump: "CC-MAIN-2024-10", text: randWords(uint64(i), 60)})
	}
	writeFolder(t, honest, docs, 100)
	bomb := func(name string, make func(path string) error) string {
		dir := filepath.Join(root, name)
		p := filepath.Join(dir, "data", "CC-MAIN-2024-10", "00000.parquet")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := make(p); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	dict := bomb("dict", func(p string) error { return attack.DictionaryBomb(p, 2_000, strings.Repeat("bomb ", 200_000), "d") })
	zstd := bomb("zstd", func(p string) error { return attack.ZstdBomb(p, 4, 8<<20, "z") })
	junk := bomb("junk", func(p string) error { return os.WriteFile(p, []byte("not parquet at all"), 0o644) })
	start := time.Now()
	res, err := Build(context.Background(), testOptions(t, filepath.Join(root, "work"), Folders{dict, zstd, junk, honest}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Fatalf("the bombs cost %s", took)
	}
	if res.Submissions != 1 || res.Excluded != 3 || res.Documents != 20 {
		t.Fatalf("build: %+v", res.BuildRecord)
	}
	for _, ex := range readSummary(t, res.Dir).History[0].Exclusions {
		if !strings.Contains(ex.Reason, "unreadable shard") {
			t.Errorf("%s excluded for %q", ex.Key, ex.Reason)
		}
	}
	t.Logf("three bombs excluded in %s", time.Since(start).Round(time.Millisecond))
}

// TestNetworkAcceptanceShare: the dataset records the acceptance share the
// task server states it decided the submissions with; a share given by hand
// that contradicts it is refused, and one is needed only from a server that
// does not state its share.
func TestNetworkAcceptanceShare(t *testing.T) {
	for _, tc := range []struct {
		name          string
		given, server float64
		want          float64 // recorded; 0: refused
	}{
		{"the server's by default", 0, 0.75, 0.75},
		{"given and the same", 0.75, 0.75, 0.75},
		{"given and different", 0.5, 0.75, 0},
		{"server silent, default", 0, 0, acceptance.DefaultShare},
		{"server silent, given", 0.6, 0, 0.6},
		{"server states an unusable share", 0, 1.5, 0},
	} {
		src := &Network{
			Accepted: func(context.Context) ([]Submission, float64, error) { return nil, tc.server, nil },
			Rule:     acceptance.Rule{Share: tc.given}, URL: "http://taskserver.test",
		}
		_, err := src.Submissions(context.Background())
		switch {
		case tc.want == 0 && err == nil:
			t.Errorf("%s: accepted, recorded %v; want refused", tc.name, src.Info().Share)
		case tc.want == 0 && tc.given != 0 && (!errors.Is(err, ErrShareMismatch) || !strings.Contains(err.Error(), "0.5 given") || !strings.Contains(err.Error(), "0.75")):
			t.Errorf("%s: %v, want ErrShareMismatch naming both shares", tc.name, err)
		case tc.want != 0 && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != 0 && src.Info().Share != tc.want:
			t.Errorf("%s: recorded share %v, want %v", tc.name, src.Info().Share, tc.want)
		}
	}
}

func TestFromAccepted(t *testing.T) {
	got := FromAccepted([]taskapi.AcceptedSubmission{
		{LeaseID: 9, TaskID: 7, Hotkey: "5Hot", Commitment: "r1:m/r@abc:7:0123456789abcdef", CommitBlock: 42, DecidedBlock: 50},
	})
	want := []Submission{{Key: "r1:m/r@abc:7:0123456789abcdef", Commitment: "r1:m/r@abc:7:0123456789abcdef", Hotkey: "5Hot", Block: 42, TaskID: 7}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("FromAccepted = %+v, want %+v", got, want)
	}
	if got := FromAccepted(nil); got == nil || len(got) != 0 {
		t.Fatalf("FromAccepted(nil) = %#v, want an empty list", got)
	}
}
