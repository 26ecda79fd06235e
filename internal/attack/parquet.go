// Package attack builds hostile inputs for the tests and benchmarks that
// show the validator withstands them: parquet shards that decompress or
// decode to far more than their size. Nothing outside tests and bench/ uses
// it.
package attack

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// dictRow has FineWeb's columns, with text dictionary-encoded: every row
// refers to one dictionary value, so the file stays small however many rows
// repeat it.
type dictRow struct {
	Text          *string  `parquet:"text,optional,dict"`
	ID            *string  `parquet:"id,optional"`
	Dump          *string  `parquet:"dump,optional"`
	URL           *string  `parquet:"url,optional"`
	Date          *string  `parquet:"date,optional"`
	FilePath      *string  `parquet:"file_path,optional"`
	Language      *string  `parquet:"language,optional"`
	LanguageScore *float64 `parquet:"language_score,optional"`
	TokenCount    *int64   `parquet:"token_count,optional"`
}

// DictionaryBomb writes a FineWeb-schema shard of rows rows whose text is
// value, dictionary-encoded (the file holds value once): it decodes to
// rows × len(value) bytes. ids are id0, id1, …
func DictionaryBomb(path string, rows int, value string, id string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := parquet.NewGenericWriter[dictRow](f, append([]parquet.WriterOption{parquet.Compression(&parquet.Zstd)}, noTextStats...)...)
	dump, lang, score, url := "CC-MAIN-2024-10", "en", 0.99, "https://example.com/"
	batch := make([]dictRow, 0, 1024)
	for i := range rows {
		rid := fmt.Sprintf("%s%d", id, i)
		tok := int64(len(value))
		batch = append(batch, dictRow{Text: &value, ID: &rid, Dump: &dump, URL: &url, Date: &dump, FilePath: &url,
			Language: &lang, LanguageScore: &score, TokenCount: &tok})
		if len(batch) == cap(batch) || i == rows-1 {
			if _, err := w.Write(batch); err != nil {
				f.Close()
				return err
			}
			batch = batch[:0]
		}
	}
	if err := w.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ZstdBomb writes a FineWeb-schema shard of rows rows, each a text of
// rowBytes bytes of one repeated letter, zstd-compressed: a few hundred
// bytes per row on disk, rows × rowBytes decompressed. Each page holds one
// row, so every page declares its true size.
func ZstdBomb(path string, rows, rowBytes int, id string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := parquet.NewGenericWriter[plainRow](f, append([]parquet.WriterOption{parquet.Compression(&parquet.Zstd), parquet.PageBufferSize(1)}, noTextStats...)...)
	text := strings.Repeat("a", rowBytes)
	dump, lang, score, url := "CC-MAIN-2024-10", "en", 0.99, "https://example.com/"
	for i := range rows {
		rid := fmt.Sprintf("%s%d", id, i)
		tok := int64(rowBytes)
		// A distinct text per row keeps the dictionary from collapsing it.
		t := text[:rowBytes-len(rid)] + rid
		if _, err := w.Write([]plainRow{{Text: &t, ID: &rid, Dump: &dump, URL: &url, Date: &dump, FilePath: &url,
			Language: &lang, LanguageScore: &score, TokenCount: &tok}}); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// LieAboutPageSize rewrites, in place, every page header of a shard that
// declares `from` uncompressed bytes to declare `to` instead (both must
// have zigzag varints of the same length): the pages then decompress to
// more than their headers say.
func LieAboutPageSize(path string, from, to int32) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	enc := func(v int32) []byte {
		return binary.AppendUvarint([]byte{0x15}, uint64(uint32(v<<1)^uint32(v>>31)))
	}
	old, nu := enc(from), enc(to)
	if len(old) != len(nu) {
		return 0, fmt.Errorf("varints of %d and %d differ in length", from, to)
	}
	n := bytes.Count(b, old)
	b = bytes.ReplaceAll(b, old, nu)
	return n, os.WriteFile(path, b, 0o644)
}

// ThriftListBomb returns a parquet footer (FileMetaData) whose row-group
// list declares n elements in a few bytes.
func ThriftListBomb(n uint32) []byte {
	b := []byte{0x15, 0x02} // field 1 (version, i32) = 1
	// field 2 (schema): an empty list of structs
	b = append(b, 0x19, 0x0c)
	// field 3 (num_rows, i64) = 0
	b = append(b, 0x16, 0x00)
	// field 4 (row_groups, list<struct>) of n elements, none present
	b = append(b, 0x19, 0xfc)
	b = binary.AppendUvarint(b, uint64(n))
	return append(b, 0x00)
}

// WithFooter replaces a parquet file's footer with footer.
func WithFooter(path string, footer []byte) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	n := binary.LittleEndian.Uint32(b[len(b)-8:])
	body := b[:len(b)-8-int(n)]
	out := append(append([]byte{}, body...), footer...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(footer)))
	return os.WriteFile(path, append(out, "PAR1"...), 0o644)
}
