package corpus

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// planStage finishes the cleanup of the last committed build, then either
// finds the build in progress (a resumed run keeps its plan) or plans a
// new one from the source's inputs that are not in the dataset yet.
func (b *builder) planStage(ctx context.Context) error {
	st, err := loadState(b.l)
	if err != nil {
		return err
	}
	b.state = st
	n := st.Build + 1
	if exists(b.l.plan(n)) {
		b.log.Info("resuming build", "build", n)
		return nil
	}
	if err := b.cleanup(); err != nil {
		return err
	}
	if b.opts.Source == nil {
		return errors.New("dataset build: no input source")
	}
	subs, err := b.opts.Source.Submissions(ctx)
	if err != nil {
		return fmt.Errorf("dataset build: list inputs: %w", err)
	}
	// Earliest commitment first: the order decides which copy of a
	// document survives. Folders (block 0) keep the order given.
	sort.SliceStable(subs, func(i, j int) bool { return subs[i].Block < subs[j].Block })
	var inputs []Submission
	seen := map[string]bool{}
	for _, s := range subs {
		if s.Key == "" {
			return fmt.Errorf("dataset build: input %+v has no key", s)
		}
		if _, done := st.Included[s.Key]; done || seen[s.Key] {
			continue
		}
		seen[s.Key] = true
		inputs = append(inputs, s)
	}
	if len(inputs) == 0 {
		return ErrUpToDate
	}
	p := Plan{
		Format: PlanFormat, Build: n, Source: b.opts.Source.Info(),
		Params: Params{
			MinHash: b.opts.MinHasher.Config(), Scope: "dump",
			ShardBytes: b.opts.ShardBytes, RowGroupDocs: b.opts.RowGroupDocs,
			Name: b.opts.Name, License: b.opts.License, Repo: b.opts.Repo,
		},
		Inputs: inputs,
	}
	if err := writeJSON(b.l.plan(n), &p); err != nil {
		return fmt.Errorf("dataset build: write plan: %w", err)
	}
	b.log.Info("planned build", "build", n, "inputs", len(inputs))
	return nil
}

// cleanup removes what the last committed build left behind: its scratch
// folder and the band index files the state no longer lists. It runs only
// when no build is in progress.
func (b *builder) cleanup() error {
	if b.state.Build > 0 {
		if err := os.RemoveAll(b.l.build(b.state.Build)); err != nil {
			return err
		}
	}
	live := map[string]bool{}
	for dump, d := range b.state.Dumps {
		for bk, levels := range d.Levels {
			dir := b.l.indexDir(dump, bk)
			for _, lv := range levels {
				live[filepath.Join(dir, lv.Name+levelExt)] = true
				live[filepath.Join(dir, lv.Name+fenceExt)] = true
			}
		}
	}
	root := filepath.Join(b.l.work, "index")
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil || d.IsDir() {
			return err
		}
		if !live[p] && (strings.HasSuffix(p, levelExt) || strings.HasSuffix(p, fenceExt) || strings.Contains(d.Name(), ".tmp-")) {
			return os.Remove(p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("dataset build: clean the band index: %w", err)
	}
	return nil
}
