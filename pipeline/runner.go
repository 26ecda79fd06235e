package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
)

// Source yields the documents of one run in input order. Next returns io.EOF
// after the last one. A record the reader could not use is still returned,
// with Skip set to the reader's reason, so that it is counted and appears in
// the decisions file.
type Source interface {
	Next(ctx context.Context) (*Document, error)
}

// Result is one document after the parallel steps, with the step and reason
// that dropped it (both empty when it was kept).
type Result struct {
	Doc    *Document
	Step   string
	Reason string
}

// Kept reports whether no step dropped the document.
func (r Result) Kept() bool { return r.Step == "" }

// Runner runs Filters on documents in parallel and hands results to a sink in
// input order. Everything that must see documents in order (statistics,
// deduplication, PII replacement cycles, writers) belongs in the sink, which
// runs on a single goroutine; everything that is a pure function of one
// document belongs in Filters or Annotators, which run on Workers goroutines.
// The output is therefore the same for any worker count.
type Runner struct {
	// Filters run in order; the first that drops a document ends its path.
	Filters []Filter
	// Annotators run, in order, on documents every filter kept (token
	// counting, MinHash signatures).
	Annotators []Formatter
	// Workers is the number of parallel workers (default GOMAXPROCS).
	Workers int
	// Window bounds how many documents may be in flight, which bounds memory
	// (default 8 × Workers).
	Window int
}

// Run reads src to the end and calls sink for every document in input order.
// An error from src, from sink, or ctx's cancellation ends the run.
func (r *Runner) Run(ctx context.Context, src Source, sink func(Result) error) error {
	workers := r.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	window := r.Window
	if window <= 0 {
		window = 8 * workers
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	type job struct {
		seq int64
		doc *Document
	}
	type done struct {
		seq int64
		res Result
	}
	jobs := make(chan job)
	results := make(chan done, window)
	tokens := make(chan struct{}, window)

	var readErr error
	go func() {
		defer close(jobs)
		for seq := int64(0); ; seq++ {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
			doc, err := src.Next(ctx)
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				readErr = err
				cancel()
				return
			}
			select {
			case jobs <- job{seq, doc}:
			case <-ctx.Done():
				return
			}
		}
	}()

	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				res := r.process(j.doc)
				select {
				case results <- done{j.seq, res}:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()

	pending := make(map[int64]Result, window)
	next := int64(0)
	var sinkErr error
	for d := range results {
		if sinkErr != nil {
			continue // drain so that workers can exit
		}
		pending[d.seq] = d.res
		for {
			res, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			<-tokens
			if err := sink(res); err != nil {
				sinkErr = err
				cancel()
				break
			}
		}
	}
	switch {
	case sinkErr != nil:
		return sinkErr
	case readErr != nil:
		return readErr
	}
	// The reader stops quietly on cancellation; a cancelled parent means the
	// run is incomplete.
	return parent.Err()
}

// process runs the parallel part of the pipeline on one document.
func (r *Runner) process(doc *Document) Result { return Process(r.Filters, r.Annotators, doc) }

// Process is the pipeline's one filter loop, used by every run (the Runner's
// workers) and by every re-run of single records (a validator's reference
// pipeline), so that both treat every document alike: a document the reader
// could not use is dropped by "reader"; the first filter that drops it ends
// its path; the annotators run on a kept document; and a step that panics on
// a hostile document drops it with step "panic" and the panic as its reason
// instead of taking the run down.
func Process(filters []Filter, annotators []Formatter, doc *Document) (res Result) {
	res.Doc = doc
	defer func() {
		if p := recover(); p != nil {
			res.Step, res.Reason = "panic", fmt.Sprint(p)
		}
	}()
	if doc.Skip != "" {
		res.Step, res.Reason = "reader", doc.Skip
		return res
	}
	for _, f := range filters {
		if keep, reason := f.Filter(doc); !keep {
			res.Step, res.Reason = f.Name(), reason
			return res
		}
	}
	for _, a := range annotators {
		a.Format(doc)
	}
	return res
}
