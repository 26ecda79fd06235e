package verify

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/fnv"
	"os"
	"path/filepath"
	"strconv"

	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/pipeline/dedup"
	"github.com/datarefine/refine/submission"
	"github.com/datarefine/refine/taskapi"
)

// MaxManifestBytes bounds the manifest a validator parses.
const MaxManifestBytes = 4 << 20

// CheckManifest reads dir's manifest and checks it against the commitment
// (sha256 prefix), the committing hotkey and the leased task: the manifest
// must name the task (its decimal id) and the hotkey, and its inputs must be
// exactly the task's WARCs. It returns the manifest and its full sha256.
func CheckManifest(dir string, c submission.Commitment, hotkey string, task taskapi.Task) (*dataset.Manifest, string, error) {
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
