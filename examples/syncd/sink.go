package main

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"time"

	"github.com/m365link/m365link"
	m365sync "github.com/m365link/m365link/sync"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// sink keeps messages and events in two tables of the daemon's database,
// under the sync engine's contract: each page in one transaction, upserts by
// ID with their folder and generation, a removal only from the folder that
// reported it (a move is an update), and at the end of a full round the
// folder's older generations deleted. It is the shape of a host's own sink;
// the sync package's MemorySink is the reference and sinktest checks one.
type sink struct{ db *sql.DB }

func newSink(ctx context.Context, db *sql.DB) (*sink, error) {
	for _, table := range []string{"syncd_messages", "syncd_events"} {
		_, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (
	mailbox TEXT NOT NULL, id TEXT NOT NULL, folder TEXT NOT NULL, generation INTEGER NOT NULL,
	subject TEXT NOT NULL, counterpart TEXT NOT NULL, at TEXT NOT NULL,
	PRIMARY KEY (mailbox, id))`)
		if err != nil {
			return nil, err
		}
	}
	return &sink{db: db}, nil
}

type item struct{ id, subject, counterpart, at string }

func (s *sink) apply(ctx context.Context, table string, mb m365link.Mailbox, folder string, gen int64, items []item, removals []m365sync.Removal) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, it := range items {
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+table+` (mailbox, id, folder, generation, subject, counterpart, at) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (mailbox, id) DO UPDATE SET folder = excluded.folder, generation = excluded.generation, subject = excluded.subject,
	counterpart = excluded.counterpart, at = excluded.at`, mb.Key(), it.id, folder, gen, it.subject, it.counterpart, it.at); err != nil {
			return err
		}
	}
	for _, r := range removals {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE mailbox = ? AND id = ? AND folder = ?`, mb.Key(), r.ID, r.FolderID); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Apply implements m365sync.Sink.
func (s *sink) Apply(ctx context.Context, p *m365sync.Page) error {
	items := make([]item, len(p.Upserts))
	for i, m := range p.Upserts {
		items[i] = item{m.ID, m.Subject, m.From.Address, m.ReceivedAt.UTC().Format(time.RFC3339)}
	}
	return s.apply(ctx, "syncd_messages", p.Mailbox, p.Folder.ID, p.Generation, items, p.Removals)
}

// ApplyEvents implements m365sync.EventSink.
func (s *sink) ApplyEvents(ctx context.Context, p *m365sync.EventPage) error {
	items := make([]item, len(p.Upserts))
	for i, e := range p.Upserts {
		items[i] = item{e.ID, e.Subject, e.Organizer.Address, e.Start.UTC().Format(time.RFC3339)}
	}
	return s.apply(ctx, "syncd_events", p.Mailbox, p.Calendar.ID, p.Generation, items, p.Removals)
}

func (s *sink) reset(ctx context.Context, table string, r m365sync.Reset) error {
	if r.Phase != m365sync.ResetEnd {
		return nil
	}
	_, err := s.db.ExecContext(ctx, `DELETE FROM `+table+` WHERE mailbox = ? AND folder = ? AND generation < ?`, r.Mailbox.Key(), r.FolderID, r.Generation)
	return err
}

// Reset implements m365sync.Sink.
func (s *sink) Reset(ctx context.Context, r m365sync.Reset) error {
	return s.reset(ctx, "syncd_messages", r)
}

// ResetEvents implements m365sync.EventSink.
func (s *sink) ResetEvents(ctx context.Context, r m365sync.Reset) error {
	return s.reset(ctx, "syncd_events", r)
}

// MailboxRemoved implements both sinks: the mailbox left the policy.
func (s *sink) MailboxRemoved(ctx context.Context, mb m365link.Mailbox) error {
	for _, table := range []string{"syncd_messages", "syncd_events"} {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM `+table+` WHERE mailbox = ?`, mb.Key()); err != nil {
			return err
		}
	}
	return nil
}

// count returns how many messages and events the sink holds for a mailbox.
func (s *sink) count(key string) (msgs, events int) {
	_ = s.db.QueryRow(`SELECT count(*) FROM syncd_messages WHERE mailbox = ?`, key).Scan(&msgs)
	_ = s.db.QueryRow(`SELECT count(*) FROM syncd_events WHERE mailbox = ?`, key).Scan(&events)
	return msgs, events
}
