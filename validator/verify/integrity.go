package verify

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"unicode/utf8"

	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/pipeline/dedup"
	"github.com/datarefine/refine/submission"
	"github.com/datarefine/refine/taskserver"
	"github.com/parquet-go/parquet-go"
)

// MaxManifestBytes bounds the manifest a validator parses.
const MaxManifestBytes = 4 << 20

// CheckManifest reads dir's manifest and checks it against the commitment
// (sha256 prefix), the committing hotkey and the leased task: the manifest
// must name the task (its decimal id) and the hotkey, and its inputs must be
// exactly the task's WARCs. It returns the manifest and its full sha256.
func CheckManifest(dir string, c submission.Commitment, hotkey string, task taskserver.Task) (*dataset.Manifest, string, error) {
	p := filepath.Join(dir, filepath.FromSlash(dataset.SubmissionManifestPath(c.TaskID)))
	st, err := os.Stat(p)
	if err != nil {
		return nil, "", Fail(CodeManifest, "no %s in the revision", dataset.SubmissionManifestPath(c.TaskID))
	}
	if st.Size() > MaxManifestBytes {
		return nil, "", Fail(CodeTooLarge, "manifest is %d bytes, limit %d", st.Size(), MaxManifestBytes)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, "", Fail(CodeManifest, "read manifest: %v", err)
	}
	sum := sha256.Sum256(b)
	full := hex.EncodeToString(sum[:])
	if full[:submission.HashPrefixLen] != c.ManifestHash {
		return nil, "", Fail(CodeManifestHash, "manifest sha256 %s does not start with the committed %s", full[:submission.HashPrefixLen], c.ManifestHash)
	}
	m, err := dataset.ParseManifest(b)
	if err != nil {
		return nil, "", Fail(CodeManifest, "%v", err)
	}
	if m.Task != strconv.FormatInt(task.ID, 10) || c.TaskID != task.ID {
		return nil, "", Fail(CodeWrongTask, "manifest names task %q, commitment %d, leased task %d", m.Task, c.TaskID, task.ID)
	}
	if m.Hotkey != hotkey {
		return nil, "", Fail(CodeWrongHotkey, "manifest names hotkey %q, committed by %s", m.Hotkey, hotkey)
	}
	if len(m.Inputs) != len(task.WARCs) {
		return nil, "", Fail(CodeWrongTask, "manifest has %d inputs, task has %d WARCs", len(m.Inputs), len(task.WARCs))
	}
	for i, in := range m.Inputs {
		if in.Path != task.WARCs[i] {
			return nil, "", Fail(CodeWrongTask, "input %d is %q, task WARC is %q", i, in.Path, task.WARCs[i])
		}
	}
	if m.Records == nil {
		return nil, "", Fail(CodeManifest, "manifest seals no records file")
	}
	if err := dataset.Verify(dir, m); err != nil {
		return nil, "", Fail(CodeIntegrity, "%v", err)
	}
	return m, full, nil
}

// Doc is what the validator keeps of one submitted document.
type Doc struct {
	ID     string
	URL    string
	WARC   string
	Offset int64
	Tokens int64
	// Bands are the document's MinHash band hashes (nil when the text is
	// too short for a signature), recomputed from the text: the miner's
	// signature files are not trusted.
	Bands []uint64
	// TextHash identifies the exact text.
	TextHash uint64
}

// Submission is a submission read and checked against its manifest.
type Submission struct {
	Manifest *dataset.Manifest
	Docs     []Doc
	// Sampled holds the full rows of the sampled documents, by index.
	Sampled map[int]dataset.Doc
	// InternalDuplicates counts documents whose exact text or a MinHash
	// band repeats an earlier document of the submission.
	InternalDuplicates int
}

// ReadOptions bounds and configures ReadSubmission.
type ReadOptions struct {
	Signer       *dedup.Signer // required: recomputes MinHash signatures
	Sample       []int         // document indices whose rows to keep
	MaxDocuments int64         // default 5,000,000
	// MaxUncompressedBytes bounds the shards' decompressed size as their
	// parquet metadata states it (default 32 GiB), against decompression
	// bombs.
	MaxUncompressedBytes int64
}

