package corpus

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/datarefine/refine/acceptance"
	"github.com/datarefine/refine/assets"
	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/devnet"
	"github.com/datarefine/refine/internal/shareddata"
	"github.com/datarefine/refine/miner"
	"github.com/datarefine/refine/pipeline/dedup"
	"github.com/datarefine/refine/process"
	"github.com/datarefine/refine/store"
	"github.com/datarefine/refine/store/local"
	"github.com/datarefine/refine/submission"
	"github.com/datarefine/refine/taskserver/client"
)

// keptOffsets runs the pipeline on a WARC and returns the byte offsets of
// the records it keeps.
func keptOffsets(t *testing.T, warc, assetDir string) []int64 {
	t.Helper()
	out := filepath.Join(t.TempDir(), "p")
	m, err := process.Run(context.Background(), process.Options{Inputs: []string{warc}, Output: out, Dump: "CC-MAIN-2024-10",
		Steps: process.StepOptions{AssetsDir: assetDir}})
	if err != nil {
		t.Fatal(err)
	}
	var offs []int64
	for _, r := range readLines[dataset.RecordRef](t, filepath.Join(out, filepath.FromSlash(m.Records.Path))) {
		offs = append(offs, r.Offset)
	}
	return offs
}

// mirrorWARC writes a WARC of another crawl's pages (other's responses)
// among which are copies, under new record ids and URLs, of src's records
// at the offsets given: pages crawled twice, which refine to the same
// texts, so its miner submits near-duplicates of another miner's work.
func mirrorWARC(t *testing.T, src string, offsets []int64, other, dst string) {
	t.Helper()
	id := regexp.MustCompile(`(?m)^WARC-Record-ID: <urn:uuid:[0-9A-Fa-f-]+>\r$`)
	uri := regexp.MustCompile(`(?m)^(WARC-Target-URI: [^\r]+)\r$`)
	var out bytes.Buffer
	write := func(rec []byte) {
		zw := gzip.NewWriter(&out)
		if _, err := zw.Write(rec); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// members calls fn with every record of a .warc.gz and its offset.
	members := func(path string, fn func(off int64, head, rec []byte)) {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		r := bytes.NewReader(raw)
		for r.Len() > 0 {
			off := int64(len(raw) - r.Len())
			zr, err := gzip.NewReader(r)
			if err != nil {
				t.Fatal(err)
			}
			zr.Multistream(false)
			rec, err := io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
			head, _, _ := bytes.Cut(rec, []byte("\r\n\r\n"))
			fn(off, head, rec)
		}
	}
	isType := func(head []byte, typ string) bool { return bytes.Contains(head, []byte("WARC-Type: "+typ+"\r")) }
	var copies [][]byte
	members(src, func(off int64, head, rec []byte) {
		if !slices.Contains(offsets, off) {
			return
		}
		h := id.ReplaceAll(head, []byte(fmt.Sprintf("WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-%012d>\r", off)))
		h = uri.ReplaceAll(h, []byte("${1}?mirror=1\r"))
		copies = append(copies, append(h, rec[len(head):]...))
	})
	if len(copies) != len(offsets) {
		t.Fatalf("%d of %d records found at their offsets", len(copies), len(offsets))
	}
	n := 0
	members(other, func(off int64, head, rec []byte) {
		if !isType(head, "warcinfo") && !isType(head, "response") {
			return
		}
		write(rec)
		if n++; n%5 == 0 && len(copies) > 0 {
			write(copies[0])
			copies = copies[1:]
		}
	})
	for _, c := range copies {
		write(c)
	}
	if err := os.WriteFile(dst, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// cheater refines another WARC than the one it leased and submits that.
type cheater struct{ warc string }

func (c cheater) Resolve(ctx context.Context, paths []string) ([]string, map[string]string, func(), error) {
	names := map[string]string{}
	var inputs []string
	for _, p := range paths {
		inputs = append(inputs, c.warc)
		names[c.warc] = p
	}
	return inputs, names, func() {}, nil
}

// TestBuildFromDevnet is the dataset's end-to-end test: a devnet (chain,
// task server, 3 miners, 2 validators) refines a real crawl WARC and a
// mirror of its pages (near-duplicates of another miner's work), while one
// miner submits the output of other records than it leased (rejected).
// Two builds read the task server's accepted submissions: the dataset is
// exactly the accepted documents, deduplicated (the earliest commitment
// wins), the cheater's are absent, and the second build adds only the new
// submissions.
func TestBuildFromDevnet(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a whole devnet")
	}
	data := shareddata.Dir(t)
	assetDir := t.TempDir()
	if err := assets.Import(filepath.Join(data, "filters_dedup", "datatrove_assets"), assetDir, ""); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	// Three tasks, one WARC each. The mirror holds copies of two pages of
	// the first WARC among other pages: few enough that its submission
	// (or the first one, whichever commits later) stays under the
	// validators' overlap limit and is accepted.
	w1 := filepath.Join(data, "warc", "real_crawls", "dolma_browsertrix_sample-0000.warc.gz")
	kept := keptOffsets(t, w1, assetDir)
	if len(kept) < 6 {
		t.Fatalf("the pipeline keeps %d records of %s", len(kept), w1)
	}
	mirror := filepath.Join(root, "mirror.warc.gz")
	mirrorWARC(t, w1, []int64{kept[1], kept[4]}, filepath.Join(data, "warc", "real_crawls", "dolma_browsertrix_sample-0001.warc.gz"), mirror)
	w3 := filepath.Join(data, "warc", "commoncrawl", "resiliparse_CC-MAIN-2020-34_extract.warc.gz")
	// The cheater refines this WARC whatever it leased.
	evil := filepath.Join(data, "warc", "real_crawls", "dolma_browsertrix_sample-0001.warc.gz")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	netDir := filepath.Join(root, "devnet")
	logf, err := os.Create(filepath.Join(root, "devnet.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			if len(b) > 20000 {
				b = b[len(b)-20000:]
			}
			t.Logf("devnet log (end):\n%s", b)
		}
	})
	urls := make(chan string, 1)
	type result struct {
		sum *devnet.Summary
		err error
	}
	done := make(chan result, 1)
	go func() {
		sum, err := devnet.Run(ctx, devnet.Options{
			Dir: netDir, Miners: 3, Validators: 2, BlockTime: 250 * time.Millisecond, Tempo: 20,
			WARCs: []string{w1, mirror, w3}, AssetsDir: assetDir,
			Ready: func(u string) { urls <- u },
			Log:   slog.New(slog.NewTextHandler(logf, &slog.HandlerOptions{Level: slog.LevelInfo})),
			MinerWARCs: func(i int) miner.Resolver {
				if i == 2 {
					return cheater{warc: evil}
				}
				return nil
			},
		})
		done <- result{sum, err}
	}()
	var url string
	select {
	case url = <-urls:
	case r := <-done:
		t.Fatalf("devnet ended before serving: %v", r.err)
	}
	tasks := client.New(client.Options{URL: url})
	miners, err := local.New(filepath.Join(netDir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	var share float64 // the task server's acceptance share, as /v1/accepted states it
	accepted := func(ctx context.Context) ([]Submission, error) {
		subs, s, err := tasks.AllAccepted(ctx)
		share = s
		return FromAccepted(subs), err
	}
	waitAccepted := func(n int) []Submission {
		t.Helper()
		for {
			subs, err := accepted(ctx)
			if err == nil && len(subs) >= n {
				return subs
			}
			select {
			case r := <-done:
				t.Fatalf("devnet ended with %d accepted submissions: %v", len(subs), r.err)
			case <-ctx.Done():
				t.Fatalf("only %d accepted submissions after 3 minutes (%v)", len(subs), err)
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
	out, err := local.New(filepath.Join(root, "dataset-store"))
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(root, "work")
	build := func(list []Submission) *Result {
		t.Helper()
		src := &Network{Accepted: func(context.Context) ([]Submission, float64, error) { return list, share, nil }, URL: url, Store: miners}
		res, err := Build(ctx, testOptions(t, work, src, out))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	// Build 1 sees the first two accepted submissions (the read is a
	// cursor by lease id: a reader that came earlier saw a prefix of it).
	first := waitAccepted(2)[:2]
	res1 := build(first)
	// Build 2 runs once all three tasks are accepted.
	all := waitAccepted(3)
	res2 := build(all)
	cancel()
	r := <-done
	if r.err != nil && !errors.Is(r.err, context.Canceled) {
		t.Logf("devnet: %v", r.err)
	}
	if res1.Submissions != 2 || res2.Submissions != len(all)-2 || res2.Build != 2 {
		t.Fatalf("build 1 %+v, build 2 %+v (accepted %d)", res1.BuildRecord, res2.BuildRecord, len(all))
	}

	// The expected dataset: the accepted submissions, fetched and
	// deduplicated by the engine of `refine dedup` in the builds' order
	// (build 1's by block, then build 2's new ones by block).
	var order []Submission
	in1 := map[string]bool{}
	for _, s := range first {
		in1[s.Key] = true
	}
	var rest []Submission
	for _, s := range all {
		if !in1[s.Key] {
			rest = append(rest, s)
		}
	}
	for _, part := range [][]Submission{first, rest} {
		sort.SliceStable(part, func(i, j int) bool { return part[i].Block < part[j].Block })
		order = append(order, part...)
	}
	var inputs []Dataset
	allIDs := map[string]bool{}
	texts := map[string]string{}
	for i, s := range order {
		c, err := submission.Parse(s.Commitment)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(root, "expect", fmt.Sprint(i))
		if _, err := submission.Fetch(ctx, miners, c, dir, store.Limits{}); err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, DirDataset{Root: dir})
		ids, _ := readDataset(t, dir)
		for _, docs := range ids {
			for _, d := range docs {
				allIDs[d.ID] = true
				texts[d.ID] = d.Text
			}
		}
	}
	removed := map[string]bool{}
	_, err = Deduplicate(context.Background(), inputs, EngineOptions{Memory: 256 << 20, TempDir: t.TempDir(), MinHasher: testOptionsMinHasher(t), Texts: ParquetTexts{}},
		func(r Removal) error { removed[r.ID] = true; return nil })
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for id := range allIDs {
		if !removed[id] {
			want[id] = true
		}
	}
	_, got := readDataset(t, res2.Dir)
	gotSet := map[string]bool{}
	for _, id := range got {
		gotSet[id] = true
	}
	if len(got) != len(gotSet) || fmt.Sprint(sortedKeys(gotSet)) != fmt.Sprint(sortedKeys(want)) {
		t.Fatalf("dataset holds %d documents, want %d:\n%v\n%v", len(got), len(want), sortedKeys(gotSet), sortedKeys(want))
	}
	if len(removed) == 0 || int64(len(removed)) != res1.Removed+res2.Removed {
		t.Fatalf("%d near-duplicates expected, the builds removed %d + %d", len(removed), res1.Removed, res2.Removed)
	}
	// The mirror's pages and the originals: of each page refined from both
	// WARCs, one copy survives.
	isMirror := func(id string) bool { return strings.HasPrefix(id, "<urn:uuid:00000000-0000-4000-8000-") }
	pairs := 0
	for id := range removed {
		for k := range gotSet {
			if texts[k] == texts[id] && isMirror(k) != isMirror(id) {
				pairs++
				break
			}
		}
	}
	if pairs == 0 {
		t.Fatalf("no page of the mirror WARC was removed as a copy of the original or the other way round (removed %v)", sortedKeys(removed))
	}
	// The cheater submitted, was rejected, and none of its documents is in
	// the dataset.
	cheaterKey := r.sum.Miners[2].Hotkey
	for _, s := range all {
		if s.Hotkey == cheaterKey {
			t.Fatalf("the cheater's submission %s was accepted", s.Commitment)
		}
	}
	head, err := miners.Resolve(context.Background(), "miner3/refined", "main")
	if err != nil {
		t.Fatalf("the cheater never published: %v", err)
	}
	files, err := miners.List(context.Background(), "miner3/refined", head)
	if err != nil {
		t.Fatal(err)
	}
	var cheats, cheatDocs int64
	for _, f := range files {
		if !strings.HasSuffix(f.Path, "/"+dataset.ManifestName) {
			continue
		}
		rc, err := miners.Open(context.Background(), "miner3/refined", head, f.Path)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		m, err := dataset.ParseManifest(b)
		if err != nil {
			t.Fatal(err)
		}
		cheats++
		cheatDocs += m.Documents
	}
	if cheats == 0 || cheatDocs == 0 {
		t.Fatalf("the cheater published %d submissions of %d documents", cheats, cheatDocs)
	}
	lineage := readLinesGlob[LineageRange](t, filepath.Join(res2.Dir, "lineage", "*", "*.jsonl"))
	if len(lineage) == 0 {
		t.Fatal("no lineage")
	}
	for _, l := range lineage {
		if l.Submission.Hotkey == cheaterKey {
			t.Fatalf("lineage cites the cheater: %+v", l)
		}
	}
	sum := readSummary(t, res2.Dir)
	var dumps []string
	for _, d := range sum.Dumps {
		dumps = append(dumps, d.Dump)
	}
	checkCard(t, res2.Dir, dumps)
	if sum.Source.Kind != "network" || share != acceptance.DefaultShare || sum.Source.Share != share || sum.Documents != int64(len(got)) {
		t.Fatalf("summary: %+v", sum)
	}
	t.Logf("dumps %v", dumps)
	t.Logf("accepted %d submissions; dataset %d documents, %d near-duplicates removed (%d mirror/original pairs); the cheater's %d submissions (%d documents) left out",
		len(all), len(got), len(removed), pairs, cheats, cheatDocs)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func readLinesGlob[T any](t *testing.T, glob string) []T {
	t.Helper()
	paths, _ := filepath.Glob(glob)
	var out []T
	for _, p := range paths {
		if strings.HasSuffix(p, ".removed.jsonl") {
			continue
		}
		out = append(out, readLines[T](t, p)...)
	}
	return out
}

func testOptionsMinHasher(t *testing.T) *dedup.MinHasher {
	o := DefaultOptions("x")
	if err := o.defaults(); err != nil {
		t.Fatal(err)
	}
	return o.MinHasher
}
