// Package taskserver hands out the subnet's work: it cuts a crawl into tasks
// (WARC files, or record ranges of them), leases tasks to registered miners
// over an Epistula-signed HTTP API, records every transition with its time
// and chain block, and tells validators and the website who did what.
//
// Its tasks, leases, reports and API bodies are in package taskapi, which
// clients use without this package. The rules live in Service; storage is
// behind the Store interface (taskserver/sqlstore implements it on SQLite
// and PostgreSQL); the HTTP API is in api.go and documented in openapi.yaml.
package taskserver
