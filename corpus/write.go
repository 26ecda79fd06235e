package corpus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"path/filepath"

	"github.com/parquet-go/parquet-go"

	"github.com/datarefine/refine/dataset"
)

// writeResult is the completion marker of one output shard.
type writeResult struct {
	Name   string `json:"name"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
	Docs   int64  `json:"docs"`
	Tokens int64  `json:"tokens"`
	// Inputs is each input's share of the shard, for the contributors.
	Inputs []inputShare `json:"inputs"`
}

type inputShare struct {
	Input  int   `json:"input"`
	Docs   int64 `json:"docs"`
	Tokens int64 `json:"tokens"`
}

// outputShards lists every output shard of the build, dumps in name
// order: the write stage's units.
func (b *builder) outputShards() ([]fetchResult, []outShard, error) {
	fr, dumps, err := b.inputs()
	if err != nil {
		return nil, nil, err
	}
	cr, err := b.clustered(sortedDumps(dumps))
	if err != nil {
		return nil, nil, err
	}
	var all []outShard
	for _, c := range cr {
		all = append(all, c.Shards...)
	}
	return fr, all, nil
}

// writeStage writes this rank's output shards into the working copy.
func (b *builder) writeStage(ctx context.Context) error {
	fr, all, err := b.outputShards()
	if err != nil {
		return err
	}
	var todo []int
	for u := range all {
		if b.mine(u) && !exists(b.l.writeDone(b.n, all[u].Name)) {
			todo = append(todo, u)
		}
	}
	b.log.Info("write", "build", b.n, "shards", len(todo))
	return forEach(ctx, len(todo), b.opts.Workers, func(ctx context.Context, k int) error {
		return b.writeOne(ctx, fr, all[todo[k]])
	})
}

// hashCounter hashes and counts what passes through it.
type hashCounter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (c *hashCounter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

// writeOne copies the kept rows of the shard's segments into it. The
// shard is written to the build's scratch folder and renamed into the
// working copy, which never holds a partial file.
func (b *builder) writeOne(ctx context.Context, fr []fetchResult, o outShard) error {
	res := writeResult{Name: o.Name}
	final := filepath.Join(b.l.out(), filepath.FromSlash(o.Name))
	err := writeFileVia(filepath.Join(b.l.build(b.n), "tmp"), final, func(w io.Writer) error {
		hc := &hashCounter{w: w, h: sha256.New()}
		pw := parquet.NewGenericWriter[dataset.Row](hc,
			parquet.Compression(&parquet.Zstd),
			parquet.CreatedBy("refine", "", ""),
		)
		batch := make([]dataset.Row, 0, 256)
		docs := make([]dataset.Doc, 0, 256)
		inGroup := int64(0)
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			if _, err := pw.Write(batch); err != nil {
				return err
			}
			batch, docs = batch[:0], docs[:0]
			return nil
		}
		for _, sg := range o.Segments {
			sh := fr[sg.Input].Shards[sg.Shard]
			src := b.abs(sh.Path)
			// The source must still be the bytes that were signed: a
			// folder input can change under a build.
			if n, sum, err := hashFile(src); err != nil || n != sh.Bytes || sum != sh.SHA256 {
				return fmt.Errorf("input shard %s changed since it was fetched (%v)", src, err)
			}
			share := inputShare{Input: sg.Input}
			var row int64
			k := 0
			err := readShard(ctx, src, func(d *dataset.Doc) error {
				for k < len(sg.Rows) && row >= sg.Rows[k][1] {
					k++
				}
				take := k < len(sg.Rows) && row >= sg.Rows[k][0]
				row++
				if !take {
					return nil
				}
				docs = append(docs, *d)
				batch = append(batch, docs[len(docs)-1].Row())
				share.Docs++
				share.Tokens += d.TokenCount
				inGroup++
				if len(batch) == cap(batch) || inGroup == b.plan.Params.RowGroupDocs {
					if err := flush(); err != nil {
						return err
					}
				}
				if inGroup == b.plan.Params.RowGroupDocs {
					inGroup = 0
					return pw.Flush()
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("%s: %w", src, err)
			}
			if share.Docs != sg.docs() {
				return fmt.Errorf("%s: %d rows taken, the plan says %d", src, share.Docs, sg.docs())
			}
			res.Docs += share.Docs
			res.Tokens += share.Tokens
			res.Inputs = append(res.Inputs, share)
		}
		if err := flush(); err != nil {
			return err
		}
		if err := pw.Close(); err != nil {
			return err
		}
		res.Bytes, res.SHA256 = hc.n, hex.EncodeToString(hc.h.Sum(nil))
		return nil
	})
	if err != nil {
		return fmt.Errorf("dataset build: write %s: %w", o.Name, err)
	}
	return writeJSON(b.l.writeDone(b.n, o.Name), &res)
}
