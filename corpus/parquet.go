package corpus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/parquet-go/parquet-go"

	"github.com/datarefine/refine/dataset"
)

// readIDs calls fn with every row's id of a FineWeb-schema parquet file,
// in row order, decoding the id column only.
func readIDs(ctx context.Context, path string, fn func(row int64, id string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := dataset.CheckSchema(pf.Schema()); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	leaf, ok := pf.Schema().Lookup("id")
	if !ok {
		return fmt.Errorf("%s: no id column", path)
	}
	var row int64
	vals := make([]parquet.Value, 1024)
	for _, rg := range pf.RowGroups() {
		if err := ctx.Err(); err != nil {
			return err
		}
		pages := rg.ColumnChunks()[leaf.ColumnIndex].Pages()
		err := func() error {
			defer pages.Close()
			for {
				p, err := pages.ReadPage()
				if errors.Is(err, io.EOF) {
					return nil
				}
				if err != nil {
					return err
				}
				r := p.Values()
				for {
					n, err := r.ReadValues(vals)
					for _, v := range vals[:n] {
						id := ""
						if !v.IsNull() {
							id = string(v.ByteArray())
						}
						if ferr := fn(row, id); ferr != nil {
							parquet.Release(p)
							return ferr
						}
						row++
					}
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						parquet.Release(p)
						return err
					}
				}
				parquet.Release(p)
			}
		}()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	if row != pf.NumRows() {
		return fmt.Errorf("%s: %d ids for %d rows", path, row, pf.NumRows())
	}
	return nil
}
