package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/report"
	"github.com/m365link/m365link/match"
	m365sync "github.com/m365link/m365link/sync"
)

// hostStore is the host application's side, in the same SQLite database as
// the library's state: every synced message and meeting with the vendors
// it was matched to. It implements matchsync's MatchedSink and
// MatchedEventSink, the contract of the sync package's Sink and EventSink
// with the matcher's results added: upsert by ID with folder and
// generation, removals unless the item moved, sweeps at the end of a full
// round.
type hostStore struct {
	db *sql.DB
}

const hostSchema = `
CREATE TABLE IF NOT EXISTS quickstart_items (
	mailbox  TEXT NOT NULL,
	kind     TEXT NOT NULL, -- mail or meeting
	id       TEXT NOT NULL,
	folder   TEXT NOT NULL,
	gen      INTEGER NOT NULL,
	subject  TEXT NOT NULL,
	at       INTEGER NOT NULL, -- received or start, Unix seconds
	vendors  TEXT NOT NULL,    -- vendor IDs, space separated
	contacts TEXT NOT NULL,    -- vendor-side addresses, space separated
	PRIMARY KEY (mailbox, kind, id)
);
CREATE TABLE IF NOT EXISTS quickstart_runs (
	n     INTEGER PRIMARY KEY,
	day   TEXT NOT NULL, -- the day the run's story happened on
	spec  TEXT NOT NULL, -- the fake tenant's size
	graph TEXT NOT NULL  -- the fake Graph's address
);`

func newHostStore(ctx context.Context, db *sql.DB) (*hostStore, error) {
	if _, err := db.ExecContext(ctx, hostSchema); err != nil {
		return nil, fmt.Errorf("create the quickstart's tables: %w", err)
	}
	return &hostStore{db: db}, nil
}

// pastRun is one earlier run of the quickstart on this database.
type pastRun struct {
	N                int
	Day, Spec, Graph string
}

func (s *hostStore) runs(ctx context.Context) ([]pastRun, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT n, day, spec, graph FROM quickstart_runs ORDER BY n`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []pastRun
	for rows.Next() {
		var r pastRun
		if err := rows.Scan(&r.N, &r.Day, &r.Spec, &r.Graph); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *hostStore) addRun(ctx context.Context, r pastRun) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO quickstart_runs (n, day, spec, graph) VALUES (?, ?, ?, ?)`, r.N, r.Day, r.Spec, r.Graph)
	return err
}

func (s *hostStore) ApplyMatched(ctx context.Context, p *m365sync.Page, results []match.Result) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for i, m := range p.Upserts {
		if err := upsert(ctx, tx, p.Mailbox, report.KindMail, m.ID, p.Folder.ID, p.Generation, m.Subject, m.ReceivedAt, results[i]); err != nil {
			return err
		}
	}
	if err := remove(ctx, tx, p.Mailbox, report.KindMail, p.Removals); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *hostStore) ApplyMatchedEvents(ctx context.Context, p *m365sync.EventPage, results []match.Result) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for i, e := range p.Upserts {
		if err := upsert(ctx, tx, p.Mailbox, report.KindMeeting, e.ID, p.Calendar.ID, p.Generation, e.Subject, e.Start, results[i]); err != nil {
			return err
		}
	}
	if err := remove(ctx, tx, p.Mailbox, report.KindMeeting, p.Removals); err != nil {
		return err
	}
	return tx.Commit()
}

