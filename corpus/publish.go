package corpus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/datarefine/refine/store"
)

// Summary is summary.json in the dataset repository: the numbers a
// website's Dataset page shows, read through the store (resolve main or
// a tag, then open summary.json at that revision).
type Summary struct {
	Format       string            `json:"format"`
	Name         string            `json:"name"`
	Repo         string            `json:"repo,omitempty"`
	License      string            `json:"license"`
	Build        int               `json:"build"`
	Tag          string            `json:"tag"`
	Documents    int64             `json:"documents"`
	Tokens       int64             `json:"tokens"`
	Removed      int64             `json:"removed"`
	Shards       int               `json:"shards"`
	Dumps        []DumpSummary     `json:"dumps"`
	Contributors []ContribEntry    `json:"contributors"`
	Source       SourceInfo        `json:"source"`
	Params       Params            `json:"params"`
	History      []BuildRecord     `json:"history"`
	Files        map[string]string `json:"files"`
}

// SummaryFormat names this version of summary.json.
const SummaryFormat = "refine-corpus-summary/1"

// DumpSummary is one dump (one config of the dataset).
type DumpSummary struct {
	Dump      string `json:"dump"`
	Documents int64  `json:"documents"`
	Tokens    int64  `json:"tokens"`
	Removed   int64  `json:"removed"`
	Shards    int    `json:"shards"`
}

// ContribEntry is one miner's share.
type ContribEntry struct {
	Hotkey string `json:"hotkey"`
	Contribution
}

// published is the publish stage's marker of the store's answer, so that
// a rerun does not publish twice.
type published struct {
	Revision string `json:"revision"`
	Tagged   bool   `json:"tagged"`
}

