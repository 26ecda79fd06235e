package sqlstore

import "database/sql"

// DB exposes the write handle to tests that corrupt a database on purpose.
func DB(s *Store) *sql.DB { return s.w }

// Backfill5 runs migration 5's backfill again (as on a database whose
// scores predate it).
var Backfill5 = backfill5
