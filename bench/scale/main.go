// Command scale projects what one Common Crawl dump costs a network of M
// miners and V validators, from unit costs the project's benchmarks
// measured (docs/scale.md lists each with its benchmark and run):
//
//	go run ./bench/scale                       # the default network sizes
//	go run ./bench/scale -miners 64 -validators 64 [-lm-quality=false]
//
// For each network it prints the miners' CPU and download, each
// validator's CPU, download (per submission and in all) and storage, the
// request rates to Common Crawl and the Hugging Face Hub against their
// published limits, the task server's request rate and database size on
// SQLite and PostgreSQL, the time to process the dump and the evaluation
// lag; and, growing the number of miners, which resource runs out first.
//
// The model is arithmetic on the measured units, no simulation: every
// formula is in Project, next to the quantity it computes.
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
)

// Units are the measured unit costs and the published limits.
type Units struct {
	// The dump (issue 19: a Common Crawl WARC is ~1 GB compressed with
	// ~30–40k page captures; a dump is ~90,000 WARCs). A capture is three
	// records: request, response, metadata.
	WARCBytes       float64
	WARCsPerDump    float64
	PagesPerWARC    float64
	RecordsPerPage  float64
	KeptPerPage     float64 // documents kept per page (golden pages: 119 of 990)
	TextBytesPerDoc float64 // kept text per document (golden pages)

	// Miner: CPU-seconds per page through the whole pipeline
	// (BenchmarkPipeline, golden pages, the language gate on).
	MinerCPUPerPage float64

	// Submission bytes: per document (parquet shard, signatures,
	// records.jsonl; the golden pages' run) and per record (the record
	// index, 66 bytes a line on the test WARCs).
	SubmissionBytesPerDoc    float64
	SubmissionBytesPerRecord float64
	SubmissionFiles          float64 // manifest, shard, signatures, records, index (bench/validator)

	// Validator, per submission: the WARC bytes and requests its coverage
	// and provenance draws read (bench/validator -large 36: the golden pages
	// repeated to a 1 GB WARC), the CPU of everything but the full pass and
	// the quality model (the same run, minus the pipeline's load), the full
	// pass per byte of text (BenchmarkFullPass: GPT-2 86 MB/s, MinHash
	// 14 MB/s), and the small-model quality (docs/evaluate.md: 204
	// CPU-seconds for an honest submission, scalar build).
	ValidatorWARCBytesPerSub float64
	ValidatorWARCReqsPerSub  float64
	ValidatorCPUPerSub       float64
	ValidatorCPUPerTextByte  float64
	QualityCPUPerSub         float64
	// Validator state: bytes per evaluated submission (BenchmarkStateSize)
	// and per accepted document in the uniqueness index
	// (BenchmarkUniquenessIndex), which keeps UniquenessDays of them and
	// compares a submission with up to UniquenessKeepDays daily partitions,
	// UniqLookupPerDoc CPU-seconds per document and partition (the same
	// benchmark).
	StateBytesPerSub    float64
	UniqBytesPerDoc     float64
	UniquenessDays      float64
	UniquenessKeepDays  float64
	UniqLookupPerDoc    float64
	EvalRoundSeconds    float64 // EvalEvery (10 blocks) × 12 s
	SeedDelaySeconds    float64 // SeedDelay (2 blocks) × 12 s
	HeartbeatSeconds    float64 // a miner's heartbeat interval (30 s)
	ValidatorReqsPerSub float64 // task server: the task's read and the report

	// Task server (BenchmarkLoad on 2 cores: signed requests/s at
	// saturation; BenchmarkDatabaseSize: bytes per task and per report).
	TaskServerRPSSQLite, TaskServerRPSPostgres float64
	TaskBytesSQLite, TaskBytesPostgres         float64
	ReportBytesSQLite, ReportBytesPostgres     float64

	// Published limits. Common Crawl: "we can only sustain a few thousand
	// requests per second combined for everyone" (status.commoncrawl.org,
	// July 2025): CCRequestsPerSecond is that capacity, CCShare the part of
	// it this network may take. Hugging Face Hub (huggingface.co/docs/hub/
	// rate-limits, September 2025): resolver requests per 5 minutes for a
	// free account (5,000) and a Team organization (20,000); commits per
	// repository per hour (128, the Hub's 429 message).
	CCRequestsPerSecond float64
	CCShare             float64
	HubResolversFree    float64
	HubResolversTeam    float64
	HubCommitsPerHour   float64
}

