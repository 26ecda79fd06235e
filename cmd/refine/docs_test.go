//go:build unix

package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/datarefine/refine/internal/shareddata"
	"github.com/datarefine/refine/wallet"
)

// The documentation is checked against the code three ways, so that it
// cannot rot silently:
//
//   - every flag of every command in the cobra tree is named (--flag) in a
//     document that mentions the command;
//   - every path of the task server's and the website's OpenAPI documents is
//     named, with each of its methods, in the documents;
//   - the shell blocks marked <!-- test:run --> in README.md and docs/ run,
//     as written, against the binary under test.

// repoRoot is the repository root, seen from this package's folder.
var repoRoot = filepath.Join("..", "..")

// doc is one Markdown file of the documentation.
type doc struct {
	path string // relative to the repository root
	text string
}

// readDocs reads README.md and every Markdown file under docs/.
func readDocs(t *testing.T) []doc {
	t.Helper()
	var docs []doc
	add := func(rel string) {
		b, err := os.ReadFile(filepath.Join(repoRoot, rel))
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, doc{path: rel, text: string(b)})
	}
	add("README.md")
	err := filepath.WalkDir(filepath.Join(repoRoot, "docs"), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".md") {
			rel, err := filepath.Rel(repoRoot, p)
			if err != nil {
				return err
			}
			add(filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

// mentionsCommand reports whether text names the command path (e.g.
// "refine chain wait") itself, not only one of its subcommands: an
// occurrence followed by a subcommand's name does not count.
func mentionsCommand(text, path string, subs map[string]bool) bool {
	for i := 0; ; {
		j := strings.Index(text[i:], path)
		if j < 0 {
			return false
		}
		end := i + j + len(path)
		i = end
		if end < len(text) && isWordByte(text[end]) {
			continue // "refine web" inside "refine webhook"
		}
		rest := strings.TrimLeft(text[end:], " ")
		next := rest
		if k := strings.IndexFunc(rest, func(r rune) bool { return !(r == '-' || r >= 'a' && r <= 'z') }); k >= 0 {
			next = rest[:k]
		}
		if !subs[next] {
			return true
		}
	}
}

func isWordByte(c byte) bool {
	return c == '-' || c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// namesFlag reports whether text has --name as a whole flag (not a prefix
// of a longer one such as --db in --db-path).
func namesFlag(text, name string) bool {
	re := regexp.MustCompile(`(^|[^\w-])--` + regexp.QuoteMeta(name) + `([^\w.-]|$)`)
	return re.MatchString(text)
}

// walkCommands calls fn for every user-facing command of the tree.
func walkCommands(c *cobra.Command, fn func(*cobra.Command)) {
	if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
		return
	}
	fn(c)
	for _, sub := range c.Commands() {
		walkCommands(sub, fn)
	}
}

// TestDocsNameEveryFlag checks that each flag a command defines (local or
// persistent; inherited ones are checked at the command defining them) is
// named as --flag in a document that mentions the command.
func TestDocsNameEveryFlag(t *testing.T) {
	docs := readDocs(t)
	root := newRootCommand()
	root.InitDefaultHelpFlag()
	root.InitDefaultVersionFlag()
	var missing []string
	commands := 0
	walkCommands(root, func(c *cobra.Command) {
		commands++
		path := c.CommandPath()
		subs := map[string]bool{}
		for _, s := range c.Commands() {
			subs[s.Name()] = true
		}
		var mentioning []doc
		for _, d := range docs {
			if mentionsCommand(d.text, path, subs) {
				mentioning = append(mentioning, d)
			}
		}
		if len(mentioning) == 0 {
			missing = append(missing, fmt.Sprintf("%s: no document mentions the command", path))
			return
		}
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if f.Name == "help" {
				return
			}
			for _, d := range mentioning {
				if namesFlag(d.text, f.Name) {
					return
				}
			}
			var names []string
			for _, d := range mentioning {
				names = append(names, d.path)
			}
			missing = append(missing, fmt.Sprintf("%s --%s: not in %s", path, f.Name, strings.Join(names, ", ")))
		})
	})
	if commands < 10 {
		t.Fatalf("walked only %d commands; the command tree is not what this test expects", commands)
	}
	if len(missing) > 0 {
		t.Errorf("%d flags or commands are not documented (document each in a guide or docs/cli.md):\n%s",
			len(missing), strings.Join(missing, "\n"))
	}
}

