package main

import (
	"bytes"
	"math"
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
