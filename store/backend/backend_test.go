package backend

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/datarefine/refine/store/hub"
	"github.com/datarefine/refine/store/local"
)

func TestOpen(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	st, tags, err := Open("hub", log)
	if _, ok := st.(*hub.Store); !ok || err != nil || tags == nil {
		t.Errorf("hub: %T, %v", st, err)
	}
	st, tags, err = Open("local:"+t.TempDir(), log)
	if _, ok := st.(*local.Store); !ok || err != nil || tags == nil {
		t.Errorf("local: %T, %v", st, err)
	}
	for _, spec := range []string{"", "s3://bucket", "local"} {
		if _, _, err := Open(spec, log); err == nil || !strings.Contains(err.Error(), Usage) {
			t.Errorf("%q: %v, want an error naming %q", spec, err, Usage)
		}
	}
}
