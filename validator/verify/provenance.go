package verify

import (
	"context"
)

// CheckProvenance re-derives the drawn documents of a submission (its
// Draws: rows drawn in proportion to their size): each is read back from its
// cited WARC record, run through the reference pipeline, and must be kept
// with the same id, URL, token count and text (modulo PII replacements).
// Checked and Matched count draws, so the match rate estimates the share of
// the submission's text that is derived from its records. It returns a
// validator error (not a Failure) only when the context ends.
//
// It also collects the two sides of the relative quality score: the text of
// every drawn document as submitted, and the reference pipeline's output
// for the same cited records where the reference keeps them, both with PII
// replacements folded (FoldPII), so that an honest miner's side equals the
// reference side exactly.
func CheckProvenance(ctx context.Context, ref *Reference, sub *Submission) (Provenance, error) {
	var p Provenance
	for j := 0; j < len(sub.Draws); {
		i := sub.Draws[j]
		n := 1
		for j+n < len(sub.Draws) && sub.Draws[j+n] == i {
			n++
		}
		j += n
		if err := ctx.Err(); err != nil {
			return p, err
		}
		row, ok := sub.Sampled[i]
		if !ok {
			continue
		}
		warc, offset := sub.task.WARCs[sub.refs[i].WARC], sub.refs[i].Offset
		p.Checked += n
		minerText := FoldPII(row.Text)
		p.MinerTexts = append(p.MinerTexts, minerText)
		doc, err := ref.Record(ctx, warc, offset)
		if err != nil {
			if ctx.Err() != nil {
				return p, ctx.Err()
			}
			p.Mismatches = note(p.Mismatches, "%s: cited record unreadable: %v", row.ID, err)
			continue
		}
		kept, step, reason := ref.Run(doc)
		var refText string
		if kept {
			refText = ref.Folded(doc.Text)
			p.ReferenceTexts = append(p.ReferenceTexts, refText)
		}
		if doc.ID != row.ID || doc.URL != row.URL {
			p.Mismatches = note(p.Mismatches, "%s: record at %s@%d is %s (%s)", row.ID, warc, offset, doc.ID, doc.URL)
			continue
		}
		switch {
		case !kept:
			p.Mismatches = note(p.Mismatches, "%s: reference drops it (%s/%s)", row.ID, step, reason)
		case refText != minerText:
			p.Mismatches = note(p.Mismatches, "%s: text differs from the reference", row.ID)
		case doc.TokenCount != row.TokenCount:
			p.Mismatches = note(p.Mismatches, "%s: %d tokens, reference %d", row.ID, row.TokenCount, doc.TokenCount)
		default:
			p.Matched += n
		}
	}
	return p, nil
}
