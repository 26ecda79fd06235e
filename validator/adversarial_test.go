package validator

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/pipeline/dedup"
	"github.com/datarefine/refine/pipeline/tokens"
	"github.com/datarefine/refine/pipeline/words"
	"github.com/datarefine/refine/taskserver"
	"github.com/datarefine/refine/validator/verify"
	"github.com/parquet-go/parquet-go"
)

// rewrite replaces a dataset's shards and records with what fn returns.
func rewrite(t testing.TB, dir string, m *dataset.Manifest, fn func([]dataset.Doc, []dataset.RecordRef) ([]dataset.Doc, []dataset.RecordRef)) {
	t.Helper()
	var docs []dataset.Doc
	if err := dataset.ReadAll(dir, m, func(_ int, _ int64, d dataset.Doc) error { docs = append(docs, d); return nil }); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, m.Records.Path))
	if err != nil {
		t.Fatal(err)
	}
	var refs []dataset.RecordRef
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r dataset.RecordRef
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		refs = append(refs, r)
	}
	f.Close()
	docs, refs = fn(docs, refs)
	os.RemoveAll(filepath.Join(dir, "data"))
	os.Remove(filepath.Join(dir, m.Records.Path))
	task, err := strconv.ParseInt(m.Task, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	w, err := dataset.NewWriter(dataset.WriterOptions{Dir: dir, Layout: dataset.SubmissionLayout(task)})
	if err != nil {
		t.Fatal(err)
	}
	m.Documents, m.Tokens = 0, 0
	for i := range docs {
		if err := w.Write(&docs[i], refs[i].WARC, refs[i].Offset); err != nil {
			t.Fatal(err)
		}
		m.Documents++
		m.Tokens += docs[i].TokenCount
	}
	if m.Shards, m.Records, err = w.Close(); err != nil {
		t.Fatal(err)
	}
	reindex(t, dir, m, refs)
	// Sign every shard as the pipeline does (the texts as published).
	first := 0
	for i := range m.Shards {
		sh := &m.Shards[i]
		rel := dataset.SignaturePath(sh.Path)
		n := int(sh.Documents)
		err := dedup.WriteSigFile(filepath.Join(dir, filepath.FromSlash(rel)), testMinHasher(t).Config(), func(sw *dedup.SigWriter) error {
			for row := 0; row < n; row++ {
				if err := sw.Add(int64(row), docs[first+row].ID, testMinHasher(t).Sign(docs[first+row].Text)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		first += n
		if sh.Signatures, err = dataset.HashFile(dir, rel); err != nil {
			t.Fatal(err)
		}
	}
}

// republish submits as name the honest output of warc[start, end) for a
// task of crawl over the same records: the WARC named by another path, the
// dataset retargeted at it (a second task over the same records).
func (e *env) republish(name, crawl, warc string, start, end int64) {
	t := e.t
	other := filepath.Dir(warc) + "/./" + filepath.Base(warc)
	e.submit(name, crawl, other, start, end, base(t, warc, start, end), func(dir string, m *dataset.Manifest) {
		m.Inputs[0].Path = other
		rewrite(t, dir, m, func(docs []dataset.Doc, refs []dataset.RecordRef) ([]dataset.Doc, []dataset.RecordRef) {
			for i := range refs {
				refs[i].WARC = other
			}
			return docs, refs
		})
	})
}

// reindex makes a rewritten submission's record index agree with its
// documents, as a careful attacker would: the records they cite are kept,
// and a record no longer cited is claimed dropped by a quality filter.
func reindex(t testing.TB, dir string, m *dataset.Manifest, refs []dataset.RecordRef) {
	t.Helper()
	editIndex(t, dir, m, func(entries []dataset.IndexEntry) []dataset.IndexEntry {
		cited := map[[2]any]bool{}
		for _, r := range refs {
			cited[[2]any{r.WARC, r.Offset}] = true
		}
		for i := range entries {
			e := &entries[i]
			switch {
			case cited[[2]any{m.Inputs[e.WARC].Path, e.Offset}]:
				*e = dataset.IndexEntry{WARC: e.WARC, Offset: e.Offset, Length: e.Length, Kept: true}
			case e.Kept:
				e.Kept, e.Step, e.Reason = false, "fineweb_qual", "line_punct_ratio"
			}
		}
		return entries
	})
}

// indexEntries reads a submission's record index.
func indexEntries(t testing.TB, dir string, m *dataset.Manifest) []dataset.IndexEntry {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(m.RecordIndex.Path)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var entries []dataset.IndexEntry
	if err := dataset.ReadIndex(context.Background(), f, 1<<20, func(_ int64, e dataset.IndexEntry) error {
		entries = append(entries, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return entries
}

// editIndex rewrites a submission's record index with fn and re-seals it.
func editIndex(t testing.TB, dir string, m *dataset.Manifest, fn func([]dataset.IndexEntry) []dataset.IndexEntry) {
	t.Helper()
	entries := indexEntries(t, dir, m)
	w, err := dataset.NewIndexWriter(dir, m.RecordIndex.Path)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range fn(entries) {
		if err := w.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if m.RecordIndex, err = w.Close(); err != nil {
		t.Fatal(err)
	}
}

var signer = sync.OnceValues(func() (*dedup.MinHasher, error) {
	return dedup.NewMinHasher(dedup.MinHasherOptions{Words: words.Words})
})

// testMinHasher is the pipeline's MinHash signer.
func testMinHasher(t testing.TB) *dedup.MinHasher {
	s, err := signer()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// countTokens is the pipeline's GPT-2 token count of text.
func countTokens(t testing.TB, text string) int64 {
	bpe, err := tokens.GPT2BPE()
	if err != nil {
		t.Fatal(err)
	}
	return int64(bpe.Count(text))
}

// submit runs a miner's job with a mutated dataset: lease, clone the base
// of warc[start,end) with mutate applied, publish, commit, complete.
func (e *env) submit(name, crawl, warc string, start, end int64, src string, mutate func(dir string, m *dataset.Manifest)) string {
	l := e.lease(name, crawl, []string{warc}, start, end)
	if src == "" {
		src = base(e.t, warc, start, end)
	}
	dir, sha := clone(e.t, src, l.TaskID, key(e.t, name).SS58(), mutate)
	data := e.commitment(name, e.publish(name, dir), l.TaskID, sha)
	blk := e.commit(name, data)
	e.complete(name, l.ID, data, blk)
	return data
}

// TestAdversaries runs honest miners and one miner per attack in the same
// rounds: every attack is rejected with its code (score 0, EMA 0) while the
// honest miners are accepted with their full score.
func TestAdversaries(t *testing.T) {
	e := newEnv(t, false)
	A, B := warcA(t), warcB(t)
	names := []string{"H1", "H2", "R", "FrontRun", "CopyExact", "CopyRepub", "Fabricate", "OtherTask", "Drop", "Pad",
		"Changed", "Early", "Expired", "Late", "BadParquet", "BadSchema", "Oversized", "Bomb", "NoManifest", "Unreachable", "NoTask", "Malformed"}
	for _, n := range names {
		e.register(n, 0)
	}
	want := map[string]verify.Code{}

	// Honest work first: earlier commitments win.
	h1 := e.honest("H1", "c-h1", A, 0, 24)
	// H2 completes its lease before committing; FrontRun, which read the
	// string from the task server's public events, commits it first. The
	// commitment stays H2's: only H2 completed a lease with it.
	{
		l := e.lease("H2", "c-h2", []string{B}, 0, 0)
		dir, sha := clone(t, base(t, B, 0, 0), l.TaskID, key(t, "H2").SS58(), nil)
		data := e.commitment("H2", e.publish("H2", dir), l.TaskID, sha)
		e.complete("H2", l.ID, data, e.head()+2)
		e.commit("FrontRun", data)
		e.commit("H2", data)
		want["FrontRun"] = verify.CodeNotLeased
	}
	r1 := e.honest("R", "c-r", A, 24, 0)

	// Copies: the same commitment string, and H1's dataset republished
	// for a task over the same records.
	e.commit("CopyExact", h1)
	want["CopyExact"] = verify.CodeCopy
	// The republished copy is of the same crawl (uniqueness compares within
	// a crawl); its task names the same WARC by another path (the same
	// records), and the copier retargets H1's dataset at it. It is accepted
	// (it is derived from its task's records, and a second task over
	// crawled-before pages is an honest miner's too) but every document
	// overlaps H1's: it is credited 0.
	e.republish("CopyRepub", "c-h1", A, 0, 24)
	worthless := map[string]bool{"CopyRepub": true}

	// Fabricated text with the real ids, URLs and offsets.
	e.submit("Fabricate", "c-fab", A, 0, 24, "", func(dir string, m *dataset.Manifest) {
		rewrite(t, dir, m, func(docs []dataset.Doc, refs []dataset.RecordRef) ([]dataset.Doc, []dataset.RecordRef) {
			for i := range docs {
				// Distinct, fluent-looking text of the same words: the
				// words of each line in reverse order.
				lines := strings.Split(docs[i].Text, "\n")
				for j, l := range lines {
					w := strings.Fields(l)
					slices.Reverse(w)
					lines[j] = strings.Join(w, " ")
				}
				docs[i].Text = strings.Join(lines, "\n")
			}
			return docs, refs
		})
	})
	want["Fabricate"] = verify.CodeProvenance

	// Another task's output: H2's dataset (WARC B) for a task over A.
	e.submit("OtherTask", "c-other", A, 0, 24, base(t, B, 0, 0), nil)
	want["OtherTask"] = verify.CodeWrongTask

	// Drops most documents of a full WARC.
	e.submit("Drop", "c-drop", A, 0, 0, "", func(dir string, m *dataset.Manifest) {
		rewrite(t, dir, m, func(docs []dataset.Doc, refs []dataset.RecordRef) ([]dataset.Doc, []dataset.RecordRef) {
			return docs[:2], refs[:2]
		})
	})
	want["Drop"] = verify.CodeCoverage

	// Pads with duplicates under fresh ids.
	e.submit("Pad", "c-pad", B, 0, 0, "", func(dir string, m *dataset.Manifest) {
		rewrite(t, dir, m, func(docs []dataset.Doc, refs []dataset.RecordRef) ([]dataset.Doc, []dataset.RecordRef) {
			n := len(docs)
			for i := range n {
				d, r := docs[i], refs[i]
				d.ID = fmt.Sprintf("<urn:uuid:00000000-0000-0000-0000-%012d>", i)
				r.ID = d.ID
				docs, refs = append(docs, d), append(refs, r)
			}
			return docs, refs
		})
	})
	// Two documents citing one record: caught by the record references
	// before any text is read.
	want["Pad"] = verify.CodeRecords

	// Changes the data after committing: the commitment cites the first
	// manifest, the revision holds another.
	{
		l := e.lease("Changed", "c-changed", []string{B}, 0, 0)
		_, sha := clone(t, base(t, B, 0, 0), l.TaskID, key(t, "Changed").SS58(), nil)
		dir2, _ := clone(t, base(t, B, 0, 0), l.TaskID, key(t, "Changed").SS58(), func(dir string, m *dataset.Manifest) {
			rewrite(t, dir, m, func(docs []dataset.Doc, refs []dataset.RecordRef) ([]dataset.Doc, []dataset.RecordRef) {
				return docs[1:], refs[1:]
			})
		})
		data := e.commitment("Changed", e.publish("Changed", dir2), l.TaskID, sha)
		e.complete("Changed", l.ID, data, e.commit("Changed", data))
		want["Changed"] = verify.CodeManifestHash
	}

	// Commits before leasing the task it names.
	{
		counts, err := e.tstore.Counts(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		next := counts.Tasks + 1
		dir, sha := clone(t, base(t, B, 0, 0), next, key(t, "Early").SS58(), nil)
		data := e.commitment("Early", e.publish("Early", dir), next, sha)
		blk := e.commit("Early", data)
		l := e.lease("Early", "c-early", []string{B}, 0, 0)
		if l.TaskID != next {
			t.Fatalf("early: leased task %d, predicted %d", l.TaskID, next)
		}
		e.complete("Early", l.ID, data, blk)
		want["Early"] = verify.CodeBeforeLease
	}

	// Lets the lease expire, then commits.
	{
		l := e.lease("Expired", "c-expired", []string{B}, 0, 0)
		if _, err := e.tstore.Expire(e.ctx, taskserver.Stamp{Time: time.Now().Add(7 * time.Hour), Block: e.head()}); err != nil {
			t.Fatal(err)
		}
		dir, sha := clone(t, base(t, B, 0, 0), l.TaskID, key(t, "Expired").SS58(), nil)
		e.commit("Expired", e.commitment("Expired", e.publish("Expired", dir), l.TaskID, sha))
		want["Expired"] = verify.CodeAfterDeadline
	}

	// Completes the lease, then commits long after (past the grace).
	{
		l := e.lease("Late", "c-late", []string{B}, 0, 0)
		dir, sha := clone(t, base(t, B, 0, 0), l.TaskID, key(t, "Late").SS58(), nil)
		data := e.commitment("Late", e.publish("Late", dir), l.TaskID, sha)
		e.complete("Late", l.ID, data, e.head())
		e.advance(int(testGrace) + 3)
		e.commit("Late", data)
		want["Late"] = verify.CodeAfterDeadline
	}

	// Bad submissions.
	e.submit("BadParquet", "c-badpq", B, 0, 0, "", func(dir string, m *dataset.Manifest) {
		sh := &m.Shards[0]
		if err := os.WriteFile(filepath.Join(dir, sh.Path), []byte("PAR1 this is not a parquet file PAR1"), 0o644); err != nil {
			t.Fatal(err)
		}
		reseal(t, dir, &sh.File)
	})
	want["BadParquet"] = verify.CodeSchema
	e.submit("BadSchema", "c-badschema", B, 0, 0, "", func(dir string, m *dataset.Manifest) {
		sh := &m.Shards[0]
		type wrong struct {
			Text int64  `parquet:"text"`
			ID   string `parquet:"id"`
		}
		if err := parquet.WriteFile(filepath.Join(dir, sh.Path), []wrong{{1, "a"}, {2, "b"}}); err != nil {
			t.Fatal(err)
		}
		reseal(t, dir, &sh.File)
	})
	want["BadSchema"] = verify.CodeSchema
	e.submit("Oversized", "c-big", B, 0, 0, "", func(dir string, m *dataset.Manifest) {
		// A sealed file over the validator's per-file limit (an unsealed
		// one would never be fetched).
		f, err := os.OpenFile(filepath.Join(dir, filepath.FromSlash(m.Records.Path)), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write(make([]byte, 3<<20))
		f.Close()
		reseal(t, dir, m.Records)
	})
	want["Oversized"] = verify.CodeTooLarge
	// A decompression bomb: a tiny shard holding a huge text.
	e.submit("Bomb", "c-bomb", B, 0, 0, "", func(dir string, m *dataset.Manifest) {
		rewrite(t, dir, m, func(docs []dataset.Doc, refs []dataset.RecordRef) ([]dataset.Doc, []dataset.RecordRef) {
			docs[0].Text = strings.Repeat("a", 6<<20)
			return docs, refs
		})
	})
	want["Bomb"] = verify.CodeTooLarge
	{
		l := e.lease("NoManifest", "c-nomanifest", []string{B}, 0, 0)
		dir, sha := clone(t, base(t, B, 0, 0), l.TaskID, key(t, "NoManifest").SS58(), nil)
		os.Remove(filepath.Join(dir, filepath.FromSlash(dataset.SubmissionManifestPath(l.TaskID))))
		data := e.commitment("NoManifest", e.publish("NoManifest", dir), l.TaskID, sha)
		e.complete("NoManifest", l.ID, data, e.commit("NoManifest", data))
		want["NoManifest"] = verify.CodeFetch // not found at the revision, like an unreachable repo
	}
	{
		l := e.lease("Unreachable", "c-unreachable", []string{B}, 0, 0)
		data := e.commitment("Nowhere", strings.Repeat("ab", 32), l.TaskID, strings.Repeat("0", 16))
		e.complete("Unreachable", l.ID, data, e.commit("Unreachable", data))
		want["Unreachable"] = verify.CodeFetch
	}
	e.commit("NoTask", e.commitment("NoTask", strings.Repeat("cd", 32), 99999, strings.Repeat("1", 16)))
	want["NoTask"] = verify.CodeNoTask
	e.commit("Malformed", "r1:this is not a commitment")
	want["Malformed"] = verify.CodeMalformed

	v := e.validator(filepath.Join(t.TempDir(), "v.db"))
	e.advance(2) // the last commitments' seed blocks
	recs, err := v.Round(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := byHotkey(recs)
	for _, n := range names {
		r, ok := got[key(t, n).SS58()]
		if !ok {
			t.Errorf("%s: not evaluated", n)
			continue
		}
		t.Logf("%-11s %s", n, describe(r))
		switch w, bad := want[n]; {
		case worthless[n]:
			if !r.Verdict.Accepted || r.Verdict.Uniqueness != 0 || r.Verdict.VerifiedTokens != 0 || r.Score != 0 {
				t.Errorf("%s: %s, want accepted with nothing credited", n, describe(r))
			}
		case bad && (r.Verdict.Accepted || r.Verdict.Code != w || r.Score != 0):
			t.Errorf("%s: %s, want rejected with %s", n, describe(r), w)
		case bad && !loggedRejection(e.logs.String(), key(t, n).SS58(), w):
			t.Errorf("%s: rejection not logged with its code", n)
		case !bad && (!r.Verdict.Accepted || r.Score <= 0 || r.Verdict.Uniqueness < 0.5 || r.Verdict.Provenance.Matched != r.Verdict.Provenance.Checked):
			t.Errorf("honest %s: %s", n, describe(r))
		}
	}
	scores, err := v.Scores(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range scores {
		honest := s.UID == e.uids["H1"] || s.UID == e.uids["H2"] || s.UID == e.uids["R"]
		if honest != (s.EMA > 0) {
			t.Errorf("uid %d: EMA %v (honest %v)", s.UID, s.EMA, honest)
		}
	}

	// Weights: only the honest uids get any.
	if err := v.SetWeights(e.ctx); err != nil {
		t.Fatal(err)
	}
	mg, err := e.chain.Metagraph(e.ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	row := mg.Neurons[e.uids["Validator"]].Weights
	if len(row) != 3 {
		t.Errorf("weights %v: want the 3 honest uids", row)
	}
	for _, w := range row {
		if w.UID != e.uids["H1"] && w.UID != e.uids["H2"] && w.UID != e.uids["R"] {
			t.Errorf("weight %d on dishonest uid %d", w.Value, w.UID)
		}
	}

	// A later round: R replays its old commitment; the honest EMAs decay
	// but stay positive; R's replay scores 0.
	e.commit("R", r1)
	e.advance(2)
	recs, err = v.Round(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Hotkey != key(t, "R").SS58() || recs[0].Verdict.Code != verify.CodeReplay || recs[0].Score != 0 {
		t.Fatalf("round 2: %+v, want R's replay rejected", recs)
	}
	scores, _ = v.Scores(e.ctx)
	for _, s := range scores {
		if s.UID == e.uids["H1"] && s.EMA <= 0 {
			t.Errorf("H1's EMA fell to %v", s.EMA)
		}
	}
}

// loggedRejection finds the validator's log line rejecting hotkey with code
// and a reason.
func loggedRejection(logs, hotkey string, code verify.Code) bool {
	for _, line := range strings.Split(logs, "\n") {
		var l struct {
			Msg, Hotkey, Code, Reason string
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "submission rejected" &&
			l.Hotkey == hotkey && l.Code == string(code) && l.Reason != "" {
			return true
		}
	}
	return false
}
