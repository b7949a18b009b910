package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	m365sync "github.com/m365link/m365link/sync"
)

// SyncState is a [m365sync.StateStore], [m365sync.MailboxLister] and
// [m365sync.KeyLister] in
// the {prefix}_sync_state table, from [Store.SyncState]: one row per
// mailbox and key, holding the engine's opaque record. Keys are kept in
// the folder column as the engine gives them ("" for a mailbox's record,
// "f:" and a folder ID for its cursors).
type SyncState struct {
	s *Store

	qLoad, qSave, qDelete, qList, qKeys string
}

var (
	_ m365sync.StateStore    = (*SyncState)(nil)
	_ m365sync.MailboxLister = (*SyncState)(nil)
	_ m365sync.KeyLister     = (*SyncState)(nil)
)

func newSyncState(s *Store) *SyncState {
	table, p := s.t.syncState, s.d.param
	return &SyncState{
		s:     s,
		qLoad: "SELECT data FROM " + table + " WHERE mailbox = " + p(1) + " AND folder = " + p(2),
		qSave: "INSERT INTO " + table + " (mailbox, folder, data) VALUES (" + p(1) + ", " + p(2) + ", " + p(3) +
			") ON CONFLICT (mailbox, folder) DO UPDATE SET data = excluded.data",
		qDelete: "DELETE FROM " + table + " WHERE mailbox = " + p(1),
		qList:   "SELECT DISTINCT mailbox FROM " + table + " ORDER BY mailbox",
		qKeys:   "SELECT folder FROM " + table + " WHERE mailbox = " + p(1) + " ORDER BY folder",
	}
}

// ListKeys implements [m365sync.KeyLister], in order.
func (st *SyncState) ListKeys(ctx context.Context, mailbox string) ([]string, error) {
	if err := st.s.Migrate(ctx); err != nil {
		return nil, err
	}
	rows, err := st.s.db.QueryContext(ctx, st.qKeys, mailbox)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list keys of %s: %w", mailbox, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("sqlstore: list keys of %s: %w", mailbox, err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list keys of %s: %w", mailbox, err)
	}
	return out, nil
}

// Load implements [m365sync.StateStore].
func (st *SyncState) Load(ctx context.Context, mailbox, key string) ([]byte, error) {
	if err := st.s.Migrate(ctx); err != nil {
		return nil, err
	}
	var data []byte
	err := st.s.db.QueryRowContext(ctx, st.qLoad, mailbox, key).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: load sync state %s %q: %w", mailbox, key, err)
	}
	return data, nil
}

// Save implements [m365sync.StateStore].
func (st *SyncState) Save(ctx context.Context, mailbox, key string, value []byte) error {
	if err := st.s.Migrate(ctx); err != nil {
		return err
	}
	if value == nil {
		value = []byte{}
	}
	if _, err := st.s.db.ExecContext(ctx, st.qSave, mailbox, key, value); err != nil {
		return fmt.Errorf("sqlstore: save sync state %s %q: %w", mailbox, key, err)
	}
	return nil
}

// DeleteMailbox implements [m365sync.StateStore].
func (st *SyncState) DeleteMailbox(ctx context.Context, mailbox string) error {
	if err := st.s.Migrate(ctx); err != nil {
		return err
	}
	if _, err := st.s.db.ExecContext(ctx, st.qDelete, mailbox); err != nil {
		return fmt.Errorf("sqlstore: delete sync state %s: %w", mailbox, err)
	}
	return nil
}

// ListMailboxes implements [m365sync.MailboxLister], in order.
func (st *SyncState) ListMailboxes(ctx context.Context) ([]string, error) {
	if err := st.s.Migrate(ctx); err != nil {
		return nil, err
	}
	rows, err := st.s.db.QueryContext(ctx, st.qList)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list mailboxes: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("sqlstore: list mailboxes: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list mailboxes: %w", err)
	}
	return out, nil
}

// Leases is a [m365sync.LeaseStore] and [m365sync.LeaseBalancer] in the
// {prefix}_sync_leases table (one row per leased key) and the
// {prefix}_sync_workers table (one row per worker that announced itself),
// from [Store.Leases]. Every change is one conditional statement, so of
// concurrent contenders for a free lease exactly one wins, and no
// statement waits for another's locks beyond its own rows. Expiry is
// judged by the clock of the calling process, so workers' clocks should
// agree within a small part of the lease TTL.
type Leases struct {
	s *Store

	qAcquire, qRelease, qBeat, qLive, qForget, qHeld, qLeave string
}

var (
	_ m365sync.LeaseStore    = (*Leases)(nil)
	_ m365sync.LeaseBalancer = (*Leases)(nil)
)

// keysPerStatement bounds the keys one Renew or Leave statement names
// (SQLite allows 32,766 bind parameters, PostgreSQL 65,535).
const keysPerStatement = 500

