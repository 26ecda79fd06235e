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
)

// Shards turns the submission in dir (described by m, which is
// updated) into a bomb: its shards become one hostile shard of rows rows
// written by write (ids id0, id1, …, each claiming perRow tokens), and
// records.jsonl gets matching, plausible lines (increasing offsets from
// byteStart in the manifest's first input), so that the bomb passes every
// check that does not decode it. The caller re-seals the manifest.
func Shards(dir string, m *dataset.Manifest, rows int, perRow, byteStart int64, write func(path string) error) error {
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
		b, err := json.Marshal(dataset.RecordRef{ID: fmt.Sprintf("id%d", i), Shard: 0, Row: int64(i), WARC: m.Inputs[0].Path, Offset: byteStart + int64(i)})
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
	return nil
}