// publishStage folds the build into the state, writes the card, lineage
// and summary into the working copy, publishes it as a new revision,
// tags it, and commits the state: the build's last step.
func (b *builder) publishStage(ctx context.Context) error {
	fr, all, err := b.outputShards()
	if err != nil {
		return err
	}
	written := map[string]writeResult{}
	for _, o := range all {
		var w writeResult
		ok, err := readJSON(b.l.writeDone(b.n, o.Name), &w)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("dataset build: the write stage of build %d is not complete (%s)", b.n, o.Name)
		}
		written[o.Name] = w
	}
	dumpsByName, err := b.dumps(fr)
	if err != nil {
		return err
	}
	dumps := sortedDumps(dumpsByName)
	cr, err := b.clustered(dumps)
	if err != nil {
		return err
	}
	st := b.state // loaded fresh from the committed state.json
	cfg := b.opts.MinHasher.Config()
	prevRev := ""
	if len(st.History) > 0 {
		prevRev = st.History[len(st.History)-1].Revision
	}
	rec := BuildRecord{Build: b.n, Tag: fmt.Sprintf("v%d", b.n)}
	tmp := filepath.Join(b.l.build(b.n), "tmp")
	for i, dump := range dumps {
		c := cr[i]
		ds := st.dumpState(dump, cfg)
		st.Dumps[dump] = ds
		ds.Documents = c.First + c.Documents
		ds.Shards += len(c.Shards)
		ds.Kept += c.Kept
		ds.Removed += c.Removed
		for _, o := range c.Shards {
			ds.Tokens += written[o.Name].Tokens
			rec.Tokens += written[o.Name].Tokens
		}
		rec.Documents += c.Kept
		rec.Removed += c.Removed
		for bk := range cfg.NumBuckets {
			var br bucketResult
			ok, err := readJSON(b.l.bucketDone(b.n, dump, bk), &br)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("dataset build: bucket %d of dump %s is not done", bk, dump)
			}
			ds.Levels[bk] = br.Levels
		}
		// The dump's document numbering is append-only state: cut back to
		// its committed length first, so a rerun never appends twice.
		data, err := os.ReadFile(b.l.clusterFile(b.n, dump, ".docs.jsonl"))
		if err != nil {
			return err
		}
		if ds.DocsBytes, err = appendFile(b.l.docs(dump), ds.DocsBytes, data); err != nil {
			return fmt.Errorf("dataset build: %w", err)
		}
		// The build's lineage files, immutable once published.
		for ext, name := range lineageFiles(dump, b.n) {
			if err := linkInto(b.l.clusterFile(b.n, dump, ext), filepath.Join(b.l.out(), filepath.FromSlash(name)), tmp); err != nil {
				return err
			}
		}
	}
	for i, f := range fr {
		s := b.plan.Inputs[i]
		st.Included[s.Key] = b.n
		rec.LastBlock = max(rec.LastBlock, s.Block)
		if f.Excluded != "" {
			rec.Excluded++
			rec.Exclusions = append(rec.Exclusions, Exclusion{Key: s.Key, Reason: f.Excluded})
			continue
		}
		rec.Submissions++
		ref := b.submissionRef(fr, i)
		c := st.Contributors[ref.Hotkey]
		if c == nil {
			c = &Contribution{}
			st.Contributors[ref.Hotkey] = c
		}
		c.Submissions++
	}
	for _, o := range all {
		for _, sh := range written[o.Name].Inputs {
			c := st.Contributors[b.submissionRef(fr, sh.Input).Hotkey]
			c.Documents += sh.Docs
			c.Tokens += sh.Tokens
		}
	}
	st.History = append(st.History, rec)
	st.Build = b.n

	sum := b.summary(st)
	card, err := renderCard(sum)
	if err != nil {
		return err
	}
	if err := writeFileVia(tmp, filepath.Join(b.l.out(), "README.md"), func(w io.Writer) error { _, err := io.WriteString(w, card); return err }); err != nil {
		return err
	}
	sj, err := marshalJSON(sum)
	if err != nil {
		return err
	}
	if err := writeFileVia(tmp, filepath.Join(b.l.out(), "summary.json"), func(w io.Writer) error { _, err := w.Write(sj); return err }); err != nil {
		return err
	}
	if err := sweepTemp(b.l.out()); err != nil {
		return err
	}

	var pub published
	if _, err := readJSON(b.l.publishDone(b.n), &pub); err != nil {
		return err
	}
	if b.opts.Store != nil {
		if pub.Revision == "" {
			if err := b.opts.Store.Create(ctx, b.opts.Repo); err != nil {
				return fmt.Errorf("dataset build: create %s: %w", b.opts.Repo, err)
			}
			msg := fmt.Sprintf("build %d: +%d documents from %d submissions", b.n, rec.Documents, rec.Submissions)
			dir, err := b.publishDir(ctx, prevRev, dumps, all)
			if err != nil {
				return err
			}
			rev, err := b.opts.Store.Publish(ctx, b.opts.Repo, dir, msg)
			if err != nil {
				return fmt.Errorf("dataset build: publish: %w", err)
			}
			pub.Revision = rev
			if err := writeJSON(b.l.publishDone(b.n), &pub); err != nil {
				return err
			}
		}
		if tg, ok := b.opts.Store.(store.Tagger); ok && !pub.Tagged {
			if err := tg.Tag(ctx, b.opts.Repo, pub.Revision, rec.Tag); err != nil {
				return fmt.Errorf("dataset build: tag %s: %w", rec.Tag, err)
			}
			pub.Tagged = true
			if err := writeJSON(b.l.publishDone(b.n), &pub); err != nil {
				return err
			}
		}
	}
	st.History[len(st.History)-1].Revision = pub.Revision
	// The commit point: from here on the build is part of the dataset.
	if err := writeJSON(b.l.state(), st); err != nil {
		return fmt.Errorf("dataset build: commit state: %w", err)
	}
	b.log.Info("build published", "build", b.n, "revision", pub.Revision, "documents", rec.Documents, "removed", rec.Removed)
	return b.cleanup()
}

