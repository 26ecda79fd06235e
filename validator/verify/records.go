package verify

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/taskapi"
)

// maxRecordLine bounds one records.jsonl line (an id, a WARC name, numbers).
const maxRecordLine = 64 << 10

// ref is one document's record reference, as records.jsonl gives it.
type ref struct {
	ID     string
	WARC   int // index in the task's WARCs
	Offset int64
	Entry  int // its record's entry in the record index (readIndex)
}

// readRecords reads records.jsonl, the cheapest whole-submission check, before
// any shard is decoded: one line per document (at most rows), each naming a
// unique id, its shard and row in manifest order, a WARC of the task and an
// offset inside the task's byte range; and the (WARC, offset) pairs strictly
// increasing, as the pipeline writes them (one document per record, in
// input order). So no two documents cite one record, and a submission holds
// at most as many documents as its task has records.
func readRecords(ctx context.Context, dir string, m *dataset.Manifest, task taskapi.Task, rows int64) ([]ref, error) {
	if m.Documents < 0 || m.Documents > rows {
		return nil, Fail(CodeTooLarge, "manifest claims %d documents, the task allows %d", m.Documents, rows)
	}
	warcs := map[string]int{}
	for i, w := range task.WARCs {
		warcs[w] = i
	}
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(m.Records.Path)))
	if err != nil {
		return nil, Fail(CodeRecords, "open records: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), maxRecordLine)
	out := make([]ref, 0, m.Documents)
	ids := make(map[string]bool, m.Documents)
	shard, row := 0, int64(0)
	for sc.Scan() {
		n := len(out)
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if int64(n) >= m.Documents {
			return nil, Fail(CodeRecords, "more record lines than the manifest's %d documents", m.Documents)
		}
		var r dataset.RecordRef
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, Fail(CodeRecords, "line %d: %v", n+1, err)
		}
		for shard < len(m.Shards) && row >= m.Shards[shard].Documents {
			shard, row = shard+1, 0
		}
		switch w, ok := warcs[r.WARC]; {
		case r.ID == "":
			return nil, Fail(CodeRecords, "line %d has no id", n+1)
		case ids[r.ID]:
			return nil, Fail(CodeDuplicates, "id %s appears twice", r.ID)
		case r.Shard != shard || r.Row != row:
			return nil, Fail(CodeRecords, "line %d places %s at shard %d row %d, the manifest's counts at shard %d row %d", n+1, r.ID, r.Shard, r.Row, shard, row)
		case !ok:
			return nil, Fail(CodeWrongTask, "document %s cites WARC %q, not one of the task's", r.ID, r.WARC)
		case r.Offset < 0:
			return nil, Fail(CodeRecords, "document %s has offset %d", r.ID, r.Offset)
		case len(task.WARCs) == 1 && (r.Offset < task.ByteStart || task.ByteEnd > 0 && r.Offset >= task.ByteEnd):
			return nil, Fail(CodeWrongTask, "document %s cites offset %d, outside the task's byte range [%d, %d)", r.ID, r.Offset, task.ByteStart, task.ByteEnd)
		case n > 0 && (w < out[n-1].WARC || w == out[n-1].WARC && r.Offset <= out[n-1].Offset):
			return nil, Fail(CodeRecords, "document %s cites %s@%d, not after the previous document's record", r.ID, r.WARC, r.Offset)
		default:
			ids[r.ID] = true
			out = append(out, ref{ID: r.ID, WARC: w, Offset: r.Offset})
			row++
		}
	}
	if err := sc.Err(); err != nil {
		return nil, Fail(CodeRecords, "read records: %v", err)
	}
	if int64(len(out)) != m.Documents {
		return nil, Fail(CodeRecords, "%d record lines for the manifest's %d documents", len(out), m.Documents)
	}
	return out, nil
}
