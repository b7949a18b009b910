// Package report turns synced, matched mail and meetings into what a person
// looks at: a compact per-vendor activity table, one vendor's timeline, and a
// small self-contained HTML page (vendor table, per-vendor timeline of mail
// and meetings, per-mailbox sync status).
//
// The package knows nothing of Graph or of the sync engine: the caller fills
// a [Data] from its own store (the quickstart and cmd/m365link fill it from
// SQLite) and calls [Table], [Timeline] or [HTML]. Output depends only on the
// Data, so it is stable enough to compare in tests.
package report
