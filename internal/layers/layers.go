// Package layers holds the project's layers, bottom first, and the rule of
// which package may import which. It is the one copy of the table that
// docs/architecture.md describes ("Layers"); TestImports holds the tree to
// it, so a forbidden import fails `go test` naming the import.
//
// The rule: a package may import any package of a lower layer, and a
// package of its own layer only where the layer allows it (every peer, or
// only packages of the same tree, such as validator → validator/verify).
// Only production code is checked: a test may import what it needs to run
// the real thing (a miner's test starts a real task server).
package layers

import (
	"bufio"
	"errors"
	"fmt"
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Peers says which packages of its own layer a package may import.
type Peers int

const (
	// AnyPeer: every package of the same layer.
	AnyPeer Peers = iota
	// SameTree: only packages under the same top folder (validator may
	// import validator/verify, miner may not import validator).
	SameTree
)

// Layer is a set of packages (paths relative to the module root).
type Layer struct {
	Name     string
	Peers    Peers
	Packages []string
}

// Table is the project's layers, bottom first.
var Table = []Layer{
	{Name: "foundations", Peers: AnyPeer, Packages: []string{
		// Small libraries that know nothing of the layers above.
		"internal/buildinfo", "internal/atomicfile", "retry", "wallet", "epistula", "clientip", "sqldb",
		"acceptance", "chain/yuma", "scale", "lm", "lm/eval", "assets", "assets/sample",
	}},
	{Name: "contracts", Peers: AnyPeer, Packages: []string{
		// The interfaces and shared types the rest is written against: the
		// chain client, the dataset store, the task server's API (tasks,
		// leases, reports, request and response bodies), the pipeline's
		// Document, Filter and Runner.
		"chain", "store", "taskapi", "pipeline",
	}},
	{Name: "pipeline steps", Peers: AnyPeer, Packages: []string{
		// FineWeb's steps: no output format, no store, no chain, no task
		// server (pipeline/warc reads WARC files, also over HTTP).
		"pipeline/warc", "pipeline/input", "pipeline/urlfilter", "pipeline/extract",
		"pipeline/extract/dom", "pipeline/langid", "pipeline/words", "pipeline/quality",
		"pipeline/dedup", "pipeline/tokens", "pipeline/pii",
	}},
	{Name: "dataset format", Peers: AnyPeer, Packages: []string{
		// Shards, signatures, manifest, records; the commitment and the
		// fetch of one submission.
		"dataset", "submission",
	}},
	{Name: "refining and clients", Peers: AnyPeer, Packages: []string{
		// The steps wired into `refine process`; the task server's Go client.
		"process", "taskserver/client",
	}},
	{Name: "roles", Peers: SameTree, Packages: []string{
		// One package tree per role; a role uses another only over its
		// public API (the task server through taskserver/client).
		"miner", "validator", "validator/verify", "validator/score",
		"taskserver", "web", "corpus",
	}},
	{Name: "backends", Peers: SameTree, Packages: []string{
		// Implementations of the contracts, chosen only by composition.
		"chain/subtensor", "chain/devchain", "store/local", "store/hub",
		"taskserver/sqlstore",
	}},
	{Name: "test support", Peers: AnyPeer, Packages: []string{
		// Conformance suites, fakes and test data, imported by tests.
		"chain/chaintest", "store/storetest", "store/hub/hubtest", "sqldb/sqldbtest",
		"taskserver/storetest", "taskserver/internal/dbtest", "web/internal/e2etest",
		"internal/attack", "internal/attack/replace", "internal/shareddata",
		"internal/testpages", "internal/layers", "bench/golden",
	}},
	{Name: "composition", Peers: AnyPeer, Packages: []string{
		// What builds a whole program: the backend switches (the one place
		// each chooses a chain or a store), the binary, the devnet,
		// benchmarks.
		"chain/dial", "store/backend", "cmd/refine", "devnet", "bench/build", "bench/dedup", "bench/validator",
		"bench/scale",
	}},
}

// Package is one package of the tree and its production imports of the
// module's own packages (paths relative to the module root).
type Package struct {
	Path    string
	Imports []string
}

// Load reads every package under the module at root, as the go command
// would build it here (build constraints of this platform; test files,
// hidden folders and nested modules left out), and every package of the
// module they import (such as internal/shareddata (formerly internal/testdata), which `./...` skips for
// its folder's name).
func Load(root string) ([]Package, error) {
	module, err := modulePath(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, err
	}
	var pkgs []Package
	loaded := map[string]bool{}
	load := func(rel string) error {
		loaded[rel] = true
		bp, err := build.Default.ImportDir(filepath.Join(root, filepath.FromSlash(rel)), 0)
		if err != nil {
			if _, ok := err.(*build.NoGoError); ok {
				return nil
			}
			return fmt.Errorf("layers: %s: %w", rel, err)
		}
		p := Package{Path: rel}
		for _, imp := range bp.Imports {
			if r, ok := strings.CutPrefix(imp, module+"/"); ok {
				p.Imports = append(p.Imports, r)
			}
		}
		pkgs = append(pkgs, p)
		return nil
	}
	err = filepath.WalkDir(root, func(dir string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() || dir == root {
			return nil
		}
		name := d.Name()
		if name == "testdata" || name == "node_modules" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
			return filepath.SkipDir
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.SkipDir // another module
		}
		rel, err := filepath.Rel(root, dir)
		if err != nil {
			return err
		}
		return load(filepath.ToSlash(rel))
	})
	if err != nil {
		return nil, err
	}
	for i := 0; i < len(pkgs); i++ { // pkgs grows while imported packages load
		for _, imp := range pkgs[i].Imports {
			if !loaded[imp] {
				if err := load(imp); err != nil {
					return nil, err
				}
			}
		}
	}
	return pkgs, nil
}

