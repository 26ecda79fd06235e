package verify

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"path/filepath"
	"unicode/utf8"

	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/pipeline/dedup"
	"github.com/datarefine/refine/pipeline/tokens"
	"github.com/datarefine/refine/taskapi"
)

// Doc is what the validator keeps of one submitted document.
type Doc struct {
	ID     string
	URL    string
	WARC   string
	Offset int64
	// Tokens is the GPT-2 token count the validator measured on the text;
	// Claimed the row's token_count.
	Tokens, Claimed int64
	// Bands are the document's MinHash band hashes (nil when the text is
	// too short for a signature), recomputed from the text.
	Bands []uint64
	// TextHash identifies the exact text (internal duplicates).
	TextHash uint64
	// FoldedHash is the sha256 of the text with PII replacements folded
	// (FoldPII): what a record the coverage sample draws must re-derive;
	// PIIReplaced says the folding changed the text (so the published text
	// is not the one the miner's deduplication compared).
	FoldedHash  [32]byte
	PIIReplaced bool
}

// Submission is a submission's documents, read in the order of
// docs/mechanism.md: its record references (readRecords), then every row
// once cheaply (Open: schema, ids, text, claims, sizes), then the
// provenance draws' rows, and only after the draws were checked every row
// again with the expensive work (ReadAll: GPT-2 tokens, MinHash, the
// signature files).
type Submission struct {
	Manifest *dataset.Manifest
	// Docs are the documents, filled by ReadAll.
	Docs []Doc
	// Draws are the provenance draws: the row holding each of k byte
	// positions drawn uniformly over the submission's text, so a row is
	// drawn in proportion to its size (rows drawn twice count twice).
	Draws []int
	// Sampled holds the drawn rows, by row.
	Sampled map[int]dataset.Doc
	// TextBytes is the submission's text; MeasuredTokens its GPT-2 tokens
	// as the validator counts them (ReadAll).
	TextBytes      int64
	MeasuredTokens int64
	// InternalDuplicates counts documents whose exact text or a MinHash
	// band repeats an earlier document of the submission (ReadAll).
	InternalDuplicates int

	// Index is the submission's record index, checked whole.
	Index *Index

	dir     string
	task    taskapi.Task
	opts    ReadOptions
	refs    []ref
	lengths []int32 // text bytes per row
	reader  *dataset.Reader
	reruns  *reruns // the reference's re-runs of index entries, each once
}

// ReadOptions configure reading a submission.
type ReadOptions struct {
	// Reference is required: its signer recomputes MinHash signatures, its
	// steps are what the record index may name, and it re-runs records.
	Reference *Reference
	// Spans are the bytes of each of the task's WARCs that the task covers
	// (TaskSpans); required: the record index must tile them.
	Spans []Span
	// Budget bounds the work (default: a budget for a 1 GiB task).
	Budget Budget
	// Seed and Draws choose the provenance draws.
	Seed  [32]byte
	Draws int
}

