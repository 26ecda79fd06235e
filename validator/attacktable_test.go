package validator

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datarefine/refine/validator/verify"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite the generated tables of docs/mechanism.md")

// TestAttackTable checks that docs/mechanism.md shows the attack table and
// the detection power exactly as verify computes them at the validator's
// default parameters (go test -run TestAttackTable -update-docs rewrites
// them).
func TestAttackTable(t *testing.T) {
	o := Options{}.withDefaults()
	p := verify.DefaultProduction()
	if p.Draws != o.ProvenanceSamples || p.Coverage.Target != o.CoverageSamples || p.Coverage.MaxRecords != o.CoverageRecords ||
		p.MaxMismatch != o.MaxMismatch {
		t.Fatalf("the table's parameters %+v are not the validator's defaults", p)
	}
	path := filepath.Join("..", "docs", "mechanism.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, blk := range []struct{ name, body string }{
		{"attack-table", verify.AttackTable(p)},
		{"power-table", verify.PowerTable(p)},
	} {
		begin, end := "<!-- "+blk.name+":begin -->\n", "<!-- "+blk.name+":end -->"
		i, j := strings.Index(doc, begin), strings.Index(doc, end)
		if i < 0 || j < i {
			t.Fatalf("%s: no %s…%s block", path, begin, end)
		}
		if got := doc[i+len(begin) : j]; got != blk.body {
			if !*updateDocs {
				t.Errorf("%s: the %s differs from what verify computes; run go test ./validator -run TestAttackTable -update-docs\n--- docs\n%s--- computed\n%s", path, blk.name, got, blk.body)
				continue
			}
			doc = doc[:i+len(begin)] + blk.body + doc[j:]
		}
	}
	if *updateDocs {
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
