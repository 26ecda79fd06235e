package verify

import (
	"testing"

	"github.com/datarefine/refine/dataset"
	"github.com/datarefine/refine/submission"
	"github.com/datarefine/refine/taskserver"
)

// TestCheckManifest: a fetched manifest must name the leased task and the
// committing hotkey, list exactly the task's WARCs and seal a records file;
// each lie is rejected with its code. (The manifest's hash and the sealed
// files' hashes are submission.Fetch's to check, once, while streaming.)
func TestCheckManifest(t *testing.T) {
	task := taskserver.Task{ID: 7, WARCs: []string{"crawl-data/a.warc.gz", "crawl-data/b.warc.gz"}}
	c := submission.Commitment{Repo: "m/r", Revision: "0123456789abcdef0123456789abcdef01234567", TaskID: 7, ManifestHash: "0123456789abcdef"}
	good := func() *dataset.Manifest {
		return &dataset.Manifest{Task: "7", Hotkey: "5Miner", Inputs: []dataset.Input{{Path: task.WARCs[0]}, {Path: task.WARCs[1]}},
			Records: &dataset.File{Path: "submissions/7/records.jsonl"}}
	}
	if err := CheckManifest(good(), c, "5Miner", task); err != nil {
		t.Fatalf("honest manifest: %v", err)
	}
	for _, tc := range []struct {
		name   string
		change func(*dataset.Manifest, *submission.Commitment, *string)
		want   Code
	}{
		{"another task in the manifest", func(m *dataset.Manifest, _ *submission.Commitment, _ *string) { m.Task = "8" }, CodeWrongTask},
		{"task id not in decimal", func(m *dataset.Manifest, _ *submission.Commitment, _ *string) { m.Task = "07" }, CodeWrongTask},
		{"commitment for another task", func(_ *dataset.Manifest, c *submission.Commitment, _ *string) { c.TaskID = 8 }, CodeWrongTask},
		{"another hotkey", func(_ *dataset.Manifest, _ *submission.Commitment, hk *string) { *hk = "5Other" }, CodeWrongHotkey},
		{"a WARC missing", func(m *dataset.Manifest, _ *submission.Commitment, _ *string) { m.Inputs = m.Inputs[:1] }, CodeWrongTask},
		{"another WARC", func(m *dataset.Manifest, _ *submission.Commitment, _ *string) {
			m.Inputs[1].Path = "crawl-data/c.warc.gz"
		}, CodeWrongTask},
		{"WARCs swapped", func(m *dataset.Manifest, _ *submission.Commitment, _ *string) {
			m.Inputs[0], m.Inputs[1] = m.Inputs[1], m.Inputs[0]
		}, CodeWrongTask},
		{"no records file", func(m *dataset.Manifest, _ *submission.Commitment, _ *string) { m.Records = nil }, CodeManifest},
	} {
		m, cc, hk := good(), c, "5Miner"
		tc.change(m, &cc, &hk)
		err := CheckManifest(m, cc, hk, task)
		if f, ok := AsFailure(err); !ok || f.Code != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
}
