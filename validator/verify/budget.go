package verify

import (
	"context"
	"fmt"

	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/store"
	"github.com/datarefine/refine/taskapi"
)

// BudgetParams turn a task's size into the work its submission may cost
// (docs/mechanism.md, "Work budget"). The defaults never bind an honest
// submission: Common Crawl's kept text is about 3 % of its compressed WARC
// bytes (29 % on the test WARCs, whose pages are all text), and gzip
// compresses prose about 3×, so a task's text cannot exceed 4× its bytes.
type BudgetParams struct {
	// TextPerByte bounds the decoded text per compressed WARC byte of the
	// task (default 4).
	TextPerByte float64
	// MinTextBytes is the text budget of the smallest tasks (default 1 MiB).
	MinTextBytes int64
	// RecordBytes is the smallest compressed size of a WARC record a kept
	// document comes from, which bounds the rows of a task whose record
	// count is unknown (default 512: a response's WARC and HTTP headers
	// alone compress to more).
	RecordBytes int64
	// RowBytes bounds a row's other columns and its share of the side
	// files (records.jsonl, signatures), in pages and in downloaded bytes
	// (default 2 KiB).
	RowBytes int64
}

func (p BudgetParams) withDefaults() BudgetParams {
	if p.TextPerByte <= 0 {
		p.TextPerByte = 4
	}
	if p.MinTextBytes <= 0 {
		p.MinTextBytes = 1 << 20
	}
	if p.RecordBytes <= 0 {
		p.RecordBytes = 512
	}
	if p.RowBytes <= 0 {
		p.RowBytes = 2 << 10
	}
	return p
}

// Budget is what one submission may cost the validator: rows, decoded text
// bytes, uncompressed page bytes and downloaded bytes. Every bound is
// enforced while reading (dataset.Reader, submission.Fetch), never taken
// from the submission's metadata.
type Budget struct {
	// SpanBytes is the compressed size of the task's records: a range's
	// planned byte bounds, or the WARC's size as the validator measures it.
	SpanBytes int64 `json:"span_bytes"`
	Rows      int64 `json:"rows"`
	TextBytes int64 `json:"text_bytes"`
	PageBytes int64 `json:"page_bytes"`
	// IndexEntries and IndexBytes bound the record index: one entry per
	// record (a range's count, else one per MinEntryBytes of the task), in
	// 64 KiB plus a sixteenth of the task's bytes (an honest index is
	// about 70 bytes per record: 0.7 % of a Common Crawl WARC, whose records
	// average about 10 KB).
	IndexEntries int64 `json:"index_entries"`
	IndexBytes   int64 `json:"index_bytes"`
	Download     int64 `json:"download_bytes"`
}

// TaskBudget is the budget of a submission for task, whose records span
// spanBytes compressed bytes.
func TaskBudget(task taskapi.Task, spanBytes int64, p BudgetParams) Budget {
	p = p.withDefaults()
	b := Budget{SpanBytes: spanBytes}
	b.Rows = max(1, spanBytes/p.RecordBytes)
	if task.RecordEnd > 0 && len(task.WARCs) == 1 {
		b.Rows = min(b.Rows, max(0, task.RecordEnd-task.RecordStart))
	}
	b.TextBytes = max(p.MinTextBytes, int64(p.TextPerByte*float64(spanBytes)))
	b.PageBytes = b.TextBytes + b.Rows*p.RowBytes
	b.IndexEntries = spanBytes/MinEntryBytes + 1
	if task.RecordEnd > 0 && len(task.WARCs) == 1 {
		b.IndexEntries = min(b.IndexEntries, max(0, task.RecordEnd-task.RecordStart))
	}
	b.IndexBytes = 64<<10 + spanBytes/16
	b.Download = b.PageBytes + b.Rows*p.RowBytes + b.IndexBytes + store.Limits{}.WithDefaults().MaxManifestBytes
	return b
}

// ReadLimits are the budget as the shard reader's limits.
func (b Budget) ReadLimits() dataset.ReadLimits {
	return dataset.ReadLimits{MaxRows: b.Rows, MaxTextBytes: b.TextBytes, MaxPagesBytes: b.PageBytes}
}

// FetchLimits are the budget within the operator's download limits.
func (b Budget) FetchLimits(l store.Limits) store.Limits {
	l = l.WithDefaults()
	l.MaxTotalBytes = min(l.MaxTotalBytes, b.Download)
	l.MaxFileBytes = min(l.MaxFileBytes, b.Download)
	return l
}

// WARCSizes measures the size of each of the task's WARCs (a file's size
// or an HTTP HEAD's Content-Length), -1 for a range whose planned byte
// bounds end before the file's end (it needs none). A failure is the
// validator's side.
func (r *Reference) WARCSizes(ctx context.Context, task taskapi.Task) ([]int64, error) {
	sizes := make([]int64, len(task.WARCs))
	for i, name := range task.WARCs {
		if len(task.WARCs) == 1 && task.ByteEnd > 0 {
			if task.ByteEnd < task.ByteStart {
				return nil, fmt.Errorf("task %d: byte range [%d, %d)", task.ID, task.ByteStart, task.ByteEnd)
			}
			sizes[i] = -1
			continue
		}
		n, err := r.Size(ctx, name)
		if err != nil {
			return nil, err
		}
		sizes[i] = n
	}
	return sizes, nil
}

// SpanBytes is the compressed bytes of a task's records: the sum over its
// WARCs of the bytes it covers (a range's planned bounds, else the file).
func SpanBytes(spans []Span) int64 {
	var total int64
	for _, s := range spans {
		end := s.End
		if end < 0 {
			end = s.Size
		}
		total += max(0, end-max(0, s.Start))
	}
	return total
}
