package validator

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/datarefine/refine/validator/verify"
)

// The uniqueness index: the MinHash band values of every accepted
// document, which later submissions' documents are compared with
// (verify.History.Overlap). Kept whole it would grow by 14 values per
// accepted document forever (about 280 GB per Common Crawl dump). It is
// partitioned instead, on disk in the state's SQLite file:
//
//   - by crawl (the task's, from the task server): FineWeb deduplicates
//     within a dump, never across dumps, and a document can only be
//     submitted from its own task's records (provenance), so a copy from
//     another crawl cannot pass as this crawl's work;
//   - by window: WindowBlocks blocks of commit time (default 7,200: a day
//     of 12 s blocks).
//
// A submission committed in block b is compared with the partitions of its
// crawl whose window is within KeepWindows of b's (the last 7 days by
// default); its documents, once accepted, go into b's window. The pruning
// rule: a round drops every partition older than KeepWindows + Margin − 1
// windows before the head's (Margin, default KeepWindows, leaves room for
// submissions evaluated late: retried, or read late). So the index holds
// at most KeepWindows + Margin windows of accepted documents — what the
// network accepts in two weeks, whatever the crawl's size — and the
// consequence for copy detection (docs/mechanism.md, "Uniqueness") is that
// a near-duplicate of a document accepted more than KeepWindows earlier is
// no longer discounted.

// UniquenessParams shape the uniqueness index.
type UniquenessParams struct {
	// WindowBlocks is a partition's span of commit blocks (default 7,200).
	WindowBlocks uint64
	// KeepWindows is how many windows up to a submission's own it is
	// compared with (default 7), Margin how many more are kept on disk
	// before pruning (default KeepWindows).
	KeepWindows, Margin uint64
}

func (p UniquenessParams) withDefaults() UniquenessParams {
	if p.WindowBlocks == 0 {
		p.WindowBlocks = 7200
	}
	if p.KeepWindows == 0 {
		p.KeepWindows = 7
	}
	if p.Margin == 0 {
		p.Margin = p.KeepWindows
	}
	return p
}

// uniquenessSchema: one row per partition; each partition's values in a
// table of its own (bands_<id>), so that pruning is dropping a table. A
// value is a band hash (verify.Bands), which includes the band's index.
const uniquenessSchema = `
CREATE TABLE IF NOT EXISTS band_parts (
	id INTEGER PRIMARY KEY,
	crawl TEXT NOT NULL,
	win INTEGER NOT NULL,
	UNIQUE (crawl, win)
);
DROP TABLE IF EXISTS bands;
`

// partTable is the table of partition id.
func partTable(id int64) string { return fmt.Sprintf("bands_%d", id) }

// window is the window of a block.
func (p UniquenessParams) window(block uint64) uint64 { return block / p.WindowBlocks }

