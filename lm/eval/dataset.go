package eval

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// ReadDataset returns the `text` field of every record of a dataset: a
// folder (a store revision or any tree of data files; files are read in
// sorted path order), or one file. Parquet and JSONL (optionally .gz) files
// are read; other files in a folder are ignored.
func ReadDataset(ctx context.Context, path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("eval: dataset: %w", err)
	}
	var files []string
	if st.IsDir() {
		err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && dataFile(p) {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("eval: dataset %s: %w", path, err)
		}
		sort.Strings(files)
		if len(files) == 0 {
			return nil, fmt.Errorf("eval: dataset %s: no .parquet or .jsonl(.gz) files", path)
		}
	} else {
		files = []string{path}
	}
	var texts []string
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t, err := readDataFile(ctx, f)
		if err != nil {
			return nil, err
		}
		texts = append(texts, t...)
	}
	return texts, nil
}

func dataFile(p string) bool {
	for _, suf := range []string{".parquet", ".jsonl", ".jsonl.gz", ".json.gz", ".ndjson"} {
		if strings.HasSuffix(p, suf) {
			return true
		}
	}
	return false
}

func readDataFile(ctx context.Context, path string) ([]string, error) {
	if strings.HasSuffix(path, ".parquet") {
		return readParquet(path)
	}
	rc, err := DefaultOpener{}.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readJSONL(rc, path)
}

func readJSONL(r io.Reader, name string) ([]string, error) {
	var texts []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		var row struct {
			Text *string `json:"text"`
		}
		if err := json.Unmarshal(b, &row); err != nil {
			return nil, fmt.Errorf("eval: %s line %d: %w", name, line, err)
		}
		if row.Text == nil {
			return nil, fmt.Errorf("eval: %s line %d: no text field", name, line)
		}
		texts = append(texts, *row.Text)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("eval: read %s: %w", name, err)
	}
	return texts, nil
}

type textRow struct {
	Text string `parquet:"text"`
}

func readParquet(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("eval: open parquet: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("eval: stat parquet: %w", err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("eval: parquet %s: %w", path, err)
	}
	if _, ok := pf.Schema().Lookup("text"); !ok {
		return nil, fmt.Errorf("eval: parquet %s: no text column", path)
	}
	r := parquet.NewGenericReader[textRow](pf)
	defer r.Close()
	var texts []string
	buf := make([]textRow, 256)
	for {
		n, err := r.Read(buf)
		for _, row := range buf[:n] {
			texts = append(texts, row.Text)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("eval: read parquet %s: %w", path, err)
		}
	}
	return texts, nil
}
