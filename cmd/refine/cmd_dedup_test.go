package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datarefine/refine/pipeline/dedup"
	"github.com/datarefine/refine/pipeline/words"
)

// TestRunDedup writes two signature-only datasets whose second repeats the
// first's documents with a changed last word, and expects every document of
// the second to be removed in favour of its original in the first.
func TestRunDedup(t *testing.T) {
	signer, err := dedup.NewSigner(dedup.SignerOptions{Words: words.Words})
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	var inputs []string
	for d := 0; d < 2; d++ {
		dir := filepath.Join(root, fmt.Sprintf("sub%d", d))
		if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
			t.Fatal(err)
		}
		err := dedup.WriteSigFile(dedup.SignaturePath(filepath.Join(dir, "data", "000.parquet")), signer.Config(), func(sw *dedup.SigWriter) error {
			for row := 0; row < 20; row++ {
				text := randomWords(row, 60) + []string{" end", " stop"}[d]
				if err := sw.Add(int64(row), fmt.Sprintf("sub%d-%d", d, row), signer.Sign(text)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, dir)
	}
	out := filepath.Join(root, "out")
	var stderr bytes.Buffer
	opts := dedupOptions{Inputs: inputs, Output: out, Memory: "256MB", NoProgress: true}
	if err := runDedup(context.Background(), opts, &bytes.Buffer{}, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	f, err := os.Open(filepath.Join(out, "removed.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		var r dedup.Removal
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("sub0-%d", r.Row); r.Dataset != inputs[1] || r.KeptID != want || r.Shard != "data/000.parquet" {
			t.Errorf("removal %+v, want kept %s from %s", r, want, inputs[0])
		}
		n++
	}
	if n != 20 {
		t.Fatalf("%d removals, want 20", n)
	}
	var stats dedup.Stats
	raw, err := os.ReadFile(filepath.Join(out, "stats.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &stats); err != nil {
		t.Fatal(err)
	}
	if stats.Removed != 20 || stats.Clusters != 20 || stats.RemovedCross != 20 {
		t.Fatalf("stats %+v", stats)
	}
	// A dataset that does not exist is reported, not skipped.
	opts.Inputs = append(opts.Inputs, filepath.Join(root, "nope"))
	if err := runDedup(context.Background(), opts, &bytes.Buffer{}, &stderr); err == nil {
		t.Fatal("missing dataset accepted")
	}
}

// randomWords is n pseudo-random words, a different text for every seed.
func randomWords(seed, n int) string {
	r := rand.New(rand.NewPCG(uint64(seed), 7))
	w := make([]string, n)
	for i := range w {
		w[i] = fmt.Sprintf("w%c%c%c", 'a'+r.IntN(26), 'a'+r.IntN(26), 'a'+r.IntN(26))
	}
	return strings.Join(w, " ")
}