// MaxTextBytes bounds one document's text: Common Crawl truncates payloads
// at 1 MiB, so real extracted text is smaller.
const MaxTextBytes = 4 << 20

// checkUncompressed sums the decompressed sizes the shards' metadata states.
func checkUncompressed(dir string, m *dataset.Manifest, limit int64) error {
	if limit <= 0 {
		limit = 32 << 30
	}
	var total int64
	for _, sh := range m.Shards {
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(sh.Path)))
		if err != nil {
			return Fail(CodeIntegrity, "open shard: %v", err)
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return Fail(CodeIntegrity, "shard %s: %v", sh.Path, err)
		}
		pf, err := parquet.OpenFile(f, st.Size())
		if err != nil {
			f.Close()
			return Fail(CodeSchema, "shard %s: %v", sh.Path, err)
		}
		for _, rg := range pf.Metadata().RowGroups {
			for _, cc := range rg.Columns {
				if cc.MetaData.TotalUncompressedSize < 0 {
					f.Close()
					return Fail(CodeSchema, "shard %s: negative column size", sh.Path)
				}
				total += cc.MetaData.TotalUncompressedSize
			}
		}
		f.Close()
		if total > limit {
			return Fail(CodeTooLarge, "shards decompress to %d bytes or more, limit %d", total, limit)
		}
	}
	return nil
}

// ReadSubmission reads every shard and records.jsonl of a verified dataset
// folder and checks them against each other and the manifest: schema, unique
// non-empty ids, valid UTF-8 non-empty text, positive token counts, the
// per-shard and total document and token counts, and one record reference
// per document with the same id, a WARC of the task and an offset.
func ReadSubmission(dir string, m *dataset.Manifest, task taskserver.Task, opts ReadOptions) (*Submission, error) {
	if opts.MaxDocuments <= 0 {
		opts.MaxDocuments = 5_000_000
	}
	if m.Documents < 0 || m.Documents > opts.MaxDocuments {
		return nil, Fail(CodeTooLarge, "manifest claims %d documents, limit %d", m.Documents, opts.MaxDocuments)
	}
	warcs := map[string]bool{}
	for _, w := range task.WARCs {
		warcs[w] = true
	}
	want := map[int]bool{}
	for _, i := range opts.Sample {
		want[i] = true
	}
	if err := checkUncompressed(dir, m, opts.MaxUncompressedBytes); err != nil {
		return nil, err
	}
	s := &Submission{Manifest: m, Sampled: map[int]dataset.Doc{}}
	ids := map[string]bool{}
	shardDocs := make([]int64, len(m.Shards))
	shardToks := make([]int64, len(m.Shards))
	var tokens int64
	err := dataset.ReadAll(dir, m, func(shard int, row int64, d dataset.Doc) error {
		i := len(s.Docs)
		if int64(i) >= m.Documents {
			return Fail(CodeCounts, "more rows than the manifest's %d documents", m.Documents)
		}
		switch {
		case d.ID == "":
			return Fail(CodeSchema, "document %d has no id", i)
		case ids[d.ID]:
			return Fail(CodeDuplicates, "id %s appears twice", d.ID)
		case d.Text == "":
			return Fail(CodeSchema, "document %s has no text", d.ID)
		case !utf8.ValidString(d.Text):
			return Fail(CodeSchema, "document %s text is not UTF-8", d.ID)
		case len(d.Text) > MaxTextBytes:
			return Fail(CodeTooLarge, "document %s text is %d bytes, limit %d", d.ID, len(d.Text), MaxTextBytes)
		case d.TokenCount <= 0:
			return Fail(CodeSchema, "document %s has token_count %d", d.ID, d.TokenCount)
		}
		ids[d.ID] = true
		shardDocs[shard]++
		shardToks[shard] += d.TokenCount
		tokens += d.TokenCount
		h := fnv.New64a()
		io.WriteString(h, d.Text)
		s.Docs = append(s.Docs, Doc{ID: d.ID, URL: d.URL, Tokens: d.TokenCount,
			Bands: Bands(opts.Signer.Sign(d.Text), opts.Signer.Config()), TextHash: h.Sum64()})
		if want[i] {
			s.Sampled[i] = d
		}
		return nil
	})
	if err != nil {
		if _, ok := AsFailure(err); ok {
			return nil, err
		}
		return nil, Fail(CodeSchema, "%v", err)
	}
	if int64(len(s.Docs)) != m.Documents || tokens != m.Tokens {
		return nil, Fail(CodeCounts, "shards hold %d documents and %d tokens, manifest says %d and %d", len(s.Docs), tokens, m.Documents, m.Tokens)
	}
	for i, sh := range m.Shards {
		if shardDocs[i] != sh.Documents || shardToks[i] != sh.Tokens {
			return nil, Fail(CodeCounts, "shard %s holds %d documents and %d tokens, manifest says %d and %d", sh.Path, shardDocs[i], shardToks[i], sh.Documents, sh.Tokens)
		}
	}
	if err := s.readRecords(filepath.Join(dir, filepath.FromSlash(m.Records.Path)), warcs); err != nil {
		return nil, err
	}
	s.InternalDuplicates = internalDuplicates(s.Docs)
	return s, nil
}