// Measured are the units measured here (docs/scale.md says where each
// comes from).
var Measured = Units{
	WARCBytes: 1e9, WARCsPerDump: 90_000, PagesPerWARC: 35_000, RecordsPerPage: 3,
	KeptPerPage: 119.0 / 990, TextBytesPerDoc: 6_064,
	MinerCPUPerPage:          1 / 138.6,
	SubmissionBytesPerDoc:    (369_068 + 113_527 + 19_379) / 119.0,
	SubmissionBytesPerRecord: 75,
	SubmissionFiles:          5,
	ValidatorWARCBytesPerSub: 8_773_205,
	ValidatorWARCReqsPerSub:  125,
	ValidatorCPUPerSub:       2.0,
	ValidatorCPUPerTextByte:  1/86e6 + 1/14e6,
	QualityCPUPerSub:         204,
	StateBytesPerSub:         1_120,
	UniqBytesPerDoc:          217,
	UniquenessDays:           14,
	UniquenessKeepDays:       7,
	UniqLookupPerDoc:         49.8e-6,
	EvalRoundSeconds:         120,
	SeedDelaySeconds:         24,
	HeartbeatSeconds:         30,
	ValidatorReqsPerSub:      2,
	TaskServerRPSSQLite:      2_135, TaskServerRPSPostgres: 787,
	TaskBytesSQLite: 1_427, TaskBytesPostgres: 2_499,
	ReportBytesSQLite: 4_471, ReportBytesPostgres: 4_388,
	CCRequestsPerSecond: 2_000, CCShare: 0.1,
	HubResolversFree: 5_000, HubResolversTeam: 20_000, HubCommitsPerHour: 128,
}

// Network is one network's size and machines.
type Network struct {
	Miners, Validators         float64
	MinerCores, ValidatorCores float64
	// Links in bytes per second.
	MinerLink, ValidatorLink float64
	// LMQuality: validators train the small quality model for every
	// submission, as they do for one whose sampled documents differ from
	// the reference's (an honest submission's do not: it scores 1
	// untrained).
	LMQuality bool
}

// DefaultNetwork is a network of 16-core, 1 Gb/s machines.
func DefaultNetwork(miners, validators float64) Network {
	return Network{Miners: miners, Validators: validators, MinerCores: 16, ValidatorCores: 16,
		MinerLink: 125e6, ValidatorLink: 125e6}
}

// Projection is what one dump costs the network.
type Projection struct {
	Net Network
	// Per WARC (one task, one submission).
	DocsPerWARC, RecordsPerWARC, SubmissionBytes float64
	MinerCPUPerWARC                              float64 // CPU-seconds
	// Throughput: WARCs per second the miners can process (CPU or link
	// bound) and each validator can evaluate: the least of what its CPU,
	// its link and its Hub quota allow.
	MinerRate, ValidatorRate                              float64
	ValidatorCPURate, ValidatorLinkRate, ValidatorHubRate float64
	// NetworkRate is the WARCs per second the network completes: the
	// miners' rate (validators falling behind build a backlog, see Lag).
	NetworkRate float64
	DumpDays    float64
	// Miners.
	MinerCPUHoursPerDump, MinerDownloadPerDump float64 // per miner
	// Validators, each.
	ValidatorCPUPerSub, ValidatorBytesPerSub           float64
	ValidatorCPUHoursPerDump, ValidatorDownloadPerDump float64
	ValidatorStateBytes, ValidatorUniqBytes            float64
	// Rates against limits.
	CCRequestsPerSecond, CCBytesPerSecond float64
	CCShareUsed                           float64 // of CCRequestsPerSecond
	HubResolversPerValidator5Min          float64
	HubCommitsPerMinerHour                float64
	TaskServerRPS                         float64
	TaskDBSQLite, TaskDBPostgres          float64 // bytes per dump
	// Lag from a submission's commit to its verdict when validators keep
	// up; when they do not, the backlog the dump leaves and how long it
	// takes to drain.
	LagSeconds, BacklogWARCs, DrainDays float64
}