// OpenSubmission reads a fetched submission's records and every row of its
// shards once, cheaply, within the budget: the shards' structure
// (dataset.Reader), FineWeb's schema, each row's id equal to its record
// line's, a non-empty UTF-8 text, a positive token_count that is possible
// for the text, and the per-shard and total counts equal to the manifest.
// Then it draws the provenance rows and reads them.
func OpenSubmission(ctx context.Context, dir string, m *dataset.Manifest, task taskapi.Task, opts ReadOptions) (*Submission, error) {
	if opts.Budget == (Budget{}) {
		opts.Budget = TaskBudget(task, 1<<30, BudgetParams{})
	}
	if opts.Reference == nil || len(opts.Spans) != len(task.WARCs) {
		return nil, fmt.Errorf("read submission: no reference pipeline or no spans for the task's %d WARCs", len(task.WARCs))
	}
	refs, err := readRecords(ctx, dir, m, task, opts.Budget.Rows)
	if err != nil {
		return nil, err
	}
	ix, err := readIndex(ctx, dir, m, task, opts.Spans, refs, opts.Reference.stepOrder(), opts.Budget)
	if err != nil {
		return nil, err
	}
	s := &Submission{Manifest: m, Sampled: map[int]dataset.Doc{}, Index: ix, dir: dir, task: task, opts: opts, refs: refs,
		lengths: make([]int32, 0, len(refs)), reader: dataset.NewReader(opts.Budget.ReadLimits()),
		reruns: newReruns(opts.Reference, task.WARCs, ix)}
	shardDocs := make([]int64, len(m.Shards))
	shardToks := make([]int64, len(m.Shards))
	var claimed int64
	err = s.pass(ctx, func(i, shard int, d *dataset.Doc) error {
		switch {
		case d.Text == "":
			return Fail(CodeSchema, "document %s has no text", d.ID)
		case !utf8.ValidString(d.Text):
			return Fail(CodeSchema, "document %s text is not UTF-8", d.ID)
		case d.TokenCount <= 0:
			return Fail(CodeCounts, "document %s has token_count %d", d.ID, d.TokenCount)
		case d.TokenCount > int64(len(d.Text)) && FoldPII(d.Text) == d.Text:
			// A GPT-2 token is at least one byte. (A text whose PII was
			// replaced was counted before the replacement, and may have
			// been longer.)
			return Fail(CodeCounts, "document %s claims %d tokens for %d bytes of text", d.ID, d.TokenCount, len(d.Text))
		}
		shardDocs[shard]++
		shardToks[shard] += d.TokenCount
		claimed += d.TokenCount
		s.TextBytes += int64(len(d.Text))
		s.lengths = append(s.lengths, int32(len(d.Text)))
		return nil
	})
	if err != nil {
		return nil, err
	}
	if claimed != m.Tokens {
		return nil, Fail(CodeCounts, "shards hold %d tokens, manifest says %d", claimed, m.Tokens)
	}
	for i, sh := range m.Shards {
		if shardDocs[i] != sh.Documents || shardToks[i] != sh.Tokens {
			return nil, Fail(CodeCounts, "shard %s holds %d documents and %d tokens, manifest says %d and %d", sh.Path, shardDocs[i], shardToks[i], sh.Documents, sh.Tokens)
		}
	}
	s.Draws = WeightedDraws(opts.Seed, s.lengths, opts.Draws)
	if len(s.Draws) == 0 {
		return s, nil
	}
	want := map[int]bool{}
	for _, i := range s.Draws {
		want[i] = true
	}
	last := s.Draws[len(s.Draws)-1]
	err = s.pass(ctx, func(i, _ int, d *dataset.Doc) error {
		if want[i] {
			s.Sampled[i] = *d
		}
		if i == last {
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	return s, nil
}

// errStop ends a pass early.
var errStop = errors.New("stop")

// pass decodes every row within the budget and calls fn with its index, its
// shard and the row, after checking the row's id against its record line.
// The reader's failures become coded rejections; a cancelled context is
// returned as it is.
func (s *Submission) pass(ctx context.Context, fn func(i, shard int, d *dataset.Doc) error) error {
	i := 0
	err := s.reader.ReadAll(ctx, s.dir, s.Manifest, func(shard int, _ int64, d dataset.Doc) error {
		if i >= len(s.refs) {
			return Fail(CodeCounts, "more rows than the manifest's %d documents", len(s.refs))
		}
		if d.ID != s.refs[i].ID {
			return Fail(CodeRecords, "row %d is %q, its record line names %s", i, d.ID, s.refs[i].ID)
		}
		if err := fn(i, shard, &d); err != nil {
			return err
		}
		i++
		return nil
	})
	switch {
	case err == nil && i != len(s.refs):
		return Fail(CodeCounts, "shards hold %d documents, manifest says %d", i, len(s.refs))
	case err == nil, errors.Is(err, errStop), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, dataset.ErrLimit):
		return Fail(CodeTooLarge, "%v (the task allows %d rows, %d text bytes, %d page bytes)", err, s.opts.Budget.Rows, s.opts.Budget.TextBytes, s.opts.Budget.PageBytes)
	}
	if _, ok := AsFailure(err); ok {
		return err
	}
	return Fail(CodeSchema, "%v", err)
}

// ReadAll reads every row again with the work the cheap pass deferred: the
// GPT-2 token count of every text (the credited volume; a row's claim must
// equal it unless its PII was replaced), its MinHash signature (duplicates,
// coverage, uniqueness) compared with the miner's signature files, and the
// internal duplicates.
func (s *Submission) ReadAll(ctx context.Context) error {
	bpe, err := tokens.GPT2BPE()
	if err != nil {
		return err
	}
	signer := s.opts.Reference.MinHasher()
	cfg := signer.Config()
	sigHash := make([]uint64, 0, len(s.refs)) // 0: no signature
	s.Docs = make([]Doc, 0, len(s.refs))
	s.MeasuredTokens = 0
	err = s.pass(ctx, func(i, _ int, d *dataset.Doc) error {
		n := int64(bpe.Count(d.Text))
		if n != d.TokenCount && FoldPII(d.Text) == d.Text {
			return Fail(CodeCounts, "document %s claims %d tokens, its text has %d", d.ID, d.TokenCount, n)
		}
		sig := signer.Sign(d.Text)
		h := fnv.New64a()
		io.WriteString(h, d.Text)
		folded := FoldPII(d.Text)
		s.Docs = append(s.Docs, Doc{ID: d.ID, URL: d.URL, WARC: s.task.WARCs[s.refs[i].WARC], Offset: s.refs[i].Offset,
			Tokens: n, Claimed: d.TokenCount, Bands: Bands(sig, cfg), TextHash: h.Sum64(),
			FoldedHash: sha256.Sum256([]byte(folded)), PIIReplaced: folded != d.Text})
		sigHash = append(sigHash, hashSignature(sig))
		s.MeasuredTokens += n
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.checkSignatures(ctx, sigHash); err != nil {
		return err
	}
	s.InternalDuplicates = internalDuplicates(s.Docs)
	return nil
}

// hashSignature is a 64-bit digest of a signature (0 for none).
func hashSignature(sig dedup.Signature) uint64 {
	if sig == nil {
		return 0
	}
	h := fnv.New64a()
	var b [8]byte
	for _, v := range sig {
		binary.LittleEndian.PutUint64(b[:], v)
		h.Write(b[:])
	}
	return h.Sum64() | 1 // never 0
}

// checkSignatures compares every shard's signature file with the
// signatures recomputed from its texts: the same configuration, one row per
// shard row, the same id at every signed row, the same signature, and a
// signature exactly where the text has one. A forged file (another task's
// signatures, made to remove honest documents in a later deduplication)
// rejects.
func (s *Submission) checkSignatures(ctx context.Context, ours []uint64) error {
	first := 0
	for _, sh := range s.Manifest.Shards {
		if err := ctx.Err(); err != nil {
			return err
		}
		rows := int(sh.Documents)
		if sh.Signatures == nil {
			return Fail(CodeSignatures, "shard %s has no signature file", sh.Path)
		}
		if err := s.checkSigFile(filepath.Join(s.dir, filepath.FromSlash(sh.Signatures.Path)), ours[first:first+rows], s.refs[first:first+rows]); err != nil {
			return Fail(CodeSignatures, "%s: %v", sh.Signatures.Path, err)
		}
		first += rows
	}
	return nil
}

func (s *Submission) checkSigFile(path string, ours []uint64, refs []ref) error {
	f, err := dedup.OpenSigFile(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if cfg := s.opts.Reference.MinHasher().Config(); f.Config != cfg {
		return fmt.Errorf("made with %+v, want %+v", f.Config, cfg)
	}
	if f.Rows != int64(len(ours)) {
		return fmt.Errorf("covers %d rows, the shard has %d", f.Rows, len(ours))
	}
	signed := make([]bool, len(ours))
	err = f.ScanRefs(func(_ int64, r dedup.Ref) error {
		if r.Row < 0 || r.Row >= int64(len(ours)) {
			return fmt.Errorf("signs row %d of %d", r.Row, len(ours))
		}
		if r.ID != refs[r.Row].ID {
			return fmt.Errorf("row %d: signs id %q, the shard holds %q", r.Row, r.ID, refs[r.Row].ID)
		}
		signed[r.Row] = true
		return nil
	})
	if err != nil {
		return err
	}
	err = f.ScanSignatures(func(_, row int64, sig dedup.Signature) error {
		if row < 0 || row >= int64(len(ours)) {
			return fmt.Errorf("signs row %d of %d", row, len(ours))
		}
		if hashSignature(sig) != ours[row] {
			return fmt.Errorf("row %d (%s): the signature differs from the text's", row, refs[row].ID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for row, h := range ours {
		if (h != 0) != signed[row] {
			return fmt.Errorf("row %d (%s): signed %v, its text has a signature: %v", row, refs[row].ID, signed[row], h != 0)
		}
	}
	return nil
}