func upsert(ctx context.Context, tx *sql.Tx, mb m365link.Mailbox, kind, id, folder string, gen int64, subject string, at time.Time, r match.Result) error {
	var contacts []string
	for _, m := range r.Matches {
		contacts = append(contacts, m.Participant.Normalized)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO quickstart_items (mailbox, kind, id, folder, gen, subject, at, vendors, contacts)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (mailbox, kind, id) DO UPDATE SET folder = excluded.folder, gen = excluded.gen, subject = excluded.subject,
			at = excluded.at, vendors = excluded.vendors, contacts = excluded.contacts`,
		mb.Key(), kind, id, folder, gen, subject, at.Unix(), strings.Join(r.Vendors(), " "), strings.Join(contacts, " "))
	return err
}

// remove deletes removed items, unless the item is now in another folder
// (it moved there: the move was delivered as an upsert).
func remove(ctx context.Context, tx *sql.Tx, mb m365link.Mailbox, kind string, rs []m365sync.Removal) error {
	for _, r := range rs {
		if _, err := tx.ExecContext(ctx, `DELETE FROM quickstart_items WHERE mailbox = ? AND kind = ? AND id = ? AND folder = ?`,
			mb.Key(), kind, r.ID, r.FolderID); err != nil {
			return err
		}
	}
	return nil
}

func (s *hostStore) Reset(ctx context.Context, r m365sync.Reset) error {
	return s.sweep(ctx, report.KindMail, r)
}

func (s *hostStore) ResetEvents(ctx context.Context, r m365sync.Reset) error {
	return s.sweep(ctx, report.KindMeeting, r)
}

// sweep deletes, at the end of a folder's full round, what the round did
// not deliver again.
func (s *hostStore) sweep(ctx context.Context, kind string, r m365sync.Reset) error {
	if r.Phase != m365sync.ResetEnd {
		return nil
	}
	_, err := s.db.ExecContext(ctx, `DELETE FROM quickstart_items WHERE mailbox = ? AND kind = ? AND folder = ? AND gen < ?`,
		r.Mailbox.Key(), kind, r.FolderID, r.Generation)
	return err
}

func (s *hostStore) MailboxRemoved(ctx context.Context, mb m365link.Mailbox) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM quickstart_items WHERE mailbox = ?`, mb.Key())
	return err
}

// counts returns how many items the store holds: all, and those filed
// under a vendor, by kind.
func (s *hostStore) counts(ctx context.Context) (mail, vendorMail, meetings, vendorMeetings int, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT
		COUNT(CASE WHEN kind = 'mail' THEN 1 END), COUNT(CASE WHEN kind = 'mail' AND vendors <> '' THEN 1 END),
		COUNT(CASE WHEN kind = 'meeting' THEN 1 END), COUNT(CASE WHEN kind = 'meeting' AND vendors <> '' THEN 1 END)
		FROM quickstart_items`).Scan(&mail, &vendorMail, &meetings, &vendorMeetings)
	return
}

// items returns the items filed under a vendor, for the report; upns
// names mailboxes by their keys.
func (s *hostStore) items(ctx context.Context, upns map[string]string) ([]report.Item, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT mailbox, kind, subject, at, vendors, contacts FROM quickstart_items WHERE vendors <> '' ORDER BY mailbox, kind, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []report.Item
	for rows.Next() {
		var mb, kind, subject, vendors, contacts string
		var at int64
		if err := rows.Scan(&mb, &kind, &subject, &at, &vendors, &contacts); err != nil {
			return nil, err
		}
		if upn, ok := upns[mb]; ok {
			mb = upn
		}
		out = append(out, report.Item{Kind: kind, Mailbox: mb, Subject: subject, At: time.Unix(at, 0).UTC(),
			VendorIDs: strings.Fields(vendors), Contacts: strings.Fields(contacts)})
	}
	return out, rows.Err()
}

// perMailbox counts the items each mailbox holds.
func (s *hostStore) perMailbox(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT mailbox, COUNT(*) FROM quickstart_items GROUP BY mailbox`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var mb string
		var n int
		if err := rows.Scan(&mb, &n); err != nil {
			return nil, err
		}
		out[mb] = n
	}
	return out, rows.Err()
}

// stored is one item as the host holds it.
type stored struct {
	Subject   string
	VendorIDs []string
}

func (s *hostStore) item(ctx context.Context, mb m365link.Mailbox, id string) (stored, error) {
	var subject, vendors string
	err := s.db.QueryRowContext(ctx, `SELECT subject, vendors FROM quickstart_items WHERE mailbox = ? AND id = ?`, mb.Key(), id).Scan(&subject, &vendors)
	if err != nil {
		return stored{}, fmt.Errorf("the new message is not in the host's store: %w", err)
	}
	return stored{Subject: subject, VendorIDs: strings.Fields(vendors)}, nil
}
