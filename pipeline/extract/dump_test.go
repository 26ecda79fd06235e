package extract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/datarefine/refine/internal/testdata"
	"github.com/datarefine/refine/pipeline/warc"
	"github.com/markusmobius/go-trafilatura"
	"golang.org/x/net/html"
)

func TestDumpNodes(t *testing.T) {
	if os.Getenv("DUMP") == "" {
		t.Skip()
	}
	r, _ := warc.Open(context.Background(), testdata.Path(t, "golden", "trafilatura_eval.warc.gz"), warc.Options{})
	out := map[int64]string{}
	for {
		rec, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if rec.Skip != "" {
			continue
		}
		doc, _ := html.Parse(strings.NewReader(rec.HTML))
		res, err := trafilatura.ExtractDocument(doc, trafilaturaOptions(rec.URL, true))
		if err != nil || res == nil {
			continue
		}
		var b bytes.Buffer
		html.Render(&b, res.ContentNode)
		out[rec.Index] = b.String()
	}
	data, _ := json.Marshal(out)
	os.WriteFile("/tmp/nodes.json", data, 0o644)
}
