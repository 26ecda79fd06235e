package dataset

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/parquet-go/parquet-go"
)

// Verify checks that every file the manifest names exists in dir with the
// size and sha256 the manifest gives.
func Verify(dir string, m *Manifest) error {
	for _, f := range m.Files() {
		if err := verifyFile(dir, f); err != nil {
			return err
		}
	}
	return nil
}

func verifyFile(dir string, f File) error {
	fh, err := os.Open(filepath.Join(dir, filepath.FromSlash(f.Path)))
	if err != nil {
		return fmt.Errorf("dataset file %s: %w", f.Path, err)
	}
	defer fh.Close()
	h := sha256.New()
	n, err := io.Copy(h, fh)
	if err != nil {
		return fmt.Errorf("dataset file %s: %w", f.Path, err)
	}
	if n != f.Bytes {
		return fmt.Errorf("dataset file %s: %d bytes, manifest says %d", f.Path, n, f.Bytes)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
		return fmt.Errorf("dataset file %s: sha256 %s, manifest says %s", f.Path, got, f.SHA256)
	}
	return nil
}

// ErrSchema reports a parquet file whose columns are not FineWeb's.
var ErrSchema = errors.New("parquet schema is not FineWeb's")

// ReadShard calls fn for every row of one parquet file, in order.
func ReadShard(path string, fn func(Doc) error) error {
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
	if err := CheckSchema(pf.Schema()); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	r := parquet.NewGenericReader[Row](f)
	defer r.Close()
	buf := make([]Row, 256)
	for {
		n, err := r.Read(buf)
		for i := 0; i < n; i++ {
			if ferr := fn(buf[i].Doc()); ferr != nil {
				return ferr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
}

// CheckSchema verifies that a parquet schema has at least FineWeb's text and
// id columns and that every FineWeb column present has FineWeb's type.
func CheckSchema(s *parquet.Schema) error {
	byName := map[string]parquet.Field{}
	for _, f := range s.Fields() {
		byName[f.Name()] = f
	}
	for _, c := range Columns {
		f, ok := byName[c.Name]
		if !ok {
			if c.Name == "text" || c.Name == "id" {
				return fmt.Errorf("%w: no %q column", ErrSchema, c.Name)
			}
			continue
		}
		if !f.Leaf() {
			return fmt.Errorf("%w: column %q is not a leaf", ErrSchema, c.Name)
		}
		kind := f.Type().Kind()
		ok = false
		switch c.Type {
		case "string":
			ok = kind == parquet.ByteArray
		case "double":
			ok = kind == parquet.Double
		case "int64":
			ok = kind == parquet.Int64
		}
		if !ok {
			return fmt.Errorf("%w: column %q has type %s, want %s", ErrSchema, c.Name, kind, c.Type)
		}
	}
	return nil
}

// ReadAll reads every shard of a dataset folder, in manifest order.
func ReadAll(dir string, m *Manifest, fn func(shard int, row int64, d Doc) error) error {
	for i, s := range m.Shards {
		var row int64
		err := ReadShard(filepath.Join(dir, filepath.FromSlash(s.Path)), func(d Doc) error {
			err := fn(i, row, d)
			row++
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}
