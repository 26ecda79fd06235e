package verify

import (
	"fmt"
	"math"
	"strings"
)

// Production are the mechanism's parameters that the attack table is
// computed at (validator.Options' defaults).
type Production struct {
	// Draws is the number of provenance draws; MaxMismatch the share of
	// them that may miss.
	Draws       int
	MaxMismatch float64
	// Coverage is the coverage rule.
	Coverage CoverageParams
	// JunkDensity is how many times more GPT-2 tokens per byte junk text
	// can carry than honest text: a token is at least one byte, honest
	// English text has about 0.23 tokens per byte.
	JunkDensity float64
}

// DefaultProduction are the defaults.
func DefaultProduction() Production {
	return Production{Draws: 16, Coverage: CoverageParams{}.withDefaults(), JunkDensity: 1 / 0.23}
}

// Attack is one row of the attack table (docs/mechanism.md): what a
// profit-seeking miner does, what stops it, and the attacker's expected
// reward per unit of its work relative to an honest miner's at production
// parameters, computed by Multiplier.
type Attack struct {
	Name    string
	Defence string
	// Multiplier is the attacker's expected reward per unit of work over
	// an honest miner's (0: always rejected; 1: no gain).
	Multiplier func(Production) float64
	// Formula says how Multiplier is computed.
	Formula string
	// Test names the test that plays the attack.
	Test string
}

// never is the multiplier of an attack that is always rejected.
func never(Production) float64 { return 0 }

