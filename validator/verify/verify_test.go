package verify

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/datarefine/refine/pipeline/dedup"
	"github.com/datarefine/refine/taskapi"
)

func TestCheckLease(t *testing.T) {
	const hk, other, data = "5Miner", "5Other", "r1:x@y:1:z"
	ended := time.Unix(1000, 0)
	done := taskapi.Lease{ID: 1, Hotkey: hk, State: taskapi.LeaseCompleted, GrantedBlock: 100, EndedBlock: 150,
		Commitment: data, Deadline: ended.Add(time.Hour), EndedAt: &ended}
	lateEnd := ended.Add(2 * time.Hour)
	tests := []struct {
		name   string
		leases []taskapi.Lease
		block  uint64
		want   Code // "" accepted
	}{
		{"ok", []taskapi.Lease{done}, 120, ""},
		{"at grant", []taskapi.Lease{done}, 100, ""},
		{"within grace", []taskapi.Lease{done}, 160, ""},
		{"never leased", nil, 120, CodeNotLeased},
		{"another hotkey's lease", []taskapi.Lease{{ID: 1, Hotkey: other, State: taskapi.LeaseCompleted, Commitment: data}}, 120, CodeNotLeased},
		{"before lease", []taskapi.Lease{done}, 99, CodeBeforeLease},
		{"after completion and grace", []taskapi.Lease{done}, 161, CodeAfterDeadline},
		{"expired", []taskapi.Lease{{ID: 2, Hotkey: hk, State: taskapi.LeaseExpired, GrantedBlock: 100}}, 120, CodeAfterDeadline},
		{"still live", []taskapi.Lease{{ID: 2, Hotkey: hk, State: taskapi.LeaseLive, GrantedBlock: 100}}, 120, CodeNotLeased},
		{"completed with another commitment", []taskapi.Lease{func() taskapi.Lease { l := done; l.Commitment = "r1:other"; return l }()}, 120, CodeNotLeased},
		{"completed past deadline", []taskapi.Lease{func() taskapi.Lease { l := done; l.EndedAt = &lateEnd; return l }()}, 120, CodeAfterDeadline},
		{"second lease counts", []taskapi.Lease{{ID: 0, Hotkey: hk, State: taskapi.LeaseExpired, GrantedBlock: 10}, done}, 120, ""},
	}
	for _, tc := range tests {
		l, err := CheckLease(hk, data, tc.block, tc.leases, 10)
		f, _ := AsFailure(err)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want == "" && l.ID != done.ID:
			t.Errorf("%s: lease %d", tc.name, l.ID)
		case tc.want != "" && (f == nil || f.Code != tc.want):
			t.Errorf("%s: err %v, want code %s", tc.name, err, tc.want)
		}
	}
}

func TestSampleIndices(t *testing.T) {
	s1 := Seed("0xAB", "r1:a")
	if s1 != Seed("0xab", "r1:a") {
		t.Error("seed depends on the hash's case")
	}
	if s1 == Seed("0xab", "r1:b") || s1 == Seed("0xac", "r1:a") {
		t.Error("seed ignores an input")
	}
	for _, tc := range []struct{ n, k, want int }{{100, 10, 10}, {5, 10, 5}, {0, 3, 0}, {10, 0, 0}, {1000000, 16, 16}} {
		got := SampleIndices(s1, tc.n, tc.k)
		if len(got) != tc.want {
			t.Fatalf("n=%d k=%d: %d indices", tc.n, tc.k, len(got))
		}
		if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
			t.Fatalf("n=%d k=%d: %v not sorted and distinct", tc.n, tc.k, got)
		}
		for _, i := range got {
			if i < 0 || i >= tc.n {
				t.Fatalf("index %d outside [0,%d)", i, tc.n)
			}
		}
		if again := SampleIndices(s1, tc.n, tc.k); !slices.Equal(got, again) {
			t.Fatal("sample is not deterministic")
		}
	}
	if slices.Equal(SampleIndices(s1, 1000, 10), SampleIndices(Seed("0xab", "r1:b"), 1000, 10)) {
		t.Error("different seeds drew the same sample")
	}
}

func TestInternalDuplicates(t *testing.T) {
	docs := []Doc{
		{ID: "a", TextHash: 1, Bands: []uint64{1, 2}},
		{ID: "b", TextHash: 2, Bands: []uint64{3, 4}},
		{ID: "c", TextHash: 1},                        // same text as a
		{ID: "d", TextHash: 4, Bands: []uint64{9, 4}}, // band 1 as b
		{ID: "e", TextHash: 5, Bands: []uint64{2, 1}}, // values of a in other bands: distinct
		{ID: "f", TextHash: 6, Bands: nil},            // too short for a signature
	}
	if got := internalDuplicates(docs); got != 2 {
		t.Fatalf("internalDuplicates = %d, want 2", got)
	}
}

func TestBands(t *testing.T) {
	cfg := dedup.DefaultConfig()
	sig := make(dedup.Signature, cfg.NumHashes())
	for i := range sig {
		sig[i] = uint64(i)
	}
	b := Bands(sig, cfg)
	if len(b) != cfg.NumBuckets {
		t.Fatalf("%d bands", len(b))
	}
	sig2 := slices.Clone(sig)
	sig2[0]++ // changes band 0 only
	b2 := Bands(sig2, cfg)
	if b2[0] == b[0] || !slices.Equal(b2[1:], b[1:]) {
		t.Fatal("a change in band 0 must change band 0's value only")
	}
	if Bands(nil, cfg) != nil || Bands(sig[:5], cfg) != nil {
		t.Fatal("no or short signature must give no bands")
	}
}

func TestFailure(t *testing.T) {
	err := error(Fail(CodeSchema, "column %q", "text"))
	wrapped := errors.Join(errors.New("context"), err)
	f, ok := AsFailure(wrapped)
	if !ok || f.Code != CodeSchema || f.Error() != `schema: column "text"` {
		t.Fatalf("AsFailure = %v, %v", f, ok)
	}
	if _, ok := AsFailure(errors.New("plain")); ok {
		t.Fatal("plain error taken for a Failure")
	}
}

func TestCoverageRate(t *testing.T) {
	if (Coverage{}).Rate() != 1 || (Coverage{ReferenceKept: 4, Found: 1}).Rate() != 0.25 {
		t.Fatal("coverage rate")
	}
	if (Provenance{}).Rate() != 1 || (Provenance{Checked: 4, Matched: 3}).Rate() != 0.75 {
		t.Fatal("provenance rate")
	}
}