// Project computes a network's projection.
func Project(u Units, n Network) Projection {
	p := Projection{Net: n}
	p.DocsPerWARC = u.PagesPerWARC * u.KeptPerPage
	p.RecordsPerWARC = u.PagesPerWARC * u.RecordsPerPage
	p.SubmissionBytes = p.DocsPerWARC*u.SubmissionBytesPerDoc + p.RecordsPerWARC*u.SubmissionBytesPerRecord
	p.MinerCPUPerWARC = u.PagesPerWARC * u.MinerCPUPerPage

	// A miner processes WARCs at the slower of its CPU and its link.
	p.MinerRate = math.Min(n.MinerCores/p.MinerCPUPerWARC, n.MinerLink/u.WARCBytes)
	p.NetworkRate = n.Miners * p.MinerRate
	p.DumpDays = u.WARCsPerDump / p.NetworkRate / 86400

	// Each validator evaluates every submission: the sampled re-runs, the
	// full pass over the text, and the uniqueness lookups (one per document
	// and daily partition of the last UniquenessKeepDays that holds
	// documents).
	parts := math.Min(u.UniquenessKeepDays, math.Max(1, p.DumpDays))
	p.ValidatorCPUPerSub = u.ValidatorCPUPerSub + p.DocsPerWARC*u.TextBytesPerDoc*u.ValidatorCPUPerTextByte +
		p.DocsPerWARC*parts*u.UniqLookupPerDoc
	if n.LMQuality {
		p.ValidatorCPUPerSub += u.QualityCPUPerSub
	}
	p.ValidatorBytesPerSub = p.SubmissionBytes + u.ValidatorWARCBytesPerSub
	p.ValidatorCPURate = n.ValidatorCores / p.ValidatorCPUPerSub
	p.ValidatorLinkRate = n.ValidatorLink / p.ValidatorBytesPerSub
	p.ValidatorHubRate = u.HubResolversFree / 300 / u.SubmissionFiles
	p.ValidatorRate = min(p.ValidatorCPURate, p.ValidatorLinkRate, p.ValidatorHubRate)

	p.MinerCPUHoursPerDump = u.WARCsPerDump / n.Miners * p.MinerCPUPerWARC / 3600
	p.MinerDownloadPerDump = u.WARCsPerDump / n.Miners * u.WARCBytes
	p.ValidatorCPUHoursPerDump = u.WARCsPerDump * p.ValidatorCPUPerSub / 3600
	p.ValidatorDownloadPerDump = u.WARCsPerDump * p.ValidatorBytesPerSub
	p.ValidatorStateBytes = u.WARCsPerDump * u.StateBytesPerSub
	// The uniqueness index holds UniquenessDays of accepted documents.
	p.ValidatorUniqBytes = math.Min(u.WARCsPerDump, p.NetworkRate*u.UniquenessDays*86400) * p.DocsPerWARC * u.UniqBytesPerDoc

	// Common Crawl: one streamed GET per WARC by its miner, and each
	// validator's range requests (and HEAD) per submission.
	p.CCRequestsPerSecond = p.NetworkRate * (1 + n.Validators*u.ValidatorWARCReqsPerSub)
	p.CCBytesPerSecond = p.NetworkRate * (u.WARCBytes + n.Validators*u.ValidatorWARCBytesPerSub)
	p.CCShareUsed = p.CCRequestsPerSecond / u.CCRequestsPerSecond
	// The Hub: each validator resolves the submission's files (as fast as
	// they come, up to its quota); each miner commits once per
	// submission to its repository.
	p.HubResolversPerValidator5Min = math.Min(p.NetworkRate, p.ValidatorHubRate) * u.SubmissionFiles * 300
	p.HubCommitsPerMinerHour = p.MinerRate * 3600
	// The task server: lease, heartbeats, complete per task; a task read
	// and a report per validator.
	wall := p.MinerCPUPerWARC/n.MinerCores + u.WARCBytes/n.MinerLink
	p.TaskServerRPS = p.NetworkRate * (2 + wall/u.HeartbeatSeconds + n.Validators*u.ValidatorReqsPerSub)
	p.TaskDBSQLite = u.WARCsPerDump * (u.TaskBytesSQLite + n.Validators*u.ReportBytesSQLite)
	p.TaskDBPostgres = u.WARCsPerDump * (u.TaskBytesPostgres + n.Validators*u.ReportBytesPostgres)

	// Lag: a round every EvalRoundSeconds (half of one on average), the
	// seed delay, then the evaluation itself on one worker.
	if p.NetworkRate <= p.ValidatorRate {
		p.LagSeconds = u.EvalRoundSeconds/2 + u.SeedDelaySeconds + p.ValidatorCPUPerSub
	} else {
		p.BacklogWARCs = u.WARCsPerDump * (1 - p.ValidatorRate/p.NetworkRate)
		p.DrainDays = p.BacklogWARCs / p.ValidatorRate / 86400
		p.LagSeconds = math.Inf(1)
	}
	return p
}