// Attacks is every known attack on the mechanism, one row each. Add a row
// here for a new attack: the table in docs/mechanism.md is generated from
// this list (TestAttackTable checks it).
var Attacks = []Attack{
	// Issue 13 (v13's part).
	{"inflate a row's token_count (one row 10¹², or all rows)", "every row recounted with GPT-2; a claim the text does not have rejects", never,
		"rejected", "TestAttackTokenInflation"},
	{"inflate the claim of a row whose PII was replaced (claim not checkable exactly)", "credit is the validator's count, never the claim", func(Production) float64 { return 1 },
		"credited = measured", "TestAttackTokenInflation"},
	{"pad with junk text (share g of the bytes, up to 4.4× the honest tokens per byte), best g ≥ 1 %", "provenance draws bytes, not rows; no mismatch tolerated", maxPadding,
		"max over g of P(pass) × 1/(1 − g_tokens), P(pass) = P(Bin(draws, g) ≤ ⌊MaxMismatch·draws⌋)", "TestAttackLongJunkRows, TestPaddingAcrossSeeds"},
	{"pad with junk, g = 20 % of the bytes (the issue's example)", "as above", func(p Production) float64 { return padding(p, 0.2) },
		"P(pass) × 1/(1 − g_tokens)", "TestPaddingAcrossSeeds"},
	{"parquet bomb (dictionary or zstd)", "work budget from the task, enforced while decoding; rejected as too_large", never,
		"rejected", "TestAttackParquetBomb"},
	{"cite records outside the leased range (range overreach)", "planned byte bounds; any offset outside rejects", never,
		"rejected", "TestAttackRangeOverreach"},
	{"seed grinding: commit many strings, complete the lease with the one whose seed suits", "seed from the block after the recorded completion (once per lease)", maxPadding,
		"one seed per lease: as padding", "TestSeedFromCompletion"},
	{"seed grinding through a lagging task-server head (complete after the seed block exists)", "the completion is stamped with the chain head read at completion, never a cached one; no head, no completion", maxPadding,
		"one seed per lease: as padding", "TestCompletionStampsFreshHead"},
	{"leave out a share d of what the reference keeps (skip records, claim them dropped in the record index), best d", "coverage: byte draws until 21 land on records the reference keeps, each drawn record re-run; one false claim rejects", maxDropping,
		"max over d of (1 − d)^21 (P(pass)) × (1 − d) tokens / (1 − d) work", "TestAttackCoverageDrop"},
	{"leave out d = 20 % of what the reference keeps (issue 13's example)", "as above", func(p Production) float64 { return dropping(p, 0.2) },
		"(1 − d)^21", "TestAttackCoverageDrop, TestCoverageDropAcrossSeeds"},
	{"process half the task (d = 50 %)", "as above", func(p Production) float64 { return dropping(p, 0.5) },
		"(1 − d)^21", "TestAttackCoverageDrop"},
	{"forge MinHash signature files (another task's rows or texts)", "every row's signature recomputed and compared", never,
		"rejected", "TestAttackForgedSignatures"},

	// Issue 19: the record index. Every field of every entry is a claim.
	{"skip bytes, overlap entries, or misstate a record's length (the index does not tile the task's bytes)", "offsets and lengths must be contiguous from the task's first byte to its last (a range's planned bounds, else the WARC's size by HEAD); a range lists exactly its record count", never,
		"rejected", "TestIndexLies/skip, TestIndexLies/overlap, TestIndexLies/length"},
	{"merge records into one entry (hide a share d of the kept bytes inside neighbours), best d", "records are drawn by their bytes, so a merged entry is drawn as often as the records in it; its bytes are then not one record", maxDropping,
		"max over d of (1 − d)^21", "TestIndexLies/merge"},
	{"split a record into two entries (claim its first part a truncated record)", "a truncated record only ends a file; the parts are not one record each", never,
		"rejected", "TestIndexLies/split"},
	{"claim a record the reference keeps a near-duplicate (no real duplicate), best d", "the drawn duplicate's links must reach a kept document, each link a shared MinHash band", maxDropping,
		"max over d of (1 − d)^21", "TestIndexLies/dup"},
	{"claim a wrong reason for records the reference drops too (share f = 1 % of the bytes; no gain)", "the drawn record's step and reason must be the reference's", func(p Production) float64 { return dropping(p, 0.01) },
		"≤ (1 − f)^21 × 1", "TestIndexLies/reason"},
	{"list a record kept that no document cites, or cite a record listed dropped", "the kept entries are exactly the cited records", never,
		"rejected", "TestIndexLies/kept"},
	{"bloat the index with tiny fake entries", "entries of at least 128 bytes, the index within 64 KiB + 1/16 of the task's bytes", never,
		"rejected", "TestIndexChecks"},

	// The adversarial suite's cheats, each rejected on every draw.
	{"commit another miner's string first (front-running)", "lease check: the committer must have completed a lease with it", never, "rejected", "TestAdversaries/FrontRun"},
	{"re-commit another miner's commitment", "seen-commitment table, first committer wins", never, "rejected", "TestAdversaries/CopyExact"},
	{"republish an accepted dataset for a task over the same records", "MinHash bands against the crawl's accepted documents of the last 7 days (the uniqueness index): credit × (1 − overlap)", never, "credited 0 (every document overlaps)", "TestAdversaries/CopyRepub, TestParallelEvaluationDeterministic"},
	{"fabricate every text", "provenance", never, "rejected", "TestAdversaries/Fabricate"},
	{"submit another task's output", "manifest inputs, record WARCs", never, "rejected", "TestAdversaries/OtherTask"},
	{"drop most documents", "coverage", never, "rejected", "TestAdversaries/Drop"},
	{"pad with copies under fresh ids", "records: two documents cannot cite one record", never, "rejected", "TestAdversaries/Pad"},
	{"change the data after committing", "manifest sha256 prefix in the commitment", never, "rejected", "TestAdversaries/Changed"},
	{"commit before leasing", "lease check", never, "rejected", "TestAdversaries/Early"},
	{"let the lease expire, commit later", "lease check", never, "rejected", "TestAdversaries/Expired"},
	{"complete on time, commit long after", "lease check (grace blocks)", never, "rejected", "TestAdversaries/Late"},
	{"malformed parquet", "shard structure check", never, "rejected", "TestAdversaries/BadParquet"},
	{"wrong schema", "schema check", never, "rejected", "TestAdversaries/BadSchema"},
	{"oversized files", "download limits", never, "rejected", "TestAdversaries/Oversized"},
	{"one huge text", "per-row and task budget", never, "rejected", "TestAdversaries/Bomb"},
	{"no manifest", "fetch", never, "rejected", "TestAdversaries/NoManifest"},
	{"unreachable repository", "fetch", never, "rejected", "TestAdversaries/Unreachable"},
	{"commit for an unknown task", "task server", never, "rejected", "TestAdversaries/NoTask"},
	{"malformed commitment", "parse", never, "rejected", "TestAdversaries/Malformed"},
	{"replay an evaluated commitment", "seen-commitment table", never, "rejected", "TestAdversaries (round 2)"},

	// Issue 13 (l13's part): the task pool, the reports and the public reads.
	{"complete leases with made-up commitments to take tasks out of the pool (task burning)",
		"a completion makes a task submitted, not done; not on chain within GraceBlocks: rejected (not_committed), the task back in the pool; throttled after 3 rejections, at most MaxLeases + MaxUndecided tasks held",
		never, "rejected", "TestAttackTaskBurning, TestAttackTaskBurningRate"},
	{"a small validator accepts junk first so that its task is done", "the task follows the stake majority of all reports, re-decided on every report (package acceptance)",
		never, "overruled by the stake", "TestConformance/*/LaterReportsReverseTheDecision"},
	{"copy a validator's weights from the task server's published scores", "a score is published only once the weights it fed are revealed",
		never, "no gain over copying revealed weights", "TestAttackWeightCopying"},
	{"replay a miner's request signed for another service", "Epistula-Signed-For required: the server's own hotkey",
		never, "rejected", "TestAttackSignedForReplay"},
	{"post unbounded score reports (any validator permit)", "one report per validator and completed lease, detail ≤ 8 KiB",
		never, "rejected", "TestAttackReportFlood"},
	{"claim a profile or post on the website without a registered hotkey", "writes need a registered hotkey (or the owner's)",
		never, "rejected", "TestWritesNeedRegistration"},
	{"flood the public reads or the website's writes (one client, many hotkeys or addresses behind a proxy)", "limits per client address behind trusted proxies; reads bounded to a week, capped and cached",
		never, "rate limited", "TestPublicReadLimitPerClient, TestPublicReadsBounded, TestWriteLimitPerClient"},
}

