// Package backend opens the store a --store flag names: "hub" (the Hugging
// Face Hub; token from HF_TOKEN or the huggingface_hub login) or
// "local:DIR" (a folder laid out like the Hub's repositories). Every
// command that reads or publishes datasets selects the backend here.
package backend

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/datarefine/refine/retry"
	"github.com/datarefine/refine/store"
	"github.com/datarefine/refine/store/hub"
	"github.com/datarefine/refine/store/local"
)

// Usage describes the accepted values, for flag help and errors.
const Usage = "hub or local:DIR"

// Open opens the store spec names, with its names for revisions (main,
// tags); log receives the Hub client's retries.
func Open(spec string, log *slog.Logger) (store.Store, store.Tagger, error) {
	switch {
	case spec == "hub":
		h := hub.New(hub.Options{Retry: retry.Policy{Log: log}, Log: log})
		return h, h, nil
	case strings.HasPrefix(spec, "local:"):
		l, err := local.New(strings.TrimPrefix(spec, "local:"))
		if err != nil {
			return nil, nil, err
		}
		return l, l, nil
	}
	return nil, nil, fmt.Errorf("%q: want %s", spec, Usage)
}
