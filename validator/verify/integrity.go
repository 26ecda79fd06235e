package verify

import (
	"encoding/binary"
	"hash/fnv"

	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/pipeline/dedup"
	"github.com/datarefine/refine/submission"
	"github.com/datarefine/refine/taskserver"
)

// CheckManifest checks a submission's manifest, as submission.Fetch read
// it, against the commitment, the committing hotkey and the leased task:
// the commitment must be for the leased task, the manifest must name it
// and the hotkey (submission.CheckOwner), its inputs must be exactly the
// task's WARCs, and it must seal a records file.
// Fetch has already checked the manifest's sha256 prefix against the
// commitment and every sealed file's size and sha256 while it streamed, so
// nothing is read or hashed again here.
func CheckManifest(m *dataset.Manifest, c submission.Commitment, hotkey string, task taskserver.Task) error {
	if c.TaskID != task.ID {
		return Fail(CodeWrongTask, "commitment names task %d, leased task %d", c.TaskID, task.ID)
	}
	if err := submission.CheckOwner(m, c, hotkey); err != nil {
		f, _ := submission.AsFault(err)
		if f.Kind == submission.WrongHotkey {
			return Fail(CodeWrongHotkey, "%v", f.Err)
		}
		return Fail(CodeWrongTask, "%v", f.Err)
	}
	if len(m.Inputs) != len(task.WARCs) {
		return Fail(CodeWrongTask, "manifest has %d inputs, task has %d WARCs", len(m.Inputs), len(task.WARCs))
	}
	for i, in := range m.Inputs {
		if in.Path != task.WARCs[i] {
			return Fail(CodeWrongTask, "input %d is %q, task WARC is %q", i, in.Path, task.WARCs[i])
		}
	}
	if m.Records == nil {
		return Fail(CodeManifest, "manifest seals no records file")
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
