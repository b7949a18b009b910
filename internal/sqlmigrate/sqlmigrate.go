// Package sqlmigrate runs the library's schema statements on database/sql
// so that processes starting together do not race: the statements run in
// one transaction that first takes a lock held until it commits. A second
// migrator waits for the first, then finds its tables there.
package sqlmigrate

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"
)

// lockKey names the library's migrations among the database's advisory
// locks: "m365link" in ASCII, read as a big-endian bigint. Every store of
// the library takes the same one, so all of its migrations in a database
// run one at a time.
const lockKey = "7868692577026403947"

// Statements that open a migration's transaction and take its lock.
var (
	// SQLite takes the database's write lock at BEGIN (IMMEDIATE): a second
	// migrator waits on busy_timeout there rather than failing to upgrade a
	// read lock half-way.
	SQLite = []string{"BEGIN IMMEDIATE"}
	// Postgres takes a transaction-scoped advisory lock, released at COMMIT
	// or ROLLBACK. Without it two concurrent CREATE TABLE IF NOT EXISTS of
	// one table can both pass the existence check and one then fails on
	// pg_type's unique index.
	Postgres = []string{"BEGIN", "SELECT pg_advisory_xact_lock(" + lockKey + ")"}
)

// ForName returns the statements for a dialect known by name ("sqlite",
// "postgres"), and nil for any other. It serves stores whose Dialect does
// not carry the statements itself.
func ForName(name string) []string {
	switch name {
	case "sqlite":
		return SQLite
	case "postgres":
		return Postgres
	}
	return nil
}

// Run executes begin (nil: a plain BEGIN, a transaction without a lock
// across processes) and then stmts on one connection of db, and commits.
// On any failure it rolls back; a connection whose rollback fails is
// discarded rather than returned to the pool inside a transaction.
func Run(ctx context.Context, db *sql.DB, begin []string, stmts ...string) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if len(begin) == 0 {
		begin = []string{"BEGIN"}
	}
	step := func(what, q string) error {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			rollback(ctx, conn)
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
	for _, q := range begin {
		if err := step("begin migration", q); err != nil {
			return err
		}
	}
	for i, q := range stmts {
		if err := step(fmt.Sprintf("statement %d of %d", i+1, len(stmts)), q); err != nil {
			return err
		}
	}
	return step("commit migration", "COMMIT")
}

func rollback(ctx context.Context, conn *sql.Conn) {
	// The caller's ctx may be what ended the migration; the rollback must
	// still run.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := conn.ExecContext(rctx, "ROLLBACK"); err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}
