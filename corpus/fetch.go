package corpus

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/pipeline/dedup"
)

// fetchResult is the completion marker of one input: where its shards
// are, what they hold, and their recomputed signatures.
type fetchResult struct {
	Input int    `json:"input"`
	Key   string `json:"key"`
	// Excluded gives the reason an input was left out (its content is
	// unusable); it then has no shards.
	Excluded string    `json:"excluded,omitempty"`
	Hotkey   string    `json:"hotkey,omitempty"`
	Task     string    `json:"task,omitempty"`
	Shards   []inShard `json:"shards"`
}

// inShard is one parquet shard of an input.
type inShard struct {
	// Name is its path in the input (repository-relative, slashes), as
	// the lineage cites it.
	Name string `json:"name"`
	// Path is the local file (relative to the work folder when inside it).
	Path   string `json:"path"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
	Dump   string `json:"dump"`
	Rows   int64  `json:"rows"`
	// Signed rows have a signature (five words or more).
	Signed    int64 `json:"signed"`
	TextBytes int64 `json:"text_bytes"`
	Tokens    int64 `json:"tokens"`
	// Bands is the recomputed signatures, cut into bands (bands.go); Rows
	// each row's text size and id (uvarint size, uvarint length, id). Both
	// are in the build folder.
	Bands    string `json:"bands"`
	RowsFile string `json:"rows_file"`
}

// rel makes p relative to the work folder when it lies inside it, so that
// ranks that mount the shared folder elsewhere find it.
func (b *builder) rel(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	work, err := filepath.Abs(b.l.work)
	if err != nil {
		return abs
	}
	if r, err := filepath.Rel(work, abs); err == nil && filepath.IsLocal(r) {
		return filepath.ToSlash(r)
	}
	return abs
}

// abs resolves a path made by rel.
func (b *builder) abs(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(b.l.work, filepath.FromSlash(p))
}

// fetchStage fetches this rank's inputs and signs their documents.
func (b *builder) fetchStage(ctx context.Context) error {
	if b.opts.Source == nil {
		return errors.New("dataset build: no input source")
	}
	var todo []int
	for i := range b.plan.Inputs {
		if b.mine(i) && !exists(b.l.fetchDone(b.n, i)) {
			todo = append(todo, i)
		}
	}
	b.log.Info("fetch", "build", b.n, "inputs", len(todo))
	b.cpu = make(chan struct{}, b.opts.Workers)
	return forEach(ctx, len(todo), b.opts.Workers, func(ctx context.Context, k int) error {
		return b.fetchOne(ctx, todo[k])
	})
}

func (b *builder) fetchOne(ctx context.Context, i int) error {
	s := b.plan.Inputs[i]
	res := fetchResult{Input: i, Key: s.Key, Shards: []inShard{}}
	dst := b.l.fetchDir(b.n, i)
	// A download killed half-way starts again from nothing (shards
	// already signed are kept: their markers carry the shard's sha256).
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	f, err := b.opts.Source.Fetch(ctx, s, dst)
	if err == nil {
		res.Hotkey, res.Task = f.Hotkey, f.Task
		// The shards of one input are signed in parallel too (a large
		// folder may be one input); cpu bounds the signing goroutines of
		// all inputs together to Workers.
		res.Shards = make([]inShard, len(f.Shards))
		err = forEach(ctx, len(f.Shards), b.opts.Workers, func(ctx context.Context, k int) error {
			select {
			case b.cpu <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
			defer func() { <-b.cpu }()
			sh, err := b.signShard(ctx, i, k, f.Root, f.Shards[k])
			res.Shards[k] = sh
			return err
		})
	}
	if errors.Is(err, ErrBadSubmission) {
		b.log.Warn("input excluded", "input", i, "key", s.Key, "reason", err)
		res = fetchResult{Input: i, Key: s.Key, Excluded: err.Error(), Shards: []inShard{}}
		err = nil
	}
	if err != nil {
		return fmt.Errorf("dataset build: input %d (%s): %w", i, s.Key, err)
	}
	return writeJSON(b.l.fetchDone(b.n, i), &res)
}

// shardDump is the dump a shard's path files it under: data/<dump>/x.
func shardDump(name string) string {
	parts := strings.Split(path.Clean(name), "/")
	if len(parts) == 3 && parts[0] == "data" {
		return parts[1]
	}
	return ""
}

// signShard reads one shard of input i, checks it, and writes its
// signatures and row sizes. The shard is untrusted: its schema, its rows'
// dump and token counts are checked, and every signature is computed here
// from the text.
func (b *builder) signShard(ctx context.Context, i, k int, root, name string) (inShard, error) {
	if !filepath.IsLocal(filepath.FromSlash(name)) || !strings.HasSuffix(name, ".parquet") {
		return inShard{}, fmt.Errorf("%w: shard path %q", ErrBadSubmission, name)
	}
	local := filepath.Join(root, filepath.FromSlash(name))
	size, sum, err := hashFile(local)
	if err != nil {
		return inShard{}, fmt.Errorf("%w: shard %s: %v", ErrBadSubmission, name, err)
	}
	dir := b.l.sigDir(b.n, i)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return inShard{}, err
	}
	// A shard signed by an earlier, interrupted run is not signed again.
	marker := filepath.Join(dir, fmt.Sprintf("%05d.json", k))
	var done inShard
	if ok, err := readJSON(marker, &done); err != nil {
		return inShard{}, err
	} else if ok && done.Name == name && done.SHA256 == sum && done.Bytes == size {
		done.Path = b.rel(local)
		return done, nil
	}
	sh := inShard{
		Name: name, Path: b.rel(local), Bytes: size, SHA256: sum, Dump: shardDump(name),
		Bands: b.rel(filepath.Join(dir, fmt.Sprintf("%05d.bands", k))), RowsFile: b.rel(filepath.Join(dir, fmt.Sprintf("%05d.rows", k))),
	}
	signer := b.opts.MinHasher
	var bad error
	// A text repeated row after row (a dictionary-encoded bomb, or an
	// input that was never deduplicated) is signed once.
	recent := newSigCache(64)
	bw, err := createBands(b.abs(sh.Bands), signer.Config())
	if err != nil {
		return inShard{}, err
	}
	defer bw.abort()
	rf, err := createLineFile(b.abs(sh.RowsFile))
	if err != nil {
		return inShard{}, err
	}
	defer rf.abort()
	var tmp [2 * binary.MaxVarintLen64]byte
	err = func() error {
		return readShard(ctx, local, func(d *dataset.Doc) error {
			if sh.Dump == "" {
				sh.Dump = d.Dump
			}
			switch {
			case d.Dump != sh.Dump:
				bad = fmt.Errorf("row %d: dump %q in a shard of dump %q", sh.Rows, d.Dump, sh.Dump)
			case d.TokenCount < 0:
				bad = fmt.Errorf("row %d: token_count %d", sh.Rows, d.TokenCount)
			}
			if bad != nil {
				return bad
			}
			sig := recent.sign(d.Text, signer.Sign)
			if sig != nil {
				if err := bw.add(sh.Rows, sig); err != nil {
					return err
				}
				sh.Signed++
			}
			n := binary.PutUvarint(tmp[:], uint64(len(d.Text)))
			n += binary.PutUvarint(tmp[n:], uint64(len(d.ID)))
			if _, err := rf.w.Write(tmp[:n]); err != nil {
				return err
			}
			if _, err := rf.w.WriteString(d.ID); err != nil {
				return err
			}
			sh.Rows++
			sh.TextBytes += int64(len(d.Text))
			sh.Tokens += d.TokenCount
			return nil
		})
	}()
	switch {
	case bad != nil:
		return inShard{}, fmt.Errorf("%w: shard %s: %v", ErrBadSubmission, name, bad)
	case errors.Is(err, errParquet):
		return inShard{}, fmt.Errorf("%w: shard %s: %v", ErrBadSubmission, name, err)
	case err != nil:
		return inShard{}, err
	case !dumpRe.MatchString(sh.Dump):
		return inShard{}, fmt.Errorf("%w: shard %s: dump %q is not a crawl id", ErrBadSubmission, name, sh.Dump)
	}
	if sh.Rows > maxRows {
		return inShard{}, fmt.Errorf("%w: shard %s: %d rows", ErrBadSubmission, name, sh.Rows)
	}
	if err := bw.close(); err != nil {
		return inShard{}, err
	}
	if err := rf.commit(); err != nil {
		return inShard{}, err
	}
	return sh, writeJSON(marker, &sh)
}

// The decoding budget of a shard: shardBudgetBase plus shardBudgetRatio
// times its file size, for its pages and for its texts.
const (
	shardBudgetBase  = 16 << 20
	shardBudgetRatio = 12
)

// errParquet marks a shard that does not decode as FineWeb's parquet, or
// that breaks the reader's limits (a decompression or dictionary bomb): the
// input's fault.
var errParquet = errors.New("unreadable shard")

// readShard streams a shard's rows through the bounded reader of package
// dataset (structure checked before decoding, every page and row bounded
// while reading). Decoding failures wrap errParquet; a cancelled context,
// a failure of fn or of the local file system (our side) do not.
func readShard(ctx context.Context, path string, fn func(*dataset.Doc) error) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	// What a shard may decode to: natural text compresses 3–5× with zstd,
	// so an honest shard stays below this; a decompression or dictionary
	// bomb is stopped at it instead of costing hours.
	budget := shardBudgetBase + shardBudgetRatio*st.Size()
	rd := dataset.NewReader(dataset.ReadLimits{MaxPagesBytes: budget, MaxTextBytes: budget})
	var fnErr error
	err = rd.ReadShard(ctx, path, func(d dataset.Doc) error {
		if err := fn(&d); err != nil {
			fnErr = err
			return err
		}
		return nil
	})
	var pe *fs.PathError
	switch {
	case err == nil:
		return nil
	case fnErr != nil && errors.Is(err, fnErr):
		return err
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.As(err, &pe) && !errors.Is(err, dataset.ErrLimit) && !errors.Is(err, dataset.ErrSchema):
		return err
	}
	return fmt.Errorf("%w: %v", errParquet, err)
}

// readRows reads a shard's rows file: each row's text size and id.
func readRows(path string, rows int64) ([]uint32, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	sizes, ids := make([]uint32, 0, rows), make([]string, 0, rows)
	for {
		v, err := binary.ReadUvarint(r)
		if errors.Is(err, io.EOF) {
			break
		}
		var l uint64
		if err == nil {
			l, err = binary.ReadUvarint(r)
		}
		if err == nil && l > 1<<20 {
			err = fmt.Errorf("id of %d bytes", l)
		}
		var id []byte
		if err == nil {
			id = make([]byte, l)
			_, err = io.ReadFull(r, id)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		sizes = append(sizes, uint32(min(v, 1<<32-1)))
		ids = append(ids, string(id))
	}
	if int64(len(sizes)) != rows {
		return nil, nil, fmt.Errorf("%s: %d rows for %d", path, len(sizes), rows)
	}
	return sizes, ids, nil
}

// fetched reads every input's fetch marker; the stage must be complete.
func (b *builder) fetched() ([]fetchResult, error) {
	out := make([]fetchResult, len(b.plan.Inputs))
	var missing []int
	for i := range b.plan.Inputs {
		ok, err := readJSON(b.l.fetchDone(b.n, i), &out[i])
		if err != nil {
			return nil, err
		}
		if !ok {
			missing = append(missing, i)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("dataset build: the fetch stage of build %d is not complete: %d of %d inputs missing (first: %d)", b.n, len(missing), len(b.plan.Inputs), missing[0])
	}
	return out, nil
}

// inputs reads the fetch stage's markers (it must be complete) and groups
// the shards by dump.
func (b *builder) inputs() ([]fetchResult, map[string][]docShard, error) {
	fr, err := b.fetched()
	if err != nil {
		return nil, nil, err
	}
	dumps, err := b.dumps(fr)
	return fr, dumps, err
}

// docShard is one input shard of a dump in the document numbering.
type docShard struct {
	input int
	shard int
	first int64 // document number of its row 0
	sh    *inShard
}

// dumps groups the fetched shards by dump, numbered in plan order from
// the dump's committed document count.
func (b *builder) dumps(fr []fetchResult) (map[string][]docShard, error) {
	out := map[string][]docShard{}
	next := map[string]int64{}
	for i := range fr {
		for k := range fr[i].Shards {
			sh := &fr[i].Shards[k]
			g, ok := next[sh.Dump]
			if !ok {
				g = b.state.dumpState(sh.Dump, b.opts.MinHasher.Config()).Documents
			}
			out[sh.Dump] = append(out[sh.Dump], docShard{input: i, shard: k, first: g, sh: sh})
			next[sh.Dump] = g + sh.Rows
			if g+sh.Rows > maxRows {
				return nil, fmt.Errorf("dataset build: dump %s would number more than %d documents", sh.Dump, int64(maxRows))
			}
		}
	}
	return out, nil
}

// sigCache remembers the signatures of the last few distinct texts, by
// their sha256.
type sigCache struct {
	keys []([32]byte)
	sigs []dedup.Signature
	next int
}

func newSigCache(n int) *sigCache {
	return &sigCache{keys: make([][32]byte, 0, n), sigs: make([]dedup.Signature, 0, n)}
}

// sign returns text's signature by sign, from the cache when the text was
// among the last few signed; short texts, cheap to sign, are not cached.
func (c *sigCache) sign(text string, sign func(string) dedup.Signature) dedup.Signature {
	if len(text) < 4096 {
		return sign(text)
	}
	k := sha256.Sum256([]byte(text))
	for i := range c.keys {
		if c.keys[i] == k {
			return c.sigs[i]
		}
	}
	sig := sign(text)
	if len(c.keys) < cap(c.keys) {
		c.keys, c.sigs = append(c.keys, k), append(c.sigs, sig)
	} else {
		c.keys[c.next], c.sigs[c.next] = k, sig
		c.next = (c.next + 1) % len(c.keys)
	}
	return sig
}
