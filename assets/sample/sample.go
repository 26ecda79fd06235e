// Package sample is the small real WARC built into the binary, so that the
// project's main job, `refine devnet` with no input flags, runs a whole
// subnet on a fresh clone with nothing else present and no network. The
// file, its origin and licence are in this folder (README.md, LICENSE).
package sample

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
)

// Name is the sample's file name.
const Name = "dolma-sample-0000.warc.gz"

// SHA256 is the sample's hash, as published upstream (see README.md).
const SHA256 = "53bca229270eb5f5f02f64af20807178b710bc2fa13de5c96f58c70114ab839a"

// Records is the number of WARC records in the sample; Ranges ×
// RecordsPerRange cut it into one task per default miner.
const (
	Records         = 48
	Ranges          = 3
	RecordsPerRange = 16
)

//go:embed dolma-sample-0000.warc.gz
var data []byte

// WARC returns the sample's bytes (a copy: callers may not alter the
// embedded ones).
func WARC() []byte { return append([]byte(nil), data...) }

// Write writes the sample into dir (created if needed) as Name, byte for
// byte, and returns its path.
func Write(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("sample WARC: %w", err)
	}
	p := filepath.Join(dir, Name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return "", fmt.Errorf("sample WARC: %w", err)
	}
	return p, nil
}
