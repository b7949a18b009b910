package main

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/match"
	m365sync "github.com/m365link/m365link/sync"
)

// itemStore is the command's own host sink: every synced message and meeting
// with the vendors it matched, in a table of the same SQLite database that
// holds the sync state (sqlstore). It implements matchsync's MatchedSink and
// MatchedEventSink under the sync engine's contract: upsert by ID with the
// folder and generation, removals only from the folder that reported them,
// and at the end of a full round the folder's older generations deleted.
// A second sync-once is incremental, so the report reads this table rather
// than what one pass brought.
type itemStore struct {
	db *sql.DB

	mu     gosync.Mutex
	counts map[string]*passCount // mailbox key -> what this run brought
}

// passCount is what one run brought for one mailbox.
type passCount struct{ Messages, Events, Matched, Removed int }

const itemsTable = "m365link_cli_items"

func newItemStore(ctx context.Context, db *sql.DB) (*itemStore, error) {
	_, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+itemsTable+` (
	mailbox    TEXT NOT NULL,
	kind       TEXT NOT NULL,
	id         TEXT NOT NULL,
	folder     TEXT NOT NULL,
	generation INTEGER NOT NULL,
	upn        TEXT NOT NULL,
	subject    TEXT NOT NULL,
	at         TEXT NOT NULL,
	vendors    TEXT NOT NULL,
	contacts   TEXT NOT NULL,
	PRIMARY KEY (mailbox, kind, id))`)
	if err != nil {
		return nil, err
	}
	return &itemStore{db: db, counts: map[string]*passCount{}}, nil
}

func (s *itemStore) count(mb m365link.Mailbox) *passCount {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.counts[mb.Key()]
	if c == nil {
		c = &passCount{}
		s.counts[mb.Key()] = c
	}
	return c
}

// Counts returns what this run brought for a mailbox.
func (s *itemStore) Counts(mb m365link.Mailbox) passCount {
	c := s.count(mb)
	s.mu.Lock()
	defer s.mu.Unlock()
	return *c
}

// vendorsAndContacts lists the vendors a result matched and the
// participants that matched them, each once, in order.
func vendorsAndContacts(r match.Result) (vendors, contacts []string) {
	for _, m := range r.Matches {
		if !slices.Contains(vendors, m.VendorID) {
			vendors = append(vendors, m.VendorID)
		}
		a := strings.ToLower(m.Participant.Address)
		if a != "" && !slices.Contains(contacts, a) {
			contacts = append(contacts, a)
		}
	}
	return vendors, contacts
}

type row struct {
	id, subject string
	at          time.Time
	result      match.Result
}

