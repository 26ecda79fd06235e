// Package dataset is the on-disk form of a refined dataset: parquet shards in
// FineWeb's column schema, a manifest that describes and seals them, and a
// side file that ties every kept document to its WARC record.
//
// Layout of a dataset folder (see docs/formats/dataset.md):
//
//	manifest.json                    the manifest (this package's Manifest)
//	data/<dump>/<NNNNN>.parquet      shards, FineWeb columns, zstd
//	records.jsonl                    one line per kept document: id, shard, row, WARC file, offset
//	signatures.bin                   MinHash signatures of the kept documents (pipeline/dedup)
package dataset

import "github.com/datarefine/refine/pipeline"

// Row is one document in FineWeb's schema. Columns are optional (nullable)
// as in FineWeb's own parquet files written by pyarrow; we never write nulls.
type Row struct {
	Text          *string  `parquet:"text,optional"`
	ID            *string  `parquet:"id,optional"`
	Dump          *string  `parquet:"dump,optional"`
	URL           *string  `parquet:"url,optional"`
	Date          *string  `parquet:"date,optional"`
	FilePath      *string  `parquet:"file_path,optional"`
	Language      *string  `parquet:"language,optional"`
	LanguageScore *float64 `parquet:"language_score,optional"`
	TokenCount    *int64   `parquet:"token_count,optional"`
}

// Doc is the plain-value form of a Row.
type Doc struct {
	Text          string  `json:"text"`
	ID            string  `json:"id"`
	Dump          string  `json:"dump"`
	URL           string  `json:"url"`
	Date          string  `json:"date"`
	FilePath      string  `json:"file_path"`
	Language      string  `json:"language"`
	LanguageScore float64 `json:"language_score"`
	TokenCount    int64   `json:"token_count"`
}

// Row converts a Doc to its parquet row.
func (d *Doc) Row() Row {
	return Row{&d.Text, &d.ID, &d.Dump, &d.URL, &d.Date, &d.FilePath, &d.Language, &d.LanguageScore, &d.TokenCount}
}

// Doc converts a parquet row back; nulls become zero values.
func (r *Row) Doc() Doc {
	var d Doc
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	d.Text, d.ID, d.Dump, d.URL = str(r.Text), str(r.ID), str(r.Dump), str(r.URL)
	d.Date, d.FilePath, d.Language = str(r.Date), str(r.FilePath), str(r.Language)
	if r.LanguageScore != nil {
		d.LanguageScore = *r.LanguageScore
	}
	if r.TokenCount != nil {
		d.TokenCount = *r.TokenCount
	}
	return d
}

// DocOf returns a pipeline document's FineWeb columns: the one place a
// pipeline.Document becomes a row. The text is taken as it is (PII
// formatting happens before the writer, in output order).
func DocOf(d *pipeline.Document) Doc {
	return Doc{Text: d.Text, ID: d.ID, Dump: d.Dump, URL: d.URL, Date: d.Date, FilePath: d.FilePath,
		Language: d.Language, LanguageScore: d.LanguageScore, TokenCount: d.TokenCount}
}

// Document returns the pipeline document a row is read back as, to be
// processed again: its source columns (text, id, dump, url, date,
// file_path), with Offset -1 (it was not read from a WARC). Language,
// language_score and token_count are the pipeline's own measurements: they
// are measured again, never taken from a row.
func (d *Doc) Document() *pipeline.Document {
	return &pipeline.Document{Text: d.Text, ID: d.ID, Dump: d.Dump, URL: d.URL, Date: d.Date, FilePath: d.FilePath, Offset: -1}
}

// Columns are FineWeb's column names in order, with their parquet types.
var Columns = []struct{ Name, Type string }{
	{"text", "string"}, {"id", "string"}, {"dump", "string"}, {"url", "string"},
	{"date", "string"}, {"file_path", "string"}, {"language", "string"},
	{"language_score", "double"}, {"token_count", "int64"},
}
