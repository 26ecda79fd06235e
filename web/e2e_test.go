package web

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/datarefine/refine/wallet"
	"github.com/datarefine/refine/web/internal/e2etest"
)

// TestBrowser drives headless Chromium (playwright-core, e2e/run.mjs,
// scenario "fixture") through the site on 127.0.0.1 over the fixture's
// task server, which the site reaches only over HTTP: every number on the
// overview, the leaderboards and the detail pages against the task
// server's public API, per-crawl task counts, the validators table (no
// miner in it), honest chart axes, a submission's checks side by side,
// the sign-in challenge copied with the Copy button and with the keyboard
// (the copied text signs in), a forged signature, profile edits by the
// owner and by another hotkey, names on the pages, an inert <script>
// post, and phone width (Incentive and Emission in view). Screenshots go
// to e2e/artifacts/TestBrowser (or $REFINE_ARTIFACTS/TestBrowser) and are
// listed in the log. Without Chromium or node_modules it skips, except
// under CI.
func TestBrowser(t *testing.T) {
	e2etest.Need(t)
	f := newFixture(t, "sqlite")
	srv := startServer(t, f.site)

	var miners []string
	for _, m := range f.miners {
		miners = append(miners, m.SS58())
	}
	e2etest.Run(t, "fixture", map[string]any{
		"base": srv, "api": f.apiURL, "signer": startServer(t, signer(t)) + "/sign",
		"miners": miners, "minerURIs": []string{"//Miner1", "//Miner2"}, "forger": "//Miner3",
		"validators": []string{f.vals[0].SS58(), f.vals[1].SS58()}, "task": f.completedLease.TaskID, "lease": f.completedLease.ID,
		"rejected": f.rejectedLease.ID, "split": f.splitLease.ID, "crawlTasks": f.wantCrawlTasks,
	})
}

// signer is the test wallet: it signs what the browser gives it, as a
// user would with `refine wallet sign`.
func signer(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ URI, Message string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		k, err := wallet.FromURI(in.URI)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"signature": sign(t, k, in.Message)})
	})
}
