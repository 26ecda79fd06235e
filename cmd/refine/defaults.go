package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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

// sqliteFile returns the file of a SQLite database flag (a path, or
// sqlite://path) and false for a server DSN (postgres://…) or ":memory:".
func sqliteFile(dsn string) (string, bool) {
	if dsn == ":memory:" || strings.Contains(dsn, "://") && !strings.HasPrefix(dsn, "sqlite://") {
		return "", false
	}
	return strings.TrimPrefix(dsn, "sqlite://"), true
}

// prepareDB creates the folder of a SQLite database that is about to be
// created (the data folder on a first run).
func prepareDB(dsn string) error {
	file, ok := sqliteFile(dsn)
	if !ok {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return fmt.Errorf("database %s: %w", file, err)
	}
	return nil
}

// requireDB checks that a database another command writes exists, so that
// a reader pointed at the wrong file fails instead of creating an empty one.
func requireDB(dsn, flag, writer string) error {
	file, ok := sqliteFile(dsn)
	if !ok {
		return nil
	}
	if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s %s: no such database; it is the file '%s' writes (give the same --db to both, or run '%s' first)", flag, file, writer, writer)
	} else if err != nil {
		return fmt.Errorf("%s %s: %w", flag, file, err)
	}
	return nil
}

// siteDBPath is the website's own database: --web-db, else web.db next to
// a SQLite task server database, else web.db in the data folder.
func siteDBPath(webDB, db string) string {
	if webDB != "" {
		return webDB
	}
	if file, ok := sqliteFile(db); ok {
		return filepath.Join(filepath.Dir(file), "web.db")
	}
	return dataPath("web.db")
}
