package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/datarefine/refine/dataset"
)

// slurmCluster is a one-node Slurm cluster (munged, slurmctld, slurmd)
// started by a test in a folder of its own, on free ports, with its own
// munge socket: nothing of the machine's own configuration is used.
type slurmCluster struct {
	dir  string
	conf string
}

// startSlurm starts the cluster, or skips the test with the reason when
// Slurm cannot run here (outside CI; under CI=true it fails instead).
func startSlurm(t *testing.T) *slurmCluster {
	t.Helper()
	unavailable := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if os.Getenv("CI") == "true" {
			t.Fatalf("Slurm test under CI: %s (.ci/run installs slurm-wlm and munge and runs as root)", msg)
		}
		t.Skipf("no Slurm: %s (apt-get install slurm-wlm munge, and run as root)", msg)
	}
	for _, bin := range []string{"munged", "munge", "slurmctld", "slurmd", "sbatch", "sinfo", "runuser"} {
		if _, err := exec.LookPath(bin); err != nil {
			for _, d := range []string{"/usr/sbin", "/usr/bin"} {
				if _, err2 := os.Stat(filepath.Join(d, bin)); err2 == nil {
					err = nil
					break
				}
			}
			if err != nil {
				unavailable("%s not found", bin)
			}
		}
	}
	if os.Geteuid() != 0 {
		unavailable("the daemons must start as root")
	}
	if _, err := os.Stat("/etc/munge/munge.key"); err != nil {
		unavailable("no munge key: %v", err)
	}
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	host, _, _ = strings.Cut(host, ".")
	// The munge user must reach its socket folder: not under t.TempDir(),
	// whose parents are private to root.
	dir, err := os.MkdirTemp("", "refine-slurm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mdir := filepath.Join(dir, "munge")
	for _, d := range []string{mdir, filepath.Join(dir, "state"), filepath.Join(dir, "spool")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := exec.Command("chown", "munge:munge", mdir).Run(); err != nil {
		t.Fatalf("chown munge: %v", err)
	}
	sock := filepath.Join(mdir, "munge.socket")
	c := &slurmCluster{dir: dir, conf: filepath.Join(dir, "slurm.conf")}
	stop := func(pidFile string) {
		b, err := os.ReadFile(pidFile)
		if err != nil {
			return
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
			syscall.Kill(pid, syscall.SIGTERM)
		}
	}
	run := func(name string, args ...string) {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	run("runuser", "-u", "munge", "--", "munged", "--socket="+sock, "--pid-file="+filepath.Join(mdir, "munged.pid"),
		"--log-file="+filepath.Join(mdir, "munged.log"), "--seed-file="+filepath.Join(mdir, "seed"))
	t.Cleanup(func() { stop(filepath.Join(mdir, "munged.pid")) })

	memMB := 1024
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			memMB = kb / 1024 / 2
		}
	}
	conf := fmt.Sprintf(`ClusterName=refinetest
SlurmctldHost=%[1]s
SlurmUser=root
SlurmdUser=root
SlurmctldPort=%[2]d
SlurmdPort=%[3]d
AuthType=auth/munge
AuthInfo=socket=%[4]s
CredType=cred/munge
StateSaveLocation=%[5]s/state
SlurmdSpoolDir=%[5]s/spool
SlurmctldPidFile=%[5]s/slurmctld.pid
SlurmdPidFile=%[5]s/slurmd.pid
SlurmctldLogFile=%[5]s/slurmctld.log
SlurmdLogFile=%[5]s/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1,bf_interval=1,batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
NodeName=%[1]s CPUs=%[6]d RealMemory=%[7]d State=UNKNOWN
PartitionName=debug Nodes=%[1]s Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
`, host, freePort(t), freePort(t), sock, dir, runtime.NumCPU(), memMB)
	if err := os.WriteFile(c.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	run("slurmctld", "-f", c.conf, "-i")
	t.Cleanup(func() { stop(filepath.Join(dir, "slurmctld.pid")) })
	run("slurmd", "-f", c.conf)
	t.Cleanup(func() { stop(filepath.Join(dir, "slurmd.pid")) })
	// Wait for the node to be idle.
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, _ := c.command("sinfo", "-h", "-o", "%T").CombinedOutput()
		if strings.TrimSpace(string(out)) == "idle" {
			return c
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "slurmctld.log"))
			dlog, _ := os.ReadFile(filepath.Join(dir, "slurmd.log"))
			t.Fatalf("Slurm node not idle after 60 s (sinfo: %q)\nslurmctld.log:\n%s\nslurmd.log:\n%s", out, log, dlog)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (c *slurmCluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "SLURM_CONF="+c.conf)
	return cmd
}

// writeSlurmInputs writes three dataset folders over two dumps; the second
// and third repeat documents of the earlier ones with a word changed.
func writeSlurmInputs(t *testing.T, root string) []string {
	t.Helper()
	var dirs []string
	var texts []string
	for in := range 3 {
		dir := filepath.Join(root, fmt.Sprintf("in%d", in))
		w, err := dataset.NewWriter(dataset.WriterOptions{Dir: dir, MaxShardDocs: 25})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 80 {
			text := randomWords(in*1000+i, 50+i%30)
			if in > 0 && i%5 == 0 {
				src := texts[(i*7)%len(texts)]
				text = src[:len(src)-2] + "zz"
			}
			texts = append(texts, text)
			d := dataset.Doc{Text: text, ID: fmt.Sprintf("in%d-%d", in, i), Dump: []string{"CC-MAIN-2024-10", "CC-MAIN-2024-18"}[i%2],
				URL: "https://example.org/", Language: "en", LanguageScore: 0.9, TokenCount: int64(50 + i%30)}
			if err := w.Write(&d, "x.warc.gz", int64(i)); err != nil {
				t.Fatal(err)
			}
		}
		shards, records, err := w.Close()
		if err != nil {
			t.Fatal(err)
		}
		m := &dataset.Manifest{Format: dataset.Format, PipelineVersion: "test", Hotkey: fmt.Sprintf("5Miner%d", in),
			Inputs: []dataset.Input{}, Assets: []dataset.Asset{}, Shards: shards, Records: records}
		if _, err := dataset.WriteManifest(dir, m); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, dir)
	}
	return dirs
}

