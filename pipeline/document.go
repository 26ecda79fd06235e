// Package pipeline is a Go implementation of the FineWeb refining pipeline
// (datatrove's examples/fineweb.py): WARC reading, URL filtering, extraction,
// language identification, quality filters, deduplication, PII formatting and
// token counting.
//
// Steps are small and know nothing of parallelism or statistics: a Filter
// answers keep or drop-with-reason, a Formatter rewrites text. The Runner fans
// documents out to workers and emits them in input order, so that a run is
// deterministic and independent of the worker count.
package pipeline

// Document is one web page moving through the pipeline. Field names follow
// FineWeb's output columns.
type Document struct {
	Text          string
	ID            string // WARC-Record-ID
	URL           string // WARC-Target-URI
	Date          string // WARC-Date
	Dump          string // crawl id, e.g. CC-MAIN-2024-10
	FilePath      string // the WARC file the record came from
	Language      string
	LanguageScore float64
	TokenCount    int64

	// Offset is the byte offset of the record in its WARC file (the start of
	// its gzip member for .warc.gz), so that a validator can fetch and re-run
	// exactly this record. -1 when the document did not come from a WARC.
	Offset int64
	// HTML is the decoded payload of a WARC response record; extraction turns
	// it into Text and clears it. Empty for documents read as text.
	HTML string
	// Skip is set by a Source for a record it could not use (the reader's
	// reason, e.g. "mime_image/png"); such a document passes no step.
	Skip string

	// Index is the position of the record in its input (0-based, counting
	// every record the reader saw).
	Index int64

	// MinHash is the document's MinHash signature (nil when it has too few
	// words), computed in the parallel stage for the deduplication stage.
	MinHash []uint64

	words     []string
	wordsText string
	wordsOK   bool
}

// WordsFunc splits text into words; the pipeline uses words.Words, the
// spaCy-compatible English tokenizer.
type WordsFunc func(text string) []string

// Words returns the document's words, computed with split and cached until
// the text changes. Several filters need the same tokenization of the same
// text; caching it here keeps the tokenizer off the hot path.
func (d *Document) Words(split WordsFunc) []string {
	if d.wordsOK && d.wordsText == d.Text {
		return d.words
	}
	d.words = split(d.Text)
	d.wordsText = d.Text
	d.wordsOK = true
	return d.words
}

// Filter decides whether a document continues. A filter may rewrite the
// document's text (C4's line filter does) before answering. reason names the
// rule that dropped the document, in datatrove's vocabulary
// (e.g. "gopher_short_doc"); it is empty when keep is true.
type Filter interface {
	Name() string
	Filter(doc *Document) (keep bool, reason string)
}

// Formatter rewrites a document and never drops it.
type Formatter interface {
	Name() string
	Format(doc *Document)
}