// modulePath reads the module line of a go.mod file.
func modulePath(gomod string) (string, error) {
	f, err := os.Open(gomod)
	if err != nil {
		return "", fmt.Errorf("layers: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(m), `"`), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("layers: %s: %w", gomod, err)
	}
	return "", fmt.Errorf("layers: %s: no module line", gomod)
}

// Check returns every problem of pkgs against table, one line each: an
// import the table forbids (naming both packages and their layers), a
// package the table does not place, and a package the table names that the
// tree does not have. The table itself must place each package once.
func Check(pkgs []Package, table []Layer) ([]string, error) {
	layerOf := map[string]int{}
	for i, l := range table {
		for _, p := range l.Packages {
			if j, dup := layerOf[p]; dup {
				return nil, fmt.Errorf("layers: %s is in layer %q and in layer %q", p, table[j].Name, l.Name)
			}
			layerOf[p] = i
		}
	}
	var problems []string
	seen := map[string]bool{}
	for _, p := range pkgs {
		seen[p.Path] = true
		from, ok := layerOf[p.Path]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s is in no layer: add it to the table in internal/layers", p.Path))
			continue
		}
		for _, imp := range p.Imports {
			to, ok := layerOf[imp]
			if !ok {
				continue // reported as a package of its own
			}
			if why := forbidden(p.Path, imp, from, to, table); why != "" {
				problems = append(problems, fmt.Sprintf("%s imports %s: %s", p.Path, imp, why))
			}
		}
	}
	for p := range layerOf {
		if !seen[p] {
			problems = append(problems, fmt.Sprintf("%s is in the table (layer %q) but not in the tree", p, table[layerOf[p]].Name))
		}
	}
	slices.Sort(problems)
	return problems, nil
}

// forbidden says why from (in layer i) may not import to (in layer j), or
// "" when it may.
func forbidden(from, to string, i, j int, table []Layer) string {
	switch {
	case j < i:
		return ""
	case j > i:
		return fmt.Sprintf("layer %q may not import the higher layer %q", table[i].Name, table[j].Name)
	case table[i].Peers == AnyPeer || tree(from) == tree(to):
		return ""
	default:
		return fmt.Sprintf("in layer %q a package imports only its own tree", table[i].Name)
	}
}

func tree(path string) string {
	top, _, _ := strings.Cut(path, "/")
	return top
}

// Root finds the module root above dir (the folder with go.mod).
func Root(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", errors.New("layers: no go.mod above " + dir)
		}
		d = parent
	}
}