// apply upserts rows and deletes removals in one transaction.
func (s *itemStore) apply(ctx context.Context, mb m365link.Mailbox, kind, folder string, gen int64, rows []row, removals []m365sync.Removal) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	c := s.count(mb)
	matched := 0
	for _, r := range rows {
		vs, cs := vendorsAndContacts(r.result)
		if len(vs) > 0 {
			matched++
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO `+itemsTable+` (mailbox, kind, id, folder, generation, upn, subject, at, vendors, contacts)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (mailbox, kind, id) DO UPDATE SET folder = excluded.folder, generation = excluded.generation,
	upn = excluded.upn, subject = excluded.subject, at = excluded.at, vendors = excluded.vendors, contacts = excluded.contacts`,
			mb.Key(), kind, r.id, folder, gen, mb.String(), r.subject, r.at.UTC().Format(time.RFC3339Nano), strings.Join(vs, "\n"), strings.Join(cs, "\n"))
		if err != nil {
			return err
		}
	}
	for _, rm := range removals {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+itemsTable+` WHERE mailbox = ? AND kind = ? AND id = ? AND folder = ?`, mb.Key(), kind, rm.ID, rm.FolderID); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if kind == "mail" {
		c.Messages += len(rows)
	} else {
		c.Events += len(rows)
	}
	c.Matched += matched
	c.Removed += len(removals)
	return nil
}

// ApplyMatched implements matchsync.MatchedSink.
func (s *itemStore) ApplyMatched(ctx context.Context, p *m365sync.Page, results []match.Result) error {
	rows := make([]row, len(p.Upserts))
	for i, m := range p.Upserts {
		at := m.ReceivedAt
		if at.IsZero() {
			at = m.SentAt
		}
		rows[i] = row{id: m.ID, subject: m.Subject, at: at, result: results[i]}
	}
	return s.apply(ctx, p.Mailbox, "mail", p.Folder.ID, p.Generation, rows, p.Removals)
}

// ApplyMatchedEvents implements matchsync.MatchedEventSink.
func (s *itemStore) ApplyMatchedEvents(ctx context.Context, p *m365sync.EventPage, results []match.Result) error {
	rows := make([]row, len(p.Upserts))
	for i, e := range p.Upserts {
		rows[i] = row{id: e.ID, subject: e.Subject, at: e.Start, result: results[i]}
	}
	return s.apply(ctx, p.Mailbox, "meeting", p.Calendar.ID, p.Generation, rows, p.Removals)
}

func (s *itemStore) reset(ctx context.Context, kind string, r m365sync.Reset) error {
	if r.Phase != m365sync.ResetEnd {
		return nil
	}
	_, err := s.db.ExecContext(ctx, `DELETE FROM `+itemsTable+` WHERE mailbox = ? AND kind = ? AND folder = ? AND generation < ?`,
		r.Mailbox.Key(), kind, r.FolderID, r.Generation)
	return err
}

// Reset implements matchsync.MatchedSink.
func (s *itemStore) Reset(ctx context.Context, r m365sync.Reset) error {
	return s.reset(ctx, "mail", r)
}

// ResetEvents implements matchsync.MatchedEventSink.
func (s *itemStore) ResetEvents(ctx context.Context, r m365sync.Reset) error {
	return s.reset(ctx, "meeting", r)
}

// MailboxRemoved implements both sinks: the mailbox's items go.
func (s *itemStore) MailboxRemoved(ctx context.Context, mb m365link.Mailbox) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM `+itemsTable+` WHERE mailbox = ?`, mb.Key())
	return err
}

// storedItem is one row of the table, for the report.
type storedItem struct {
	Mailbox, UPN, Kind, Subject string
	At                          time.Time
	Vendors, Contacts           []string
}

// items reads every stored item that matched a vendor, and how many items
// each mailbox holds in all.
func (s *itemStore) items(ctx context.Context) ([]storedItem, map[string]int, error) {
	perMailbox := map[string]int{}
	rows, err := s.db.QueryContext(ctx, `SELECT mailbox, upn, kind, subject, at, vendors, contacts FROM `+itemsTable+` ORDER BY at, mailbox, kind, id`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var out []storedItem
	for rows.Next() {
		var it storedItem
		var at, vs, cs string
		if err := rows.Scan(&it.Mailbox, &it.UPN, &it.Kind, &it.Subject, &at, &vs, &cs); err != nil {
			return nil, nil, err
		}
		perMailbox[it.Mailbox]++
		if vs == "" {
			continue
		}
		it.At, _ = time.Parse(time.RFC3339Nano, at)
		it.Vendors = strings.Split(vs, "\n")
		if cs != "" {
			it.Contacts = strings.Split(cs, "\n")
		}
		out = append(out, it)
	}
	return out, perMailbox, rows.Err()
}

// countsByMailbox returns how many items each mailbox holds, or nil when
// the table does not exist (a database sync-once never wrote to).
func countsByMailbox(ctx context.Context, db *sql.DB) map[string]int {
	rows, err := db.QueryContext(ctx, `SELECT mailbox, count(*) FROM `+itemsTable+` GROUP BY mailbox`)
	if err != nil {
		return nil
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var mb string
		var n int
		if rows.Scan(&mb, &n) == nil {
			out[mb] = n
		}
	}
	return out
}
