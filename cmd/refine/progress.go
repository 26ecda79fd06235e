package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/datarefine/refine/process"
)

// progressBar draws a run's progress on a terminal: records, kept documents
// and input MB/s. Off a terminal there is no bar; the structured logs say
// the same every few seconds.
type progressBar struct {
	p     *mpb.Progress
	bar   *mpb.Bar
	start time.Time
	mu    sync.Mutex
	last  process.Progress // guarded by mu: the bar reads it from its own goroutine
}

func (pb *progressBar) snapshot() process.Progress {
	pb.mu.Lock()
	defer pb.mu.Unlock()
	return pb.last
}

func newProgressBar(w io.Writer, enabled bool) *progressBar {
	f, ok := w.(*os.File)
	if !enabled || !ok || !isatty.IsTerminal(f.Fd()) {
		return nil
	}
	pb := &progressBar{start: time.Now()}
	pb.p = mpb.New(mpb.WithOutput(w), mpb.WithRefreshRate(200*time.Millisecond))
	pb.bar = pb.p.New(0, mpb.SpinnerStyle(),
		mpb.PrependDecorators(decor.Any(func(decor.Statistics) string {
			last := pb.snapshot()
			return fmt.Sprintf("records %d  kept %d", last.Records, last.Kept)
		})),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
			last := pb.snapshot()
			secs := time.Since(pb.start).Seconds()
			if secs <= 0 {
				return ""
			}
			return fmt.Sprintf("%.1f MB/s  %.0f rec/s  %s", float64(last.BytesRead)/1e6/secs, float64(last.Records)/secs, last.Input)
		})),
	)
	return pb
}

func (pb *progressBar) update(p process.Progress) {
	pb.mu.Lock()
	pb.last = p
	pb.mu.Unlock()
	pb.bar.SetCurrent(p.Records)
}

func (pb *progressBar) finish() {
	pb.bar.SetTotal(-1, true)
	pb.p.Wait()
}
