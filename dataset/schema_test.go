package dataset

import (
	"reflect"
	"testing"

	"github.com/datarefine/refine/pipeline"
)

// TestDocConversions: a pipeline document becomes a row with every FineWeb
// column, and a row read back for processing keeps its source columns but
// none of the pipeline's measurements (language, score, tokens), which are
// measured again.
func TestDocConversions(t *testing.T) {
	d := &pipeline.Document{Text: "t", ID: "<urn:1>", URL: "https://x/", Date: "2024-01-01T00:00:00Z", Dump: "CC-MAIN-2024-10",
		FilePath: "a.warc.gz", Language: "en", LanguageScore: 0.93, TokenCount: 7, Offset: 1234, Index: 5, MinHash: []uint64{1}}
	row := DocOf(d)
	want := Doc{Text: "t", ID: "<urn:1>", Dump: "CC-MAIN-2024-10", URL: "https://x/", Date: "2024-01-01T00:00:00Z",
		FilePath: "a.warc.gz", Language: "en", LanguageScore: 0.93, TokenCount: 7}
	if row != want {
		t.Fatalf("DocOf = %+v, want %+v", row, want)
	}
	// Every column of Doc is set from the document: a new column must be
	// added to DocOf too.
	v := reflect.ValueOf(row)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Errorf("DocOf leaves column %s unset", v.Type().Field(i).Name)
		}
	}
	back := row.Document()
	wantBack := &pipeline.Document{Text: "t", ID: "<urn:1>", URL: "https://x/", Date: "2024-01-01T00:00:00Z", Dump: "CC-MAIN-2024-10",
		FilePath: "a.warc.gz", Offset: -1}
	if !reflect.DeepEqual(back, wantBack) {
		t.Fatalf("Document = %+v, want %+v", back, wantBack)
	}
}
