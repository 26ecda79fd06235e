package dedup

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/datarefine/refine/internal/shareddata"
	"github.com/datarefine/refine/pipeline/words"
)

// loremIpsum is the text of datatrove's tests/pipeline/dedup/test_minhash.py.
const loremIpsum = `Lorem ipsum dolor sit amet, consectetur adipiscing elit. Aliquam euismod vel ante vitae rhoncus. Curabitur eu lectus et magna maximus facilisis eu non magna. Maecenas sed velit vitae est ornare placerat. Vestibulum quis consectetur nunc, a feugiat lorem. Cras in ipsum fringilla, vestibulum urna sit amet, viverra tortor. Orci varius natoque penatibus et magnis dis parturient montes, nascetur ridiculus mus. Morbi euismod vestibulum elit id placerat. Fusce malesuada ultricies condimentum. Cras tincidunt eget lorem nec hendrerit. Aenean mattis arcu dolor, id semper velit ullamcorper malesuada. Aliquam non ipsum et eros venenatis aliquet. Proin eleifend interdum scelerisque. Interdum et malesuada fames ac ante ipsum primis in faucibus. Mauris nunc sapien, molestie eget convallis at, maximus nec ipsum. Morbi quam diam, blandit ut mollis at, varius eu tellus. Maecenas sem justo, porttitor at odio nec, interdum posuere ex.

Aliquam pretium ac nulla et porttitor. Nunc quis felis posuere, lobortis magna quis, imperdiet nulla. Maecenas tempor, mi vel vestibulum tempus, arcu elit scelerisque erat, eu molestie velit eros id metus. Class aptent taciti sociosqu ad litora torquent per conubia nostra, per inceptos himenaeos. Proin fringilla viverra urna eu dictum. Suspendisse interdum, leo non sagittis pulvinar, mauris est euismod ante, et luctus nisi est id odio. Proin purus nunc, feugiat id condimentum eu, efficitur at diam. Quisque aliquet felis non risus rutrum, eu porttitor justo venenatis. Donec ut est felis. Proin risus augue, gravida fermentum elementum eu, varius eget tortor. Sed a sem quis tortor ultrices elementum. Nullam tempor rutrum ipsum id eleifend. Donec a elit tincidunt, sagittis magna a, pretium felis.

Sed ut faucibus dui, a sodales nunc. Praesent fermentum diam quis augue porttitor vulputate. Mauris pretium ipsum ut erat hendrerit eleifend. Maecenas consectetur elit a ligula auctor porta. Duis vitae diam ac velit porttitor tempor. Quisque at arcu a augue dictum molestie et sed erat. Donec fermentum pulvinar elit. Morbi orci nisi, condimentum non tincidunt sit amet, hendrerit non justo. Ut fringilla dolor neque, ut porttitor ante congue vitae. In aliquam augue a sapien sodales ornare. In in maximus nunc. Quisque turpis nibh, commodo non semper non, hendrerit a massa.

Suspendisse potenti. Ut feugiat nibh ex. Nunc eget ligula ut massa tempus pretium vitae et mauris. Suspendisse potenti. Vivamus euismod ipsum est, id consectetur lorem suscipit non. Integer ac felis egestas risus ornare luctus nec vel massa. Donec scelerisque enim eu nulla commodo fringilla. Donec et pulvinar dolor, sit amet tristique risus. Cras et est id leo malesuada sollicitudin.

Quisque et aliquet diam. Aenean euismod efficitur enim, non semper eros. Nullam molestie vehicula eros, nec porttitor justo feugiat nec. Maecenas fringilla eleifend augue, eu mollis arcu vulputate ac. Quisque ullamcorper turpis sed tristique dapibus. Etiam imperdiet pulvinar fringilla. Nulla sed est eget odio dictum pretium. Cras ultricies nibh libero, efficitur consequat neque semper id. Donec porttitor lacus nunc, vitae gravida lorem consectetur sit amet. Pellentesque mollis, dui nec molestie consectetur, massa enim tempus ipsum, quis pretium felis massa congue felis. Donec efficitur pretium diam, quis elementum felis eleifend quis. Nullam vehicula tortor et quam eleifend, maximus dignissim nisi feugiat. `

