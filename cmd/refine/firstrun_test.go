//go:build unix

package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/datarefine/refine/assets/sample"
	"github.com/datarefine/refine/dataset"
)

// These tests run the binary as a user does — a new process, in an empty
// folder, with HOME, the XDG folders, the asset and data folders and TMPDIR
// all empty scratch folders, and no shared test data — and check what it
// leaves behind as well as its exit status and message.

// userEnv is a first-run environment under root.
type userEnv struct {
	root, cwd, home, tmp string
	env                  []string
}

func newUserEnv(t *testing.T) *userEnv {
	t.Helper()
	root := t.TempDir()
	u := &userEnv{root: root, cwd: filepath.Join(root, "cwd"), home: filepath.Join(root, "home"), tmp: filepath.Join(root, "tmp")}
	for _, d := range []string{u.cwd, u.home, u.tmp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	u.env = append(os.Environ(),
		envRunAsMain+"=1",
		"HOME="+u.home,
		"XDG_CACHE_HOME=", "XDG_DATA_HOME=", "XDG_CONFIG_HOME=",
		"REFINE_ASSETS=", envData+"=",
		"TMPDIR="+u.tmp,
	)
	return u
}

// run runs refine with args in the user's current folder and returns its
// output and exit status.
func (u *userEnv) run(t *testing.T, timeout time.Duration, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, self, args...)
	var out, errb bytes.Buffer
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = u.cwd, u.env, &out, &errb
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("refine %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), code
}

// files lists the files under dir, relative to it.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// TestBadInputsCLI runs each bad input of a first run and checks that it
// is a clear error naming what was wrong, exits non-zero and leaves nothing
// behind: not in the current folder, not in the data, cache or temporary
// folders.
func TestBadInputsCLI(t *testing.T) {
	u := newUserEnv(t)
	inputs := filepath.Join(u.root, "inputs")
	os.MkdirAll(inputs, 0o755)
	// A gzip file that is not a WARC, under a WARC's name.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("a gzip file of notes, not a WARC\n"))
	zw.Close()
	notWARC := filepath.Join(inputs, "notes.warc.gz")
	os.WriteFile(notWARC, gz.Bytes(), 0o644)
	// A port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + ln.Addr().String() + "/crawl-data/CC-MAIN-2024-10/x.warc.gz"
	ln.Close()
	// An output folder that already holds something.
	full := filepath.Join(u.root, "full")
	os.MkdirAll(full, 0o755)
	os.WriteFile(filepath.Join(full, "mine.txt"), []byte("mine"), 0o644)
	samplePath, err := sample.Write(inputs)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		args []string
		want []string // in stderr
	}{
		{"non-WARC gzip", []string{"process", "--input", notWARC, "--output", "out", "--decisions", "out/decisions.jsonl"},
			[]string{"notes.warc.gz", "no readable WARC record"}},
		{"unreachable URL", []string{"process", "--input", deadURL, "--output", "out/nested"},
			[]string{deadURL}},
		{"missing input", []string{"process", "--input", filepath.Join(inputs, "absent.warc.gz"), "--output", "out"},
			[]string{"absent.warc.gz", "no such file"}},
		{"non-empty output", []string{"process", "--input", samplePath, "--output", full},
			[]string{full, "not empty"}},
		{"bad dump", []string{"process", "--input", samplePath, "--output", "out", "--dump", "../x"},
			[]string{"--dump", `"../x"`}},
		{"web without a task server", []string{"web", "--listen", "127.0.0.1:0"},
			[]string{"--taskserver", "public API"}},
		{"web with an unreachable task server", []string{"web", "--listen", "127.0.0.1:0", "--taskserver", "http://127.0.0.1:1"},
			[]string{"--taskserver http://127.0.0.1:1"}},
		{"import from a missing folder", []string{"assets", "import", filepath.Join(inputs, "nothing")},
			[]string{"nothing", "not a folder"}},
		{"devnet ranges without a size", []string{"devnet", "--warc", samplePath, "--ranges", "3"},
			[]string{"--ranges 3", "--records-per-range"}},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			_, stderr, code := u.run(t, time.Minute, tc.args...)
			if code == 0 {
				t.Fatalf("exit status 0; stderr:\n%s", stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			for _, dir := range []string{u.cwd, u.home, u.tmp} {
				if left := files(t, dir); len(left) > 0 {
					t.Errorf("left behind in %s: %v", dir, left)
				}
			}
			if left := files(t, full); len(left) != 1 || left[0] != "mine.txt" {
				t.Errorf("the refused output folder now holds %v", left)
			}
		})
	}
}

