package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
)

// Options configures a [Store]. The zero value is usable.
type Options struct {
	// Prefix starts every table's name; default "m365link". The tables
	// are {Prefix}_tokens, {Prefix}_sync_state, {Prefix}_sync_leases,
	// {Prefix}_sync_workers, {Prefix}_consent_states and
	// {Prefix}_migrations. It is a plain SQL
	// identifier of at most 39 characters, so that every name derived
	// from it fits PostgreSQL's 63.
	Prefix string
}

// DefaultPrefix is the table prefix when [Options.Prefix] is empty.
const DefaultPrefix = "m365link"

var prefixRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,38}$`)

// tables are a store's table names.
type tables struct {
	tokens, syncState, leases, workers, consentStates, migrations string
}

func tablesFor(prefix string) tables {
	return tables{
		tokens:        prefix + "_tokens",
		syncState:     prefix + "_sync_state",
		leases:        prefix + "_sync_leases",
		workers:       prefix + "_sync_workers",
		consentStates: prefix + "_consent_states",
		migrations:    prefix + "_migrations",
	}
}

// Store is the library's data in one SQL database. It hands out one view
// per store the other packages take, each safe for concurrent use by any
// number of goroutines and processes sharing the database:
//   - [Store.Tokens]: a tokens.Store and tokens.Lister;
//   - [Store.SyncState]: a sync.StateStore and sync.MailboxLister;
//   - [Store.Leases]: a sync.LeaseStore and sync.LeaseBalancer;
//   - [Store.ConsentStates]: a consent.StateStore.
//
// They are views rather than methods of one type so that each value is
// exactly the store its package takes (packages find optional interfaces
// such as tokens.Lister by type assertion) and a name such as Delete
// keeps one meaning as stores are added.
type Store struct {
	db     *sql.DB
	d      Dialect
	prefix string
	t      tables

	mu       gosync.Mutex // serialises Migrate within the process
	migrated atomic.Bool

	tokens  *Tokens
	sync    *SyncState
	leases  *Leases
	consent *ConsentStates
}

// New returns a store on db in dialect d; nil opts means the defaults. It
// touches nothing yet: every view runs [Store.Migrate] on first use, or
// the host runs it at start-up.
func New(db *sql.DB, d Dialect, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	var bad []string
	if db == nil {
		bad = append(bad, "no database")
	}
	if !d.complete() {
		bad = append(bad, "no dialect (SQLite or Postgres)")
	}
	if !prefixRE.MatchString(o.Prefix) {
		bad = append(bad, fmt.Sprintf("Prefix %q is not a plain SQL identifier of at most 39 characters", o.Prefix))
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("sqlstore: %s", strings.Join(bad, "; "))
	}
	s := &Store{db: db, d: d, prefix: o.Prefix, t: tablesFor(o.Prefix)}
	s.tokens = newTokens(s)
	s.sync = newSyncState(s)
	s.leases = newLeases(s)
	s.consent = newConsentStates(s)
	return s, nil
}

// Tokens returns the store's [tokens.Store].
func (s *Store) Tokens() *Tokens { return s.tokens }

// SyncState returns the store's sync.StateStore.
func (s *Store) SyncState() *SyncState { return s.sync }

// Leases returns the store's sync.LeaseStore and sync.LeaseBalancer.
func (s *Store) Leases() *Leases { return s.leases }

// ConsentStates returns the store's [consent.StateStore].
func (s *Store) ConsentStates() *ConsentStates { return s.consent }

// Migrate brings every table of the store to the current schema, creating
// what is missing, in one transaction under the dialect's lock: several
// processes may call it at once, and each waits for the one before. Once
// it succeeded, further calls on s return at once.
func (s *Store) Migrate(ctx context.Context) error {
	if s.migrated.Load() {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.migrated.Load() {
		return nil
	}
	if err := migrate(ctx, s.db, s.d, s.t); err != nil {
		return fmt.Errorf("sqlstore: migrate %s_* (%s): %w", s.prefix, s.d.name, err)
	}
	s.migrated.Store(true)
	return nil
}

// String names the dialect and the table prefix; never the database
// handle, whose driver configuration may hold a password.
func (s *Store) String() string { return "sqlstore.Store{" + s.d.name + " " + s.prefix + "}" }

// GoString is String.
func (s *Store) GoString() string { return s.String() }

// Format prints String for every verb.
func (s *Store) Format(f fmt.State, verb rune) {
	out := s.String()
	if verb == 'q' {
		out = strconv.Quote(out)
	}
	_, _ = io.WriteString(f, out)
}

// LogValue logs the dialect and the table prefix.
func (s *Store) LogValue() slog.Value {
	return slog.GroupValue(slog.String("dialect", s.d.name), slog.String("prefix", s.prefix))
}
