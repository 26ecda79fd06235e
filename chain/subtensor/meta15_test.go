package subtensor

import (
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/internal/shareddata"
)

// metaFromV15 parses a recorded V15 metadata blob (runtimes for which no
// V14 blob was recorded, such as spec 393).
func metaFromV15(t *testing.T, file string) *runtimeMeta {
	t.Helper()
	raw, err := os.ReadFile(shareddata.Path(t, "chain", "metadata", file))
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseMetadataV15(raw)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return m
}

func TestExtensionList393(t *testing.T) {
	m := metaFromV15(t, "finney_spec393_metadataV15.scale")
	var names []string
	for _, e := range m.extensions {
		names = append(names, e.name)
		if (e.name == "SudoTransactionExtension" || e.name == "CheckShieldedTxValidity") && (!e.extraEmpty || !e.implicitEmpty) {
			t.Errorf("%s not recognised as zero-sized", e.name)
		}
	}
	if len(names) != 13 || names[8] != "SudoTransactionExtension" || names[9] != "CheckShieldedTxValidity" {
		t.Errorf("spec 393 extensions = %v", names)
	}
	if _, _, err := extrinsicParts(m, txContext{Era: []byte{0}}); err != nil {
		t.Error(err)
	}
}

// TestRecordedExtrinsics393 rebuilds the real spec-393 extrinsics with
// spec 393's own extension list.
func TestRecordedExtrinsics393(t *testing.T) {
	checkRecordedExtrinsics(t, metaFromV15(t, "finney_spec393_metadataV15.scale"))
}

// TestRealEvents393 walks the System.Events of two real finney blocks
// (spec 393; 166 and 182 events with weights, commitments and failed
// extrinsics): every byte must be consumed, and every extrinsic gets an
// outcome.
func TestRealEvents393(t *testing.T) {
	m := metaFromV15(t, "finney_spec393_metadataV15.scale")
	raw, err := os.ReadFile(shareddata.Path(t, "chain", "rpc", "asi_release2_integration_websocket_data.json"))
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]map[string]map[string]json.RawMessage
	if err := json.Unmarshal(raw, &all); err != nil {
		t.Fatal(err)
	}
	// failures: extrinsic index → sentinel its module error maps to (as
	// decoded here; SettingWeightsTooFast, AccountNotAllowedCommit and
	// TooManyUnrevealedCommits are errors of set_weights, set_commitment
	// and commit_weights, the calls validators and miners send).
	tests := []struct {
		scenario string
		events   int
		failures map[uint32]error
	}{
		{"test_same_events", 166, map[uint32]error{20: chain.ErrNotRegistered, 22: chain.ErrRateLimited, 32: chain.ErrRateLimited}},
		{"test_get_events_proper_decoding", 182, map[uint32]error{16: chain.ErrNotRegistered, 25: chain.ErrTooManyCommits, 31: chain.ErrRateLimited}},
	}
	for _, tc := range tests {
		t.Run(tc.scenario, func(t *testing.T) {
			var blob string
			for p, r := range all[tc.scenario]["state_getStorageAt"] {
				var params []string
				var res struct {
					Result string `json:"result"`
				}
				if json.Unmarshal([]byte(p), &params) == nil && params[0] == eventsKey && json.Unmarshal(r, &res) == nil {
					blob = res.Result
				}
			}
			b, err := decodeHex(blob)
			if err != nil || len(b) == 0 {
				t.Fatalf("no recorded events: %v", err)
			}
			outcomes, n, err := eventOutcomes(m, b)
			if err != nil {
				t.Fatal(err)
			}
			if n != tc.events {
				t.Errorf("%d events, want %d", n, tc.events)
			}
			failed := 0
			for i := uint32(0); i < uint32(len(outcomes)); i++ {
				out, ok := outcomes[i]
				if !ok {
					t.Errorf("extrinsic %d has no outcome (outcomes for %d extrinsics)", i, len(outcomes))
					continue
				}
				if out != nil {
					failed++
					t.Logf("extrinsic %d: %v", i, out)
				}
			}
			t.Logf("%d extrinsics, %d failed", len(outcomes), failed)
			for i, want := range tc.failures {
				var de *DispatchError
				if got := outcomes[i]; !errors.As(got, &de) || !errors.Is(got, want) {
					t.Errorf("extrinsic %d: %v, want a dispatch error wrapping %v", i, got, want)
				}
			}
		})
	}
}