// Limit is one resource's headroom in a projection: use over capacity (≥ 1
// means it ran out).
type Limit struct {
	Name string
	Use  float64
	// Fix says what to change when it runs out.
	Fix string
	// PerMachine: the limit is one machine's (a miner's repository), not
	// the network's; adding miners does not change it.
	PerMachine bool
}

// Limits lists every resource's use against its capacity.
func Limits(u Units, p Projection) []Limit {
	return []Limit{
		{"validator CPU (16 cores)", p.NetworkRate / p.ValidatorCPURate,
			"more cores (evaluations run in parallel: --eval-workers)", false},
		{"validator link (1 Gb/s)", p.NetworkRate / p.ValidatorLinkRate,
			"a faster link; a compressed record index (it is a quarter of the download)", false},
		{"Common Crawl requests (10 % of the few thousand per second it serves everyone)", p.CCShareUsed / u.CCShare,
			"validators read the sampled records from one mirror of each WARC (the task server's, spot-checked against Common Crawl) or from S3 inside AWS; fewer, larger range reads", false},
		{"Hub resolver quota per validator (free account: 5,000 per 5 min)", p.NetworkRate / p.ValidatorHubRate,
			"a Team organization's quota (20,000 per 5 min: 4×), or fewer files per submission", false},
		{"Hub commits per miner repository", p.HubCommitsPerMinerHour / u.HubCommitsPerHour,
			"batch submissions per commit, or one repository per 128 tasks an hour", true},
		{"task server on SQLite (2 cores)", p.TaskServerRPS / u.TaskServerRPSSQLite,
			"PostgreSQL on its own machine; fewer requests per validator (one report per batch)", false},
		{"task server on PostgreSQL (2 cores, shared)", p.TaskServerRPS / u.TaskServerRPSPostgres,
			"a larger PostgreSQL machine", false},
	}
}

// Exhaustion finds, growing the miners from 1, the network size at which
// each resource runs out (with validators fixed); +Inf where none does
// by 1,000,000 miners.
func Exhaustion(u Units, base Network) map[string]float64 {
	out := map[string]float64{}
	for _, l := range Limits(u, Project(u, base)) {
		if l.PerMachine {
			continue
		}
		name := l.Name
		use := func(m float64) float64 {
			n := base
			n.Miners = m
			for _, x := range Limits(u, Project(u, n)) {
				if x.Name == name {
					return x.Use
				}
			}
			return 0
		}
		if use(1e6) < 1 {
			out[name] = math.Inf(1)
			continue
		}
		lo, hi := 0.0, 1e6 // use(lo) < 1 ≤ use(hi); use grows with the miners
		for hi-lo > 0.01 {
			mid := (lo + hi) / 2
			if use(mid) >= 1 {
				hi = mid
			} else {
				lo = mid
			}
		}
		out[name] = hi
	}
	return out
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(2)
	}
}