// tokenShare is the share of a submission's tokens that junk holding a
// share g of its bytes carries, at JunkDensity times the honest density.
func tokenShare(p Production, g float64) float64 {
	return p.JunkDensity * g / (1 + (p.JunkDensity-1)*g)
}

// passProvenance is the probability that a submission whose junk holds a
// share g of the bytes passes provenance, and its credit factor when it
// does (the observed match rate, in expectation given a pass).
func passProvenance(p Production, g float64) (pass, credit float64) {
	tol := int(math.Floor(p.MaxMismatch * float64(p.Draws)))
	for x := 0; x <= tol; x++ {
		pr := binomPMF(p.Draws, x, g)
		pass += pr
		credit += pr * float64(p.Draws-x) / float64(p.Draws)
	}
	if pass > 0 {
		credit /= pass
	}
	return pass, credit
}

// padding is the expected multiplier of a miner padding its honest output
// with junk holding a share g of the bytes: it passes with P(pass) and is
// then credited its honest tokens plus the junk's, times the match rate.
func padding(p Production, g float64) float64 {
	pass, credit := passProvenance(p, g)
	return pass * credit / (1 - tokenShare(p, g))
}

// grid is the shares an attacker can choose, 1 % to 99 %.
func grid(fn func(float64) float64) float64 {
	best := 0.0
	for i := 1; i <= 99; i++ {
		best = max(best, fn(float64(i)/100))
	}
	return best
}

func maxPadding(p Production) float64 {
	return grid(func(g float64) float64 { return padding(p, g) })
}

// dropping is the expected reward per unit of work of a miner that leaves
// out a share d of the bytes of what the reference keeps (skipping their
// records, which it must then claim dropped, merged or duplicates): it
// passes when none of the Target draws on kept records lands on them,
// (1 − d)^Target, and is then credited the (1 − d) of the tokens it has,
// for (1 − d) of the work.
func dropping(p Production, d float64) float64 {
	return math.Pow(1-d, float64(p.Coverage.Target))
}

func maxDropping(p Production) float64 {
	return grid(func(d float64) float64 { return dropping(p, d) })
}

// AttackTable renders Attacks as the markdown table of docs/mechanism.md.
func AttackTable(p Production) string {
	var b strings.Builder
	b.WriteString("| attack | defence | expected reward × honest | how | test |\n|---|---|---|---|---|\n")
	for _, a := range Attacks {
		fmt.Fprintf(&b, "| %s | %s | %.3f | %s | %s |\n", a.Name, a.Defence, a.Multiplier(p), a.Formula, a.Test)
	}
	return b.String()
}

// PowerTable renders the detection power of provenance and coverage at
// production parameters, for docs/mechanism.md.
func PowerTable(p Production) string {
	var b strings.Builder
	b.WriteString("| junk share of the bytes g | P(provenance rejects) = 1 − (1 − g)^16 |\n|---|---|\n")
	for _, g := range []float64{0.01, 0.05, 0.10, 0.20, 0.30} {
		pass, _ := passProvenance(p, g)
		fmt.Fprintf(&b, "| %.0f %% | %.4f |\n", 100*g, 1-pass)
	}
	b.WriteString("\n| share d of the kept bytes left out | P(coverage rejects) = 1 − (1 − d)^21 |\n|---|---|\n")
	for _, d := range []float64{0.01, 0.05, 0.10, 0.20, 0.30} {
		fmt.Fprintf(&b, "| %.0f %% | %.4f |\n", 100*d, CatchProbability(p.Coverage.Target, d))
	}
	return b.String()
}
