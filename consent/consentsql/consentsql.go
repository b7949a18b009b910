// Package consentsql is a [consent.StateStore] on database/sql, for hosts
// that run several instances: every instance reads and consumes pending
// attempts in one shared table, so a callback consumed by one is refused
// by all (MemoryStates and SignedStates enforce single use per process
// only). It runs on SQLite and PostgreSQL with SQL both accept; the few
// differences (bind parameters, the binary column type, how migrations
// are serialised) live in a [Dialect].
//
// Take is one statement, DELETE … RETURNING, so of two instances consuming
// the same state at once exactly one gets the attempt. Rows are keyed by
// a SHA-256 of the state value, so the table never holds a usable state.
// An attempt's PKCE verifier and nonce are stored with it for at most its
// lifetime (Config.StateTTL, 10 minutes by default): expired rows are
// deleted when met, and in bulk by [States.Purge], which Issue runs at
// most once a minute.
package consentsql

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"regexp"
	"strconv"
	gosync "sync"
	"time"

	"github.com/m365link/m365link/consent"
)

// Dialect holds what differs between SQL databases.
type Dialect struct {
	// Name is for messages.
	Name string
	// Placeholder returns the n-th (1-based) bind parameter.
	Placeholder func(n int) string
	// BinaryType is the column type for opaque bytes.
	BinaryType string
	// MigrateLock, when not empty, runs first in the migration's
	// transaction with one int64 parameter and holds a lock until the
	// transaction ends, so concurrent migrations run one at a time.
	// Empty when the transaction itself serialises them (SQLite).
	MigrateLock string
}

// Dialects this package is tested on.
var (
	SQLite = Dialect{Name: "sqlite", Placeholder: func(int) string { return "?" }, BinaryType: "BLOB"}
	// Postgres serialises migrations with a transaction-scoped advisory
	// lock: concurrent CREATE TABLE IF NOT EXISTS can otherwise fail on
	// PostgreSQL's catalog constraints.
	Postgres = Dialect{Name: "postgres", Placeholder: func(n int) string { return "$" + strconv.Itoa(n) }, BinaryType: "BYTEA",
		MigrateLock: "SELECT pg_advisory_xact_lock($1)"}
)

// Options configures a [States]. The zero value is usable.
type Options struct {
	// Table is the table name; default "m365link_consent_states".
	Table string
}

// States is a [consent.StateStore] on a *sql.DB, safe for concurrent use
// by any number of goroutines and processes.
type States struct {
	db    *sql.DB
	d     Dialect
	table string
	lock  int64
	now   func() time.Time

	mu         gosync.Mutex
	migrated   bool
	lastPurged time.Time

	qInsert, qTake, qPurge string
}

var _ consent.StateStore = (*States)(nil)

// identRE admits plain identifiers short enough for PostgreSQL (63 bytes)
// once the index suffix is added.
var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,54}$`)

// purgeEvery is how often Issue deletes expired rows.
const purgeEvery = time.Minute

// New returns a store on db. The table is created on first use (or by
// [States.Migrate]).
func New(db *sql.DB, d Dialect, opts *Options) (*States, error) {
	table := "m365link_consent_states"
	if opts != nil && opts.Table != "" {
		table = opts.Table
	}
	if !identRE.MatchString(table) {
		return nil, fmt.Errorf("consentsql: table name %q is not a plain SQL identifier of at most 55 characters", table)
	}
	if db == nil || d.Placeholder == nil || d.BinaryType == "" {
		return nil, errors.New("consentsql: New needs a database and a complete dialect")
	}
	h := fnv.New64a()
	_, _ = io.WriteString(h, "m365link/consentsql/"+table)
	p := d.Placeholder
	return &States{
		db: db, d: d, table: table, lock: int64(h.Sum64() >> 1), now: time.Now,
		qInsert: fmt.Sprintf("INSERT INTO %s (state_hash, data, expires_at) VALUES (%s, %s, %s)", table, p(1), p(2), p(3)),
		// One statement: the row is gone for everyone the moment one
		// caller gets it.
		qTake:  fmt.Sprintf("DELETE FROM %s WHERE state_hash = %s RETURNING data, expires_at", table, p(1)),
		qPurge: fmt.Sprintf("DELETE FROM %s WHERE expires_at <= %s", table, p(1)),
	}, nil
}

// Migrate creates the table and its expiry index if they do not exist, in
// one transaction (under an advisory lock on PostgreSQL), so several
// processes may call it at once.
func (s *States) Migrate(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.migrated {
		return nil
	}
	if err := s.migrate(ctx); err != nil {
		return fmt.Errorf("consentsql: migrate %s (%s): %w", s.table, s.d.Name, err)
	}
	s.migrated = true
	return nil
}

func (s *States) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if s.d.MigrateLock != "" {
		if _, err := tx.ExecContext(ctx, s.d.MigrateLock, s.lock); err != nil {
			return err
		}
	}
	for _, q := range []string{
		fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
	state_hash VARCHAR(64) NOT NULL PRIMARY KEY,
	data %s NOT NULL,
	expires_at BIGINT NOT NULL
)`, s.table, s.d.BinaryType),
		fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s_expires ON %s (expires_at)", s.table, s.table),
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// attemptV1 is the stored form of an attempt (format 1): the library's own
// field names, so renaming a field of consent.Attempt cannot break rows.
// The ID is the state value itself, so it is not stored: Take has it.
// AdminRole came after format 1's first release; a row without it reads as
// an attempt without a proven role, which admin consent refuses, so the
// format stays 1.
type attemptV1 struct {
	Flow      consent.Flow `json:"f"`
	Binding   string       `json:"b"`
	Tenant    string       `json:"t"`
	Verifier  string       `json:"v,omitempty"`
	Nonce     string       `json:"n,omitempty"`
	Subject   string       `json:"s,omitempty"`
	AdminRole string       `json:"a,omitempty"`
	ReturnTo  string       `json:"r,omitempty"`
	Expires   int64        `json:"e"` // Unix milliseconds
}

