package corpus

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/datarefine/refine/pipeline/dedup"
	"github.com/datarefine/refine/pipeline/words"
)

// baseText is a fixed pseudo-random text of words from a small
// vocabulary: windows cut from it at nearby offsets share most shingles.
var baseText = func() string {
	vocab := strings.Fields("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon phi chi psi omega")
	r := rand.New(rand.NewPCG(7, 11))
	var b strings.Builder
	for b.Len() < 3500 {
		b.WriteString(vocab[r.IntN(len(vocab))])
		b.WriteByte(' ')
	}
	return b.String()
}()

// testCorpus is a few hundred documents per dataset cut from baseText at
// overlapping offsets (near-duplicates within and across datasets), plus
// short texts without a signature.
func testCorpus() [][]string {
	var out [][]string
	for d, step := range []int{10, 7, 13} {
		var docs []string
		for x := d * 3; x+300 < len(baseText); x += step {
			docs = append(docs, baseText[x:x+300])
			if x%50 == 0 {
				docs = append(docs, "too short")
			}
		}
		out = append(out, docs)
	}
	return out
}

// writeCorpus writes each dataset as two shards of signature files.
func writeCorpus(t *testing.T, root string, corpus [][]string, s *dedup.MinHasher) []Dataset {
	t.Helper()
	var ds []Dataset
	for d, docs := range corpus {
		dir := filepath.Join(root, fmt.Sprintf("ds%d", d))
		if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
			t.Fatal(err)
		}
		half := len(docs) / 2
		for sh, part := range [][]string{docs[:half], docs[half:]} {
			path := dedup.SignaturePath(filepath.Join(dir, "data", fmt.Sprintf("%03d.parquet", sh)))
			err := dedup.WriteSigFile(path, s.Config(), func(sw *dedup.SigWriter) error {
				for row, text := range part {
					if err := sw.Add(int64(row), docID(d, sh, row), s.Sign(text)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		ds = append(ds, DirDataset{Root: dir})
	}
	return ds
}

func docID(d, sh, row int) string { return fmt.Sprintf("d%d-s%d-r%d", d, sh, row) }

// corpusTexts is a TextSource over testCorpus laid out as writeCorpus does.
type corpusTexts struct {
	corpus [][]string
	calls  int
}

func (c *corpusTexts) Texts(ctx context.Context, ds Dataset, sh Shard, fn func(int64, string, string) error) error {
	c.calls++
	var d, s int
	if _, err := fmt.Sscanf(filepath.Base(ds.Name()), "ds%d", &d); err != nil {
		return err
	}
	if _, err := fmt.Sscanf(sh.Name, "data/%03d.parquet", &s); err != nil {
		return err
	}
	docs := c.corpus[d]
	part := docs[:len(docs)/2]
	if s == 1 {
		part = docs[len(docs)/2:]
	}
	for row, text := range part {
		if err := fn(int64(row), docID(d, s, row), text); err != nil {
			return err
		}
	}
	return nil
}

// naiveRemovals computes the expected result directly: every pair of
// documents sharing a bucket signature is joined, and each cluster keeps
// its earliest document.
func naiveRemovals(corpus [][]string, s *dedup.MinHasher) []string {
	type doc struct {
		id  string
		sig dedup.Signature
	}
	var docs []doc
	for d, texts := range corpus {
		half := len(texts) / 2
		for i, text := range texts {
			sh, row := 0, i
			if i >= half {
				sh, row = 1, i-half
			}
			docs = append(docs, doc{docID(d, sh, row), s.Sign(text)})
		}
	}
	parent := make([]int, len(docs))
	for i := range parent {
		parent[i] = i
	}
	find := func(x int) int {
		for parent[x] != x {
			x = parent[x]
		}
		return x
	}
	cfg := s.Config()
	for b := 0; b < cfg.NumBuckets; b++ {
		first := map[string]int{}
		for i, d := range docs {
			if d.sig == nil {
				continue
			}
			k := fmt.Sprint(d.sig.Bucket(b, cfg.HashesPerBucket))
			if j, ok := first[k]; ok {
				ri, rj := find(i), find(j)
				parent[max(ri, rj)] = min(ri, rj)
			} else {
				first[k] = i
			}
		}
	}
	var out []string
	for i, d := range docs {
		if r := find(i); r != i {
			out = append(out, d.id+"→"+docs[r].id)
		}
	}
	return out
}

func runEngine(t *testing.T, ds []Dataset, opts EngineOptions) ([]string, *Stats, error) {
	t.Helper()
	if opts.Memory == 0 {
		opts.Memory = 256 << 20
	}
	opts.TempDir = t.TempDir()
	var got []string
	stats, err := Deduplicate(context.Background(), ds, opts, func(r Removal) error {
		got = append(got, r.ID+"→"+r.KeptID)
		if !strings.HasPrefix(r.ID, "d") || r.KeptRow < 0 {
			return fmt.Errorf("bad removal %+v", r)
		}
		return nil
	})
	return got, stats, err
}

func TestEngineMatchesNaiveAndIsDeterministic(t *testing.T) {
	s := newTestMinHasher(t)
	corpus := testCorpus()
	ds := writeCorpus(t, t.TempDir(), corpus, s)
	want := naiveRemovals(corpus, s)
	if len(want) < 100 {
		t.Fatalf("test corpus too easy: %d removals", len(want))
	}
	base, baseStats, err := runEngine(t, ds, EngineOptions{TrustSignatures: true, MinHasher: s, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(base, want) {
		t.Fatalf("engine removed %d, naive %d; first differences:\n%v\n%v", len(base), len(want), head(base), head(want))
	}
	if baseStats.Removed != int64(len(want)) || baseStats.RunFiles != 14 {
		t.Fatalf("stats: %+v", baseStats)
	}
	// Many workers, tiny buffers and a fan-in of 3: many runs, merge rounds.
	many, manyStats, err := runEngine(t, ds, EngineOptions{TrustSignatures: true, MinHasher: s, Workers: 4, maxBufferRecords: 37, maxFanIn: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(many, base) {
		t.Fatal("1 worker and 4 workers with spills disagree")
	}
	if manyStats.RunFiles <= 14*3 || manyStats.Clusters != baseStats.Clusters ||
		fmt.Sprint(manyStats.MatchesPerBucket) != fmt.Sprint(baseStats.MatchesPerBucket) {
		t.Fatalf("stats differ: %+v vs %+v", manyStats, baseStats)
	}
	var sum int64
	for _, d := range baseStats.Datasets {
		sum += d.Removed
		if d.Kept+d.Removed != d.Documents {
			t.Errorf("dataset %s: kept %d + removed %d != %d", d.Name, d.Kept, d.Removed, d.Documents)
		}
	}
	if sum != baseStats.Removed || baseStats.RemovedCross == 0 {
		t.Errorf("per-dataset removals %d, total %d, cross %d", sum, baseStats.Removed, baseStats.RemovedCross)
	}
}

func head(s []string) []string { return s[:min(5, len(s))] }

func TestEngineBadSignatureFiles(t *testing.T) {
	s := newTestMinHasher(t)
	corpus := testCorpus()
	ds := writeCorpus(t, t.TempDir(), corpus, s)
	want := naiveRemovals(corpus, s)
	root := ds[1].(DirDataset).Root
	missing := dedup.SignaturePath(filepath.Join(root, "data", "000.parquet"))
	if err := os.Remove(missing); err != nil {
		t.Fatal(err)
	}
	// A shard without its signature file is still listed through its parquet file.
	if err := os.WriteFile(filepath.Join(root, "data", "000.parquet"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// The second block of another file is damaged: found only mid-scan.
	damaged := dedup.SignaturePath(filepath.Join(ds[0].(DirDataset).Root, "data", "001.parquet"))
	raw, err := os.ReadFile(damaged)
	if err != nil {
		t.Fatal(err)
	}
	sf, err := dedup.OpenSigFile(damaged)
	if err != nil {
		t.Fatal(err)
	}
	records := sf.Records
	sf.Close()
	if records <= 40 {
		t.Fatalf("shard too small: %d records", records)
	}
	raw[64+20*8*113] ^= 0x10 // record 20, first block
	if err := os.WriteFile(damaged, raw, 0o644); err != nil {
		t.Fatal(err)
	}

	_, _, err = runEngine(t, ds, EngineOptions{TrustSignatures: true, MinHasher: s})
	if err == nil || !strings.Contains(err.Error(), "000.parquet") {
		t.Fatalf("missing signature file without a text source: %v", err)
	}
	texts := &corpusTexts{corpus: corpus}
	got, stats, err := runEngine(t, ds, EngineOptions{TrustSignatures: true, MinHasher: s, Texts: texts})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("with recomputation: %d removals, want %d", len(got), len(want))
	}
	if texts.calls != 2 || len(stats.RecomputedShards) != 2 {
		t.Fatalf("recomputed %v (%d calls), want the missing and the damaged shard", stats.RecomputedShards, texts.calls)
	}
	// Damage alone, no text source: the run fails, naming the file.
	if err := os.Remove(filepath.Join(root, "data", "000.parquet")); err != nil {
		t.Fatal(err)
	}
	_, _, err = runEngine(t, ds[:1], EngineOptions{TrustSignatures: true, MinHasher: s})
	if !errors.Is(err, dedup.ErrCorrupt) || !strings.Contains(err.Error(), "001.parquet") {
		t.Fatalf("damaged block without a text source: %v", err)
	}
}

func TestEngineMemoryTooSmall(t *testing.T) {
	s := newTestMinHasher(t)
	ds := writeCorpus(t, t.TempDir(), testCorpus()[:1], s)
	if _, _, err := runEngine(t, ds, EngineOptions{TrustSignatures: true, MinHasher: s, Memory: 1 << 20}); err == nil || !strings.Contains(err.Error(), "too small") {
		t.Fatalf("1 MiB bound: %v", err)
	}
}

func newTestMinHasher(t testing.TB) *dedup.MinHasher {
	t.Helper()
	s, err := dedup.NewMinHasher(dedup.MinHasherOptions{Words: words.Words})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
