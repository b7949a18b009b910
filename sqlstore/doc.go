// Package sqlstore keeps everything the library stores — tokens, the sync
// engine's state and leases, pending consent attempts — in the host's SQL
// database through database/sql, on SQLite or PostgreSQL. The statements
// are SQL both accept; the few differences (bind parameters, the binary
// column type, how a migration locks, how text becomes bytes) live in one
// [Dialect] value, [SQLite] or [Postgres].
//
// One [Store] per database hands out a view per interface:
//
//	store, err := sqlstore.New(db, sqlstore.Postgres, nil) // db from sql.Open("pgx", dsn)
//	err = store.Migrate(ctx)                                // optional: every view migrates on first use
//
//	tokens.Config{Store: tokens.NewEncrypted(store.Tokens(), ring), …}
//	m365sync.Config{State: store.SyncState(), Leases: store.Leases(), …}
//	consent.Config{States: store.ConsentStates(), …}
//
// # Tables
//
// Every table's name starts with [Options.Prefix] ("m365link" by default):
//
//	m365link_tokens          one opaque blob per account and purpose, with its version (compare-and-swap)
//	m365link_sync_state      the sync engine's records, opaque bytes per mailbox and key
//	m365link_sync_leases     which worker holds which mailbox, until when
//	m365link_sync_workers    the sync workers alive, until when (sticky, balanced leases)
//	m365link_consent_states  pending consent attempts, keyed by a hash of the state value
//	m365link_migrations      the schema versions applied
//
// [Store.Migrate] brings them all to the current schema in one
// transaction, under a lock that makes concurrent migrations in any
// process run one at a time (SQLite: BEGIN IMMEDIATE, so give the DSN a
// busy_timeout; PostgreSQL: a transaction-scoped advisory lock).
//
// # Data of earlier releases
//
// This package replaces tokens/sqlstore, sync/syncsql and
// consent/consentsql, and uses their default table names: a database they
// wrote to keeps its rows, which Migrate brings to the current schema (the
// sync state's text column becomes a binary one, the bytes unchanged).
// A host that gave those packages other names renames its tables to the
// scheme above before the first Migrate; one that runs old and new
// releases side by side upgrades every sync worker together, since an old
// worker writes sync state as text.
package sqlstore
