package dataset

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/datarefine/refine/pipeline/dedup"
)

// Layout places a dataset's files inside its folder. The zero Layout is a
// standalone dataset folder (what `refine process --output DIR` writes):
//
//	manifest.json
//	records.jsonl
//	index.jsonl (the record index, when every input is a WARC)
//	data/<dump>/NNNNN.parquet, data/<dump>/NNNNN.minhash.sig
//
// SubmissionLayout(T) is one submission in a miner's repository, which
// accumulates submissions as one dataset in FineWeb's layout:
//
//	submissions/T/manifest.json
//	submissions/T/records.jsonl
//	submissions/T/index.jsonl
//	data/<dump>/T_NNNNN.parquet, data/<dump>/T_NNNNN.minhash.sig
//
// Every path is slash-separated and relative to the folder (the repository
// root), and so is every path inside the manifest.
type Layout struct {
	// Task is the submission's task id; 0 is the standalone layout.
	Task int64
}

// SubmissionLayout is the layout of task's submission in a miner's
// repository.
func SubmissionLayout(task int64) Layout { return Layout{Task: task} }

// SubmissionsDir is the folder of a miner's repository that holds one
// folder per submission.
const SubmissionsDir = "submissions"

// SubmissionDir is the folder of task's per-submission files.
func SubmissionDir(task int64) string {
	return SubmissionsDir + "/" + strconv.FormatInt(task, 10)
}

// SubmissionManifestPath is where task's manifest lives in a miner's
// repository: the first (and, until it is checked, only) file a reader of
// the submission fetches.
func SubmissionManifestPath(task int64) string {
	return SubmissionDir(task) + "/" + ManifestName
}

// ManifestPath is the manifest's path in the folder.
func (l Layout) ManifestPath() string {
	if l.Task == 0 {
		return ManifestName
	}
	return SubmissionManifestPath(l.Task)
}

// RecordsPath is the records file's path in the folder.
func (l Layout) RecordsPath() string {
	if l.Task == 0 {
		return RecordsName
	}
	return SubmissionDir(l.Task) + "/" + RecordsName
}

// IndexPath is the record index's path in the folder.
func (l Layout) IndexPath() string {
	if l.Task == 0 {
		return IndexName
	}
	return SubmissionDir(l.Task) + "/" + IndexName
}

// ShardPath is the path of shard n (counted from 0 within the dataset or
// submission) of dump. A submission's shards need a dump: they share
// data/<dump>/ with every other submission of the repository.
func (l Layout) ShardPath(dump string, n int) (string, error) {
	if l.Task == 0 {
		return path.Join(shardDir(dump), fmt.Sprintf("%05d.parquet", n)), nil
	}
	if dump == "" {
		return "", fmt.Errorf("submission of task %d: shard %d has no dump (crawl id) to file it under", l.Task, n)
	}
	return path.Join(shardDir(dump), fmt.Sprintf("%d_%05d.parquet", l.Task, n)), nil
}

// SignaturePath is where the MinHash signature file of a shard lives: next
// to it, with ".parquet" replaced by ".minhash.sig" (the signature file
// format, and so its name, is pipeline/dedup's).
func SignaturePath(shardPath string) string { return dedup.SignaturePath(shardPath) }

// SignatureExt ends a signature file's name.
const SignatureExt = dedup.SignatureExt

// shardDir is the folder of a dump's shards.
func shardDir(dump string) string {
	if dump == "" {
		return "data"
	}
	// A dump name becomes a folder: keep it to safe characters.
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, dump)
	if strings.Trim(clean, ".") == "" {
		clean = strings.Repeat("_", len(clean)) // "." and ".." are not folders of their own
	}
	return "data/" + clean
}
