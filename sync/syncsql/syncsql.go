package syncsql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/m365link/m365link/internal/sqlmigrate"
	m365sync "github.com/m365link/m365link/sync"
)

// Dialect holds what differs between SQL databases.
type Dialect struct {
	// Name is for messages.
	Name string
	// Placeholder returns the n-th (1-based) bind parameter. "?" binds by
	// position, so statements number their parameters in text order.
	Placeholder func(n int) string
}

// Dialects this package is tested on.
var (
	SQLite   = Dialect{Name: "sqlite", Placeholder: func(int) string { return "?" }}
	Postgres = Dialect{Name: "postgres", Placeholder: func(n int) string { return "$" + strconv.Itoa(n) }}
)

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,50}$`)

// Store is a [m365sync.StateStore], [m365sync.MailboxLister] and
// [m365sync.LeaseStore] on one database. Tables are created on first use
// (or by [Store.Migrate]): {prefix}_state holds a JSON document per folder
// cursor and per mailbox status, {prefix}_leases one row per leased
// mailbox. Lease expiry is judged by the acquiring process's clock, so
// workers' clocks should agree within a small part of the lease TTL.
type Store struct {
	db     *sql.DB
	d      Dialect
	state  string
	leases string

	mu       gosync.Mutex // serializes Migrate
	migrated atomic.Bool
}

var (
	_ m365sync.StateStore    = (*Store)(nil)
	_ m365sync.MailboxLister = (*Store)(nil)
	_ m365sync.LeaseStore    = (*Store)(nil)
)

// New returns a store on db with tables named prefix_state and
// prefix_leases (prefix default "m365link_sync").
func New(db *sql.DB, d Dialect, prefix string) (*Store, error) {
	if prefix == "" {
		prefix = "m365link_sync"
	}
	if !identRE.MatchString(prefix) {
		return nil, fmt.Errorf("syncsql: table prefix %q is not a plain SQL identifier", prefix)
	}
	if d.Placeholder == nil {
		return nil, errors.New("syncsql: incomplete dialect")
	}
	return &Store{db: db, d: d, state: prefix + "_state", leases: prefix + "_leases"}, nil
}

func (s *Store) p(n int) string { return s.d.Placeholder(n) }

// Migrate creates the tables if they do not exist. It is safe to call from
// several processes at once: the statements run in one transaction under a
// lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock), so
// migrations wait for each other instead of racing.
func (s *Store) Migrate(ctx context.Context) error {
	if s.migrated.Load() {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.migrated.Load() {
		return nil
	}
	// The lock statements belong in Dialect; until it carries them they
	// are looked up by the dialect's name, in one place.
	err := sqlmigrate.Run(ctx, s.db, sqlmigrate.ForName(s.d.Name),
		`CREATE TABLE IF NOT EXISTS `+s.state+` (
	mailbox VARCHAR(200) NOT NULL,
	folder VARCHAR(300) NOT NULL,
	data TEXT NOT NULL,
	PRIMARY KEY (mailbox, folder))`,
		`CREATE TABLE IF NOT EXISTS `+s.leases+` (
	lease_key VARCHAR(200) NOT NULL PRIMARY KEY,
	owner VARCHAR(200) NOT NULL,
	expires BIGINT NOT NULL)`)
	if err != nil {
		return fmt.Errorf("syncsql: create tables (%s): %w", s.d.Name, err)
	}
	s.migrated.Store(true)
	return nil
}

// Load implements [m365sync.StateStore]. Keys are kept in the folder
// column as the engine gives them ("" for a mailbox's record, "f:" and a
// folder ID for its cursors), so state written by earlier versions, which
// kept JSON there under the same keys, loads as it is.
func (s *Store) Load(ctx context.Context, mailbox, key string) ([]byte, error) {
	if err := s.Migrate(ctx); err != nil {
		return nil, err
	}
	var data string
	err := s.db.QueryRowContext(ctx, "SELECT data FROM "+s.state+" WHERE mailbox = "+s.p(1)+" AND folder = "+s.p(2), mailbox, key).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("syncsql: load %s %s: %w", mailbox, key, err)
	}
	return []byte(data), nil
}

// Save implements [m365sync.StateStore].
func (s *Store) Save(ctx context.Context, mailbox, key string, value []byte) error {
	if err := s.Migrate(ctx); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, "INSERT INTO "+s.state+" (mailbox, folder, data) VALUES ("+s.p(1)+", "+s.p(2)+", "+s.p(3)+
		") ON CONFLICT (mailbox, folder) DO UPDATE SET data = excluded.data", mailbox, key, string(value))
	if err != nil {
		return fmt.Errorf("syncsql: save %s %s: %w", mailbox, key, err)
	}
	return nil
}

// DeleteMailbox implements [m365sync.StateStore].
func (s *Store) DeleteMailbox(ctx context.Context, mailbox string) error {
	if err := s.Migrate(ctx); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, "DELETE FROM "+s.state+" WHERE mailbox = "+s.p(1), mailbox); err != nil {
		return fmt.Errorf("syncsql: delete %s: %w", mailbox, err)
	}
	return nil
}

// ListMailboxes implements [m365sync.MailboxLister].
func (s *Store) ListMailboxes(ctx context.Context) ([]string, error) {
	if err := s.Migrate(ctx); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, "SELECT DISTINCT mailbox FROM "+s.state+" ORDER BY mailbox")
	if err != nil {
		return nil, fmt.Errorf("syncsql: list mailboxes: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("syncsql: list mailboxes: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("syncsql: list mailboxes: %w", err)
	}
	return out, nil
}

// Acquire implements [m365sync.LeaseStore] with one conditional upsert: the
// row is written only when it is new, ours, or expired.
func (s *Store) Acquire(ctx context.Context, key, owner string, ttl time.Duration) (bool, error) {
	if err := s.Migrate(ctx); err != nil {
		return false, err
	}
	now := time.Now().UnixMilli()
	res, err := s.db.ExecContext(ctx, "INSERT INTO "+s.leases+" (lease_key, owner, expires) VALUES ("+s.p(1)+", "+s.p(2)+", "+s.p(3)+
		") ON CONFLICT (lease_key) DO UPDATE SET owner = excluded.owner, expires = excluded.expires WHERE "+
		s.leases+".owner = excluded.owner OR "+s.leases+".expires < "+s.p(4),
		key, owner, now+ttl.Milliseconds(), now)
	if err != nil {
		return false, fmt.Errorf("syncsql: lease %s: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("syncsql: lease %s: %w", key, err)
	}
	return n == 1, nil
}

// Release implements [m365sync.LeaseStore].
func (s *Store) Release(ctx context.Context, key, owner string) error {
	if err := s.Migrate(ctx); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, "DELETE FROM "+s.leases+" WHERE lease_key = "+s.p(1)+" AND owner = "+s.p(2), key, owner); err != nil {
		return fmt.Errorf("syncsql: release %s: %w", key, err)
	}
	return nil
}