const formatV1 = 1

func encode(a consent.Attempt) ([]byte, error) {
	b, err := json.Marshal(attemptV1{Flow: a.Flow, Binding: a.Binding, Tenant: a.Tenant, Verifier: a.Verifier,
		Nonce: a.Nonce, Subject: a.Subject, AdminRole: a.AdminRole, ReturnTo: a.ReturnTo, Expires: a.Expires.UnixMilli()})
	if err != nil {
		return nil, err
	}
	return append([]byte{formatV1}, b...), nil
}

func decode(state string, data []byte) (consent.Attempt, error) {
	if len(data) == 0 || data[0] != formatV1 {
		return consent.Attempt{}, errors.New("consentsql: stored attempt in an unknown format")
	}
	var v attemptV1
	if err := json.Unmarshal(data[1:], &v); err != nil {
		return consent.Attempt{}, fmt.Errorf("consentsql: stored attempt: %w", err)
	}
	return consent.Attempt{ID: state, Flow: v.Flow, Binding: v.Binding, Tenant: v.Tenant, Verifier: v.Verifier, Nonce: v.Nonce,
		Subject: v.Subject, AdminRole: v.AdminRole, ReturnTo: v.ReturnTo, Expires: time.UnixMilli(v.Expires)}, nil
}

// hashState is the row key for a state value.
func hashState(state string) string {
	sum := sha256.Sum256([]byte("m365link/consentsql/state\x00" + state))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Issue implements [consent.StateStore]: the state value is the attempt's
// random ID, stored only as a hash.
func (s *States) Issue(ctx context.Context, a consent.Attempt) (string, error) {
	if len(a.ID) < 16 {
		return "", errors.New("consentsql: Issue needs an attempt with a random ID")
	}
	if err := s.Migrate(ctx); err != nil {
		return "", err
	}
	if s.purgeDue() {
		if _, err := s.Purge(ctx); err != nil {
			return "", err
		}
	}
	data, err := encode(a)
	if err != nil {
		return "", fmt.Errorf("consentsql: encode attempt: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, s.qInsert, hashState(a.ID), data, a.Expires.UnixMilli()); err != nil {
		return "", fmt.Errorf("consentsql: save attempt: %w", err)
	}
	return a.ID, nil
}

// Take implements [consent.StateStore]: it deletes the attempt and returns
// it in one statement, so a state is consumed once across every process
// sharing the table. An expired attempt is deleted and not returned.
func (s *States) Take(ctx context.Context, state string) (consent.Attempt, error) {
	if state == "" {
		return consent.Attempt{}, consent.ErrStateNotFound
	}
	if err := s.Migrate(ctx); err != nil {
		return consent.Attempt{}, err
	}
	var data []byte
	var expires int64
	err := s.db.QueryRowContext(ctx, s.qTake, hashState(state)).Scan(&data, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return consent.Attempt{}, consent.ErrStateNotFound
	}
	if err != nil {
		return consent.Attempt{}, fmt.Errorf("consentsql: take attempt: %w", err)
	}
	if !s.now().Before(time.UnixMilli(expires)) {
		return consent.Attempt{}, consent.ErrStateNotFound
	}
	return decode(state, data)
}

// Purge deletes every expired attempt and returns how many there were.
func (s *States) Purge(ctx context.Context) (int64, error) {
	if err := s.Migrate(ctx); err != nil {
		return 0, err
	}
	res, err := s.db.ExecContext(ctx, s.qPurge, s.now().UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("consentsql: purge expired attempts: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

func (s *States) purgeDue() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if now.Sub(s.lastPurged) < purgeEvery {
		return false
	}
	s.lastPurged = now
	return true
}

// String names the table and dialect; never the database handle, whose
// driver configuration may hold a password.
func (s *States) String() string { return "consentsql.States{" + s.d.Name + " " + s.table + "}" }

// GoString is String.
func (s *States) GoString() string { return s.String() }

// Format prints String for every verb.
func (s *States) Format(f fmt.State, verb rune) {
	out := s.String()
	if verb == 'q' {
		out = strconv.Quote(out)
	}
	_, _ = io.WriteString(f, out)
}

// LogValue logs the dialect and table.
func (s *States) LogValue() slog.Value {
	return slog.GroupValue(slog.String("dialect", s.d.Name), slog.String("table", s.table))
}