// readRecords checks records.jsonl line by line against the documents.
func (s *Submission) readRecords(path string, warcs map[string]bool) error {
	f, err := os.Open(path)
	if err != nil {
		return Fail(CodeRecords, "open records: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<10)
	n := 0
	for sc.Scan() {
		if n >= len(s.Docs) {
			return Fail(CodeRecords, "more record lines than documents")
		}
		var r dataset.RecordRef
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return Fail(CodeRecords, "line %d: %v", n+1, err)
		}
		d := &s.Docs[n]
		if r.ID != d.ID {
			return Fail(CodeRecords, "line %d names %s, document %d is %s", n+1, r.ID, n, d.ID)
		}
		if !warcs[r.WARC] {
			return Fail(CodeWrongTask, "document %s cites WARC %q, not one of the task's", d.ID, r.WARC)
		}
		if r.Offset < 0 {
			return Fail(CodeRecords, "document %s has offset %d", d.ID, r.Offset)
		}
		d.WARC, d.Offset = r.WARC, r.Offset
		n++
	}
	if err := sc.Err(); err != nil {
		return Fail(CodeRecords, "read records: %v", err)
	}
	if n != len(s.Docs) {
		return Fail(CodeRecords, "%d record lines for %d documents", n, len(s.Docs))
	}
	return nil
}

// Bands hashes each MinHash band of a signature to one value (FNV-1a of the
// band index and its hashes). Two documents sharing a band value are
// near-duplicate candidates, as in datatrove's bucket stage.
func Bands(sig dedup.Signature, cfg dedup.Config) []uint64 {
	if len(sig) != cfg.NumHashes() {
		return nil
	}
	out := make([]uint64, cfg.NumBuckets)
	var buf [8]byte
	for b := range cfg.NumBuckets {
		h := fnv.New64a()
		binary.LittleEndian.PutUint64(buf[:], uint64(b))
		h.Write(buf[:])
		for _, v := range sig.Bucket(b, cfg.HashesPerBucket) {
			binary.LittleEndian.PutUint64(buf[:], v)
			h.Write(buf[:])
		}
		out[b] = h.Sum64()
	}
	return out
}

// internalDuplicates counts documents whose exact text or any band value
// appeared in an earlier document of the same submission. The miner's own
// deduplication removes such documents (on the pre-PII text, so a rare
// collision can remain: the validator applies a tolerance).
func internalDuplicates(docs []Doc) int {
	texts := map[uint64]bool{}
	bands := map[[2]uint64]bool{}
	n := 0
	for _, d := range docs {
		dup := texts[d.TextHash]
		texts[d.TextHash] = true
		for b, v := range d.Bands {
			k := [2]uint64{uint64(b), v}
			if bands[k] {
				dup = true
			}
			bands[k] = true
		}
		if dup {
			n++
		}
	}
	return n
}
