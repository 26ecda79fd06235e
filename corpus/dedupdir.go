package corpus

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/datarefine/refine/internal/atomicfile"
)

// The files of a deduplication's output folder (refine dedup --output).
const (
	// RemovedFile lists the removed documents, one Removal a line, in
	// input order.
	RemovedFile = "removed.jsonl"
	// StatsFile is the run's Stats, indented JSON.
	StatsFile = "stats.json"
)

// SetGCLimit sets the Go runtime's memory limit for a run whose buffers
// are sized to memory bytes (EngineOptions.Memory, the build's bound), so
// that the runtime's garbage does not add to them. The limit counts only the
// Go heap and runtime, so it leaves room for what RSS also holds (the
// binary's mapped text and other pages outside the Go runtime).
func SetGCLimit(memory int64) {
	debug.SetMemoryLimit(memory - min(64<<20, memory/8))
}

// DeduplicateTo runs Deduplicate and writes its output folder dir (created
// if needed): RemovedFile and StatsFile. The removals are written to a
// temp file renamed into place at the end, so a failed run leaves no
// partial list. opts.TempDir defaults to dir.
func DeduplicateTo(ctx context.Context, datasets []Dataset, opts EngineOptions, dir string) (*Stats, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("dedup: output folder: %w", err)
	}
	if opts.TempDir == "" {
		opts.TempDir = dir
	}
	// Not synced, as before: a lost list is rebuilt by running again.
	out, err := atomicfile.Create(filepath.Join(dir, RemovedFile), atomicfile.Options{NoSync: true})
	if err != nil {
		return nil, fmt.Errorf("dedup: %w", err)
	}
	defer out.Abort()
	w := bufio.NewWriterSize(out, 1<<20)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	stats, err := Deduplicate(ctx, datasets, opts, func(r Removal) error { return enc.Encode(r) })
	if err != nil {
		return nil, err
	}
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("dedup: write removals: %w", err)
	}
	if err := out.Commit(); err != nil {
		return nil, fmt.Errorf("dedup: write removals: %w", err)
	}
	sj, err := json.MarshalIndent(stats, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, StatsFile), append(sj, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("dedup: write stats: %w", err)
	}
	return stats, nil
}
