package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/datarefine/refine/sqldb"
)

// envData overrides the data folder.
const envData = "REFINE_DATA"

// dataDir is the folder where commands keep their databases when no flag
// names one: $REFINE_DATA, else $XDG_DATA_HOME/refine, else
// ~/.local/share/refine (the XDG base directory convention). Commands never
// write into the current folder unless told to.
func dataDir() string {
	if d := os.Getenv(envData); d != "" {
		return d
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "refine")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "refine")
	}
	return filepath.Join(os.TempDir(), "refine")
}

// dataPath is a default file in the data folder.
func dataPath(name string) string { return filepath.Join(dataDir(), name) }

// prepareDB creates the folder of a SQLite database that is about to be
// created (the data folder on a first run).
func prepareDB(dsn string) error {
	file, ok := sqldb.SQLiteFile(dsn)
	if !ok {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return fmt.Errorf("database %s: %w", file, err)
	}
	return nil
}
