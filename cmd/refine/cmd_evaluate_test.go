package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datarefine/refine/assets"
	"github.com/datarefine/refine/internal/shareddata"
)

func TestEvaluateRejectsBadFlags(t *testing.T) {
	for _, c := range []struct {
		name string
		o    evaluateOptions
		want string
	}{
		{"no reference", evaluateOptions{dataset: "x", assets: t.TempDir()}, "refine assets fetch"},
		{"bad benchmark", evaluateOptions{dataset: "x", reference: "r.txt", benchmarks: []string{"nopath"}}, "want NAME=PATH"},
	} {
		err := runEvaluate(context.Background(), c.o, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}

// TestEvaluateFindsRegisteredAssets: without flags, evaluate uses the
// registered evaluation data of the asset folder; flags override it.
func TestEvaluateFindsRegisteredAssets(t *testing.T) {
	dir := t.TempDir()
	if n, err := assets.ImportEval(shareddata.Dir(t), dir); err != nil || n != len(assets.Eval) {
		t.Fatalf("import: %d, %v", n, err)
	}
	o := evaluateOptions{assets: dir}
	if err := o.resolveAssets(); err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, filepath.FromSlash(assets.EvalReference)); o.reference != want {
		t.Errorf("reference %q, want %q", o.reference, want)
	}
	if len(o.benchmarks) != len(assets.EvalBenchmarks) || !strings.HasPrefix(o.benchmarks[0], "arc_easy="+dir) {
		t.Errorf("benchmarks %q", o.benchmarks)
	}
	o = evaluateOptions{assets: dir, reference: "other.txt", benchmarks: []string{"none"}}
	if err := o.resolveAssets(); err != nil || o.reference != "other.txt" || len(o.benchmarks) != 0 {
		t.Errorf("flags not honoured: %q %q %v", o.reference, o.benchmarks, err)
	}
}
