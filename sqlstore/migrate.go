package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"
)

// migrations bring the schema from version i to i+1, in order; the
// {prefix}_migrations table holds one row per version applied. Only ever
// append: a database records how far it got, and a newer one (migrated by
// a later release) is left as it is.
var migrations = []struct {
	name  string
	stmts func(t tables, d Dialect) []string
}{
	{
		// Version 1 is the tables of the three packages this one replaced
		// (tokens/sqlstore, sync/syncsql, consent/consentsql), exactly as
		// they created them under the same default names, so a database
		// they wrote to is at version 1 once this ran and keeps its rows.
		name: "tokens, sync state, leases and consent states",
		stmts: func(t tables, d Dialect) []string {
			return []string{
				`CREATE TABLE IF NOT EXISTS ` + t.tokens + ` (
	tenant_id VARCHAR(64) NOT NULL,
	user_id VARCHAR(64) NOT NULL,
	purpose VARCHAR(32) NOT NULL,
	data ` + d.binary + ` NOT NULL,
	version BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (tenant_id, user_id, purpose)
)`,
				`CREATE TABLE IF NOT EXISTS ` + t.syncState + ` (
	mailbox VARCHAR(200) NOT NULL,
	folder VARCHAR(300) NOT NULL,
	data TEXT NOT NULL,
	PRIMARY KEY (mailbox, folder))`,
				`CREATE TABLE IF NOT EXISTS ` + t.leases + ` (
	lease_key VARCHAR(200) NOT NULL PRIMARY KEY,
	owner VARCHAR(200) NOT NULL,
	expires BIGINT NOT NULL)`,
				`CREATE TABLE IF NOT EXISTS ` + t.consentStates + ` (
	state_hash VARCHAR(64) NOT NULL PRIMARY KEY,
	data ` + d.binary + ` NOT NULL,
	expires_at BIGINT NOT NULL
)`,
				"CREATE INDEX IF NOT EXISTS " + t.consentStates + "_expires ON " + t.consentStates + " (expires_at)",
			}
		},
	},
	{
		// The sync engine's records are opaque bytes; sync/syncsql kept
		// them as text, which PostgreSQL refuses for bytes that are not
		// UTF-8. Rows keep their bytes. The column keeps the DEFAULT that
		// SQLite requires to add a NOT NULL column; Save always sets it.
		name: "sync state as bytes",
		stmts: func(t tables, d Dialect) []string {
			return []string{
				"ALTER TABLE " + t.syncState + " ADD COLUMN data_bytes " + d.binary + " NOT NULL DEFAULT ''",
				"UPDATE " + t.syncState + " SET data_bytes = " + d.utf8("data"),
				"ALTER TABLE " + t.syncState + " DROP COLUMN data",
				"ALTER TABLE " + t.syncState + " RENAME COLUMN data_bytes TO data",
			}
		},
	},
	{
		// Sticky, balanced leases: the workers that announce themselves
		// (sync.LeaseBalancer's Heartbeat), and the leases by owner, for
		// renewing and releasing a worker's leases in one statement.
		name: "sync workers",
		stmts: func(t tables, d Dialect) []string {
			return []string{
				`CREATE TABLE IF NOT EXISTS ` + t.workers + ` (
	owner VARCHAR(200) NOT NULL PRIMARY KEY,
	expires BIGINT NOT NULL)`,
				"CREATE INDEX IF NOT EXISTS " + t.leases + "_owner ON " + t.leases + " (owner)",
			}
		},
	},
}

// migrate applies the migrations db lacks, in one transaction on one
// connection that first takes the dialect's lock. On any failure it rolls
// back; a connection whose rollback fails is discarded rather than
// returned to the pool inside a transaction.
func migrate(ctx context.Context, db *sql.DB, d Dialect, t tables) (err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	defer func() {
		if err != nil {
			rollback(ctx, conn)
		}
	}()
	for _, q := range d.begin {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("begin: %w", err)
		}
	}
	if _, err := conn.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+t.migrations+
		" (version BIGINT NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL)"); err != nil {
		return err
	}
	var have int
	if err := conn.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM "+t.migrations).Scan(&have); err != nil {
		return err
	}
	record := "INSERT INTO " + t.migrations + " (version, applied_at) VALUES (" + d.param(1) + ", " + d.param(2) + ")"
	for v := have + 1; v <= len(migrations); v++ {
		m := migrations[v-1]
		for _, q := range m.stmts(t, d) {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("version %d (%s): %w", v, m.name, err)
			}
		}
		if _, err := conn.ExecContext(ctx, record, v, time.Now().UnixMilli()); err != nil {
			return fmt.Errorf("version %d (%s): %w", v, m.name, err)
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
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
