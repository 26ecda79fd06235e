package corpus

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"

	"github.com/datarefine/refine/pipeline/dedup"
)

// The work folder, shared by every rank of every stage:
//
//	state.json                    what the published builds hold (committed last)
//	state/<dump>.docs.jsonl       every input shard's first document number (append-only)
//	index/<dump>/bNN/<level>.idx  the band index: every document's bands, sorted
//	builds/NNNNNN/                one build's plan, stage outputs and markers
//	dataset/                      the dataset repository's working copy
type layout struct{ work string }

func (l layout) state() string           { return filepath.Join(l.work, "state.json") }
func (l layout) docs(dump string) string { return filepath.Join(l.work, "state", dump+".docs.jsonl") }
func (l layout) out() string             { return filepath.Join(l.work, "dataset") }
func (l layout) build(n int) string      { return filepath.Join(l.work, "builds", fmt.Sprintf("%06d", n)) }
func (l layout) plan(n int) string       { return filepath.Join(l.build(n), "plan.json") }
func (l layout) indexDir(dump string, b int) string {
	return filepath.Join(l.work, "index", dump, fmt.Sprintf("b%02d", b))
}
func (l layout) fetchDone(n, i int) string {
	return filepath.Join(l.build(n), "fetch", fmt.Sprintf("%06d.json", i))
}
func (l layout) fetchDir(n, i int) string {
	return filepath.Join(l.build(n), "inputs", fmt.Sprintf("%06d", i))
}
func (l layout) sigDir(n, i int) string {
	return filepath.Join(l.build(n), "sig", fmt.Sprintf("%06d", i))
}
func (l layout) bucketDone(n int, dump string, b int) string {
	return filepath.Join(l.build(n), "bucket", dump, fmt.Sprintf("b%02d.json", b))
}
func (l layout) pairs(n int, dump string, b int) string {
	return filepath.Join(l.build(n), "bucket", dump, fmt.Sprintf("b%02d.pairs", b))
}
func (l layout) clusterDone(n int, dump string) string {
	return filepath.Join(l.build(n), "cluster", dump+".json")
}
func (l layout) clusterFile(n int, dump, ext string) string {
	return filepath.Join(l.build(n), "cluster", dump+ext)
}
func (l layout) writeDone(n int, shard string) string {
	return filepath.Join(l.build(n), "write", filepath.FromSlash(shard)+".json")
}
func (l layout) publishDone(n int) string { return filepath.Join(l.build(n), "published.json") }

// State is what the committed builds hold; state.json is rewritten
// (atomically) only by the publish stage, after the dataset is published.
type State struct {
	Format string `json:"format"`
	// Build is the last committed build (0: none yet).
	Build int `json:"build"`
	// Included maps every input key to the build that added it.
	Included map[string]int `json:"included"`
	// Dumps holds each dump's numbering, shards and band index.
	Dumps map[string]*DumpState `json:"dumps"`
	// Contributors are the miners whose documents the dataset holds.
	Contributors map[string]*Contribution `json:"contributors"`
	// History lists the committed builds, oldest first.
	History []BuildRecord `json:"history"`
}

// StateFormat names this version of state.json.
const StateFormat = "refine-corpus-state/1"

// DumpState is one dump's share of the state.
type DumpState struct {
	// Documents is how many documents of the dump were numbered (kept or
	// removed); the next build numbers its documents from here.
	Documents int64 `json:"documents"`
	// Shards is how many output shards the dump has.
	Shards int `json:"shards"`
	// Kept and Tokens count the published documents; Removed those that
	// deduplication dropped.
	Kept    int64 `json:"kept"`
	Tokens  int64 `json:"tokens"`
	Removed int64 `json:"removed"`
	// Levels is the band index: per bucket, its sorted files, oldest
	// first.
	Levels [][]Level `json:"levels"`
	// DocsBytes is the committed length of state/<dump>.docs.jsonl, so
	// that a rerun after a crash cuts off what an unfinished publish
	// appended.
	DocsBytes int64 `json:"docs_bytes"`
}

