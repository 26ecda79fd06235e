package corpus

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/datarefine/refine/pipeline/dedup"
)

// Dataset is one input of cross-dataset deduplication: an ordered list of
// shards, each with its signature file. The dataset package implements it
// for its manifests; DirDataset is the plain-folder fallback.
type Dataset interface {
	Name() string
	Shards(ctx context.Context) ([]Shard, error)
}

// Shard is one shard of a dataset.
type Shard struct {
	Name    string // path relative to the dataset root, e.g. data/CC-MAIN-2024-10/000_00000.parquet
	SigPath string // its signature file (may not exist yet)
}

// TextSource reads a shard's documents, row by row, so that their
// signatures can be computed. Every row of the shard must be passed, in
// order.
type TextSource interface {
	Texts(ctx context.Context, ds Dataset, sh Shard, fn func(row int64, id, text string) error) error
}

// IDLister is a TextSource that can also list a shard's ids alone
// (cheaper than the texts), to check a trusted signature file against its
// shard.
type IDLister interface {
	IDs(ctx context.Context, ds Dataset, sh Shard, fn func(row int64, id string) error) error
}

// sigExt ends a signature file's name (dedup.SignaturePath).
const sigExt = ".minhash.sig"

// DirDataset is a dataset folder laid out as FineWeb's: shards
// data/**/*.parquet, each with its signature file next to it. Signature
// files without a parquet shard (e.g. signature-only inputs) count as
// shards too. Shards are ordered by path.
type DirDataset struct {
	Root string
}

// Name is the folder's path.
func (d DirDataset) Name() string { return d.Root }

// Shards lists data/ recursively.
func (d DirDataset) Shards(ctx context.Context) ([]Shard, error) {
	dataDir := filepath.Join(d.Root, "data")
	if st, err := os.Stat(dataDir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("dataset %s: no data/ folder", d.Root)
	}
	names := map[string]bool{}
	err := filepath.WalkDir(dataDir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(d.Root, path)
		if err != nil {
			return err
		}
		switch {
		case strings.HasSuffix(rel, ".parquet"):
			names[rel] = true
		case strings.HasSuffix(rel, sigExt):
			names[strings.TrimSuffix(rel, sigExt)+".parquet"] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("dataset %s: list shards: %w", d.Root, err)
	}
	shards := make([]Shard, 0, len(names))
	for n := range names {
		shards = append(shards, Shard{Name: filepath.ToSlash(n), SigPath: dedup.SignaturePath(filepath.Join(d.Root, n))})
	}
	sort.Slice(shards, func(i, j int) bool { return shards[i].Name < shards[j].Name })
	return shards, nil
}
