package main

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestScaleModelRuns runs the program as docs/scale.md does and checks its
// report: a row per quantity and network, and the resources in the order
// they run out.
func TestScaleModelRuns(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-miners", "4,64", "-validators", "64"}, &out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"| dump processed in | days |", "| Common Crawl requests | req/s |", "| task database, PostgreSQL | GB |",
		"What runs out first", "Per machine: Hub commits per miner repository"} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q:\n%s", want, s)
		}
	}
	if err := run([]string{"-miners", "0"}, &out); err == nil {
		t.Error("zero miners accepted")
	}
	t.Log("\n" + s)
}

// TestProjectArithmetic checks the model's formulas on one network by
// hand: what the miners process, what each validator reads, what Common
// Crawl serves, and where its request capacity runs out.
func TestProjectArithmetic(t *testing.T) {
	u := Measured
	n := DefaultNetwork(10, 20)
	p := Project(u, n)
	minerCPU := u.PagesPerWARC * u.MinerCPUPerPage
	rate := math.Min(16/minerCPU, 125e6/u.WARCBytes) * 10
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	near("network rate", p.NetworkRate, rate)
	near("dump days", p.DumpDays, u.WARCsPerDump/rate/86400)
	near("CC requests", p.CCRequestsPerSecond, rate*(1+20*u.ValidatorWARCReqsPerSub))
	sub := u.PagesPerWARC*u.KeptPerPage*u.SubmissionBytesPerDoc + u.PagesPerWARC*u.RecordsPerPage*u.SubmissionBytesPerRecord
	near("validator bytes per submission", p.ValidatorBytesPerSub, sub+u.ValidatorWARCBytesPerSub)
	near("task database", p.TaskDBSQLite, u.WARCsPerDump*(u.TaskBytesSQLite+20*u.ReportBytesSQLite))
	// Where Common Crawl's share runs out: rate·(1 + V·r) = share·capacity.
	ex := Exhaustion(u, n)
	perMiner := rate / 10
	want := u.CCShare * u.CCRequestsPerSecond / (1 + 20*u.ValidatorWARCReqsPerSub) / perMiner
	for name, m := range ex {
		if strings.HasPrefix(name, "Common Crawl") && math.Abs(m-want) > 0.02 {
			t.Errorf("Common Crawl runs out at %v miners, by hand %v", m, want)
		}
	}
	// The bytes a validator reads of the WARC are the sample's, not the
	// WARC: well under 1 % of it.
	if u.ValidatorWARCBytesPerSub > 0.01*u.WARCBytes {
		t.Errorf("validator reads %v bytes of a %v-byte WARC", u.ValidatorWARCBytesPerSub, u.WARCBytes)
	}
}

var updateDocs = flag.Bool("update-docs", false, "rewrite the projection in docs/scale.md")

// docArgs are the networks docs/scale.md shows.
var docArgs = [][]string{
	{"-miners", "1,4,16,64", "-validators", "64"},
	{"-miners", "1,4,16,64", "-validators", "16"},
}

// TestScaleDoc checks that docs/scale.md shows what the program prints
// for its networks (go test ./bench/scale -run TestScaleDoc -update-docs
// rewrites it).
func TestScaleDoc(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "scale.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for i, args := range docArgs {
		var out bytes.Buffer
		if err := run(args, &out); err != nil {
			t.Fatal(err)
		}
		want := "```\n$ go run ./bench/scale " + strings.Join(args, " ") + "\n```\n\n" + out.String()
		begin, end := fmt.Sprintf("<!-- scale-%d:begin -->\n", i), fmt.Sprintf("<!-- scale-%d:end -->", i)
		x, y := strings.Index(doc, begin), strings.Index(doc, end)
		if x < 0 || y < x {
			t.Fatalf("%s: no %s…%s block", path, begin, end)
		}
		if got := doc[x+len(begin) : y]; got != want {
			if !*updateDocs {
				t.Errorf("%s: block %d differs from what the model prints; run go test ./bench/scale -run TestScaleDoc -update-docs", path, i)
				continue
			}
			doc = doc[:x+len(begin)] + want + doc[y:]
		}
	}
	if *updateDocs {
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
