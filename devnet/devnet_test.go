package devnet

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/datarefine/refine/assets"
	"github.com/datarefine/refine/internal/testdata"
)

// TestUntilDone runs the whole network — dev chain, task server with the
// website, 3 miners and 2 validators — on a real crawl WARC cut into three
// tasks, until every task is done, scored by both validators, weights are
// set and an epoch has paid out.
func TestUntilDone(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a whole devnet")
	}
	root := testdata.Dir(t)
	assetDir := t.TempDir()
	if err := assets.Import(filepath.Join(root, "filters_dedup", "datatrove_assets"), assetDir, ""); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	sum, err := Run(ctx, Options{
		Dir: dir, Miners: 3, Validators: 2, BlockTime: 250 * time.Millisecond, Tempo: 20,
		WARCs:         []string{filepath.Join(root, "warc", "real_crawls", "dolma_browsertrix_sample-0000.warc.gz")},
		RangesPerWARC: 3, RecordsPerRange: 16,
		AssetsDir: assetDir, UntilDone: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", *sum)
	if !sum.Done {
		t.Fatalf("devnet did not finish: %d/%d tasks done after %d blocks", sum.TasksDone, sum.Tasks, sum.Blocks)
	}
	if sum.Tasks != 3 || sum.TasksDone != 3 || sum.Documents == 0 || sum.Tokens == 0 {
		t.Fatalf("tasks %d/%d, %d documents, %d tokens", sum.TasksDone, sum.Tasks, sum.Documents, sum.Tokens)
	}
	for _, m := range sum.Miners {
		if m.Tasks == 0 {
			continue
		}
		if m.Score <= 0 || m.Incentive <= 0 || m.Emission == 0 {
			t.Errorf("honest miner %s (%d tasks): score %.4f incentive %.4f emission %d", m.Name, m.Tasks, m.Score, m.Incentive, m.Emission)
		}
	}
	for _, v := range sum.Validators {
		if v.Dividends <= 0 {
			t.Errorf("validator %s has no dividends", v.Name)
		}
	}
	// Both validators gave every submission the same score.
	if len(sum.Agreement) == 0 {
		t.Fatal("no scores compared")
	}
	for task, scores := range sum.Agreement {
		if len(scores) != 2 || scores[0] != scores[1] {
			t.Errorf("task %d: validators' scores differ: %v", task, scores)
		}
	}
}