// treeHashes maps every file under dir to its sha256.
func treeHashes(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDatasetBuildOnSlurm runs `refine dataset build` on a real one-node
// Slurm cluster: each stage an sbatch job (fetch, bucket, cluster and
// write arrays of 4 ranks, each depending on the previous stage with
// afterok), for two builds, and checks that the published dataset is
// byte-identical to the one a single process builds from the same inputs.
func TestDatasetBuildOnSlurm(t *testing.T) {
	c := startSlurm(t)
	root := t.TempDir()
	inputs := writeSlurmInputs(t, filepath.Join(root, "in"))

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(self, filepath.Join(bin, "refine")); err != nil {
		t.Fatal(err)
	}
	logs := filepath.Join(root, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	args := func(work, store string, n int) string {
		a := fmt.Sprintf("--work %s --store local:%s --repo owner/corpus --memory 256MiB --shard-size 6KiB --workers 1 --no-progress", work, store)
		for _, in := range inputs[:n] {
			a += " --input " + in
		}
		return a
	}

	// One process.
	single, singleStore := filepath.Join(root, "single"), filepath.Join(root, "single-store")
	for _, n := range []int{2, 3} {
		var out bytes.Buffer
		o := datasetBuildOptions{Work: single, Inputs: inputs[:n], Store: "local:" + singleStore, Repo: "owner/corpus",
			Stage: "all", Rank: -1, Memory: "256MiB", ShardSize: "6KiB", Workers: 1, Name: "Data Refine Subnet web corpus", License: "odc-by", NoProgress: true}
		if err := runDatasetBuild(context.Background(), o, &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		t.Logf("one process: %s", strings.TrimSpace(out.String()))
	}

	// Slurm: one job per stage, arrays of 4 ranks.
	work, store := filepath.Join(root, "slurm"), filepath.Join(root, "slurm-store")
	env := append(os.Environ(), "SLURM_CONF="+c.conf, envRunAsMain+"=1", "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	sbatch := func(wait bool, dep, array, stage, a string) string {
		t.Helper()
		flags := []string{"--parsable", "--job-name=refine-" + stage, "-o", filepath.Join(logs, stage+"-%A_%a.out")}
		if array != "" {
			flags = append(flags, "--array="+array)
		}
		if dep != "" {
			flags = append(flags, "--dependency=afterok:"+dep, "--kill-on-invalid-dep=yes")
		}
		if wait {
			flags = append(flags, "--wait")
		}
		flags = append(flags, "--wrap", "refine dataset build --stage "+stage+" "+a)
		cmd := exec.Command("sbatch", flags...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("sbatch %s: %v\n%s\n%s", stage, err, out, slurmLogs(logs))
		}
		id, _, _ := strings.Cut(strings.TrimSpace(string(out)), ";")
		return strings.TrimSpace(lastLine(id))
	}
	start := time.Now()
	for _, n := range []int{2, 3} {
		a := args(work, store, n)
		dep := sbatch(false, "", "", "plan", a)
		for _, stage := range []string{"fetch", "bucket", "cluster", "write"} {
			dep = sbatch(false, dep, "0-3", stage, a)
		}
		sbatch(true, dep, "", "publish", a)
	}
	t.Logf("two builds on Slurm in %.1fs (wall clock, shared machine)", time.Since(start).Seconds())
	// Every array task ran as its own rank.
	ranks := map[string]bool{}
	for _, p := range must(filepath.Glob(filepath.Join(logs, "fetch-*.out"))) {
		ranks[filepath.Base(p)[strings.LastIndexByte(filepath.Base(p), '_')+1:]] = true
	}
	if len(ranks) != 4 {
		t.Fatalf("fetch ran as ranks %v, want 4\n%s", ranks, slurmLogs(logs))
	}

	a, b := treeHashes(t, filepath.Join(single, "dataset")), treeHashes(t, filepath.Join(work, "dataset"))
	if len(a) < 8 || fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("Slurm build differs from one process:\n%v\n%v\n%s", a, b, slurmLogs(logs))
	}
	ra, rb := treeHashes(t, filepath.Join(singleStore, "repos")), treeHashes(t, filepath.Join(store, "repos"))
	if fmt.Sprint(ra) != fmt.Sprint(rb) {
		t.Fatalf("published revisions differ:\n%v\n%v", ra, rb)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func lastLine(s string) string {
	sc := bufio.NewScanner(strings.NewReader(s))
	last := ""
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			last = l
		}
	}
	return last
}

// slurmLogs returns the jobs' output, for failure messages.
func slurmLogs(dir string) string {
	var b strings.Builder
	paths, _ := filepath.Glob(filepath.Join(dir, "*.out"))
	for _, p := range paths {
		out, _ := os.ReadFile(p)
		fmt.Fprintf(&b, "== %s\n%s", filepath.Base(p), out)
	}
	return b.String()
}
