// Package sqlstore is a [tokens.Store] on database/sql: one table, created
// on first use, with SQL that SQLite and PostgreSQL both accept. The few
// differences (bind parameters, the binary column type, how migrations
// lock) live in a [Dialect].
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"regexp"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/sqlmigrate"
	"github.com/m365link/m365link/tokens"
)

// Dialect holds what differs between SQL databases.
type Dialect struct {
	// Name is for messages.
	Name string
	// Placeholder returns the n-th (1-based) bind parameter.
	Placeholder func(n int) string
	// BinaryType is the column type for opaque bytes.
	BinaryType string
	// BeginMigration are the statements, run in order on one connection,
	// that open [Store.Migrate]'s transaction and take a lock that makes
	// concurrent migrations, in any process, wait for each other until it
	// commits. Empty means a plain "BEGIN": a transaction without a lock.
	BeginMigration []string
}

// Dialects this package is tested on. SQLite's migration takes the write
// lock at BEGIN IMMEDIATE (give the DSN a busy_timeout so a second process
// waits for it); PostgreSQL's takes a transaction-scoped advisory lock.
var (
	SQLite = Dialect{Name: "sqlite", Placeholder: func(int) string { return "?" }, BinaryType: "BLOB",
		BeginMigration: sqlmigrate.SQLite}
	Postgres = Dialect{Name: "postgres", Placeholder: func(n int) string { return "$" + strconv.Itoa(n) }, BinaryType: "BYTEA",
		BeginMigration: sqlmigrate.Postgres}
)

// Options configures a [Store]. The zero value is usable.
type Options struct {
	// Table is the table name; default "m365link_tokens".
	Table string
}

// Store is a [tokens.Store] and [tokens.Lister] on a *sql.DB. Wrap it in
// [tokens.NewEncrypted]: it stores whatever bytes it is given.
type Store struct {
	db    *sql.DB
	d     Dialect
	table string

	mu       gosync.Mutex
	migrated bool

	qGet, qInsert, qUpdate, qDelete, qKeys, qKeysTenant string
}

var (
	_ tokens.Store  = (*Store)(nil)
	_ tokens.Lister = (*Store)(nil)
)

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// New returns a store on db. The table is created on first use (or by
// [Store.Migrate]).
func New(db *sql.DB, d Dialect, opts *Options) (*Store, error) {
	table := "m365link_tokens"
	if opts != nil && opts.Table != "" {
		table = opts.Table
	}
	if !identRE.MatchString(table) {
		return nil, fmt.Errorf("sqlstore: table name %q is not a plain SQL identifier", table)
	}
	if d.Placeholder == nil || d.BinaryType == "" {
		return nil, errors.New("sqlstore: incomplete dialect")
	}
	p := d.Placeholder
	s := &Store{db: db, d: d, table: table}
	key := fmt.Sprintf("tenant_id = %s AND user_id = %s AND purpose = %s", p(1), p(2), p(3))
	s.qGet = "SELECT data, version FROM " + table + " WHERE " + key
	s.qInsert = fmt.Sprintf("INSERT INTO %s (tenant_id, user_id, purpose, data, version, updated_at) VALUES (%s, %s, %s, %s, 1, %s) ON CONFLICT (tenant_id, user_id, purpose) DO NOTHING",
		table, p(1), p(2), p(3), p(4), p(5))
	// Parameters are numbered in text order: "?" binds by position.
	s.qUpdate = fmt.Sprintf("UPDATE %s SET data = %s, version = version + 1, updated_at = %s WHERE tenant_id = %s AND user_id = %s AND purpose = %s AND version = %s",
		table, p(1), p(2), p(3), p(4), p(5), p(6))
	s.qDelete = "DELETE FROM " + table + " WHERE " + key
	s.qKeys = "SELECT tenant_id, user_id, purpose FROM " + table + " ORDER BY tenant_id, user_id, purpose"
	s.qKeysTenant = "SELECT tenant_id, user_id, purpose FROM " + table + " WHERE tenant_id = " + p(1) + " ORDER BY tenant_id, user_id, purpose"
	return s, nil
}

