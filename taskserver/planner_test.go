package taskserver_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datarefine/refine/internal/shareddata"
	"github.com/datarefine/refine/pipeline/warc"

	"github.com/datarefine/refine/taskserver"
	"github.com/datarefine/refine/taskserver/internal/dbtest"
)

const listing = `crawl-data/CC-MAIN-2024-10/segments/1/warc/a.warc.gz
crawl-data/CC-MAIN-2024-10/segments/1/warc/b.warc.gz

crawl-data/CC-MAIN-2024-10/segments/2/warc/c.warc.gz
`

func gz(t *testing.T, s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	io.WriteString(w, s)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// roundTrip serves CommonCrawl's URL from memory: tests never go online.
type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestPlanSources(t *testing.T) {
	dir := t.TempDir()
	gzFile := filepath.Join(dir, "warc.paths.gz")
	plainFile := filepath.Join(dir, "warc.paths")
	os.WriteFile(gzFile, gz(t, listing), 0o644)
	os.WriteFile(plainFile, []byte(listing), 0o644)
	warcs := filepath.Join(dir, "my-devnet")
	os.MkdirAll(filepath.Join(warcs, "sub"), 0o755)
	for _, f := range []string{"2.warc.gz", "1.warc", "sub/3.warc.gz", "notes.txt"} {
		os.WriteFile(filepath.Join(warcs, f), []byte("x"), 0o644)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(gz(t, listing)) }))
	defer srv.Close()
	cc := &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		if r.URL.String() != "https://data.commoncrawl.org/crawl-data/CC-MAIN-2024-10/warc.paths.gz" {
			return &http.Response{StatusCode: 404, Status: "404 Not Found", Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
		}
		return &http.Response{StatusCode: 200, Body: io.NopCloser(bytes.NewReader(gz(t, listing))), Request: r}, nil
	})}
	ccPaths := []string{"crawl-data/CC-MAIN-2024-10/segments/1/warc/a.warc.gz", "crawl-data/CC-MAIN-2024-10/segments/1/warc/b.warc.gz", "crawl-data/CC-MAIN-2024-10/segments/2/warc/c.warc.gz"}
	for _, tc := range []struct {
		name, source string
		opts         taskserver.PlanOptions
		crawl        string
		warcs        []string
	}{
		{"gzip listing", gzFile, taskserver.PlanOptions{}, "CC-MAIN-2024-10", ccPaths},
		{"plain listing", plainFile, taskserver.PlanOptions{}, "CC-MAIN-2024-10", ccPaths},
		{"listing URL", srv.URL + "/warc.paths.gz", taskserver.PlanOptions{}, "CC-MAIN-2024-10", ccPaths},
		{"crawl id", "CC-MAIN-2024-10", taskserver.PlanOptions{HTTP: cc}, "CC-MAIN-2024-10", ccPaths},
		{"limit", gzFile, taskserver.PlanOptions{Limit: 2}, "CC-MAIN-2024-10", ccPaths[:2]},
		{"folder", warcs, taskserver.PlanOptions{}, "my-devnet", []string{
			filepath.Join(warcs, "1.warc"), filepath.Join(warcs, "2.warc.gz"), filepath.Join(warcs, "sub/3.warc.gz")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tasks, err := taskserver.Plan(context.Background(), tc.source, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, task := range tasks {
				if task.Crawl != tc.crawl || len(task.WARCs) != 1 || task.RecordStart != 0 || task.RecordEnd != 0 {
					t.Fatalf("task %+v", task)
				}
				got = append(got, task.WARCs[0])
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.warcs) {
				t.Fatalf("warcs = %v, want %v", got, tc.warcs)
			}
		})
	}
	if _, err := taskserver.Plan(context.Background(), "CC-MAIN-1999-01", taskserver.PlanOptions{HTTP: cc}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("unknown crawl: %v", err)
	}
	if _, err := taskserver.Plan(context.Background(), filepath.Join(dir, "missing"), taskserver.PlanOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestCut(t *testing.T) {
	ctx := context.Background()
	paths := []string{"a", "b", "c"}
	tasks, err := taskserver.Cut(ctx, "C", paths, taskserver.PlanOptions{WARCsPerTask: 2})
	if err != nil || len(tasks) != 2 || fmt.Sprint(tasks[0].WARCs) != "[a b]" || fmt.Sprint(tasks[1].WARCs) != "[c]" {
		t.Fatalf("two per task = %+v, %v", tasks, err)
	}
	if _, err := taskserver.Cut(ctx, "C", paths, taskserver.PlanOptions{RangesPerWARC: 2}); err == nil {
		t.Fatal("ranges without a size accepted")
	}
	if _, err := taskserver.Cut(ctx, "C", paths, taskserver.PlanOptions{RangesPerWARC: 2, RecordsPerRange: 5, WARCsPerTask: 2}); err == nil {
		t.Fatal("ranges of several WARCs accepted")
	}
}

// TestCutRanges cuts a real WARC into record ranges: each range carries the
// byte offsets of its first record and of the record after it (read back
// independently here), the last range is open-ended, and no range starts
// past the file's last record (an "empty task"). A relative path is read
// under WARCBase, as a crawl listing's are.
func TestCutRanges(t *testing.T) {
	ctx := context.Background()
	path := shareddata.Path(t, "warc", "real_crawls", "dolma_browsertrix_sample-0000.warc.gz")
	rd, err := warc.Open(ctx, path, warc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var offsets []int64
	for {
		rec, err := rd.Next(ctx)
		if err != nil {
			break
		}
		offsets = append(offsets, rec.Offset)
	}
	rd.Close()
	n := int64(len(offsets))
	const per = 16
	want := int((n + per - 1) / per)
	if want < 3 {
		t.Fatalf("%d records: too few for the test", n)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Dir(path))))
	defer srv.Close()
	for _, tc := range []struct {
		name string
		path string
		opts taskserver.PlanOptions
	}{
		{"local", path, taskserver.PlanOptions{}},
		{"relative under WARCBase", filepath.Base(path), taskserver.PlanOptions{WARCBase: srv.URL}},
	} {
		// Ask for far more ranges than the file holds.
		tc.opts.RangesPerWARC, tc.opts.RecordsPerRange = 50, per
		tasks, err := taskserver.Cut(ctx, "C", []string{tc.path}, tc.opts)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(tasks) != want {
			t.Fatalf("%s: %d ranges for %d records, want %d", tc.name, len(tasks), n, want)
		}
		for i, task := range tasks {
			start := int64(i) * per
			if task.RecordStart != start || task.ByteStart != offsets[start] || task.WARCs[0] != tc.path {
				t.Errorf("%s: range %d = %+v, want start %d at byte %d", tc.name, i, task, start, offsets[start])
			}
			switch {
			case i < want-1 && (task.RecordEnd != start+per || task.ByteEnd != offsets[start+per]):
				t.Errorf("%s: range %d ends at %d/%d, want %d/%d", tc.name, i, task.RecordEnd, task.ByteEnd, start+per, offsets[start+per])
			case i == want-1 && task.ByteEnd != 0:
				// The file ended inside the last range planned: it runs to
				// the end of the file.
				t.Errorf("%s: last range %+v is not open-ended", tc.name, task)
			}
		}
	}
}

func TestReimportIsIdempotent(t *testing.T) {
	forEachDB(t, func(t *testing.T, kind string) {
		s := dbtest.Open(t, kind)
		ctx := context.Background()
		dir := t.TempDir()
		f := filepath.Join(dir, "warc.paths.gz")
		os.WriteFile(f, gz(t, listing), 0o644)
		tasks, err := taskserver.Plan(ctx, f, taskserver.PlanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := s.AddTasks(ctx, tasks, taskserver.Stamp{}); err != nil || n != 3 {
			t.Fatalf("import = %d, %v", n, err)
		}
		if n, err := s.AddTasks(ctx, tasks, taskserver.Stamp{}); err != nil || n != 0 {
			t.Fatalf("re-import = %d, %v", n, err)
		}
		// A finer cut of the same files adds the ranged tasks only.
		warcs := t.TempDir()
		for _, name := range []string{"dolma_browsertrix_sample-0000.warc.gz", "dolma_browsertrix_sample-0001.warc.gz"} {
			if err := os.Symlink(shareddata.Path(t, "warc", "real_crawls", name), filepath.Join(warcs, name)); err != nil {
				t.Fatal(err)
			}
		}
		whole, err := taskserver.Plan(ctx, warcs, taskserver.PlanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ranged, err := taskserver.Plan(ctx, warcs, taskserver.PlanOptions{RangesPerWARC: 2, RecordsPerRange: 10})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := s.AddTasks(ctx, whole, taskserver.Stamp{}); err != nil || n != 2 {
			t.Fatalf("folder import = %d, %v", n, err)
		}
		if n, err := s.AddTasks(ctx, append(whole, ranged...), taskserver.Stamp{}); err != nil || n != 4 {
			t.Fatalf("ranged import = %d, %v", n, err)
		}
	})
}
