// Package syncsql keeps the sync engine's cursors, statuses and leases in
// a SQL database through database/sql: SQLite and PostgreSQL, with SQL both
// accept and the differences in one [Dialect] value.
package syncsql
