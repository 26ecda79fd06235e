package taskserver

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/datarefine/refine/pipeline/warc"
	"github.com/datarefine/refine/retry"
)

// PlanOptions shape the tasks cut from a crawl.
type PlanOptions struct {
	// Crawl names the crawl; by default it is taken from the paths
	// (crawl-data/<crawl>/…), the crawl id given, or the folder's name.
	Crawl string
	// WARCsPerTask groups consecutive WARC files into one task (default 1).
	WARCsPerTask int
	// RangesPerWARC cuts each WARC into this many record ranges of
	// RecordsPerRange records, the last open-ended (default 1: whole
	// files). Needs WARCsPerTask 1. Cutting ranges reads each WARC up to
	// the start of its last range: every range gets the byte offsets of
	// its first record and of the record after it (Task.ByteStart,
	// ByteEnd), which validators hold a submission's documents to, and a
	// WARC with fewer records than the ranges asked for gets fewer ranges.
	RangesPerWARC   int
	RecordsPerRange int64
	// WARCBase is prepended to relative WARC paths (a crawl listing's) to
	// read them when cutting ranges (default CommonCrawlBase).
	WARCBase string
	// Limit keeps only the first Limit WARC files (0: all), for devnets.
	Limit int
	// HTTP fetches remote listings (default: retrying, retry.CommonCrawl).
	HTTP *http.Client
}

// CrawlListingURL is where CommonCrawl publishes a crawl's WARC listing.
const CrawlListingURL = "https://data.commoncrawl.org/crawl-data/%s/warc.paths.gz"

// CommonCrawlBase is where CommonCrawl serves the paths of its listings.
const CommonCrawlBase = "https://data.commoncrawl.org/"

var crawlID = regexp.MustCompile(`^CC-MAIN-\d{4}-\d{2}$`)

