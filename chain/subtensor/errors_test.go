package subtensor

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/datarefine/refine/chain"
)

var (
	metaOnce   sync.Once
	metaParsed *runtimeMeta
	metaErr    error
)

// loadMeta parses the recorded spec-343 metadata once per test binary.
func loadMeta(t *testing.T) *runtimeMeta {
	t.Helper()
	hexMeta := metadataHex(t)
	metaOnce.Do(func() { metaParsed, metaErr = parseMetadata(hexMeta) })
	if metaErr != nil {
		t.Fatal(metaErr)
	}
	return metaParsed
}

// errorIndex finds a pallet error's (pallet index, error index) by name.
func errorIndex(t *testing.T, m *runtimeMeta, pallet, name string) (uint8, uint8, bool) {
	t.Helper()
	for p := 0; p < 256; p++ {
		for e := 0; e < 256; e++ {
			pn, en := m.errorName(uint8(p), uint8(e))
			if pn == pallet && en == name {
				return uint8(p), uint8(e), true
			}
			if strings.HasPrefix(en, "error") {
				break
			}
		}
	}
	return 0, 0, false
}

// TestModuleErrorNames checks every error name the client maps against
// the finney spec-343 metadata, so a typo cannot silently lose a mapping.
func TestModuleErrorNames(t *testing.T) {
	m := loadMeta(t)
	missing := 0
	for full := range moduleErrors {
		pallet, name, _ := strings.Cut(full, ".")
		if _, _, ok := errorIndex(t, m, pallet, name); !ok {
			t.Logf("%s is not an error of spec 343", full)
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d mapped error names are not in the metadata", missing, len(moduleErrors))
	}
}

func TestDispatchErrorMapping(t *testing.T) {
	m := loadMeta(t)
	tests := []struct {
		pallet, name string
		want         error
	}{
		{"SubtensorModule", "CommitRevealEnabled", chain.ErrCommitRevealEnabled},
		{"SubtensorModule", "HotKeyNotRegisteredInSubNet", chain.ErrNotRegistered},
		{"SubtensorModule", "SettingWeightsTooFast", chain.ErrRateLimited},
		{"SubtensorModule", "IncorrectWeightVersionKey", chain.ErrVersionKey},
		{"SubtensorModule", "InvalidRevealCommitHashNotMatch", chain.ErrRevealMismatch},
		{"Commitments", "SpaceLimitExceeded", chain.ErrRateLimited},
	}
	for _, tc := range tests {
		p, e, ok := errorIndex(t, m, tc.pallet, tc.name)
		if !ok {
			t.Errorf("%s.%s not in metadata", tc.pallet, tc.name)
			continue
		}
		// DispatchError::Module(ModuleError { index, error: [e, 0, 0, 0] })
		err := m.dispatchError(newDecoder([]byte{3, p, e, 0, 0, 0}))
		var de *DispatchError
		if !errors.As(err, &de) || de.Pallet != tc.pallet || de.Name != tc.name || !errors.Is(err, tc.want) {
			t.Errorf("module error %d/%d = %v, want %s.%s wrapping %v", p, e, err, tc.pallet, tc.name, tc.want)
		}
	}
	err := m.dispatchError(newDecoder([]byte{2}))
	if err.Error() != "extrinsic failed: BadOrigin" || errors.Unwrap(err) != nil {
		t.Errorf("BadOrigin = %v", err)
	}
}

func TestPoolError(t *testing.T) {
	tests := []struct {
		err  *rpcError
		want error
	}{
		{&rpcError{Code: 1010, Message: "Invalid Transaction", Data: []byte(`"Custom error: 6"`)}, chain.ErrRateLimited},
		{&rpcError{Code: 1010, Message: "Invalid Transaction", Data: []byte(`"Custom error: 10"`)}, chain.ErrNotRegistered},
		{&rpcError{Code: 1010, Message: "Invalid Transaction", Data: []byte(`"Inability to pay some fees (e.g. account balance too low)"`)}, chain.ErrInsufficientBalance},
		{&rpcError{Code: 1010, Message: "Invalid Transaction", Data: []byte(`"Transaction is outdated"`)}, chain.ErrReplay},
		{&rpcError{Code: 1010, Message: "Invalid Transaction", Data: []byte(`"Transaction has a bad signature"`)}, chain.ErrBadSignature},
		{&rpcError{Code: 1010, Message: "Invalid Transaction", Data: []byte(`"Custom error: 99"`)}, nil},
	}
	for _, tc := range tests {
		got := poolError(fmt.Errorf("submit: %w", tc.err))
		if tc.want == nil {
			if chain.ErrorCode(got) != "internal" {
				t.Errorf("%s: mapped to %v", tc.err.Data, got)
			}
			continue
		}
		if !errors.Is(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.err.Data, got, tc.want)
		}
	}
}
