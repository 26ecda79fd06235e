package verify

import (
	"context"
	"os"
	"testing"

	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/internal/shareddata"
	"github.com/datarefine/refine/pipeline/tokens"
	"github.com/datarefine/refine/process"
)

// honestTexts processes the real test WARCs and returns the kept texts and
// the WARCs' compressed sizes.
func honestTexts(b *testing.B) (texts []string, warcBytes int64) {
	_, assetsDir := testReferenceTB(b)
	for _, name := range []string{"dolma_browsertrix_sample-0000.warc.gz", "dolma_browsertrix_sample-0001.warc.gz"} {
		warc := shareddata.Path(b, "warc", "real_crawls", name)
		st, err := os.Stat(warc)
		if err != nil {
			b.Fatal(err)
		}
		warcBytes += st.Size()
		out := b.TempDir()
		m, err := process.Run(context.Background(), process.Options{Inputs: []string{warc}, Output: out, Workers: 1,
			Steps: process.StepOptions{AssetsDir: assetsDir}})
		if err != nil {
			b.Fatal(err)
		}
		if err := dataset.ReadAll(out, m, func(_ int, _ int64, d dataset.Doc) error { texts = append(texts, d.Text); return nil }); err != nil {
			b.Fatal(err)
		}
	}
	return texts, warcBytes
}

// BenchmarkFullPass compares the two per-row costs of reading a whole
// submission: MinHash signatures (the duplicate and uniqueness checks) and
// re-counting GPT-2 tokens (the credited volume), on the kept texts of the
// real test WARCs. MB/s is of text.
func BenchmarkFullPass(b *testing.B) {
	texts, warcBytes := honestTexts(b)
	var n int64
	for _, t := range texts {
		n += int64(len(t))
	}
	b.Logf("%d documents, %d text bytes from %d compressed WARC bytes (%.3f)", len(texts), n, warcBytes, float64(n)/float64(warcBytes))
	ref, _ := testReferenceTB(b)
	bpe, err := tokens.GPT2BPE()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("minhash", func(b *testing.B) {
		b.SetBytes(n)
		for b.Loop() {
			for _, t := range texts {
				ref.MinHasher().Sign(t)
			}
		}
	})
	b.Run("tokens", func(b *testing.B) {
		b.SetBytes(n)
		for b.Loop() {
			for _, t := range texts {
				bpe.Count(t)
			}
		}
	})
}
