package corpus

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/datarefine/refine/store/local"
)

// TestKillHelper is the build process TestBuildKillResume kills: it runs
// only when that test starts it.
func TestKillHelper(t *testing.T) {
	work := os.Getenv("CORPUS_KILL_WORK")
	if work == "" {
		t.Skip("run by TestBuildKillResume")
	}
	st, err := local.New(os.Getenv("CORPUS_KILL_STORE"))
	if err != nil {
		t.Fatal(err)
	}
	opts := testOptions(t, work, Folders(strings.Split(os.Getenv("CORPUS_KILL_INPUTS"), ",")), st)
	if _, err := Build(context.Background(), opts); err != nil && !errors.Is(err, ErrUpToDate) {
		t.Fatal(err)
	}
}

// TestBuildKillResume kills a build process with SIGKILL at random moments
// until a run finishes: the dataset it publishes is byte for byte the one
// an uninterrupted build publishes.
func TestBuildKillResume(t *testing.T) {
	if testing.Short() {
		t.Skip("starts build processes")
	}
	root := t.TempDir()
	f := newFixtureRuns(t, filepath.Join(root, "in"), 4, 40)
	inputs := strings.Join(f.dirs, ",")
	helper := func(work, storeDir string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), "CORPUS_KILL_WORK="+work, "CORPUS_KILL_STORE="+storeDir, "CORPUS_KILL_INPUTS="+inputs)
		return cmd
	}
	// The uninterrupted build, timed.
	refWork, refStore := filepath.Join(root, "ref"), filepath.Join(root, "refstore")
	start := time.Now()
	if out, err := helper(refWork, refStore).CombinedOutput(); err != nil {
		t.Fatalf("reference build: %v\n%s", err, out)
	}
	full := time.Since(start)
	want := snapshot(t, filepath.Join(refWork, "dataset"))
	wantRes, err := LastResult(refWork)
	if err != nil {
		t.Fatal(err)
	}

	work, storeDir := filepath.Join(root, "killed"), filepath.Join(root, "killedstore")
	r := rand.New(rand.NewPCG(17, 4))
	kills := 0
	stages := map[string]int{}
	for attempt := 0; ; attempt++ {
		if attempt > 80 {
			t.Fatal("the build never finished between kills")
		}
		cmd := helper(work, storeDir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		// Kill right after the run has written a random few more files
		// (a unit's outputs, a marker, a shard): progress, not the clock,
		// picks the moment, so kills spread over the stages however loaded
		// the machine is. After 40 attempts one run is left alone.
		if attempt < 40 {
			target := countFiles(work) + 1 + r.IntN(20)
			killed := false
		watch:
			for {
				select {
				case err := <-done:
					if err != nil {
						t.Fatalf("build run %d failed: %v", attempt, err)
					}
					break watch
				case <-time.After(2 * time.Millisecond):
					if countFiles(work) >= target {
						if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
							t.Fatal(err)
						}
						if err := <-done; err == nil {
							break watch // it had just finished
						}
						killed = true
						break watch
					}
				}
			}
			if killed {
				kills++
				stages[stageReached(t, work)]++
				continue
			}
		} else if err := <-done; err != nil {
			t.Fatalf("last build run failed: %v", err)
		}
		if res, err := LastResult(work); err == nil && res.Build == 1 {
			break
		}
	}
	if kills < 5 || len(stages) < 3 {
		t.Fatalf("only %d runs were killed mid-build, in stages %v", kills, stages)
	}
	got := snapshot(t, filepath.Join(work, "dataset"))
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after %d kills the dataset differs from the uninterrupted build:\n%v\n%v", kills, got, want)
	}
	checkBuild(t, f, filepath.Join(work, "dataset"), 3)
	res, err := LastResult(work)
	if err != nil {
		t.Fatal(err)
	}
	// The revision is content-addressed over (parent, message, files): the
	// same unless a kill fell between the store's answer and its marker,
	// when a second, identical commit follows the first.
	st, _ := local.New(storeDir)
	ref, _ := local.New(refStore)
	a, err := st.List(context.Background(), "owner/corpus", res.Revision)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ref.List(context.Background(), "owner/corpus", wantRes.Revision)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("published files differ:\n%v\n%v", a, b)
	}
	t.Logf("kills by the stage they interrupted: %v", stages)
	t.Logf("%d kills over a %.2fs build; revisions %s / %s", kills, full.Seconds(), res.Revision[:12], wantRes.Revision[:12])
}

// stageReached names the first stage of build 1 whose units are not all
// complete in work ("done" once committed).
func stageReached(t *testing.T, work string) string {
	l := layout{work}
	if exists(l.state()) {
		return "done"
	}
	var p Plan
	if ok, _ := readJSON(l.plan(1), &p); !ok {
		return "plan"
	}
	for i := range p.Inputs {
		if !exists(l.fetchDone(1, i)) {
			return "fetch"
		}
	}
	n := func(glob string) int {
		m, _ := filepath.Glob(filepath.Join(l.build(1), glob))
		return len(m)
	}
	switch {
	case n("bucket/*/*.json") < 2*14:
		return "bucket"
	case n("cluster/*.json") < 2:
		return "cluster"
	case !exists(l.publishDone(1)):
		if n("write/data/*/*.json") == 0 {
			return "write"
		}
		return "write/publish"
	}
	return "publish"
}

// countFiles counts the finished files under dir (not the temporary ones
// a write renames into place when done).
func countFiles(dir string) int {
	n := 0
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasPrefix(d.Name(), ".") && !strings.HasSuffix(d.Name(), ".tmp-") {
			n++
		}
		return nil
	})
	return n
}