// endpoint is one operation of an OpenAPI document.
type endpoint struct{ method, path string }

// openAPIEndpoints reads the operations of an OpenAPI 3 document from its
// YAML text: the keys of "paths" (two-space indent) and their methods (four).
// A line scan keeps the test free of a YAML dependency; the documents are
// written in that block style.
func openAPIEndpoints(text string) ([]endpoint, error) {
	var eps []endpoint
	inPaths, path := false, ""
	methods := map[string]bool{"get": true, "put": true, "post": true, "delete": true, "patch": true, "head": true, "options": true}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		l := strings.TrimRight(sc.Text(), " \r")
		if l == "" || strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		if !strings.HasPrefix(l, " ") {
			inPaths = l == "paths:"
			continue
		}
		if !inPaths {
			continue
		}
		switch {
		case !strings.HasPrefix(l, "   ") && strings.HasSuffix(l, ":"):
			path = strings.Trim(strings.TrimSuffix(strings.TrimSpace(l), ":"), `"'`)
			if !strings.HasPrefix(path, "/") {
				path = ""
			}
		case strings.HasPrefix(l, "    ") && !strings.HasPrefix(l, "     ") && path != "":
			m := strings.TrimSuffix(strings.TrimSpace(l), ":")
			if methods[m] {
				eps = append(eps, endpoint{strings.ToUpper(m), path})
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(eps) == 0 {
		return nil, fmt.Errorf("no operations under paths:")
	}
	return eps, nil
}

// namesEndpoint reports whether a line of text has the path (whole, not a
// prefix of a longer path) and the method in capitals.
func namesEndpoint(text string, ep endpoint) bool {
	re := regexp.MustCompile(regexp.QuoteMeta(ep.path) + `([^\w/{}.-]|$)`)
	method := regexp.MustCompile(`\b` + ep.method + `\b`)
	for _, l := range strings.Split(text, "\n") {
		if re.MatchString(l) && method.MatchString(l) {
			return true
		}
	}
	return false
}

// TestDocsNameEveryEndpoint checks that every operation of the OpenAPI
// documents in the tree appears as "METHOD … /path" on one line of the docs.
func TestDocsNameEveryEndpoint(t *testing.T) {
	docs := readDocs(t)
	var all strings.Builder
	for _, d := range docs {
		all.WriteString(d.text)
		all.WriteString("\n")
	}
	found := 0
	for _, spec := range []string{"taskserver/openapi.yaml", "web/openapi.yaml"} {
		b, err := os.ReadFile(filepath.Join(repoRoot, spec))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		found++
		eps, err := openAPIEndpoints(string(b))
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		var missing []string
		for _, ep := range eps {
			if !namesEndpoint(all.String(), ep) {
				missing = append(missing, ep.method+" "+ep.path)
			}
		}
		if len(missing) > 0 {
			t.Errorf("%s: %d of %d operations are not in the docs (a line with the method and the path):\n%s",
				spec, len(missing), len(eps), strings.Join(missing, "\n"))
		}
	}
	if found == 0 {
		t.Fatal("no OpenAPI document found")
	}
}

// Markers of runnable blocks: the ```sh block right after the marker line.
const (
	markerRun = "<!-- test:run -->"
	markerEnv = "<!-- test:env -->"
)

// markedBlocks returns the ```sh blocks of text that follow the marker, in
// order.
func markedBlocks(text, marker string) ([]string, error) {
	var blocks []string
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != marker {
			continue
		}
		if i+1 >= len(lines) || strings.TrimSpace(lines[i+1]) != "```sh" {
			return nil, fmt.Errorf("line %d: %s must be followed by a ```sh block", i+1, marker)
		}
		var cur []string
		j := i + 2
		for ; j < len(lines) && strings.TrimSpace(lines[j]) != "```"; j++ {
			cur = append(cur, lines[j])
		}
		if j == len(lines) {
			return nil, fmt.Errorf("line %d: unterminated block", i+1)
		}
		blocks = append(blocks, strings.Join(cur, "\n")+"\n")
		i = j
	}
	return blocks, nil
}

var exportRE = regexp.MustCompile(`^export\s+(.*)$`)

// envNames returns the variables that `export A=… B=…` lines of the
// blocks define.
func envNames(blocks []string) []string {
	var names []string
	for _, b := range blocks {
		for _, l := range strings.Split(b, "\n") {
			m := exportRE.FindStringSubmatch(strings.TrimSpace(l))
			if m == nil {
				continue
			}
			for _, f := range strings.Fields(m[1]) {
				if k, _, ok := strings.Cut(f, "="); ok {
					names = append(names, k)
				}
			}
		}
	}
	return names
}

// TestDocsCommandsRun runs each document's <!-- test:run --> blocks, in one
// shell per document, in a scratch copy of the layout the docs assume (the
// repository root as the working folder, empty, and the shared data at
// ../shared/data). The variables a document defines in its
// <!-- test:env --> blocks get the test's values (a scratch WORK folder,
// WALLET_PATH, DATA = the shared data); any other variable a doc exports is
// an error, so a doc cannot depend on something the test does not know.
// HOME, the XDG folders and the asset and data folders point into the
// scratch folder, empty, so nothing touches the user's wallets, assets or
// databases. "go run ./cmd/refine" (the README's form) runs the binary under
// test, which is built from that same package (no Go build in the test).
//
// The README's main job runs as a new user runs it: with no ../shared at
// all, and no network (HTTP(S) proxies that refuse every connection; the
// devnet talks only on loopback, which Go never proxies). Every document's
// commands must leave the working folder as empty as they found it.
func TestDocsCommandsRun(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on PATH")
	}
	docs := readDocs(t)

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	if err := os.Symlink(self, filepath.Join(bin, "refine")); err != nil {
		t.Fatal(err)
	}

	ran := 0
	for _, d := range docs {
		run, err := markedBlocks(d.text, markerRun)
		if err != nil {
			t.Fatalf("%s: %v", d.path, err)
		}
		if len(run) == 0 {
			continue
		}
		envBlocks, err := markedBlocks(d.text, markerEnv)
		if err != nil {
			t.Fatalf("%s: %v", d.path, err)
		}
		ran++
		t.Run(strings.ReplaceAll(d.path, "/", "_"), func(t *testing.T) {
			// Each document runs in its own scratch folder with its own
			// ports, so they run side by side.
			t.Parallel()
			readme := d.path == "README.md"
			if readme && testing.Short() {
				t.Skip("the README's main job (a whole devnet) is skipped in -short")
			}
			scratch := t.TempDir()
			repo := filepath.Join(scratch, "repo")
			home := filepath.Join(scratch, "home")
			for _, dir := range []string{repo, home} {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			// Only a document that names the shared data ($DATA) gets it;
			// the README must work without it.
			names := envNames(envBlocks)
			data := ""
			if slices.Contains(names, "DATA") {
				data = shareddata.Dir(t)
				if err := os.MkdirAll(filepath.Join(scratch, "shared"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(data, filepath.Join(scratch, "shared", "data")); err != nil {
					t.Fatal(err)
				}
			}
			values := map[string]string{
				"WORK":        filepath.Join(scratch, "work"),
				"WALLET_PATH": filepath.Join(scratch, "wallets"),
				"DATA":        data,
				"CHAIN_PORT":  fmt.Sprint(freePort(t)),
				"TASK_PORT":   fmt.Sprint(freePort(t)),
			}
			env := append(os.Environ(),
				envRunAsMain+"=1",
				"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
				"HOME="+home,
				"XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
				"XDG_DATA_HOME="+filepath.Join(home, ".local", "share"),
				"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
				"TMPDIR="+filepath.Join(scratch, "tmp"),
				"REFINE_ASSETS=",
				envData+"=",
				"BT_WALLET_PATH="+filepath.Join(home, ".bittensor", "wallets"),
				wallet.EnvPassword+"=", // never prompt
			)
			if err := os.MkdirAll(filepath.Join(scratch, "tmp"), 0o755); err != nil {
				t.Fatal(err)
			}
			if readme {
				// No network: every HTTP(S) request outside loopback fails.
				for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"} {
					env = append(env, k+"=http://127.0.0.1:1")
				}
				env = append(env, "NO_PROXY=", "no_proxy=")
			}
			sort.Strings(names)
			for _, n := range names {
				v, ok := values[n]
				if !ok {
					t.Fatalf("%s defines $%s, which this test does not know (use WORK, WALLET_PATH or DATA)", d.path, n)
				}
				env = append(env, n+"="+v)
			}
			// The README's form, go run ./cmd/refine, is the binary under test.
			prelude := `go() { if [ "$1" = run ] && [ "$2" = ./cmd/refine ]; then shift 2; refine "$@"; else command go "$@"; fi; }` + "\n"
			// Output goes to files, not pipes, so that the shell's end is the
			// end of the run even when a doc started servers in the
			// background; the shell gets its own process group, killed
			// afterwards with everything it started.
			outPath, errPath := filepath.Join(scratch, "stdout"), filepath.Join(scratch, "stderr")
			outF, err := os.Create(outPath)
			if err != nil {
				t.Fatal(err)
			}
			defer outF.Close()
			errF, err := os.Create(errPath)
			if err != nil {
				t.Fatal(err)
			}
			defer errF.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, sh, "-e", "-x", "-c", prelude+strings.Join(run, ""))
			cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = repo, env, outF, errF
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
			runErr := cmd.Run()
			if cmd.Process != nil {
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			}
			stdout, _ := os.ReadFile(outPath)
			stderr, _ := os.ReadFile(errPath)
			if runErr != nil {
				t.Fatalf("%s: the <!-- test:run --> blocks failed: %v\nstdout:\n%s\nstderr (commands):\n%s",
					d.path, runErr, stdout, stderr)
			}
			t.Logf("%s:\n%s", d.path, stderr)
			if left, _ := os.ReadDir(repo); len(left) > 0 {
				var names []string
				for _, e := range left {
					names = append(names, e.Name())
				}
				t.Errorf("%s: the commands left files in the current folder: %v", d.path, names)
			}
			if readme {
				// The main job says where everything went, and its temporary
				// folder is gone.
				for _, want := range []string{"tasks done", "where everything went", "website", "now removed"} {
					if !strings.Contains(string(stdout), want) {
						t.Errorf("README main job: the output lacks %q:\n%s", want, stdout)
					}
				}
				if left, _ := os.ReadDir(filepath.Join(scratch, "tmp")); len(left) > 0 {
					t.Errorf("README main job left %d entries in TMPDIR", len(left))
				}
			}
		})
	}
	if ran == 0 {
		t.Fatal("no document has a <!-- test:run --> block")
	}
}

// TestMarkedBlocks checks the block parser on the cases that matter.
func TestMarkedBlocks(t *testing.T) {
	text := "a\n" + markerRun + "\n```sh\necho 1\necho 2\n```\nb\n" + markerRun + "\n```sh\nx\n```\n"
	got, err := markedBlocks(text, markerRun)
	if err != nil || len(got) != 2 || got[0] != "echo 1\necho 2\n" || got[1] != "x\n" {
		t.Errorf("markedBlocks = %q, %v", got, err)
	}
	if _, err := markedBlocks(markerRun+"\ntext\n", markerRun); err == nil {
		t.Error("a marker without a sh block was accepted")
	}
	if _, err := markedBlocks(markerRun+"\n```sh\necho\n", markerRun); err == nil {
		t.Error("an unterminated block was accepted")
	}
	if got := envNames([]string{"export A=1 B=$X/y\nexport C=2\necho D=3\n"}); strings.Join(got, ",") != "A,B,C" {
		t.Errorf("envNames = %v", got)
	}
}

// TestDocMatchers checks the flag, command and endpoint matchers.
func TestDocMatchers(t *testing.T) {
	flags := []struct {
		text, name string
		want       bool
	}{
		{"use --db x", "db", true},
		{"use `--db`", "db", true},
		{"use --db-path", "db", false},
		{"use --wallet.path", "wallet", false},
		{"use --wallet.path", "wallet.path", true},
		{"use ---db", "db", false},
	}
	for _, c := range flags {
		if got := namesFlag(c.text, c.name); got != c.want {
			t.Errorf("namesFlag(%q, %q) = %v", c.text, c.name, got)
		}
	}
	subs := map[string]bool{"wait": true}
	if mentionsCommand("run refine chain wait now", "refine chain", subs) {
		t.Error("a subcommand's mention counted for its parent")
	}
	if !mentionsCommand("refine chain wait, then refine chain --db x", "refine chain", subs) {
		t.Error("the parent's own mention was missed")
	}
	if mentionsCommand("refine webhook", "refine web", nil) {
		t.Error("a longer word counted")
	}
	ep := endpoint{"GET", "/v1/threads/{id}"}
	if namesEndpoint("| `GET /v1/threads/{id}/replies` |", ep) {
		t.Error("a longer path counted")
	}
	if !namesEndpoint("| `GET /v1/threads/{id}` |", ep) || !namesEndpoint("`GET /v1/threads/{id}?limit=`", ep) {
		t.Error("the path was missed")
	}
	if namesEndpoint("| `POST /v1/threads/{id}` |", ep) {
		t.Error("another method counted")
	}
	spec := "openapi: 3.0.3\npaths:\n  /v1/a:\n    get:\n      summary: x\n    post:\n      summary: y\n  \"/v1/b/{id}\":\n    delete:\n      x: 1\ncomponents:\n  schemas:\n    get:\n"
	eps, err := openAPIEndpoints(spec)
	if err != nil || fmt.Sprint(eps) != "[{GET /v1/a} {POST /v1/a} {DELETE /v1/b/{id}}]" {
		t.Errorf("openAPIEndpoints = %v, %v", eps, err)
	}
}

var (
	linkRE    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	headingRE = regexp.MustCompile(`(?m)^#{1,6}\s+(.+?)\s*$`)
)

// anchor is GitHub's anchor of a heading: lower case, punctuation other than
// '-' and '_' dropped, spaces turned into '-'.
func anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127 && r != '—' && r != '–' && r != '→' && r != '×':
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestDocsLinks checks that every relative link of the docs names a file of
// the repository and, with #anchor, a heading of that file.
func TestDocsLinks(t *testing.T) {
	docs := readDocs(t)
	anchors := map[string]map[string]bool{}
	for _, d := range docs {
		a := map[string]bool{}
		for _, m := range headingRE.FindAllStringSubmatch(d.text, -1) {
			a[anchor(m[1])] = true
		}
		anchors[d.path] = a
	}
	checked := 0
	for _, d := range docs {
		for _, m := range linkRE.FindAllStringSubmatch(d.text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, frag, _ := strings.Cut(target, "#")
			path := d.path
			if file != "" {
				path = filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(d.path), file)))
				if _, err := os.Stat(filepath.Join(repoRoot, path)); err != nil {
					t.Errorf("%s: link %s: no file %s", d.path, target, path)
					continue
				}
			}
			checked++
			if frag != "" && anchors[path] != nil && !anchors[path][frag] {
				t.Errorf("%s: link %s: %s has no heading #%s", d.path, target, path, frag)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no relative links found")
	}
}

func TestAnchor(t *testing.T) {
	for h, want := range map[string]string{
		"1. Keys":           "1-keys",
		"API (`/v1`, JSON)": "api-v1-json",
		"Walk-through: a local devchain with wallets": "walk-through-a-local-devchain-with-wallets",
		"Quality (stand-in until issue 9)":            "quality-stand-in-until-issue-9",
	} {
		if got := anchor(h); got != want {
			t.Errorf("anchor(%q) = %q, want %q", h, got, want)
		}
	}
}
