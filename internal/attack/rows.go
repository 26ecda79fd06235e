package attack

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
