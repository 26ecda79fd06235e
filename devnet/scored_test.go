package devnet

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/datarefine/refine/assets"
	"github.com/datarefine/refine/internal/shareddata"
)

// TestEveryTaskScored runs a devnet of 12 record-range tasks of a real
// WARC with 3 miners (each doing several tasks, committing a block apart,
// faster than the validators' rounds) and 2 validators, until done: every
// task must end accepted and scored by both validators alike, and every
// miner that did work must be paid. Before validators read the chain's
// commitment history and the task server's submissions, a commitment
// overwritten within a validator round was never evaluated: such a devnet
// scored 5 of 12 tasks.
func TestEveryTaskScored(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a whole devnet")
	}
	root := shareddata.Dir(t)
	assetDir := t.TempDir()
	if err := assets.Import(filepath.Join(root, "filters_dedup", "datatrove_assets"), assetDir, ""); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sum, err := Run(ctx, Options{
		Dir: t.TempDir(), Miners: 3, Validators: 2, BlockTime: 250 * time.Millisecond, Tempo: 20,
		WARCs:         []string{filepath.Join(root, "warc", "real_crawls", "dolma_browsertrix_sample-0000.warc.gz")},
		RangesPerWARC: 12, RecordsPerRange: 4,
		AssetsDir: assetDir, UntilDone: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", *sum)
	if !sum.Done || sum.Tasks < 12 || sum.TasksDone != sum.Tasks {
		t.Fatalf("not every task done: %d/%d after %d blocks", sum.TasksDone, sum.Tasks, sum.Blocks)
	}
	var positive int64
	for id := int64(1); id <= sum.Tasks; id++ {
		scores, ok := sum.Agreement[id]
		if !ok || len(scores) != 2 || scores[0] != scores[1] {
			t.Errorf("task %d: validators' scores %v, want one from each, equal", id, scores)
		}
		if ok && scores[0] > 0 {
			positive++
		}
	}
	if positive < sum.Tasks/2 {
		t.Errorf("only %d of %d tasks scored above zero", positive, sum.Tasks)
	}
	most, done := 0, 0
	for _, m := range sum.Miners {
		most, done = max(most, m.Tasks), done+m.Tasks
		if m.Tasks > 0 && (m.Incentive <= 0 || m.Emission == 0) {
			t.Errorf("honest miner %s (%d tasks) unpaid: incentive %.4f emission %d", m.Name, m.Tasks, m.Incentive, m.Emission)
		}
	}
	if done < int(sum.Tasks) || most < 2 {
		t.Errorf("miners completed %d tasks, at most %d each: want every task and several per miner", done, most)
	}
}
