package dedup

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/datarefine/refine/internal/shareddata"
)

// readGoldenParams parses minhash_params_seed1_112.txt ("a=…" and "b=…" lines).
func readGoldenParams(t *testing.T) (a, b []uint64) {
	t.Helper()
	raw, err := os.ReadFile(shareddata.Path(t, "golden", "minhash_params_seed1_112.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		name, vals, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			t.Fatalf("bad params line %q", line)
		}
		var dst []uint64
		for _, f := range strings.Split(vals, ",") {
			v, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
			if err != nil {
				t.Fatalf("bad value %q: %v", f, err)
			}
			dst = append(dst, v)
		}
		switch name {
		case "a":
			a = dst
		case "b":
			b = dst
		default:
			t.Fatalf("unknown params line %q", name)
		}
	}
	return a, b
}

func TestPermutationsMatchNumpy(t *testing.T) {
	wantA, wantB := readGoldenParams(t)
	gotA, gotB := DefaultConfig().Permutations()
	if len(wantA) != 112 || len(wantB) != 112 {
		t.Fatalf("golden params: %d a, %d b; want 112 each", len(wantA), len(wantB))
	}
	for i := range wantA {
		if gotA[i] != wantA[i] {
			t.Fatalf("a[%d] = %d, numpy gives %d", i, gotA[i], wantA[i])
		}
		if gotB[i] != wantB[i] {
			t.Fatalf("b[%d] = %d, numpy gives %d", i, gotB[i], wantB[i])
		}
	}
}

func TestMT19937ReferenceOutput(t *testing.T) {
	// First outputs of init_genrand(5489), the reference implementation's
	// default seed (mt19937ar.c).
	m := newMT19937(5489)
	want := []uint32{3499211612, 581869302, 3890346734, 3586334585, 545404204}
	for i, w := range want {
		if got := m.next32(); got != w {
			t.Fatalf("output %d = %d, want %d", i, got, w)
		}
	}
}