// TestDevnetNotDoneCLI: --until-done that runs out of --duration says so,
// exits non-zero, still prints the summary and removes its temporary folder.
func TestDevnetNotDoneCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a devnet")
	}
	u := newUserEnv(t)
	stdout, stderr, code := u.run(t, 2*time.Minute, "devnet", "--until-done", "--duration", "1s", "--listen", "127.0.0.1:0", "--miners", "1", "--validators", "1")
	if code == 0 {
		t.Fatalf("exit status 0; stdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	if !strings.Contains(stderr, "not done after 1s") || !strings.Contains(stderr, "--duration") {
		t.Errorf("stderr does not say the run is not done:\n%s", stderr)
	}
	for _, w := range []string{"--duration passed", "Miner1", "Validator1", "where everything went", "now removed"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("stdout lacks %q:\n%s", w, stdout)
		}
	}
	for _, dir := range []string{u.cwd, u.home, u.tmp} {
		if left := files(t, dir); len(left) > 0 {
			t.Errorf("left behind in %s: %v", dir, left)
		}
	}
}

// TestFirstRunDefaults: a first run of the commands that write databases
// and datasets puts them where their defaults say — the data folder, the
// given output — never into the current folder; refine process without
// --dump writes the documented data/<dump>/ layout with the dump filled in.
func TestFirstRunDefaults(t *testing.T) {
	u := newUserEnv(t)
	warcs := filepath.Join(u.root, "warcs")
	samplePath, err := sample.Write(warcs)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(u.root, "out")
	stdout, stderr, code := u.run(t, time.Minute, "process", "--input", samplePath, "--output", out, "--workers", "2", "--no-progress")
	if code != 0 {
		t.Fatalf("process: exit %d\n%s", code, stderr)
	}
	m, err := dataset.ReadManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	if m.Dump != "local" || len(m.Shards) != 1 || m.Shards[0].Path != "data/local/00000.parquet" || m.Documents == 0 {
		t.Errorf("manifest: dump %q, shards %+v, %d documents; stdout %s", m.Dump, m.Shards, m.Documents, stdout)
	}
	if err := dataset.ReadAll(out, m, func(_ int, _ int64, d dataset.Doc) error {
		if d.Dump != "local" {
			t.Errorf("document %s: dump %q", d.ID, d.Dump)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	if _, stderr, code := u.run(t, time.Minute, "taskserver", "import", warcs); code != 0 {
		t.Fatalf("taskserver import: exit %d\n%s", code, stderr)
	}
	dataDB := filepath.Join(u.home, ".local", "share", "refine", "taskserver.db")
	if _, err := os.Stat(dataDB); err != nil {
		t.Fatalf("taskserver import did not write the data folder's database: %v", err)
	}
	if left := files(t, u.cwd); len(left) > 0 {
		t.Errorf("left in the current folder: %v", left)
	}
	if _, err := os.Stat(filepath.Join(u.home, ".cache", "refine", "assets")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("process wrote into the asset folder: %v", err)
	}
}

// TestHelpValueNames: no flag's help shows a sentence as its value name
// (pflag takes a `backquoted` word of the usage as the value's name:
// "--assets refine assets fetch"); every value name is one word.
func TestHelpValueNames(t *testing.T) {
	root := newRootCommand()
	word := regexp.MustCompile(`^[a-zA-Z0-9.]*$`)
	walkCommands(root, func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			name, _ := pflag.UnquoteUsage(f)
			if strings.Contains(f.Usage, "`") || !word.MatchString(name) {
				t.Errorf("%s --%s: value name %q (usage %q)", c.CommandPath(), f.Name, name, f.Usage)
			}
		})
	})
}

// TestReadableLogNumbers: logs round floats and durations for people, in
// both formats, whatever the command.
func TestReadableLogNumbers(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{213.88041090704544, "213.9"}, {0.8341234, "0.8341"}, {12345.678, "12345.7"}, {0, "0"}, {2, "2"}, {0.000123456, "0.0001235"},
	} {
		for _, format := range []string{"text", "json"} {
			var b bytes.Buffer
			newLogger(&b, slog.LevelInfo, format).Info("progress", "docs_per_s", tc.v, "took", 1234567891*time.Nanosecond)
			line := b.String()
			sep := "="
			if format == "json" {
				sep = `":`
			}
			if !strings.Contains(line, "docs_per_s"+sep+tc.want+map[string]string{"text": " ", "json": ","}[format]) {
				t.Errorf("%s: %v logged as %s", format, tc.v, line)
			}
			// JSON writes durations in nanoseconds, rounded all the same.
			if !strings.Contains(line, map[string]string{"text": "took=1.235s", "json": `"took":1235000000`}[format]) {
				t.Errorf("%s: duration logged as %s", format, line)
			}
		}
	}
}
