package corpus

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/dustin/go-humanize"
)

// The dataset card, README.md: a YAML header that the Hugging Face Hub and
// its dataset viewer read (license, language, task categories, size
// category, and one config per dump plus "default" with all of them,
// each with its data files), then what the dataset holds, how to load it
// and how it was made. It holds no clock time: the same state gives the
// same bytes.

// yamlString quotes s for YAML (a JSON string is a YAML double-quoted
// scalar).
func yamlString(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// sizeCategory is the Hub's size_categories value for n rows.
func sizeCategory(n int64) string {
	bounds := []struct {
		max  int64
		name string
	}{
		{1e3, "n<1K"}, {1e4, "1K<n<10K"}, {1e5, "10K<n<100K"}, {1e6, "100K<n<1M"},
		{1e7, "1M<n<10M"}, {1e8, "10M<n<100M"}, {1e9, "100M<n<1B"}, {1e10, "1B<n<10B"},
		{1e11, "10B<n<100B"}, {1e12, "100B<n<1T"},
	}
	for _, b := range bounds {
		if n < b.max {
			return b.name
		}
	}
	return "n>1T"
}

func renderCard(s *Summary) (string, error) {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("---\n")
	w("pretty_name: %s\n", yamlString(s.Name))
	w("license: %s\n", yamlString(s.License))
	w("language:\n- en\n")
	w("task_categories:\n- text-generation\n")
	w("size_categories:\n- %s\n", yamlString(sizeCategory(s.Documents)))
	w("configs:\n")
	w("- config_name: default\n  data_files:\n  - split: train\n    path: %s\n", yamlString("data/*/*.parquet"))
	for _, d := range s.Dumps {
		w("- config_name: %s\n  data_files:\n  - split: train\n    path: %s\n", yamlString(d.Dump), yamlString("data/"+d.Dump+"/*.parquet"))
	}
	w("---\n\n")

	repo := s.Repo
	if repo == "" {
		repo = "OWNER/NAME"
	}
	w("# %s\n\n", s.Name)
	w("English web text from CommonCrawl, refined with FineWeb's pipeline by the miners of the Data Refine\n")
	w("Subnet, checked by its validators, and deduplicated across submissions with FineWeb's MinHash\n")
	w("settings. Same layout and columns as `HuggingFaceFW/fineweb`: code written for FineWeb reads it unchanged.\n\n")
	w("This is build %d (tag `%s`): **%s documents, %s GPT-2 tokens** in %d shards, from %d contributors;\n",
		s.Build, s.Tag, humanize.Comma(s.Documents), humanize.Comma(s.Tokens), s.Shards, len(s.Contributors))
	w("deduplication removed %s documents.\n\n", humanize.Comma(s.Removed))

	w("## Contents\n\n")
	w("| dump (config) | documents | tokens | removed by dedup | shards |\n|---|---:|---:|---:|---:|\n")
	for _, d := range s.Dumps {
		w("| `%s` | %s | %s | %s | %d |\n", d.Dump, humanize.Comma(d.Documents), humanize.Comma(d.Tokens), humanize.Comma(d.Removed), d.Shards)
	}
	w("| **all** (`default`) | %s | %s | %s | %d |\n\n", humanize.Comma(s.Documents), humanize.Comma(s.Tokens), humanize.Comma(s.Removed), s.Shards)

	w("Columns (FineWeb's): `text`, `id` (WARC record id), `dump`, `url`, `date`, `file_path` (the WARC),\n")
	w("`language`, `language_score`, `token_count` (GPT-2 tokens, counted before PII replacement as datatrove does).\n\n")

	w("### Contributors\n\n")
	w("| miner hotkey | submissions | documents | tokens |\n|---|---:|---:|---:|\n")
	for i, c := range s.Contributors {
		if i == 20 {
			w("| … %d more (summary.json lists all) | | | |\n", len(s.Contributors)-20)
			break
		}
		hk := c.Hotkey
		if hk == "" {
			hk = "(not given)"
		}
		w("| `%s` | %d | %s | %s |\n", hk, c.Submissions, humanize.Comma(c.Documents), humanize.Comma(c.Tokens))
	}
	w("\n")

	w("## Load it\n\n")
	w("With 🤗 `datasets` (all dumps, or one by its config name), pinned to this build's tag:\n\n")
	w("```python\nfrom datasets import load_dataset\n")
	w("ds = load_dataset(%q, split=\"train\", revision=%q)\n", repo, s.Tag)
	if len(s.Dumps) > 0 {
		w("ds = load_dataset(%q, name=%q, split=\"train\", streaming=True)\n", repo, s.Dumps[0].Dump)
	}
	w("```\n\n")
	w("With DuckDB, straight from the Hub:\n\n")
	w("```sql\nSELECT dump, count(*) AS documents, sum(token_count) AS tokens\n")
	w("FROM 'hf://datasets/%s@%s/data/*/*.parquet' GROUP BY dump;\n```\n\n", repo, s.Tag)
	w("With pandas, after `huggingface-cli download %s --repo-type dataset --revision %s --local-dir corpus`:\n\n", repo, s.Tag)
	w("```python\nimport pandas as pd\ndf = pd.read_parquet(\"corpus/data\")\nprint(len(df), df.token_count.sum())\n```\n\n")

	w("## How it is made\n\n")
	if s.Source.Kind == "folders" {
		w("1. **Inputs**: a list of dataset folders given to the build (not a subnet's verdicts), in the order given;\n")
		w("   each folder's files are checked against its manifest's sha256s.\n")
	} else {
		w("1. **Inputs**: the submissions the network accepted (%s). Each is fetched at the revision its\n", s.Source.Rule)
		w("   miner committed on chain; the manifest's hash and every file's sha256 are checked while reading.\n")
	}
	w("   An input whose content is unusable is left out, with its reason recorded.\n")
	w("2. **Pipeline**: every miner ran FineWeb's pipeline (URL filter, trafilatura extraction, fastText language ID,\n")
	w("   Gopher, C4 and FineWeb quality filters, MinHash deduplication within the task, PII replacement) on the\n")
	w("   CommonCrawl WARC records of its task; validators re-ran it on samples of the records before accepting.\n")
	w("3. **Deduplication across submissions**: MinHash with FineWeb's settings (%d-grams, %d buckets × %d hashes),\n",
		s.Params.MinHash.NGrams, s.Params.MinHash.NumBuckets, s.Params.MinHash.HashesPerBucket)
	w("   within each dump as FineWeb does. Signatures are computed from the text by the build, never taken from a\n")
	w("   miner. In every cluster the document with the earliest commitment survives; a published document is never\n")
	w("   removed, so a later build only adds documents. Documents of fewer than %d words have no signature and are kept.\n", s.Params.MinHash.NGrams)
	w("4. **Layout**: shards `data/<dump>/NNNNN.parquet` of about %s of text each, zstd; each build appends new shards.\n\n", humanize.IBytes(uint64(s.Params.ShardBytes)))
	w("Lineage: `lineage/<dump>/<build>.jsonl` maps every range of rows of the shards a build wrote to the submission\n")
	w("(commitment, miner hotkey, block) and the rows of its shard it holds; `lineage/<dump>/<build>.removed.jsonl` lists\n")
	w("every document deduplication removed and the document it duplicates. `summary.json` holds these numbers for programs.\n\n")

	w("## Revisions\n\n| build | tag | revision | submissions | documents added | tokens added | removed |\n|---:|---|---|---:|---:|---:|---:|\n")
	for _, h := range s.History {
		rev := h.Revision
		if rev == "" {
			rev = "this revision"
			if h.Build != s.Build {
				rev = "(not published)"
			}
		}
		w("| %d | `%s` | %s | %d | %s | %s | %s |\n", h.Build, h.Tag, rev, h.Submissions, humanize.Comma(h.Documents), humanize.Comma(h.Tokens), humanize.Comma(h.Removed))
	}
	w("\n## License\n\n")
	w("`%s`. The text comes from CommonCrawl and is subject to CommonCrawl's terms of use.\n", s.License)
	return b.String(), nil
}