// overlap marks the documents with at least one band value in a partition
// of crawl within KeepWindows of block's window. It asks each partition
// for the values it holds of a batch of documents at once (one IN list of
// up to overlapBatch values), which costs a fraction of one query per
// document.
func (s *state) overlap(ctx context.Context, p UniquenessParams, crawl string, block uint64, docs []verify.Doc) ([]bool, error) {
	hits := make([]bool, len(docs))
	w := p.window(block)
	from := uint64(0)
	if w >= p.KeepWindows {
		from = w - p.KeepWindows + 1
	}
	db := s.reads()
	rows, err := db.QueryContext(ctx, `SELECT id FROM band_parts WHERE crawl = ? AND win BETWEEN ? AND ? ORDER BY id`, crawl, int64(from), int64(w))
	if err != nil {
		return nil, err
	}
	var parts []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		parts = append(parts, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(parts) == 0 {
		return hits, err
	}
	// Every value, once, with the documents that have it.
	owners := map[uint64][]int32{}
	values := make([]uint64, 0, 14*len(docs))
	for i, d := range docs {
		for _, v := range d.Bands {
			if _, ok := owners[v]; !ok {
				values = append(values, v)
			}
			owners[v] = append(owners[v], int32(i))
		}
	}
	for _, id := range parts {
		for start := 0; start < len(values); start += overlapBatch {
			batch := values[start:min(len(values), start+overlapBatch)]
			args := make([]any, len(batch))
			for k, v := range batch {
				args[k] = int64(v)
			}
			q := `SELECT value FROM ` + partTable(id) + ` WHERE value IN (` + strings.TrimSuffix(strings.Repeat("?,", len(batch)), ",") + `)`
			rows, err := db.QueryContext(ctx, q, args...)
			if err != nil {
				return nil, err
			}
			for rows.Next() {
				var v int64
				if err := rows.Scan(&v); err != nil {
					rows.Close()
					return nil, err
				}
				for _, i := range owners[uint64(v)] {
					hits[i] = true
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, err
			}
		}
	}
	return hits, nil
}

// overlapBatch is how many values one partition query asks for (SQLite
// allows 32,766 parameters).
const overlapBatch = 2000

// addBands inserts an accepted submission's band values into the partition
// of (crawl, block's window), creating it when needed.
func addBands(ctx context.Context, tx *sql.Tx, p UniquenessParams, crawl string, block uint64, bands [][]uint64) error {
	if len(bands) == 0 {
		return nil
	}
	w := int64(p.window(block))
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM band_parts WHERE crawl = ? AND win = ?`, crawl, w).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		res, err := tx.ExecContext(ctx, `INSERT INTO band_parts (crawl, win) VALUES (?, ?)`, crawl, w)
		if err != nil {
			return err
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		// A value is its own key: the table is the index (8 to 9 bytes a
		// value on disk, plus the b-tree's slack).
		if _, err := tx.ExecContext(ctx, `CREATE TABLE `+partTable(id)+` (value INTEGER PRIMARY KEY)`); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	st, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO `+partTable(id)+` (value) VALUES (?)`)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, doc := range bands {
		for _, v := range doc {
			if _, err := st.ExecContext(ctx, int64(v)); err != nil {
				return fmt.Errorf("record bands: %w", err)
			}
		}
	}
	return nil
}

// prune drops the partitions that no submission committed within Margin
// windows of head's will be compared with: those before window
// w(head) − Margin − KeepWindows + 1. It returns how many it dropped.
func (s *state) prune(ctx context.Context, p UniquenessParams, head uint64) (int, error) {
	w := p.window(head)
	if w+1 <= p.KeepWindows+p.Margin {
		return 0, nil
	}
	before := int64(w + 1 - p.KeepWindows - p.Margin)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT id FROM band_parts WHERE win < ?`, before)
	if err != nil {
		return 0, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `DROP TABLE IF EXISTS `+partTable(id)); err != nil {
			return 0, err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM band_parts WHERE id = ?`, id); err != nil {
			return 0, err
		}
	}
	return len(ids), tx.Commit()
}

// recentBands are the band values of the submissions a round accepted so
// far, in the order recorded. A check looks the uniqueness index up while
// earlier submissions of the round may still be settling; when it is
// settled, the ones recorded since its lookup (from its mark on) are
// matched here, in memory. The round clears it when it starts: no check
// spans two rounds.
type recentBands struct {
	mu      sync.Mutex
	entries []recentEntry
}

type recentEntry struct {
	crawl  string
	window uint64
	values map[uint64]struct{}
}

func (r *recentBands) reset() {
	r.mu.Lock()
	r.entries = nil
	r.mu.Unlock()
}

// mark is how many entries there are now.
func (r *recentBands) mark() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return uint64(len(r.entries))
}

// add records an accepted submission's bands (after its record is
// committed).
func (r *recentBands) add(p UniquenessParams, crawl string, block uint64, bands [][]uint64) {
	if len(bands) == 0 {
		return
	}
	e := recentEntry{crawl: crawl, window: p.window(block), values: map[uint64]struct{}{}}
	for _, doc := range bands {
		for _, v := range doc {
			e.values[v] = struct{}{}
		}
	}
	r.mu.Lock()
	r.entries = append(r.entries, e)
	r.mu.Unlock()
}

// match marks the documents sharing a value with an entry from mark on of
// the same crawl, within KeepWindows of block's window (as overlap looks
// up the index).
func (r *recentBands) match(p UniquenessParams, crawl string, block uint64, docs []verify.Doc, mark uint64, hits []bool) {
	w := p.window(block)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.entries[min(int(mark), len(r.entries)):] {
		if e.crawl != crawl || e.window > w || e.window+p.KeepWindows <= w {
			continue
		}
		for i, d := range docs {
			if hits[i] {
				continue
			}
			for _, v := range d.Bands {
				if _, ok := e.values[v]; ok {
					hits[i] = true
					break
				}
			}
		}
	}
}
