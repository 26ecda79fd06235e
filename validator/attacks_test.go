package validator

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/internal/attack"
	"github.com/datarefine/refine/internal/attack/replace"
	"github.com/datarefine/refine/pipeline/dedup"
	"github.com/datarefine/refine/process"
	"github.com/datarefine/refine/taskserver"
	"github.com/datarefine/refine/validator/verify"
)

// The attacks of issue 13 that the checks close, each played by a
// profit-seeking miner at the production sample sizes (16 provenance draws,
// coverage seeking 100 kept records: the test WARCs hold fewer, so coverage
// re-runs every record of the task). Each test asserts what the attacker
// earns against an honest miner doing the same task, evaluated alone in a
// network of its own (so neither is the other's copy).

// alone runs setup (one miner's job) in a fresh network and returns the
// miner's record after one validator round.
func alone(t *testing.T, name string, setup func(e *env)) Record {
	t.Helper()
	e := newEnv(t, false)
	e.register(name, 0)
	setup(e)
	return e.roundOf(name)
}

// roundOf runs one round of a new validator and returns name's record.
func (e *env) roundOf(name string) Record {
	t := e.t
	v := e.validator(filepath.Join(t.TempDir(), "v.db"))
	recs, err := v.Round(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, ok := byHotkey(recs)[key(t, name).SS58()]
	if !ok {
		t.Fatalf("%s: not evaluated", name)
	}
	t.Logf("%-10s %s verified=%.0f measured=%d claimed=%d", name, describe(r), r.Verdict.VerifiedTokens, r.Verdict.MeasuredTokens, r.Verdict.Tokens)
	return r
}

// earnsLess asserts that the attacker was rejected with code (when code is
// not empty) and earns less than the honest miner (or, with orEqual, no
// more).
func earnsLess(t *testing.T, attacker, honest Record, code verify.Code, orEqual bool) {
	t.Helper()
	if !honest.Verdict.Accepted || honest.Score <= 0 {
		t.Fatalf("honest miner: %s", describe(honest))
	}
	if code != "" && (attacker.Verdict.Accepted || attacker.Verdict.Code != code) {
		t.Errorf("attacker: %s, want rejected with %s", describe(attacker), code)
	}
	if attacker.Score > honest.Score || !orEqual && attacker.Score >= honest.Score {
		t.Errorf("attacker earns %.6f, honest %.6f", attacker.Score, honest.Score)
	}
}

// TestAttackTokenInflation (issue 13, attack 1): token_count is a claim.
// One row claiming 10¹², every row claiming twice its count (totals kept
// consistent), and a row whose claim cannot be checked exactly (its PII was
// replaced after counting) claiming a thousand times more: the first two
// reject (an undrawn row's claim when every row is recounted, the drawn
// rows' claims against the reference's), the third is accepted but
// credited with the tokens the validator counted, exactly the honest
// miner's.
func TestAttackTokenInflation(t *testing.T) {
	A := warcA(t)
	honest := alone(t, "Honest", func(e *env) { e.honest("Honest", "c", A, 0, 0) })
	inflate := func(fn func(docs []dataset.Doc)) func(e *env) {
		return func(e *env) {
			e.submit("Liar", "c", A, 0, 0, "", func(dir string, m *dataset.Manifest) {
				rewrite(t, dir, m, func(docs []dataset.Doc, refs []dataset.RecordRef) ([]dataset.Doc, []dataset.RecordRef) {
					fn(docs)
					return docs, refs
				})
			})
		}
	}
	one := alone(t, "Liar", inflate(func(docs []dataset.Doc) { docs[0].TokenCount = 1e12 }))
	earnsLess(t, one, honest, verify.CodeCounts, false)
	all := alone(t, "Liar", inflate(func(docs []dataset.Doc) {
		for i := range docs {
			docs[i].TokenCount *= 2
		}
	}))
	// The drawn rows' claims meet the reference's counts first.
	earnsLess(t, all, honest, verify.CodeProvenance, false)

	pii := -1
	pi := alone(t, "Liar", inflate(func(docs []dataset.Doc) {
		for i := range docs {
			if verify.FoldPII(docs[i].Text) != docs[i].Text {
				pii = i
				docs[i].TokenCount *= 1000
				return
			}
		}
	}))
	if pii < 0 {
		t.Fatal("no document with a PII replacement in the test WARC")
	}
	// Whether the provenance draws land on that row depends on the seed
	// (a block hash): drawn, its claim meets the reference's count and the
	// submission is rejected; not drawn, it is credited with what the
	// validator counted. Either way it earns no more than the honest miner.
	if !pi.Verdict.Accepted {
		earnsLess(t, pi, honest, verify.CodeProvenance, false)
		return
	}
	earnsLess(t, pi, honest, "", true)
	if pi.Verdict.MeasuredTokens != honest.Verdict.MeasuredTokens || pi.Verdict.VerifiedTokens != honest.Verdict.VerifiedTokens {
		t.Errorf("PII row's claim changed the credit: %+v vs %+v", pi.Verdict, honest.Verdict)
	}
}

// bomb replaces a submission's shards with a hostile one (replace.Shards).
func bomb(t *testing.T, dir string, m *dataset.Manifest, rows int, perRow int64, write func(path string) error) {
	t.Helper()
	st, err := os.Stat(m.Inputs[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := replace.Shards(dir, m, rows, perRow, 0, st.Size(), write); err != nil {
		t.Fatal(err)
	}
}

// TestAttackParquetBomb (issue 13, attack 2): a dictionary bomb (one
// 128 KiB text referenced by 400 rows: 50 MiB decoded from a 3 KiB shard)
// and a zstd bomb (64 rows of 4 MiB of one letter: 256 MiB decompressed
// from a few dozen KiB) for a task of one 214 KB WARC. Each is rejected
// as too large within a second or two, with the round's other work done;
// it earns nothing.
func TestAttackParquetBomb(t *testing.T) {
	A := warcA(t)
	honest := alone(t, "Honest", func(e *env) { e.honest("Honest", "c", A, 0, 0) })
	value := strings.Repeat("word ", 128<<10/5)
	for name, b := range map[string]struct {
		rows   int
		perRow int64
		write  func(string) error
	}{
		"dictionary": {400, int64(len(value)), func(p string) error { return attack.DictionaryBomb(p, 400, value, "id") }},
		"zstd":       {64, 4 << 20, func(p string) error { return attack.ZstdBomb(p, 64, 4<<20, "id") }},
	} {
		start := time.Now()
		r := alone(t, "Bomber", func(e *env) {
			e.submit("Bomber", "c", A, 0, 0, "", func(dir string, m *dataset.Manifest) { bomb(t, dir, m, b.rows, b.perRow, b.write) })
		})
		took := time.Since(start)
		t.Logf("%s bomb: %s in %v (network setup included)", name, describe(r), took)
		earnsLess(t, r, honest, verify.CodeTooLarge, false)
		if took > 20*time.Second {
			t.Errorf("%s bomb took %v", name, took)
		}
	}
}

// TestEvaluationCancels: every read of an evaluation stops when its context
// ends. A dictionary bomb of 1,000 rows of 1 MiB under a budget far too
// generous to stop it is cancelled mid-decoding: the round returns at once
// with the context's error and records nothing (the submission is
// evaluated again later).
func TestEvaluationCancels(t *testing.T) {
	e := newEnv(t, false)
	e.register("Bomber", 0)
	e.submit("Bomber", "c", warcA(t), 0, 0, "", func(dir string, m *dataset.Manifest) {
		value := strings.Repeat("word ", 1<<20/5)
		bomb(t, dir, m, 1000, int64(len(value)), func(p string) error { return attack.DictionaryBomb(p, 1000, value, "id") })
	})
	opts := e.options(filepath.Join(t.TempDir(), "v.db"))
	opts.Budget = verify.BudgetParams{TextPerByte: 1e6, RecordBytes: 1}
	opts.Limits.MaxFileBytes = 64 << 20
	v, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ctx, cancel := context.WithTimeout(e.ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	recs, err := v.Round(ctx)
	if took := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || len(recs) != 0 || took > 3*time.Second {
		for _, r := range recs {
			t.Log(describe(r))
		}
		t.Fatalf("cancelled round: %d records, %v after %v", len(recs), err, took)
	}
	if got, _ := v.Records(e.ctx, ""); len(got) != 0 {
		t.Fatalf("cancelled evaluation recorded %+v", got)
	}
}

// plannedRanges cuts warc into ranges of per records as the task server's
// planner does (with their byte bounds).
func plannedRanges(t *testing.T, crawl, warc string, per int64) []taskserver.NewTask {
	t.Helper()
	tasks, err := taskserver.Cut(context.Background(), crawl, []string{warc}, taskserver.PlanOptions{RangesPerWARC: 100, RecordsPerRange: per})
	if err != nil {
		t.Fatal(err)
	}
	return tasks
}

// submitTask runs a miner's job on a planned task with the output of src.
func (e *env) submitTask(name string, task taskserver.NewTask, src string, mutate func(dir string, m *dataset.Manifest)) string {
	l := e.leaseTask(name, task)
	dir, sha := clone(e.t, src, l.TaskID, key(e.t, name).SS58(), mutate)
	data := e.commitment(name, e.publish(name, dir), l.TaskID, sha)
	e.complete(name, l.ID, data, e.commit(name, data))
	return data
}

// TestAttackRangeOverreach (issue 13, attack 3): a miner leases the record
// range [0,16) and submits the whole WARC's output (three times the
// tokens). Its documents cite offsets outside the range's planned byte
// bounds: rejected, and the honest miners of the other ranges, evaluated
// after it, are accepted (not copies of it).
func TestAttackRangeOverreach(t *testing.T) {
	A := warcA(t)
	ranges := plannedRanges(t, "c", A, 16)
	if len(ranges) != 3 {
		t.Fatalf("%d ranges", len(ranges))
	}
	honest := alone(t, "Honest", func(e *env) { e.submitTask("Honest", ranges[0], base(t, A, 0, 16), nil) })

	e := newEnv(t, false)
	for _, n := range []string{"Overreach", "H2", "H3"} {
		e.register(n, 0)
	}
	e.submitTask("Overreach", ranges[0], base(t, A, 0, 0), nil)
	e.submitTask("H2", ranges[1], base(t, A, 16, 32), nil)
	e.submitTask("H3", ranges[2], base(t, A, 32, 0), nil)
	v := e.validator(filepath.Join(t.TempDir(), "v.db"))
	recs, err := v.Round(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := byHotkey(recs)
	over := got[key(t, "Overreach").SS58()]
	t.Logf("Overreach %s", describe(over))
	earnsLess(t, over, honest, verify.CodeWrongTask, false)
	for _, n := range []string{"H2", "H3"} {
		if r := got[key(t, n).SS58()]; !r.Verdict.Accepted || r.Score <= 0 || r.Verdict.Overlap != 0 {
			t.Errorf("honest %s after the overreach: %s", n, describe(r))
		}
	}
}

// TestEmptyTaskAccepted (issue 13, honest work lost): a planned range whose
// records the reference pipeline keeps none of ([0,4) of the test WARC: a
// warcinfo, a request, a page the Gopher filters drop, a request) has an
// empty honest output, accepted with nothing to credit; an empty
// submission for a range with documents is rejected.
func TestEmptyTaskAccepted(t *testing.T) {
	A := warcA(t)
	ranges := plannedRanges(t, "c", A, 4)
	empty := t.TempDir()
	m, err := process.Run(context.Background(), process.Options{Inputs: []string{A}, Output: empty, RecordStart: 0, RecordEnd: 4,
		Dump: testDump, Steps: process.StepOptions{AssetsDir: testAssets(t)}})
	if err != nil || m.Documents != 0 {
		t.Fatalf("range [0,4): %d documents, %v", m.Documents, err)
	}
	r := alone(t, "Empty", func(e *env) { e.submitTask("Empty", ranges[0], empty, nil) })
	if !r.Verdict.Accepted || r.Score != 0 || r.Verdict.VerifiedTokens != 0 || r.Verdict.Coverage.ReferenceKept != 0 {
		t.Errorf("honest empty submission: %s %+v", describe(r), r.Verdict.Coverage)
	}
	// [4,8) holds documents: an empty submission for it is a dropper.
	r = alone(t, "Dropper", func(e *env) { e.submitTask("Dropper", ranges[1], empty, nil) })
	if r.Verdict.Accepted || r.Verdict.Code != verify.CodeWrongTask && r.Verdict.Code != verify.CodeCoverage && r.Verdict.Code != verify.CodeIndex {
		t.Errorf("empty submission of a task with documents: %s", describe(r))
	}
}

// TestAttackCoverageDrop (issue 13, attack 6): a miner drops a fifth of its
// documents (every fifth, as if it skipped a fifth of its records). The
// coverage sample holds every record the reference keeps of this small
// task: the drop is seen and rejected.
func TestAttackCoverageDrop(t *testing.T) {
	A := warcA(t)
	honest := alone(t, "Honest", func(e *env) { e.honest("Honest", "c", A, 0, 0) })
	r := alone(t, "Dropper", func(e *env) {
		e.submit("Dropper", "c", A, 0, 0, "", func(dir string, m *dataset.Manifest) {
			rewrite(t, dir, m, func(docs []dataset.Doc, refs []dataset.RecordRef) ([]dataset.Doc, []dataset.RecordRef) {
				var d []dataset.Doc
				var r []dataset.RecordRef
				for i := range docs {
					if i%5 != 4 {
						d, r = append(d, docs[i]), append(r, refs[i])
					}
				}
				return d, r
			})
		})
	})
	earnsLess(t, r, honest, verify.CodeCoverage, false)
}

// TestAttackForgedSignatures (issue 13, attack 7): a submission whose
// signature file carries the rows of another task's documents (so that a
// later deduplication removes them), and one whose rows and ids are right
// but whose signatures are another text's. Both reject.
func TestAttackForgedSignatures(t *testing.T) {
	A, B := warcA(t), warcB(t)
	honest := alone(t, "Honest", func(e *env) { e.honest("Honest", "c", A, 0, 0) })
	var other []dataset.Doc
	bm, err := dataset.ReadManifest(base(t, B, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := dataset.ReadAll(base(t, B, 0, 0), bm, func(_ int, _ int64, d dataset.Doc) error { other = append(other, d); return nil }); err != nil {
		t.Fatal(err)
	}
	forge := func(sign func(w *dedup.SigWriter, docs []dataset.Doc) error) func(e *env) {
		return func(e *env) {
			e.submit("Forger", "c", A, 0, 0, "", func(dir string, m *dataset.Manifest) {
				var docs []dataset.Doc
				if err := dataset.ReadAll(dir, m, func(_ int, _ int64, d dataset.Doc) error { docs = append(docs, d); return nil }); err != nil {
					t.Fatal(err)
				}
				sh := &m.Shards[0]
				err := dedup.WriteSigFile(filepath.Join(dir, filepath.FromSlash(sh.Signatures.Path)), testMinHasher(t).Config(),
					func(w *dedup.SigWriter) error { return sign(w, docs) })
				if err != nil {
					t.Fatal(err)
				}
				reseal(t, dir, sh.Signatures)
			})
		}
	}
	otherRows := alone(t, "Forger", forge(func(w *dedup.SigWriter, _ []dataset.Doc) error {
		for i, d := range other {
			if err := w.Add(int64(i), d.ID, testMinHasher(t).Sign(d.Text)); err != nil {
				return err
			}
		}
		return nil
	}))
	earnsLess(t, otherRows, honest, verify.CodeSignatures, false)
	otherTexts := alone(t, "Forger", forge(func(w *dedup.SigWriter, docs []dataset.Doc) error {
		for i, d := range docs {
			if err := w.Add(int64(i), d.ID, testMinHasher(t).Sign(other[i%len(other)].Text)); err != nil {
				return err
			}
		}
		return nil
	}))
	earnsLess(t, otherTexts, honest, verify.CodeSignatures, false)
}

// TestAttackLongJunkRows (issue 13, attack 1 by volume): the honest output
// plus two long rows of junk (three times the honest text) citing real
// records (two the pipeline drops, after the last kept one, listed kept in
// the record index), with consistent token counts. Provenance draws bytes, not rows:
// the junk is most of the bytes, so it is drawn and rejected (drawing 16 of
// 14 rows uniformly would miss it one time in eight).
func TestAttackLongJunkRows(t *testing.T) {
	A := warcA(t)
	honest := alone(t, "Honest", func(e *env) { e.honest("Honest", "c", A, 0, 0) })
	r := alone(t, "Padder", func(e *env) {
		e.submit("Padder", "c", A, 0, 0, "", func(dir string, m *dataset.Manifest) {
			var spare []int64 // dropped records after the last kept one
			for _, e := range indexEntries(t, dir, m) {
				if e.Kept {
					spare = nil
				} else {
					spare = append(spare, e.Offset)
				}
			}
			rewrite(t, dir, m, func(docs []dataset.Doc, refs []dataset.RecordRef) ([]dataset.Doc, []dataset.RecordRef) {
				var text int
				for _, d := range docs {
					text += len(d.Text)
				}
				last := refs[len(refs)-1]
				for k := range 2 {
					junk := strings.Repeat(fmt.Sprintf("Plausible sentence number %d about nothing in particular. ", k), 3*text/2/60)
					d := docs[k]
					d.ID = fmt.Sprintf("<urn:uuid:00000000-0000-0000-0000-%012d>", k)
					d.Text, d.TokenCount = junk, countTokens(t, junk)
					ref := last
					ref.ID, ref.Offset = d.ID, spare[k]
					docs, refs = append(docs, d), append(refs, ref)
				}
				return docs, refs
			})
		})
	})
	earnsLess(t, r, honest, verify.CodeProvenance, false)
}

// TestSeedFromCompletion (issue 13, attack 5): a miner commits one string,
// looks at the next blocks, commits another and completes its lease with
// the second. The submission's seed is the hash of the block SeedDelay
// after the completion the task server recorded — a block that did not
// exist when the miner completed — and the lease cannot be completed
// again: one seed per lease. Until the seed block exists the submission is
// not evaluated (no verdict); the string it never completed with earns
// nothing.
func TestSeedFromCompletion(t *testing.T) {
	e := newEnv(t, false)
	e.register("Grinder", 0)
	A := warcA(t)
	l := e.lease("Grinder", "c", []string{A}, 0, 0)
	dir, sha := clone(t, base(t, A, 0, 0), l.TaskID, key(t, "Grinder").SS58(), nil)
	rev := e.publish("Grinder", dir)
	first := e.commitment("Grinder", rev, l.TaskID, sha)
	e.commit("Grinder", first)
	// A second string for the same submission (another manifest byte
	// would do as well): the grinder's second try.
	dir2, sha2 := clone(t, base(t, A, 0, 0), l.TaskID, key(t, "Grinder").SS58(), func(_ string, m *dataset.Manifest) { m.PipelineVersion += " " })
	second := e.commitment("Grinder", e.publish("Grinder", dir2), l.TaskID, sha2)
	blk := e.commit("Grinder", second)
	done, err := e.client("Grinder").Complete(e.ctx, l.ID, second, blk)
	if err != nil {
		t.Fatal(err)
	}
	seedBlock := verify.SeedBlock(done, blk, 2)
	if seedBlock != done.EndedBlock+2 || seedBlock <= e.head() {
		t.Fatalf("seed block %d, completion recorded in %d, head %d", seedBlock, done.EndedBlock, e.head())
	}
	if _, err := e.chain.BlockHash(e.ctx, seedBlock); err == nil {
		t.Fatal("the seed block existed when the miner completed")
	}
	if _, err := e.client("Grinder").Complete(e.ctx, l.ID, first, blk); err == nil {
		t.Fatal("a lease completed twice")
	}
	v := e.validator(filepath.Join(t.TempDir(), "v.db"))
	e.advance(1)
	// The validator reads the chain's commitment history: the first
	// string, which no lease completed, is rejected (not_leased); the
	// completed one waits for its seed block.
	recs, err := v.Round(e.ctx)
	if err != nil || len(recs) != 1 || recs[0].Commitment != first || recs[0].Verdict.Code != verify.CodeNotLeased {
		t.Fatalf("before the seed block: %+v, %v", recs, err)
	}
	e.advance(1)
	if recs, err = v.Round(e.ctx); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Commitment != second || !recs[0].Verdict.Accepted {
		t.Fatalf("after the seed block: %+v", recs)
	}
}
