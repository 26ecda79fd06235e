package layers

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestImports holds the whole tree to the layer table: it fails naming
// each forbidden import, each package the table does not place and each
// package the table names that is gone.
func TestImports(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, err := Root(wd)
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 40 {
		t.Fatalf("loaded %d packages from %s; the tree has more", len(pkgs), root)
	}
	problems, err := Check(pkgs, Table)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// TestForbiddenImportReported: a table in which the real tree breaks the
// rule (retry placed below internal/buildinfo, which it imports) is
// reported, naming the import and the layers.
func TestForbiddenImportReported(t *testing.T) {
	root, err := Root(".")
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	table := slices.Clone(Table)
	table[0].Packages = slices.DeleteFunc(slices.Clone(table[0].Packages), func(p string) bool { return p == "internal/buildinfo" })
	table = append([]Layer{{Name: "made up", Peers: AnyPeer, Packages: []string{"retry"}}}, table...)
	table[1].Packages = append(table[1].Packages, "internal/buildinfo")
	table[1].Packages = slices.DeleteFunc(table[1].Packages, func(p string) bool { return p == "retry" })
	problems, err := Check(pkgs, table)
	if err != nil {
		t.Fatal(err)
	}
	want := `retry imports internal/buildinfo: layer "made up" may not import the higher layer "foundations"`
	if !slices.Contains(problems, want) {
		t.Fatalf("problems %q lack %q", problems, want)
	}
}

// TestCheck: the rule on a small tree written here (higher layers, peers,
// same tree, unplaced and stale packages, a package placed twice).
func TestCheck(t *testing.T) {
	root := t.TempDir()
	write := func(rel, src string) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/m\n\ngo 1.26\n")
	pkg := func(rel string, imports ...string) {
		name := filepath.Base(rel)
		src := "package " + name + "\n"
		for _, imp := range imports {
			src += "import _ \"example.com/m/" + imp + "\"\n"
		}
		write(filepath.Join(rel, name+".go"), src)
	}
	pkg("base")
	pkg("lib", "base")
	pkg("a", "lib", "a/sub")
	pkg("a/sub", "lib")
	pkg("b", "a")                                                     // same layer, other tree
	pkg("low", "a")                                                   // lower layer imports higher
	pkg("loose", "base")                                              // in no layer
	write("c/c_test.go", "package c\nimport _ \"example.com/m/a\"\n") // tests are not checked
	write("c/c.go", "package c\n")
	write("testdata/x/x.go", "package x\nimport _ \"example.com/m/a\"\n")

	pkgs, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	table := []Layer{
		{Name: "bottom", Peers: AnyPeer, Packages: []string{"base", "lib", "low"}},
		{Name: "roles", Peers: SameTree, Packages: []string{"a", "a/sub", "b", "c", "gone"}},
	}
	problems, err := Check(pkgs, table)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`b imports a: in layer "roles" a package imports only its own tree`,
		`gone is in the table (layer "roles") but not in the tree`,
		`loose is in no layer: add it to the table in internal/layers`,
		`low imports a: layer "bottom" may not import the higher layer "roles"`,
	}
	if !slices.Equal(problems, want) {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(problems, "\n"), strings.Join(want, "\n"))
	}

	table[1].Packages = append(table[1].Packages, "lib")
	if _, err := Check(pkgs, table); err == nil || !strings.Contains(err.Error(), "lib is in layer") {
		t.Fatalf("a package placed twice: err %v", err)
	}
}

// TestDocTable: the layer table in docs/architecture.md lists the same
// layers, peers and packages as Table, so the doc cannot drift from the
// rule the tree is held to.
func TestDocTable(t *testing.T) {
	root, err := Root(".")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n## Layers\n")
	if !ok {
		t.Fatal("docs/architecture.md has no ## Layers section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var got []Layer
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) != 6 || strings.TrimSpace(cells[1]) == "layer" || strings.HasPrefix(strings.TrimSpace(cells[1]), "---") {
			continue
		}
		l := Layer{Name: strings.TrimSpace(cells[1]), Peers: AnyPeer}
		switch peers := strings.TrimSpace(cells[2]); peers {
		case "all":
		case "own tree":
			l.Peers = SameTree
		default:
			t.Fatalf("layer %q: peers %q (all or own tree)", l.Name, peers)
		}
		for _, p := range strings.Split(cells[3], ",") {
			l.Packages = append(l.Packages, strings.Trim(strings.TrimSpace(p), "`"))
		}
		got = append(got, l)
	}
	if len(got) != len(Table) {
		t.Fatalf("the doc lists %d layers, Table %d", len(got), len(Table))
	}
	for i, want := range Table {
		g := got[i]
		if g.Name != want.Name || g.Peers != want.Peers || !slices.Equal(g.Packages, want.Packages) {
			t.Errorf("layer %d: the doc says %q %v %q, Table %q %v %q", i+1, g.Name, g.Peers, g.Packages, want.Name, want.Peers, want.Packages)
		}
	}
}
