package verify

import (
	"context"
)

// CheckProvenance re-derives the drawn documents of a submission (its
// Draws: rows drawn in proportion to their size): each is read back from its
// cited WARC record (its entry of the record index, fetched alone), run
// through the reference pipeline, and must be kept with the same id, URL,
// token count and text (modulo PII replacements). Checked and Matched count
// draws, so the match rate estimates the share of the submission's text
// that is derived from its records. It returns a validator error (not a
// Failure) when a record cannot be read on the validator's side or the
// context ends; a record whose bytes are not one record is the miner's
// (CodeIndex).
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
		r, err := sub.reruns.get(ctx, sub.refs[i].Entry)
		if err != nil {
			return p, err
		}
		if r.kept {
			p.ReferenceTexts = append(p.ReferenceTexts, r.folded)
		}
		switch {
		case r.id != row.ID || r.url != row.URL:
			p.Mismatches = note(p.Mismatches, "%s: record at %s@%d is %s (%s)", row.ID, warc, offset, r.id, r.url)
		case !r.kept:
			p.Mismatches = note(p.Mismatches, "%s: reference drops it (%s)", row.ID, r.outcome())
		case r.folded != minerText:
			p.Mismatches = note(p.Mismatches, "%s: text differs from the reference", row.ID)
		case r.tokens != row.TokenCount:
			p.Mismatches = note(p.Mismatches, "%s: %d tokens, reference %d", row.ID, row.TokenCount, r.tokens)
		default:
			p.Matched += n
		}
	}
	return p, nil
}