func newLeases(s *Store) *Leases {
	table, workers, p := s.t.leases, s.t.workers, s.d.param
	return &Leases{
		s: s,
		// One conditional upsert: the row is written only when it is new,
		// ours, or expired.
		qAcquire: "INSERT INTO " + table + " (lease_key, owner, expires) VALUES (" + p(1) + ", " + p(2) + ", " + p(3) +
			") ON CONFLICT (lease_key) DO UPDATE SET owner = excluded.owner, expires = excluded.expires WHERE " +
			table + ".owner = excluded.owner OR " + table + ".expires < " + p(4),
		qRelease: "DELETE FROM " + table + " WHERE lease_key = " + p(1) + " AND owner = " + p(2),
		qBeat: "INSERT INTO " + workers + " (owner, expires) VALUES (" + p(1) + ", " + p(2) +
			") ON CONFLICT (owner) DO UPDATE SET expires = excluded.expires",
		qLive:   "SELECT COUNT(*) FROM " + workers + " WHERE expires >= " + p(1),
		qForget: "DELETE FROM " + workers + " WHERE expires < " + p(1),
		qHeld:   "SELECT lease_key FROM " + table + " WHERE expires >= " + p(1),
		qLeave:  "DELETE FROM " + workers + " WHERE owner = " + p(1),
	}
}

// Acquire implements [m365sync.LeaseStore] with one statement, so of
// concurrent contenders for a free lease exactly one wins.
func (l *Leases) Acquire(ctx context.Context, key, owner string, ttl time.Duration) (bool, error) {
	if err := l.s.Migrate(ctx); err != nil {
		return false, err
	}
	now := time.Now().UnixMilli()
	res, err := l.s.db.ExecContext(ctx, l.qAcquire, key, owner, now+ttl.Milliseconds(), now)
	if err != nil {
		return false, fmt.Errorf("sqlstore: lease %s: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlstore: lease %s: %w", key, err)
	}
	return n == 1, nil
}

// Release implements [m365sync.LeaseStore].
func (l *Leases) Release(ctx context.Context, key, owner string) error {
	if err := l.s.Migrate(ctx); err != nil {
		return err
	}
	if _, err := l.s.db.ExecContext(ctx, l.qRelease, key, owner); err != nil {
		return fmt.Errorf("sqlstore: release lease %s: %w", key, err)
	}
	return nil
}

// Heartbeat implements [m365sync.LeaseBalancer]: it upserts owner's row,
// deletes the rows of workers whose heartbeat expired, and counts the rest.
func (l *Leases) Heartbeat(ctx context.Context, owner string, ttl time.Duration) (int, error) {
	if err := l.s.Migrate(ctx); err != nil {
		return 0, err
	}
	now := time.Now().UnixMilli()
	if _, err := l.s.db.ExecContext(ctx, l.qBeat, owner, now+ttl.Milliseconds()); err != nil {
		return 0, fmt.Errorf("sqlstore: heartbeat of %s: %w", owner, err)
	}
	if _, err := l.s.db.ExecContext(ctx, l.qForget, now); err != nil {
		return 0, fmt.Errorf("sqlstore: heartbeat of %s: %w", owner, err)
	}
	var live int
	if err := l.s.db.QueryRowContext(ctx, l.qLive, now).Scan(&live); err != nil {
		return 0, fmt.Errorf("sqlstore: heartbeat of %s: %w", owner, err)
	}
	return live, nil
}

// inKeys is "lease_key IN (…)" for n keys, numbering the parameters from
// first.
func (l *Leases) inKeys(first, n int) string {
	var b strings.Builder
	b.WriteString("lease_key IN (")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(l.s.d.param(first + i))
	}
	b.WriteString(")")
	return b.String()
}

// Renew implements [m365sync.LeaseBalancer] with one UPDATE … RETURNING
// per 500 keys.
func (l *Leases) Renew(ctx context.Context, owner string, keys []string, ttl time.Duration) ([]string, error) {
	if err := l.s.Migrate(ctx); err != nil {
		return nil, err
	}
	expires := time.Now().UnixMilli() + ttl.Milliseconds()
	var held []string
	for chunk := range slices.Chunk(keys, keysPerStatement) {
		p := l.s.d.param
		q := "UPDATE " + l.s.t.leases + " SET expires = " + p(1) + " WHERE owner = " + p(2) + " AND " +
			l.inKeys(3, len(chunk)) + " RETURNING lease_key"
		args := make([]any, 0, 2+len(chunk))
		args = append(args, expires, owner)
		for _, k := range chunk {
			args = append(args, k)
		}
		got, err := l.keys(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: renew leases of %s: %w", owner, err)
		}
		held = append(held, got...)
	}
	return held, nil
}

// Held implements [m365sync.LeaseBalancer].
func (l *Leases) Held(ctx context.Context) ([]string, error) {
	if err := l.s.Migrate(ctx); err != nil {
		return nil, err
	}
	held, err := l.keys(ctx, l.qHeld, time.Now().UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list held leases: %w", err)
	}
	return held, nil
}

// Leave implements [m365sync.LeaseBalancer]: it deletes owner's row and
// its leases on keys, one DELETE per 500 keys.
func (l *Leases) Leave(ctx context.Context, owner string, keys []string) error {
	if err := l.s.Migrate(ctx); err != nil {
		return err
	}
	for chunk := range slices.Chunk(keys, keysPerStatement) {
		p := l.s.d.param
		q := "DELETE FROM " + l.s.t.leases + " WHERE owner = " + p(1) + " AND " + l.inKeys(2, len(chunk))
		args := make([]any, 0, 1+len(chunk))
		args = append(args, owner)
		for _, k := range chunk {
			args = append(args, k)
		}
		if _, err := l.s.db.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("sqlstore: leave %s: %w", owner, err)
		}
	}
	if _, err := l.s.db.ExecContext(ctx, l.qLeave, owner); err != nil {
		return fmt.Errorf("sqlstore: leave %s: %w", owner, err)
	}
	return nil
}

// keys runs a query whose rows are one key each.
func (l *Leases) keys(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := l.s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}