// Plan turns a source into tasks. The source is one of: a crawl id
// ("CC-MAIN-2024-10", fetched from CommonCrawl), an http(s) URL of a
// warc.paths(.gz) listing, a local listing file (gzip or plain), or a
// local folder of WARC files (*.warc, *.warc.gz; for devnets and tests:
// the tasks then name the files by absolute path).
func Plan(ctx context.Context, source string, opts PlanOptions) ([]NewTask, error) {
	var paths []string
	var err error
	crawl := opts.Crawl
	switch {
	case crawlID.MatchString(source):
		if crawl == "" {
			crawl = source
		}
		paths, err = fetchListing(ctx, fmt.Sprintf(CrawlListingURL, source), opts.HTTP)
	case strings.HasPrefix(source, "http://") || strings.HasPrefix(source, "https://"):
		paths, err = fetchListing(ctx, source, opts.HTTP)
	default:
		var st os.FileInfo
		if st, err = os.Stat(source); err != nil {
			return nil, fmt.Errorf("plan %s: %w", source, err)
		}
		if st.IsDir() {
			paths, err = listFolder(source)
			if crawl == "" {
				abs, _ := filepath.Abs(source)
				crawl = filepath.Base(abs)
			}
		} else {
			paths, err = readListingFile(source)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", source, err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("plan %s: no WARC files", source)
	}
	if crawl == "" {
		crawl = crawlOf(paths[0])
	}
	if crawl == "" {
		return nil, fmt.Errorf("plan %s: cannot tell the crawl from the paths; name it", source)
	}
	return Cut(ctx, crawl, paths, opts)
}

// Cut groups WARC paths into tasks as opts say. Whole-file tasks need no
// reading; record ranges read each WARC up to its last range (see
// PlanOptions.RangesPerWARC).
func Cut(ctx context.Context, crawl string, paths []string, opts PlanOptions) ([]NewTask, error) {
	per := max(opts.WARCsPerTask, 1)
	ranges := max(opts.RangesPerWARC, 1)
	if ranges > 1 && (per > 1 || opts.RecordsPerRange <= 0) {
		return nil, fmt.Errorf("record ranges need one WARC per task and a positive records-per-range")
	}
	if opts.Limit > 0 && len(paths) > opts.Limit {
		paths = paths[:opts.Limit]
	}
	var tasks []NewTask
	for i := 0; i < len(paths); i += per {
		group := paths[i:min(i+per, len(paths))]
		if ranges == 1 {
			tasks = append(tasks, NewTask{Crawl: crawl, WARCs: append([]string(nil), group...)})
			continue
		}
		rs, err := cutRanges(ctx, crawl, group[0], ranges, opts)
		if err != nil {
			return nil, err
		}
		tasks = append(tasks, rs...)
	}
	return tasks, nil
}

// cutRanges cuts one WARC into at most ranges record ranges, each with the
// byte offsets of its first record and of the first record after it; the
// last range is open-ended. Ranges that would start past the last record
// are not planned (their honest output is empty).
func cutRanges(ctx context.Context, crawl, path string, ranges int, opts PlanOptions) ([]NewTask, error) {
	base := opts.WARCBase
	if base == "" {
		base = CommonCrawlBase
	}
	// The miners' and validators' rule, with the working folder as the
	// mirror: a listing's relative path is read locally when it is here.
	loc, err := warc.Locate(path, ".", base)
	if err != nil {
		return nil, fmt.Errorf("cut %s into ranges: %w", path, err)
	}
	// Offsets of records 0, RecordsPerRange, …, (ranges−1)·RecordsPerRange.
	starts, err := recordOffsets(ctx, loc, opts.RecordsPerRange, ranges)
	if err != nil {
		return nil, fmt.Errorf("cut %s into ranges: %w", path, err)
	}
	var out []NewTask
	for r, off := range starts {
		t := NewTask{Crawl: crawl, WARCs: []string{path}, RecordStart: int64(r) * opts.RecordsPerRange, ByteStart: off}
		if r < ranges-1 {
			t.RecordEnd = t.RecordStart + opts.RecordsPerRange
			if r+1 < len(starts) {
				t.ByteEnd = starts[r+1]
			}
			// else: the file ends inside this range; it runs to the end.
		}
		out = append(out, t)
	}
	return out, nil
}

// recordOffsets reads a WARC and returns the byte offset of record
// i·every for i < n, stopping at the last one it needs (or the file's end).
// Each must start its own gzip member (or be a record of an uncompressed
// WARC), as Common Crawl's do: a range must be readable from its offset.
func recordOffsets(ctx context.Context, location string, every int64, n int) ([]int64, error) {
	rd, err := warc.Open(ctx, location, warc.Options{})
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	var out []int64
	for len(out) < n {
		rec, err := rd.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if rec.Index%every != 0 {
			continue
		}
		if rec.Offset < 0 {
			return nil, fmt.Errorf("record %d does not start a gzip member: the file cannot be cut into byte ranges", rec.Index)
		}
		out = append(out, rec.Offset)
	}
	return out, nil
}

// crawlOf reads "crawl-data/<crawl>/…".
func crawlOf(path string) string {
	parts := strings.Split(path, "/")
	for i := 0; i+1 < len(parts); i++ {
		if parts[i] == "crawl-data" {
			return parts[i+1]
		}
	}
	return ""
}

func fetchListing(ctx context.Context, url string, client *http.Client) ([]string, error) {
	if client == nil {
		client = retry.NewClient(retry.CommonCrawl)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch listing: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch listing %s: %s", url, resp.Status)
	}
	return parseListing(resp.Body)
}

func readListingFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseListing(f)
}

// parseListing reads one path per line, gunzipping when the data is gzip
// (by its magic bytes, not its name: servers may or may not decode it).
func parseListing(r io.Reader) ([]string, error) {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gunzip listing: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	var out []string
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read listing: %w", err)
	}
	return out, nil
}

// listFolder returns the WARC files under dir, sorted, as absolute paths.
func listFolder(dir string) ([]string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".warc.gz") || strings.HasSuffix(p, ".warc")) {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}