// Migrate creates the table if it does not exist. It is safe to call from
// several processes at once: migrations run in a transaction under the
// Dialect's lock (BeginMigration), one at a time.
func (s *Store) Migrate(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.migrated {
		return nil
	}
	err := sqlmigrate.Run(ctx, s.db, s.d.BeginMigration, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
	tenant_id VARCHAR(64) NOT NULL,
	user_id VARCHAR(64) NOT NULL,
	purpose VARCHAR(32) NOT NULL,
	data %s NOT NULL,
	version BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (tenant_id, user_id, purpose)
)`, s.table, s.d.BinaryType))
	if err != nil {
		return fmt.Errorf("sqlstore: create table %s (%s): %w", s.table, s.d.Name, err)
	}
	s.migrated = true
	return nil
}

func keyArgs(k tokens.Key) (string, string, string) {
	return strings.ToLower(k.Account.TenantID), strings.ToLower(k.Account.UserID), k.Purpose
}

// Get implements [tokens.Store].
func (s *Store) Get(ctx context.Context, key tokens.Key) (tokens.Entry, error) {
	if err := s.Migrate(ctx); err != nil {
		return tokens.Entry{}, err
	}
	t, u, p := keyArgs(key)
	var e tokens.Entry
	err := s.db.QueryRowContext(ctx, s.qGet, t, u, p).Scan(&e.Data, &e.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return tokens.Entry{}, fmt.Errorf("%w: %s", tokens.ErrNotFound, key)
	}
	if err != nil {
		return tokens.Entry{}, fmt.Errorf("sqlstore: get %s: %w", key, err)
	}
	return e, nil
}

// Put implements [tokens.Store] with one conditional statement, so
// concurrent writers of the same version cannot both succeed.
func (s *Store) Put(ctx context.Context, key tokens.Key, data []byte, prev int64) (int64, error) {
	if err := s.Migrate(ctx); err != nil {
		return 0, err
	}
	if data == nil {
		data = []byte{}
	}
	t, u, p := keyArgs(key)
	now := time.Now().UnixMilli()
	var res sql.Result
	var err error
	if prev == 0 {
		res, err = s.db.ExecContext(ctx, s.qInsert, t, u, p, data, now)
	} else {
		res, err = s.db.ExecContext(ctx, s.qUpdate, data, now, t, u, p, prev)
	}
	if err != nil {
		return 0, fmt.Errorf("sqlstore: put %s: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: put %s: %w", key, err)
	}
	if n != 1 {
		return 0, fmt.Errorf("%w: %s is not at version %d", tokens.ErrConflict, key, prev)
	}
	return prev + 1, nil
}

// Delete implements [tokens.Store].
func (s *Store) Delete(ctx context.Context, key tokens.Key) error {
	if err := s.Migrate(ctx); err != nil {
		return err
	}
	t, u, p := keyArgs(key)
	if _, err := s.db.ExecContext(ctx, s.qDelete, t, u, p); err != nil {
		return fmt.Errorf("sqlstore: delete %s: %w", key, err)
	}
	return nil
}

// Keys implements [tokens.Lister].
func (s *Store) Keys(ctx context.Context, tenant string) iter.Seq2[tokens.Key, error] {
	return func(yield func(tokens.Key, error) bool) {
		if err := s.Migrate(ctx); err != nil {
			yield(tokens.Key{}, err)
			return
		}
		var rows *sql.Rows
		var err error
		if tenant == "" {
			rows, err = s.db.QueryContext(ctx, s.qKeys)
		} else {
			rows, err = s.db.QueryContext(ctx, s.qKeysTenant, strings.ToLower(tenant))
		}
		if err != nil {
			yield(tokens.Key{}, fmt.Errorf("sqlstore: list keys: %w", err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var k tokens.Key
			var a m365link.Account
			if err := rows.Scan(&a.TenantID, &a.UserID, &k.Purpose); err != nil {
				yield(tokens.Key{}, fmt.Errorf("sqlstore: list keys: %w", err))
				return
			}
			k.Account = a
			if !yield(k, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(tokens.Key{}, fmt.Errorf("sqlstore: list keys: %w", err))
		}
	}
}
