package corpus

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/pipeline/dedup"
)

// ManifestDataset is a dataset folder written by `refine process`: its
// manifest.json lists the shards in order, each with its signature file.
type ManifestDataset struct {
	Root string
}

// Name is the folder's path.
func (d ManifestDataset) Name() string { return d.Root }

// Shards lists the manifest's shards. A shard the manifest gives no
// signature file is looked for at SignaturePath (and recomputed when absent).
func (d ManifestDataset) Shards(ctx context.Context) ([]Shard, error) {
	m, err := dataset.ReadManifest(d.Root)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", d.Root, err)
	}
	shards := make([]Shard, 0, len(m.Shards))
	for _, s := range m.Shards {
		sig := dedup.SignaturePath(s.Path)
		if s.Signatures != nil {
			sig = s.Signatures.Path
		}
		shards = append(shards, Shard{Name: s.Path, SigPath: filepath.Join(d.Root, filepath.FromSlash(sig))})
	}
	return shards, nil
}

// OpenDataset picks ManifestDataset for a folder with a manifest.json and
// DirDataset otherwise.
func OpenDataset(root string) (Dataset, error) {
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("dataset %s: not a folder", root)
	}
	if _, err := os.Stat(filepath.Join(root, dataset.ManifestName)); err == nil {
		return ManifestDataset{Root: root}, nil
	}
	return DirDataset{Root: root}, nil
}

// ParquetTexts re-reads shards with the dataset package's parquet reader;
// the dataset's Name must be its folder (as for ManifestDataset and
// DirDataset).
type ParquetTexts struct{}

// Texts calls fn for every row of the shard.
func (ParquetTexts) Texts(ctx context.Context, ds Dataset, sh Shard, fn func(row int64, id, text string) error) error {
	path := filepath.Join(ds.Name(), filepath.FromSlash(sh.Name))
	row := int64(0)
	return dataset.ReadShard(path, func(d dataset.Doc) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := fn(row, d.ID, d.Text)
		row++
		return err
	})
}

// IDs lists the shard's ids, reading only its id column.
func (ParquetTexts) IDs(ctx context.Context, ds Dataset, sh Shard, fn func(row int64, id string) error) error {
	return readIDs(ctx, filepath.Join(ds.Name(), filepath.FromSlash(sh.Name)), fn)
}
