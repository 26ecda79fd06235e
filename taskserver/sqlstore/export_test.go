package sqlstore

import "database/sql"

// DB exposes the write handle to tests that corrupt a database on purpose.
func DB(s *Store) *sql.DB { return s.w }