// Level is one sorted file of a bucket's band index.
type Level struct {
	Name    string `json:"name"`
	Records int64  `json:"records"`
}

// Contribution is one miner's share of the dataset.
type Contribution struct {
	Submissions int   `json:"submissions"`
	Documents   int64 `json:"documents"`
	Tokens      int64 `json:"tokens"`
}

// BuildRecord is one committed build.
type BuildRecord struct {
	Build       int    `json:"build"`
	Tag         string `json:"tag"`
	Revision    string `json:"revision,omitempty"`
	Submissions int    `json:"submissions"`
	Excluded    int    `json:"excluded"`
	Documents   int64  `json:"documents"`
	Tokens      int64  `json:"tokens"`
	Removed     int64  `json:"removed"`
	// LastBlock is the latest commitment block among its inputs.
	LastBlock uint64 `json:"last_block,omitempty"`
	// Exclusions are the inputs left out, and why.
	Exclusions []Exclusion `json:"exclusions,omitempty"`
}

// Exclusion is an input a build left out: its content was unusable.
type Exclusion struct {
	Key    string `json:"key"`
	Reason string `json:"reason"`
}

func loadState(l layout) (*State, error) {
	var st State
	ok, err := readJSON(l.state(), &st)
	if err != nil {
		return nil, fmt.Errorf("dataset build: state: %w", err)
	}
	if !ok {
		st = State{Format: StateFormat}
	}
	if st.Format != StateFormat {
		return nil, fmt.Errorf("dataset build: %s has format %q, this build reads %q", l.state(), st.Format, StateFormat)
	}
	if st.Included == nil {
		st.Included = map[string]int{}
	}
	if st.Dumps == nil {
		st.Dumps = map[string]*DumpState{}
	}
	if st.Contributors == nil {
		st.Contributors = map[string]*Contribution{}
	}
	return &st, nil
}

// dumpState returns the dump's state, empty for a new dump.
func (s *State) dumpState(dump string, cfg dedup.Config) *DumpState {
	if d, ok := s.Dumps[dump]; ok {
		return d
	}
	return &DumpState{Levels: make([][]Level, cfg.NumBuckets)}
}

// Plan is one build: its inputs in commitment order and the parameters
// its outputs depend on. It is written once; a resumed build uses it, not
// the current flags or the network's current state.
type Plan struct {
	Format string       `json:"format"`
	Build  int          `json:"build"`
	Source SourceInfo   `json:"source"`
	Params Params       `json:"params"`
	Inputs []Submission `json:"inputs"`
}

// PlanFormat names this version of plan.json.
const PlanFormat = "refine-corpus-plan/1"

// Params are the settings a build's bytes depend on.
type Params struct {
	MinHash dedup.Config `json:"minhash"`
	// Scope of deduplication: "dump", as FineWeb (each crawl on its own).
	Scope        string `json:"scope"`
	ShardBytes   int64  `json:"shard_bytes"`
	RowGroupDocs int64  `json:"row_group_docs"`
	Name         string `json:"name"`
	License      string `json:"license"`
	Repo         string `json:"repo,omitempty"`
}

var dumpRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// sortedDumps returns the keys of m in order.
func sortedDumps[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// truncateTo cuts an append-only file back to its committed length
// (creating it when absent).
func truncateTo(path string, n int64) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Size() < n {
		return fmt.Errorf("%s: %d bytes, the state says %d were committed", path, st.Size(), n)
	}
	return f.Truncate(n)
}

// appendFile appends b to path after cutting it to its committed length
// and returns the new length.
func appendFile(path string, committed int64, b []byte) (int64, error) {
	if err := truncateTo(path, committed); err != nil {
		return 0, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return 0, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	return committed + int64(len(b)), nil
}
