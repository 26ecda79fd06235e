package subtensor

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/datarefine/refine/internal/shareddata"
)

// BenchmarkDecodeNeuronsLite decodes the recorded 1024-neuron finney
// get_neurons_lite response (186 KB).
func BenchmarkDecodeNeuronsLite(b *testing.B) {
	raw, err := os.ReadFile(shareddata.Path(b, "chain", "rpc", mgFile))
	if err != nil {
		b.Fatal(err)
	}
	var f map[string]map[string]map[string]json.RawMessage
	if err := json.Unmarshal(raw, &f); err != nil {
		b.Fatal(err)
	}
	var res struct {
		Result string `json:"result"`
	}
	key := `["NeuronInfoRuntimeApi_get_neurons_lite", "0100", "` + mgHash + `"]`
	if err := json.Unmarshal(f["metagraph"]["state_call"][key], &res); err != nil {
		b.Fatal(err)
	}
	blob, err := decodeHex(res.Result)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(blob)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := decodeNeuronsLite(blob); err != nil {
			b.Fatal(err)
		}
	}
}