func newTestMinHasher(t testing.TB) *MinHasher {
	t.Helper()
	s, err := NewMinHasher(MinHasherOptions{Words: words.Words})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func reverse(s string) string {
	b := []byte(s) // the lorem text is ASCII
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

// Ported from datatrove's test_signatures: stable signatures of the right
// shape whose agreement tracks the share of text kept.
func TestSignatureShapeAndSimilarity(t *testing.T) {
	s := newTestMinHasher(t)
	sig := s.Sign(loremIpsum)
	if got := newTestMinHasher(t).Sign(loremIpsum); fmt.Sprint(got) != fmt.Sprint(sig) {
		t.Fatal("two signers disagree on the same text")
	}
	if len(sig) != 14*8 {
		t.Fatalf("signature of %d values, want 112", len(sig))
	}
	for pctd := 0; pctd < 100; pctd += 5 {
		dec := float64(pctd) / 100
		endp := int(float64(len(loremIpsum)) * dec)
		// lorem[:endp] + lorem[len-1:endp:-1]: the rest of the text reversed
		textd := loremIpsum[:endp] + reverse(loremIpsum[endp+1:])
		sigd := s.Sign(textd)
		same := 0
		for i := range sig {
			if sigd != nil && sig[i] == sigd[i] {
				same++
			}
		}
		simil := float64(same) / float64(len(sig))
		if simil <= dec-0.21 || simil >= dec+0.21 {
			t.Errorf("kept %.2f of the text: signature agreement %.3f", dec, simil)
		}
	}
}

func TestShortTextHasNoSignature(t *testing.T) {
	s := newTestMinHasher(t)
	if sig := s.Sign("only four words here"); sig != nil {
		t.Fatalf("4 words gave a signature")
	}
	if sig := s.Sign("now there are five words"); sig == nil {
		t.Fatalf("5 words gave no signature")
	}
}

// loremClusters are datatrove's test_buckets_and_cluster slices: 400
// characters of lorem ipsum at each offset, one cluster per inner list.
var loremClusters = [][]int{{0, 20, 50}, {400, 420}, {800, 810, 820, 840, 860}, {1205, 1215, 1225, 1245}, {1600}, {2000}}

func TestTaskDedupLoremClusters(t *testing.T) {
	d, err := NewTaskDeduper(TaskOptions{MinHasher: newTestMinHasher(t)})
	if err != nil {
		t.Fatal(err)
	}
	type member struct{ cluster, pos int }
	var docs []member
	for ci, c := range loremClusters {
		for xi, x := range c {
			if _, err := d.Add(len(docs)*3, fmt.Sprintf("%d_%d", ci, xi), loremIpsum[x:x+400]); err != nil {
				t.Fatal(err)
			}
			docs = append(docs, member{ci, xi})
		}
	}
	removed, stats, err := d.Finish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	perCluster := make([]int, len(loremClusters))
	for idx, kept := range removed {
		m := docs[idx/3]
		perCluster[m.cluster]++
		if want := fmt.Sprintf("%d_", m.cluster); kept.ID[:len(want)] != want {
			t.Errorf("doc %d_%d removed in favour of %s, from another cluster", m.cluster, m.pos, kept.ID)
		}
		if _, gone := removed[kept.Index]; gone {
			t.Errorf("doc %d kept doc %d, which is removed too", idx, kept.Index)
		}
	}
	for ci, c := range loremClusters {
		if perCluster[ci] != len(c)-1 {
			t.Errorf("cluster %d: %d removed, want %d", ci, perCluster[ci], len(c)-1)
		}
	}
	if stats.Clusters != 4 || stats.Removed != 10 || stats.Documents != 16 {
		t.Errorf("stats %+v, want 4 clusters, 10 removed, 16 documents", stats)
	}
}

func TestTaskDedupRejectsOutOfOrder(t *testing.T) {
	d, _ := NewTaskDeduper(TaskOptions{MinHasher: newTestMinHasher(t)})
	if _, err := d.Add(5, "a", "one two three four five six"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Add(5, "b", "one two three four five six"); err == nil {
		t.Fatal("repeated index accepted")
	}
}

// TestDatatroveTieRules checks the survivor rules of MinhashDedupCluster on
// hand-made signatures: union by size, ties to the pair's first document.
func TestDatatroveTieRules(t *testing.T) {
	cfg := Config{NGrams: 5, NumBuckets: 2, HashesPerBucket: 1, Seed: 1}
	s, err := NewMinHasher(MinHasherOptions{Config: cfg, Words: words.Words})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := NewTaskDeduper(TaskOptions{MinHasher: s})
	// Bucket 0 joins {1,2}; bucket 1 joins 0 with 1 (sorted: 0 first).
	// {0} (size 1) meets {1,2} (size 2): the bigger set's root, 1, wins
	// although 0 comes first. Doc 3 pairs with 4 in bucket 1 only: tie,
	// the first (3) stays.
	sigs := []Signature{{10, 5}, {7, 5}, {7, 6}, {1, 9}, {2, 9}}
	for i, sig := range sigs {
		if err := d.AddSignature(i, fmt.Sprint(i), sig); err != nil {
			t.Fatal(err)
		}
	}
	removed, _, err := d.Finish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]int{}
	for i, k := range removed {
		got[i] = k.Index
	}
	want := map[int]int{0: 1, 2: 1, 4: 3}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("removed→kept %v, want %v", got, want)
	}
}

// TestDedupVia: every removed document's Via shares a band with it and
// following Via leads to the kept document, also along a chain whose ends
// share no band (a–b share bucket 0, b–c bucket 1, a–c nothing).
func TestDedupVia(t *testing.T) {
	cfg := Config{NGrams: 5, NumBuckets: 2, HashesPerBucket: 1, Seed: 1}
	s, err := NewMinHasher(MinHasherOptions{Config: cfg, Words: words.Words})
	if err != nil {
		t.Fatal(err)
	}
	d, _ := NewTaskDeduper(TaskOptions{MinHasher: s})
	sigs := []Signature{{1, 1}, {1, 2}, {3, 2}, {8, 8}, {4, 2}, {5, 5}}
	for i, sig := range sigs {
		if err := d.AddSignature(i, fmt.Sprint(i), sig); err != nil {
			t.Fatal(err)
		}
	}
	removed, _, err := d.Finish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	share := func(a, b int) bool { return sigs[a][0] == sigs[b][0] || sigs[a][1] == sigs[b][1] }
	for i, k := range removed {
		at, hops := i, 0
		for at != k.Index {
			next := removed[at].Via
			if !share(at, next) {
				t.Fatalf("%d: via %d shares no band", at, next)
			}
			at, hops = next, hops+1
			if _, gone := removed[at]; !gone && at != k.Index {
				t.Fatalf("%d: path leaves through %d, kept but not %d", i, at, k.Index)
			}
			if hops > len(sigs) {
				t.Fatalf("%d: no path to %d", i, k.Index)
			}
		}
	}
	if len(removed) != 3 || removed[2].Via != 1 || removed[2].Index != 0 {
		t.Errorf("removed %v", removed)
	}
	// Forty copies: each is one step from the one kept, not a chain of
	// forty (the pairs union joins are neighbours in sorted order).
	d, _ = NewTaskDeduper(TaskOptions{MinHasher: s})
	for i := range 40 {
		if err := d.AddSignature(i, fmt.Sprint(i), Signature{7, 7}); err != nil {
			t.Fatal(err)
		}
	}
	removed, _, err = d.Finish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range removed {
		if k.Via != k.Index {
			t.Errorf("copy %d: via %d, kept %d", i, k.Via, k.Index)
		}
	}
}

// TestCS336FuzzyDuplicates: of the three licences in the cs336 fixtures, the
// two MIT licences (rails, react) differ only in their copyright lines and
// must end up as one; the PyTorch licence is unrelated and stays.
func TestCS336FuzzyDuplicates(t *testing.T) {
	dir := shareddata.Path(t, "filters_dedup", "cs336_a4_fixtures", "documents_with_fuzzy_duplicates")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	d, _ := NewTaskDeduper(TaskOptions{MinHasher: newTestMinHasher(t)})
	for i, n := range names {
		raw, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Add(i, n, string(raw)); err != nil {
			t.Fatal(err)
		}
	}
	removed, _, err := d.Finish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var gone []string
	for i, k := range removed {
		gone = append(gone, names[i]+"→"+k.ID)
	}
	sort.Strings(gone)
	if fmt.Sprint(gone) != "[react_mit_license.txt→rails_mit_license.txt]" {
		t.Fatalf("removed %v, want react in favour of rails", gone)
	}
}