// run parses flags and prints the projections.
func run(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("scale", flag.ContinueOnError)
	fs.SetOutput(w)
	miners := fs.String("miners", "4,16,64,256", "numbers of miners (comma-separated)")
	validators := fs.Float64("validators", 64, "validators")
	lm := fs.Bool("lm-quality", false, "validators train the quality model for every submission (honest ones score 1 untrained)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u := Measured
	var nets []Network
	for _, f := range strings.Split(*miners, ",") {
		var m float64
		if _, err := fmt.Sscan(strings.TrimSpace(f), &m); err != nil || m <= 0 {
			return fmt.Errorf("-miners: %q is not a positive number", f)
		}
		n := DefaultNetwork(m, *validators)
		n.LMQuality = *lm
		nets = append(nets, n)
	}
	fmt.Fprintf(w, "One dump: %.0f WARCs of %.1f GB, %.0f pages and %.0f kept documents each; 16-core 1 Gb/s machines; %.0f validators; quality model trained for every submission: %v.\n\n",
		u.WARCsPerDump, u.WARCBytes/1e9, u.PagesPerWARC, u.PagesPerWARC*u.KeptPerPage, *validators, *lm)
	row := func(name, unit string, f func(Projection) float64) {
		fmt.Fprintf(w, "| %s | %s |", name, unit)
		for _, n := range nets {
			fmt.Fprintf(w, " %s |", num(f(Project(u, n))))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprint(w, "| quantity | unit |")
	for _, n := range nets {
		fmt.Fprintf(w, " M = %.0f |", n.Miners)
	}
	fmt.Fprint(w, "\n|---|---|")
	for range nets {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w)
	row("dump processed in", "days", func(p Projection) float64 { return p.DumpDays })
	row("miner CPU, each", "CPU-hours", func(p Projection) float64 { return p.MinerCPUHoursPerDump })
	row("miner download, each", "TB", func(p Projection) float64 { return p.MinerDownloadPerDump / 1e12 })
	row("validator CPU per submission", "CPU-s", func(p Projection) float64 { return p.ValidatorCPUPerSub })
	row("validator download per submission", "MB", func(p Projection) float64 { return p.ValidatorBytesPerSub / 1e6 })
	row("validator CPU, each", "CPU-hours", func(p Projection) float64 { return p.ValidatorCPUHoursPerDump })
	row("validator download, each", "TB", func(p Projection) float64 { return p.ValidatorDownloadPerDump / 1e12 })
	row("validator state + uniqueness index", "GB", func(p Projection) float64 { return (p.ValidatorStateBytes + p.ValidatorUniqBytes) / 1e9 })
	row("Common Crawl requests", "req/s", func(p Projection) float64 { return p.CCRequestsPerSecond })
	row("Common Crawl bandwidth", "GB/s", func(p Projection) float64 { return p.CCBytesPerSecond / 1e9 })
	row("Hub resolver requests per validator", "per 5 min", func(p Projection) float64 { return p.HubResolversPerValidator5Min })
	row("Hub commits per miner repository", "per hour", func(p Projection) float64 { return p.HubCommitsPerMinerHour })
	row("task server", "req/s", func(p Projection) float64 { return p.TaskServerRPS })
	row("task database, SQLite", "GB", func(p Projection) float64 { return p.TaskDBSQLite / 1e9 })
	row("task database, PostgreSQL", "GB", func(p Projection) float64 { return p.TaskDBPostgres / 1e9 })
	row("evaluation lag (commit to verdict)", "s", func(p Projection) float64 { return p.LagSeconds })
	row("backlog the dump leaves", "WARCs", func(p Projection) float64 { return p.BacklogWARCs })
	row("time to drain it", "days", func(p Projection) float64 { return p.DrainDays })

	base := nets[0]
	ex := Exhaustion(u, base)
	names := make([]string, 0, len(ex))
	for n := range ex {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return ex[names[i]] < ex[names[j]] })
	fmt.Fprintf(w, "\nWhat runs out first as miners are added (%.0f validators):\n\n| resource | runs out at M = | then |\n|---|---|---|\n", *validators)
	fixes := map[string]string{}
	for _, l := range Limits(u, Project(u, base)) {
		fixes[l.Name] = l.Fix
		if l.PerMachine {
			defer fmt.Fprintf(w, "\nPer machine: %s at %.0f %% of the limit (%s) on a %.0f-core miner; then: %s.\n",
				l.Name, 100*l.Use, num(u.HubCommitsPerHour)+" per hour", base.MinerCores, l.Fix)
		}
	}
	for _, n := range names {
		at := "never (by 10⁶ miners)"
		if !math.IsInf(ex[n], 1) {
			at = num(ex[n])
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", n, at, fixes[n])
	}
	return nil
}

// num formats a quantity with 3 significant digits.
func num(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "∞"
	case v == 0:
		return "0"
	case v >= 1e6 || v < 0.01:
		return fmt.Sprintf("%.2g", v)
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}
