// Package replace turns a submission folder into a bomb (internal/attack
// builds the hostile shards). It is apart from attack because dataset's own
// tests use attack.
package replace

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/validator/verify"
)

// Shards turns the submission in dir (described by m, which is
// updated) into a bomb: its shards become one hostile shard of rows rows
// written by write (ids id0, id1, …, each claiming perRow tokens), and
// records.jsonl and the record index get matching, plausible lines — the
// index tiles the task's bytes [byteStart, byteEnd) of the manifest's first
// input with rows kept entries of the shortest length allowed, the
// documents citing them, and the rest in dropped entries of the longest —
// so that the bomb passes every check that does not decode it or fetch a
// record. The caller re-seals the manifest.
func Shards(dir string, m *dataset.Manifest, rows int, perRow, byteStart, byteEnd int64, write func(path string) error) error {
	os.RemoveAll(filepath.Join(dir, "data"))
	sh := m.Shards[0]
	sh.Signatures = nil
	p := filepath.Join(dir, filepath.FromSlash(sh.Path))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := write(p); err != nil {
		return err
	}
	h, err := dataset.HashFile(dir, sh.Path)
	if err != nil {
		return err
	}
	sh.File, sh.Documents, sh.Tokens = *h, int64(rows), int64(rows)*perRow
	m.Shards = []dataset.Shard{sh}
	m.Documents, m.Tokens = sh.Documents, sh.Tokens
	var lines strings.Builder
	for i := range rows {
		b, err := json.Marshal(dataset.RecordRef{ID: fmt.Sprintf("id%d", i), Shard: 0, Row: int64(i), WARC: m.Inputs[0].Path, Offset: byteStart + int64(i)*verify.MinEntryBytes})
		if err != nil {
			return err
		}
		lines.Write(append(b, '\n'))
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(m.Records.Path)), []byte(lines.String()), 0o644); err != nil {
		return err
	}
	rec, err := dataset.HashFile(dir, m.Records.Path)
	if err != nil {
		return err
	}
	*m.Records = *rec
	return Index(dir, m, byteStart, byteEnd, rows)
}

// Index rewrites the record index of the submission in dir to tile the
// bytes [byteStart, byteEnd) of its first input: kept entries of the
// shortest length allowed, then dropped ones of the longest, so that it
// passes every check made without fetching a record.
func Index(dir string, m *dataset.Manifest, byteStart, byteEnd int64, kept int) error {
	if m.RecordIndex == nil {
		return fmt.Errorf("replace: no record index")
	}
	w, err := dataset.NewIndexWriter(dir, m.RecordIndex.Path)
	if err != nil {
		return err
	}
	at := byteStart
	for i := 0; at < byteEnd; i++ {
		n := min(verify.MaxEntryBytes, byteEnd-at)
		if rest := byteEnd - at - n; rest > 0 && rest < verify.MinEntryBytes {
			n -= verify.MinEntryBytes
		}
		e := dataset.IndexEntry{Offset: at, Length: n, Step: "reader", Reason: "not_response"}
		if i < kept {
			e = dataset.IndexEntry{Offset: at, Length: verify.MinEntryBytes, Kept: true}
		}
		if err := w.Add(e); err != nil {
			w.Abort()
			return err
		}
		at += e.Length
	}
	f, err := w.Close()
	if err != nil {
		return err
	}
	*m.RecordIndex = *f
	return nil
}
