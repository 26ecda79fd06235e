package validator

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datarefine/refine/miner"
	"github.com/datarefine/refine/process"
	"github.com/datarefine/refine/store/hub"
	"github.com/datarefine/refine/store/hub/hubtest"
	"github.com/datarefine/refine/taskserver"
	"github.com/datarefine/refine/taskserver/client"
)

// crawlServer serves one WARC as data.commoncrawl.org does (ranges, ETag),
// with faults on demand: the first full download is cut by a connection
// reset after cut bytes, and the first failRanges closed range reads (the
// validator's record reads) get a 503.
type crawlServer struct {
	path    string
	content []byte
	cut     int

	mu         sync.Mutex
	failRanges int
	fullGets   int
	resumes    int // open-ended range requests: a stream resumed
	ranges     int // closed range requests: record reads
	faults     int
}

func (c *crawlServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/"+c.path {
		http.NotFound(w, r)
		return
	}
	rg := r.Header.Get("Range")
	c.mu.Lock()
	var fault, cutNow bool
	switch {
	case rg == "":
		c.fullGets++
		cutNow = c.cut > 0 && c.fullGets == 1
	case strings.HasSuffix(rg, "-"):
		c.resumes++
	default:
		c.ranges++
		if c.failRanges > 0 {
			c.failRanges--
			fault = true
		}
	}
	if fault || cutNow {
		c.faults++
	}
	c.mu.Unlock()
	w.Header().Set("ETag", `"warc-v1"`)
	switch {
	case fault:
		http.Error(w, "Please reduce your request rate.", http.StatusServiceUnavailable)
	case cutNow:
		w.Header().Set("Content-Length", strconv.Itoa(len(c.content)))
		w.Write(c.content[:c.cut])
		w.(http.Flusher).Flush()
		time.Sleep(200 * time.Millisecond) // mid-way: the client is reading
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
		}
	default:
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(c.content))
	}
}

// networkRun is one miner's task refined from a WARC streamed over HTTP,
// published to a Hub, and judged by a validator that reads both back.
type networkRun struct {
	verdict Record
	crawl   *crawlServer
	hub     *hubtest.Hub
}

func runOverNetwork(t *testing.T, faults bool) networkRun {
	e := newEnv(t, false)
	ctx, cancel := context.WithTimeout(e.ctx, 3*time.Minute)
	defer cancel()
	e.register("M", 0)
	content, err := os.ReadFile(warcA(t))
	if err != nil {
		t.Fatal(err)
	}
	const name = "crawl-data/CC-MAIN-2024-10/segments/1/warc/a.warc.gz"
	cs := &crawlServer{path: name, content: content}
	h := hubtest.New(t)
	if faults {
		// The task's 24 records span the first ~100 KB of the file: cut
		// well inside them.
		cs.cut, cs.failRanges = len(content)/5, 2
		h.Fail(hubtest.RouteUpload, http.StatusTooManyRequests, http.StatusServiceUnavailable)
		h.Fail(hubtest.RouteCommit, http.StatusServiceUnavailable)
		h.Fail(hubtest.RouteResolve, http.StatusBadGateway)
		h.Fail(hubtest.RouteDownload, http.StatusInternalServerError)
	}
	srv := httptest.NewServer(cs)
	defer srv.Close()
	if _, err := e.svc.Import(ctx, []taskserver.NewTask{{Crawl: "CC-MAIN-2024-10", WARCs: []string{name}, RecordEnd: 24}}); err != nil {
		t.Fatal(err)
	}

	// The chain makes blocks while the miner works (its commitment waits
	// for one), and the task server follows the head.
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-time.After(30 * time.Millisecond):
				e.chain.AdvanceBlocks(ctx, 1)
				e.roster.Refresh(ctx)
			}
		}
	}()
	m, err := miner.New(miner.Options{
		Hotkey: key(t, "M"), Netuid: 1, Chain: e.chain,
		Tasks: miner.ClientTasks{C: client.New(client.Options{URL: e.url, Signer: key(t, "M")})},
		Store: hub.New(hub.Options{Endpoint: h.URL, Token: h.Token}), Repo: "miners/M",
		WARCs: miner.Mirror{BaseURL: srv.URL}, WorkDir: t.TempDir(), PipelineWorkers: 2,
		Steps: process.StepOptions{AssetsDir: testAssets(t)}, MaxTasks: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	err = m.Run(ctx)
	close(done)
	wg.Wait()
	if err != nil {
		t.Fatalf("miner: %v", err)
	}
	e.advance(2)

	o := e.options(t.TempDir() + "/v.db")
	o.Store = hub.New(hub.Options{Endpoint: h.URL, Token: h.Token})
	o.Reference.Resolve = func(n string) (string, error) { return srv.URL + "/" + n, nil }
	v, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	recs, err := v.Round(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, ok := byHotkey(recs)[key(t, "M").SS58()]
	if !ok {
		t.Fatalf("the miner's submission was not evaluated; records %+v", recs)
	}
	return networkRun{verdict: r, crawl: cs, hub: h}
}

// TestNetworkFaultsLeaveVerdictUnchanged: a miner whose WARC stream is
// reset mid-way resumes it with a Range request (not a new task), its Hub
// upload gets a 429 and then a 503 and its commit a 503 and still
// completes; the validator's downloads meet a 502 and a 500 and its record
// reads two 503s. The verdict is the one the same work gets on a quiet
// network.
func TestNetworkFaultsLeaveVerdictUnchanged(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out real retry delays (about 10 s idle)")
	}
	clean := runOverNetwork(t, false)
	faulty := runOverNetwork(t, true)
	for name, run := range map[string]networkRun{"clean": clean, "faulty": faulty} {
		v := run.verdict.Verdict
		t.Logf("%s: %s", name, describe(run.verdict))
		if !v.Accepted || v.Provenance.Checked == 0 || v.Provenance.Matched != v.Provenance.Checked {
			t.Fatalf("%s run: %s", name, describe(run.verdict))
		}
		if leaks := run.hub.Leaks(); len(leaks) != 0 {
			t.Fatalf("%s run: the Hub token went to the storage host: %v", name, leaks)
		}
	}
	c, f := clean.verdict.Verdict, faulty.verdict.Verdict
	if c.Documents != f.Documents || c.Tokens != f.Tokens || c.VerifiedTokens != f.VerifiedTokens || clean.verdict.Score != faulty.verdict.Score {
		t.Fatalf("verdicts differ:\nclean  %s\nfaulty %s", describe(clean.verdict), describe(faulty.verdict))
	}
	// The faults happened, and were ridden out the intended way.
	// The reset cost a resume, not a second download of the WARC (both
	// runs download it twice: the miner, and the validator's coverage
	// check).
	cs := faulty.crawl
	if cs.fullGets != clean.crawl.fullGets || cs.resumes < 1 || cs.faults != 3 || cs.failRanges != 0 {
		t.Fatalf("WARC server: %d full downloads (clean run: %d), %d resumes, %d faults served, %d left",
			cs.fullGets, clean.crawl.fullGets, cs.resumes, cs.faults, cs.failRanges)
	}
	if faulty.hub.Served() != 5 || faulty.hub.Pending() != 0 {
		t.Fatalf("Hub: %d faults served, %d left", faulty.hub.Served(), faulty.hub.Pending())
	}
	if clean.crawl.resumes != 0 || clean.crawl.faults != 0 || clean.hub.Served() != 0 {
		t.Fatalf("clean run: %d resumes, %d faults", clean.crawl.resumes, clean.crawl.faults)
	}
}
