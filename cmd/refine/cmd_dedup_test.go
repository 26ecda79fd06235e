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

	"github.com/datarefine/refine/corpus"
	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/pipeline/dedup"
	"github.com/datarefine/refine/pipeline/words"
)

// writeDedupInput writes a dataset folder of one parquet shard holding
// texts (ids prefix-row), without a signature file.
func writeDedupInput(t *testing.T, dir, prefix string, texts []string) {
	t.Helper()
	w, err := dataset.NewWriter(dataset.WriterOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for row, text := range texts {
		d := dataset.Doc{Text: text, ID: fmt.Sprintf("%s-%d", prefix, row), Dump: "CC-MAIN-2024-10", Language: "en", TokenCount: 1}
		if err := w.Write(&d, "x.warc.gz", int64(row)); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func readRemovals(t *testing.T, out string) []corpus.Removal {
	t.Helper()
	f, err := os.Open(filepath.Join(out, "removed.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var rs []corpus.Removal
	for sc.Scan() {
		var r corpus.Removal
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	return rs
}

const dedupShard = "data/CC-MAIN-2024-10/00000.parquet"

// TestRunDedup writes two datasets whose second repeats the first's
// documents with a changed last word, and expects every document of the
// second to be removed in favour of its original in the first.
func TestRunDedup(t *testing.T) {
	root := t.TempDir()
	var inputs []string
	for d := 0; d < 2; d++ {
		dir := filepath.Join(root, fmt.Sprintf("sub%d", d))
		var texts []string
		for row := 0; row < 20; row++ {
			texts = append(texts, randomWords(row, 60)+[]string{" end", " stop"}[d])
		}
		writeDedupInput(t, dir, fmt.Sprintf("sub%d", d), texts)
		inputs = append(inputs, dir)
	}
	out := filepath.Join(root, "out")
	var stderr bytes.Buffer
	opts := dedupOptions{Inputs: inputs, Output: out, Memory: "256MB", NoProgress: true}
	if err := runDedup(context.Background(), opts, &bytes.Buffer{}, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	rs := readRemovals(t, out)
	for _, r := range rs {
		if want := fmt.Sprintf("sub0-%d", r.Row); r.Dataset != inputs[1] || r.KeptID != want || r.Shard != dedupShard {
			t.Errorf("removal %+v, want kept %s from %s", r, want, inputs[0])
		}
	}
	if len(rs) != 20 {
		t.Fatalf("%d removals, want 20", len(rs))
	}
	var stats corpus.Stats
	raw, err := os.ReadFile(filepath.Join(out, "stats.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &stats); err != nil {
		t.Fatal(err)
	}
	if stats.Removed != 20 || stats.Clusters != 20 || stats.RemovedCross != 20 || len(stats.RecomputedShards) != 2 || stats.TrustedSignatures {
		t.Fatalf("stats %+v", stats)
	}
	// A dataset that does not exist is reported, not skipped.
	opts.Inputs = append(opts.Inputs, filepath.Join(root, "nope"))
	if err := runDedup(context.Background(), opts, &bytes.Buffer{}, &stderr); err == nil {
		t.Fatal("missing dataset accepted")
	}
}

// TestRunDedupForgedSignatures is issue 13's forged-signature attack: an
// attacker's small dataset, earlier in commit order, carries a signature
// file with the signatures of a later honest dataset's documents. Computed
// from the texts (the default), the forgery is ignored and no honest
// document is removed; trusted, a file with more rows than its shard, or
// with ids its shard does not hold, is refused.
func TestRunDedupForgedSignatures(t *testing.T) {
	signer, err := dedup.NewMinHasher(dedup.MinHasherOptions{Words: words.Words})
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	attacker, honest := filepath.Join(root, "attacker"), filepath.Join(root, "honest")
	var honestTexts, attackerTexts []string
	for row := 0; row < 119; row++ {
		honestTexts = append(honestTexts, randomWords(1000+row, 80))
	}
	for row := 0; row < 7; row++ {
		attackerTexts = append(attackerTexts, randomWords(5000+row, 80))
	}
	writeDedupInput(t, honest, "honest", honestTexts)
	writeDedupInput(t, attacker, "attacker", attackerTexts)
	forge := func(rows int, id func(int) string) {
		t.Helper()
		path := dedup.SignaturePath(filepath.Join(attacker, filepath.FromSlash(dedupShard)))
		err := dedup.WriteSigFile(path, signer.Config(), func(sw *dedup.SigWriter) error {
			for row := 0; row < rows; row++ {
				if err := sw.Add(int64(row), id(row), signer.Sign(honestTexts[row])); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	run := func(trust bool) ([]corpus.Removal, error) {
		out := t.TempDir()
		err := runDedup(context.Background(), dedupOptions{Inputs: []string{attacker, honest}, Output: out, Memory: "256MB",
			NoProgress: true, TrustSignatures: trust}, &bytes.Buffer{}, &bytes.Buffer{})
		if err != nil {
			return nil, err
		}
		return readRemovals(t, out), nil
	}
	// 119 rows of the honest dataset's signatures under honest ids.
	forge(119, func(row int) string { return fmt.Sprintf("honest-%d", row) })
	rs, err := run(false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 0 {
		t.Fatalf("default run removed %d honest documents on a forged signature file: %+v", len(rs), rs[0])
	}
	if _, err := run(true); err == nil || !strings.Contains(err.Error(), "does not match its shard") {
		t.Fatalf("trusted forged file with 119 rows for a 7-row shard: %v", err)
	}
	// As many rows as the shard, but another dataset's ids.
	forge(7, func(row int) string { return fmt.Sprintf("honest-%d", row) })
	if _, err := run(true); err == nil || !strings.Contains(err.Error(), "the shard holds") {
		t.Fatalf("trusted forged file with foreign ids: %v", err)
	}
	// The attacker's own ids with copied signatures passes every check a
	// file allows: only computing from the texts defeats it.
	forge(7, func(row int) string { return fmt.Sprintf("attacker-%d", row) })
	if rs, err := run(true); err != nil || len(rs) != 7 {
		t.Fatalf("trusted, well-formed forgery: %d removals, %v (trusting files is unsafe by design)", len(rs), err)
	}
	if rs, err := run(false); err != nil || len(rs) != 0 {
		t.Fatalf("default run on a well-formed forgery: %d removals, %v", len(rs), err)
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
