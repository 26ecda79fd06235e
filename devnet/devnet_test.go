package devnet

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestUntilDone runs the whole network — dev chain, task server with the
// website, 3 miners and 2 validators — on its defaults: the sample WARC
// built into the binary cut into three tasks, no asset folder, no shared
// data, until every task is done, scored by both validators, weights are
// set and an epoch has paid out.
func TestUntilDone(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a whole devnet")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	sum, err := Run(ctx, Options{
		Dir: dir, Miners: 3, Validators: 2, BlockTime: 250 * time.Millisecond, Tempo: 20,
		AssetsDir: t.TempDir(), UntilDone: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", *sum)
	if !sum.Done || sum.Ended != "done" {
		t.Fatalf("devnet did not finish (%s): %d/%d tasks done after %d blocks", sum.Ended, sum.TasksDone, sum.Tasks, sum.Blocks)
	}
	if sum.Tasks != 3 || sum.TasksDone != 3 || sum.Documents == 0 || sum.Tokens == 0 || sum.Reports != 6 {
		t.Fatalf("tasks %d/%d, %d reports, %d documents, %d tokens", sum.TasksDone, sum.Tasks, sum.Reports, sum.Documents, sum.Tokens)
	}
	if len(sum.Miners) != 3 || len(sum.Validators) != 2 {
		t.Fatalf("%d miners, %d validators in the summary", len(sum.Miners), len(sum.Validators))
	}
	for _, m := range sum.Miners {
		if m.Emission < m.LastEpochEmission {
			t.Errorf("%s: emission over the run %d < last epoch's %d", m.Name, m.Emission, m.LastEpochEmission)
		}
		if m.Tasks == 0 {
			continue
		}
		if m.Score <= 0 || m.Incentive <= 0 || m.Emission == 0 {
			t.Errorf("honest miner %s (%d tasks): score %.4f incentive %.4f emission %d", m.Name, m.Tasks, m.Score, m.Incentive, m.Emission)
		}
	}
	for _, v := range sum.Validators {
		if v.Dividends <= 0 || v.Emission == 0 {
			t.Errorf("validator %s: dividends %.4f, emission %d", v.Name, v.Dividends, v.Emission)
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
	// Everything the summary names is there, in the given folder, kept.
	w := sum.Where
	if !w.Kept || w.Dir != dir || len(w.ValidatorDBs) != 2 || len(w.Repos) != 3 || !strings.HasPrefix(w.Input, dir) {
		t.Fatalf("where: %+v", w)
	}
	for _, p := range append([]string{w.ChainDB, w.TasksDB, w.WebDB, w.Store, w.Input}, w.ValidatorDBs...) {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("the summary names %s: %v", p, err)
		}
	}
}

// TestNotDone: a run asked to wait until done that runs out of time says
// so with ErrNotDone and a summary of where it stopped, and removes its
// temporary folder.
func TestNotDone(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a devnet")
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sum, err := Run(ctx, Options{Miners: 2, Validators: 1, AssetsDir: t.TempDir(), UntilDone: true, Duration: time.Second})
	if !errors.Is(err, ErrNotDone) || !strings.Contains(err.Error(), "after 1s") {
		t.Fatalf("err = %v, want ErrNotDone after 1s", err)
	}
	if sum == nil || sum.Done || sum.Ended != "duration" || len(sum.Miners) != 2 || sum.Tasks != 3 {
		t.Fatalf("summary: %+v", sum)
	}
	if sum.Where.Kept || !strings.HasPrefix(sum.Where.Dir, tmp) {
		t.Fatalf("where: %+v", sum.Where)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "refine-devnet-*")); len(left) > 0 {
		t.Fatalf("the temporary folder was left: %v", left)
	}
}
