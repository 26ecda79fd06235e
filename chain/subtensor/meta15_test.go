package subtensor

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/centrifuge/go-substrate-rpc-client/v4/scale"
	"github.com/centrifuge/go-substrate-rpc-client/v4/types"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/internal/testdata"
)

// palletV15 is a V15 pallet: a V14 pallet followed by its docs.
type palletV15 struct {
	types.PalletMetadataV14
	Docs []types.Text
}

func (p *palletV15) Decode(d scale.Decoder) error {
	if err := d.Decode(&p.PalletMetadataV14); err != nil {
		return err
	}
	return d.Decode(&p.Docs)
}

// extrinsicV15 is V15's extrinsic metadata (the V14 form names the
// extrinsic type instead of its four parts).
type extrinsicV15 struct {
	Version                                      types.U8
	AddressType, CallType, SignatureType, ExtraT types.Si1LookupTypeID
	SignedExtensions                             []types.SignedExtensionMetadataV14
}

// metaFromV15 reads a recorded V15 metadata blob into the V14 shape the
// client uses, so that the tests can use runtimes (spec 393) for which no
// V14 blob was recorded. Only the registry, pallets and extension list are
// read; runtime APIs and outer enums are ignored.
func metaFromV15(t *testing.T, file string) *runtimeMeta {
	t.Helper()
	raw, err := os.ReadFile(testdata.Path(t, "chain", "metadata", file))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, []byte("meta\x0f")) {
		t.Fatalf("%s is not V15 metadata", file)
	}
	d := scale.NewDecoder(bytes.NewReader(raw[5:]))
	var md types.Metadata
	md.Version = 14
	v14 := &md.AsMetadataV14
	var pallets []palletV15
	var ext extrinsicV15
	for _, step := range []struct {
		what string
		into any
	}{{"registry", &v14.Lookup}, {"pallets", &pallets}, {"extrinsic", &ext}, {"runtime type", &v14.Type}} {
		if err := d.Decode(step.into); err != nil {
			t.Fatalf("%s: decode %s: %v", file, step.what, err)
		}
	}
	v14.EfficientLookup = map[int64]*types.Si1Type{}
	for i := range v14.Lookup.Types {
		pt := &v14.Lookup.Types[i]
		v14.EfficientLookup[pt.ID.Int64()] = &pt.Type
	}
	for _, p := range pallets {
		v14.Pallets = append(v14.Pallets, p.PalletMetadataV14)
	}
	v14.Extrinsic = types.ExtrinsicV14{Version: ext.Version, SignedExtensions: ext.SignedExtensions}
	m := &runtimeMeta{md: &md}
	m.loadExtensions()
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
	raw, err := os.ReadFile(testdata.Path(t, "chain", "rpc", "asi_release2_integration_websocket_data.json"))
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
