package devnet

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/datarefine/refine/assets"
	"github.com/datarefine/refine/internal/testdata"
)

// TestEveryTaskScored runs a devnet of 12 record-range tasks over the two
// real WARCs, with 3 miners (so several tasks each, committed a block
// apart, faster than the validators' rounds) and 2 validators, until done:
// every task must end accepted and scored by both validators, and every
// miner that completed work must be paid for each of its submissions.
// Before the validators read the chain's commitment history and the task
// server's submissions, a miner's commitment overwritten within a round was
// never evaluated, and such a devnet scored 5 of 12 tasks.
func TestEveryTaskScored(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a whole devnet")
	}
	root := testdata.Dir(t)
	assetDir := t.TempDir()
	if err := assets.Import(filepath.Join(root, "filters_dedup", "datatrove_assets"), assetDir, ""); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	sum, err := Run(ctx, Options{
		Dir: dir, Miners: 3, Validators: 2, BlockTime: 250 * time.Millisecond, Tempo: 20,
		WARCs:         []string{filepath.Join(root, "warc", "real_crawls")},
		RangesPerWARC: 6, RecordsPerRange: 7,
		AssetsDir: assetDir, UntilDone: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", *sum)
	if !sum.Done || sum.Tasks < 12 || sum.TasksDone != sum.Tasks {
		t.Fatalf("not every task done: %d/%d after %d blocks", sum.TasksDone, sum.Tasks, sum.Blocks)
	}
	for id := int64(1); id <= sum.Tasks; id++ {
		scores := sum.Agreement[id]
		if len(scores) != 2 || scores[0] <= 0 || scores[1] != scores[0] {
			t.Errorf("task %d: validators' scores %v, want both positive and equal", id, scores)
		}
	}
}