// publishDir is the folder to publish. A commit applies on top of the
// branch (store.Store), so when the branch is still at the last build's
// revision only this build's files need to go: its new shards, the
// lineage files of its dumps, the card and the summary (hard links in the
// build's folder). Otherwise (a first build, or someone else committed
// since) the whole working copy goes.
func (b *builder) publishDir(ctx context.Context, prevRev string, dumps []string, shards []outShard) (string, error) {
	tg, ok := b.opts.Store.(store.Tagger)
	if !ok || prevRev == "" {
		return b.l.out(), nil
	}
	if head, err := tg.Resolve(ctx, b.opts.Repo, "main"); err != nil || head != prevRev {
		b.log.Info("publishing the whole working copy: the branch moved", "head", head, "last_build", prevRev, "err", err)
		return b.l.out(), nil
	}
	files := []string{"README.md", "summary.json"}
	for _, d := range dumps {
		for _, name := range lineageFiles(d, b.n) {
			files = append(files, name)
		}
	}
	for _, o := range shards {
		files = append(files, o.Name)
	}
	dir := filepath.Join(b.l.build(b.n), "publish")
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	for _, f := range files {
		src, dst := filepath.Join(b.l.out(), filepath.FromSlash(f)), filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return "", err
		}
		if err := os.Link(src, dst); err != nil {
			// Another file system: copy.
			if err := copyFile(src, dst); err != nil {
				return "", err
			}
		}
	}
	return dir, nil
}

// lineageFiles names a build's lineage files of a dump in the repository,
// by the extension of the cluster stage's file that becomes each.
func lineageFiles(dump string, build int) map[string]string {
	base := fmt.Sprintf("lineage/%s/%06d", dump, build)
	return map[string]string{".lineage.jsonl": base + ".jsonl", ".removed.jsonl": base + ".removed.jsonl"}
}

// linkInto puts src at dst (hard link, else copy) through a temporary
// name in tmp: dst is either absent or whole.
func linkInto(src, dst, tmp string) error {
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	t := filepath.Join(tmp, ".tmp-link-"+filepath.Base(dst))
	os.Remove(t)
	if err := os.Link(src, t); err != nil {
		return copyFile(src, dst)
	}
	return os.Rename(t, dst)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return writeFileAtomic(dst, func(w io.Writer) error { _, err := io.Copy(w, in); return err })
}

// summary is the summary.json of state st.
func (b *builder) summary(st *State) *Summary {
	p := b.plan.Params
	s := &Summary{
		Format: SummaryFormat, Name: p.Name, Repo: p.Repo, License: p.License,
		Build: st.Build, Tag: st.History[len(st.History)-1].Tag,
		Source: b.plan.Source, Params: p, History: st.History,
		Files: map[string]string{
			"data":    "data/<dump>/NNNNN.parquet: FineWeb's columns, zstd",
			"lineage": "lineage/<dump>/<build>.jsonl: every output row range and the submission shard rows it holds",
			"removed": "lineage/<dump>/<build>.removed.jsonl: every document deduplication dropped, and the one it duplicates",
		},
	}
	for _, d := range sortedDumps(st.Dumps) {
		ds := st.Dumps[d]
		s.Dumps = append(s.Dumps, DumpSummary{Dump: d, Documents: ds.Kept, Tokens: ds.Tokens, Removed: ds.Removed, Shards: ds.Shards})
		s.Documents += ds.Kept
		s.Tokens += ds.Tokens
		s.Removed += ds.Removed
		s.Shards += ds.Shards
	}
	for hk, c := range st.Contributors {
		s.Contributors = append(s.Contributors, ContribEntry{Hotkey: hk, Contribution: *c})
	}
	sort.Slice(s.Contributors, func(i, j int) bool {
		a, c := s.Contributors[i], s.Contributors[j]
		if a.Documents != c.Documents {
			return a.Documents > c.Documents
		}
		return a.Hotkey < c.Hotkey
	})
	return s
}

// sweepTemp removes temporary files a killed process left in the working
// copy (it is published whole).
func sweepTemp(dir string) error {
	return filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasPrefix(d.Name(), ".tmp-") {
			return os.Remove(p)
		}
		return nil
	})
}
