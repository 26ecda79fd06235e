package attack

import "github.com/parquet-go/parquet-go"

// plainRow has FineWeb's columns without dictionary encoding.
type plainRow struct {
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

// noTextStats keeps the text's min and max values out of the page headers
// and the footer, where parquet-go writes them whole: a bomb stays small.
var noTextStats = []parquet.WriterOption{parquet.SkipPageBounds("text"), parquet.SkipPageStatistics("text")}
