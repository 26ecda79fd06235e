package validator

import (
	"testing"

	"github.com/datarefine/refine/internal/testdata"
)

func warcA(t testing.TB) string {
	return testdata.Path(t, "warc", "real_crawls", "dolma_browsertrix_sample-0000.warc.gz")
}

func warcB(t testing.TB) string {
	return testdata.Path(t, "warc", "real_crawls", "dolma_browsertrix_sample-0001.warc.gz")
}

func TestHonestSubmissionsAccepted(t *testing.T) {
	e := newEnv(t, false)
	for _, n := range []string{"H1", "H2"} {
		e.register(n, 0)
	}
	e.honest("H1", "c-h1", warcA(t), 0, 24)
	e.honest("H2", "c-h2", warcB(t), 0, 0)
	v := e.validator(":memory:")
	recs, err := v.Round(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		t.Logf("%s: %s %+v", r.Hotkey[:6], describe(r), r.Verdict)
	}
}
