package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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

// Leases is a [m365sync.LeaseStore] in the {prefix}_sync_leases table,
// from [Store.Leases]: one row per leased key. Expiry is judged by the
// clock of the process that acquires, so workers' clocks should agree
// within a small part of the lease TTL.
type Leases struct {
	s *Store

	qAcquire, qRelease string
}

var _ m365sync.LeaseStore = (*Leases)(nil)

func newLeases(s *Store) *Leases {
	table, p := s.t.leases, s.d.param
	return &Leases{
		s: s,
		// One conditional upsert: the row is written only when it is new,
		// ours, or expired.
		qAcquire: "INSERT INTO " + table + " (lease_key, owner, expires) VALUES (" + p(1) + ", " + p(2) + ", " + p(3) +
			") ON CONFLICT (lease_key) DO UPDATE SET owner = excluded.owner, expires = excluded.expires WHERE " +
			table + ".owner = excluded.owner OR " + table + ".expires < " + p(4),
		qRelease: "DELETE FROM " + table + " WHERE lease_key = " + p(1) + " AND owner = " + p(2),
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
