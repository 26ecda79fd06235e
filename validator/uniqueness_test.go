package validator

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/datarefine/refine/taskapi"
	"github.com/datarefine/refine/validator/verify"
)

// docsWithBands returns n documents of 14 random band values each.
func docsWithBands(r *rand.Rand, n int) ([]verify.Doc, [][]uint64) {
	docs := make([]verify.Doc, n)
	bands := make([][]uint64, n)
	for i := range docs {
		b := make([]uint64, 14)
		for k := range b {
			b[k] = r.Uint64()
		}
		docs[i], bands[i] = verify.Doc{ID: fmt.Sprint(i), Bands: b}, b
	}
	return docs, bands
}

// TestUniquenessIndex: accepted documents are found by later submissions
// of the same crawl within KeepWindows of their window, not by other
// crawls' nor after that; pruning drops the partitions older than
// KeepWindows + Margin windows before the head, and only those.
func TestUniquenessIndex(t *testing.T) {
	ctx := context.Background()
	st, err := openState(ctx, filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p := UniquenessParams{WindowBlocks: 100, KeepWindows: 2, Margin: 1}.withDefaults()
	r := rand.New(rand.NewPCG(1, 2))
	docs, bands := docsWithBands(r, 50)
	rec := Record{Hotkey: "5A", Block: 250, Commitment: "r1:a", Verdict: verify.Verdict{Accepted: true}}
	if err := st.record(ctx, rec, bands, "CC-A", p); err != nil {
		t.Fatal(err)
	}
	// Half the documents again, and fresh ones.
	fresh, _ := docsWithBands(r, 50)
	probe := append(append([]verify.Doc{}, docs[:25]...), fresh...)
	count := func(h []bool) int {
		n := 0
		for _, x := range h {
			if x {
				n++
			}
		}
		return n
	}
	for _, tc := range []struct {
		crawl string
		block uint64
		want  int
	}{
		{"CC-A", 250, 25}, // same window
		{"CC-A", 399, 25}, // the next window: within KeepWindows
		{"CC-A", 400, 0},  // two windows on: past KeepWindows
		{"CC-A", 199, 0},  // an earlier window does not see later documents
		{"CC-B", 250, 0},  // another crawl
	} {
		h, err := st.overlap(ctx, p, tc.crawl, tc.block, probe)
		if n := count(h); err != nil || n != tc.want {
			t.Errorf("%s at block %d: %d overlapping, %v; want %d", tc.crawl, tc.block, count(h), err, tc.want)
		}
	}
	// Window 2 (blocks 200–299) is kept while the head is within
	// KeepWindows + Margin = 3 windows of it, dropped after.
	for _, tc := range []struct {
		head    uint64
		dropped int
	}{{499, 0}, {599, 1}, {700, 0}} {
		n, err := st.prune(ctx, p, tc.head)
		if err != nil || n != tc.dropped {
			t.Errorf("prune at %d: %d dropped, %v; want %d", tc.head, n, err, tc.dropped)
		}
	}
	if h, _ := st.overlap(ctx, p, "CC-A", 250, probe); count(h) != 0 {
		t.Errorf("pruned partition still found %d", count(h))
	}
	var tables int
	st.db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'bands_%'`).Scan(&tables)
	if tables != 0 {
		t.Errorf("%d partition tables left", tables)
	}
}

// BenchmarkUniquenessIndex measures the uniqueness index's unit costs for
// the scale model (docs/scale.md): the disk bytes per accepted document
// (14 band values) and the time to compare a submission's documents with
// one partition, on a state file holding 200,000 accepted documents.
func BenchmarkUniquenessIndex(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "v.db")
	st, err := openState(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	p := UniquenessParams{}.withDefaults()
	r := rand.New(rand.NewPCG(3, 4))
	const subs, perSub = 100, 2000
	before := fileSize(b, path)
	for i := range subs {
		_, bands := docsWithBands(r, perSub)
		rec := Record{Hotkey: "5A", Block: 1000, Commitment: fmt.Sprintf("r1:%d", i), Verdict: verify.Verdict{Accepted: true}}
		if err := st.record(ctx, rec, bands, "CC-A", p); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := st.db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	perDoc := float64(fileSize(b, path)-before) / (subs * perSub)
	probe, _ := docsWithBands(r, perSub)
	b.ResetTimer()
	for b.Loop() {
		if _, err := st.overlap(ctx, p, "CC-A", 1000, probe); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(perDoc, "disk-B/doc")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/perSub, "ns/doc-lookup")
}

func fileSize(b *testing.B, path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return st.Size()
}

// BenchmarkStateSize measures the validator state's disk bytes per
// evaluated submission (its verdict row, as a real honest verdict fills
// it), for the scale model (docs/scale.md).
func BenchmarkStateSize(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "v.db")
	st, err := openState(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	before := fileSize(b, path)
	const n = 2000
	vd := verify.Verdict{Accepted: true, Documents: 4200, Tokens: 5241600, MeasuredTokens: 5240000,
		Budget:     verify.TaskBudget(taskapi.Task{ID: 1, WARCs: []string{"w.warc.gz"}}, 1<<30, verify.BudgetParams{}),
		Provenance: verify.Provenance{Checked: 16, Matched: 16},
		Coverage:   verify.Coverage{Entries: 105000, Draws: 130, Sampled: 110, ReferenceKept: 21, Found: 21, KeptClaims: 20, WARCBytes: 7 << 20},
		Uniqueness: 0.97, Overlap: 120, VerifiedTokens: 5082800, ElapsedBlocks: 150, Quality: 1}
	for i := range n {
		rec := Record{Hotkey: fmt.Sprintf("5Miner%04dxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", i%256), UID: uint16(i % 256), Block: uint64(1000 + i),
			Commitment: fmt.Sprintf("r1:miner-%04d/refined@%040x:%d:%016x", i%256, i, i, i), TaskID: int64(i), Score: 5.08, Verdict: vd, LeaseID: int64(i + 1)}
		if err := st.record(ctx, rec, nil, "CC-A", UniquenessParams{}.withDefaults()); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := st.db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
	}
	b.ReportMetric(float64(fileSize(b, path)-before)/n, "disk-B/submission")
}

// TestRecentBands: what a round accepted after a check's mark is matched
// in memory — of the same crawl and within KeepWindows, from the mark on.
func TestRecentBands(t *testing.T) {
	p := UniquenessParams{WindowBlocks: 100, KeepWindows: 2, Margin: 1}.withDefaults()
	r := rand.New(rand.NewPCG(5, 6))
	docs, bands := docsWithBands(r, 4)
	var rb recentBands
	rb.add(p, "CC-A", 150, bands[:1]) // before the mark: the index has it
	mark := rb.mark()
	rb.add(p, "CC-A", 250, bands[1:2])
	rb.add(p, "CC-B", 250, bands[2:3]) // another crawl
	rb.add(p, "CC-A", 50, bands[3:4])  // two windows before: past KeepWindows
	hits := make([]bool, len(docs))
	rb.match(p, "CC-A", 250, docs, mark, hits)
	if fmt.Sprint(hits) != "[false true false false]" {
		t.Errorf("hits %v", hits)
	}
	rb.reset()
	if rb.mark() != 0 {
		t.Error("not reset")
	}
}
