package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// The engine's records in the host's StateStore: per mailbox, its record
// (status and cached folder set) under key "", and one cursor per folder
// under "f:" + the folder's ID. Both are JSON with a version; the keys and
// the fields are those the SQL store (then sync/syncsql) kept before
// stores kept bytes, so state saved by earlier versions loads as it is.

const (
	cursorVersion = 2
	recordVersion = 2
	recordKey     = ""
)

func cursorKey(folderID string) string { return "f:" + folderID }

// cursor is where one folder's sync stands. It is stored as JSON with a
// version ("v"); version 1 (written before the version field existed)
// has the same fields, so reading it needs nothing more.
type cursor struct {
	// V is the format version: cursorVersion when written now.
	V int `json:"v,omitempty"`
	// Link is the nextLink to resume an interrupted round, or the
	// deltaLink of the last finished round; empty before the first page.
	Link string `json:"link,omitempty"`
	// Initial is true until the first full round finished.
	Initial bool `json:"initial,omitempty"`
	// Generation numbers the folder's full rounds: every round that starts
	// from the base query (the first, a resync, a redo past the filter
	// cap, and any of them restarted after a crash) takes a new one, saved
	// before the round's first page is handed to the sink.
	Generation int64 `json:"gen,omitempty"`
	// Resyncing is true from the start of a full round until the sink
	// received its ResetEnd (the sweep of older generations).
	Resyncing bool `json:"resyncing,omitempty"`
	// Since is the start of the history window, fixed when the folder's
	// first round began; zero syncs everything.
	Since time.Time `json:"since,omitzero"`
	// Until is the end of a calendar's window, fixed with Since when the
	// round began.
	Until time.Time `json:"until,omitzero"`
	// Unfiltered is set once a windowed folder fell back to an unfiltered
	// delta with a client-side cut (Graph caps filtered delta at 5,000).
	Unfiltered bool `json:"unfiltered,omitempty"`
	// Delivered counts the entries Graph sent in the current round, to
	// notice the cap on filtered delta.
	Delivered int `json:"delivered,omitempty"`
	// Upserted counts the messages the current full round handed to the
	// sink, so that progress survives a restart.
	Upserted int `json:"upserted,omitempty"`
	// Expect is how many messages the current full round should deliver,
	// counted when it started: the folder's total, or with a history
	// window the messages received inside it.
	Expect int `json:"expect,omitempty"`
	// Resets are the times of recent resets, to bound resync loops.
	Resets []time.Time `json:"resets,omitempty"`
	// Pending holds removals deferred to the end of the mailbox's pass, so
	// that a move into another synced folder is seen first. An upsert of
	// the same ID in the same folder cancels a pending removal.
	Pending []Removal `json:"pending,omitempty"`
	// DegradedUntil is set when Graph reset the folder more than
	// MaxResyncs times in ResyncWindow: passes leave the folder alone until
	// then, and the first pass after it tries again.
	DegradedUntil time.Time `json:"degradedUntil,omitzero"`
	// Failures counts the passes in a row that failed on this folder; Skip
	// is how many coming passes leave it alone (backoff), and LastError
	// says why it failed last.
	Failures int `json:"failures,omitempty"`
	// Denied says the last failure was Graph refusing the calendar or
	// contact folder (not granted): its backoff is no mailbox failure.
	Denied    bool   `json:"denied,omitempty"`
	Skip      int    `json:"skip,omitempty"`
	LastError string `json:"lastError,omitempty"`
}

// mailboxRecord is what the engine keeps about a mailbox: the status the
// host sees and the folders its configuration resolved to.
type mailboxRecord struct {
	Status
	// V is the format version: recordVersion when written now.
	V        int        `json:"v,omitempty"`
	Resolved *folderSet `json:"resolved,omitempty"`
}

func (e *Engine) loadCursor(ctx context.Context, mailbox, folder string) (cursor, error) {
	var c cursor
	b, err := e.cfg.State.Load(ctx, mailbox, cursorKey(folder))
	if err != nil {
		return c, hostErr("load cursor", err)
	}
	if len(b) == 0 {
		return c, nil
	}
	if err := json.Unmarshal(b, &c); err != nil {
		// Unreadable state must not wedge the folder: start it over with
		// a full round that sweeps. Its generation must be above any the
		// lost cursor gave the sink's messages: the clock's nanoseconds
		// are, by far (generations count rounds).
		e.log.Warn("sync: unreadable cursor; the folder starts over", "mailbox", mailbox, "folder", folder, "error", err.Error())
		return cursor{Generation: time.Now().UnixNano(), Since: e.cfg.Window.start(time.Now())}, nil
	}
	if c.V > cursorVersion {
		return c, hostErr("load cursor", fmt.Errorf("cursor format %d is newer than this engine's (%d)", c.V, cursorVersion))
	}
	return c, nil
}

func (e *Engine) saveCursor(ctx context.Context, mailbox, folder string, c cursor) error {
	c.V = cursorVersion
	b, err := json.Marshal(c)
	if err != nil {
		return hostErr("encode cursor", err)
	}
	if err := e.cfg.State.Save(ctx, mailbox, cursorKey(folder), b); err != nil {
		return hostErr("save cursor", err)
	}
	return nil
}

func (e *Engine) loadRecord(ctx context.Context, mailbox string) (mailboxRecord, error) {
	var r mailboxRecord
	b, err := e.cfg.State.Load(ctx, mailbox, recordKey)
	if err != nil {
		return r, hostErr("load status", err)
	}
	if len(b) == 0 {
		return r, nil
	}
	if err := json.Unmarshal(b, &r); err != nil {
		// The folders earlier passes synced are in it (so that one that
		// drops out is emptied): rebuild them from the cursors, when the
		// store can list them.
		r = mailboxRecord{}
		if kl, ok := e.cfg.State.(KeyLister); ok {
			keys, lerr := kl.ListKeys(ctx, mailbox)
			if lerr != nil {
				return r, hostErr("list state keys", lerr)
			}
			for _, k := range keys {
				if id, ok := strings.CutPrefix(k, "f:"); ok {
					r.Folders = append(r.Folders, id)
				}
			}
			e.log.Warn("sync: unreadable mailbox record; folders rebuilt from the cursors", "mailbox", mailbox, "error", err.Error())
			return r, nil
		}
		e.log.Error("sync: unreadable mailbox record, and the StateStore cannot list its cursors: a folder no longer synced may stay in the sink",
			"mailbox", mailbox, "error", err.Error())
		return r, nil
	}
	if r.V > recordVersion {
		return r, hostErr("load status", fmt.Errorf("record format %d is newer than this engine's (%d)", r.V, recordVersion))
	}
	return r, nil
}

func (e *Engine) saveRecord(ctx context.Context, r mailboxRecord) error {
	r.V = recordVersion
	b, err := json.Marshal(r)
	if err != nil {
		return hostErr("encode status", err)
	}
	if err := e.cfg.State.Save(ctx, r.Mailbox.Key(), recordKey, b); err != nil {
		return hostErr("save status", err)
	}
	return nil
}

// LoadStatus returns a mailbox's status (by [m365link.Mailbox.Key]) as
// the StateStore holds it: what the last pass of any worker sharing the
// store saved. A mailbox never synced has the zero Status.
func (e *Engine) LoadStatus(ctx context.Context, mailboxKey string) (Status, error) {
	r, err := e.loadRecord(ctx, mailboxKey)
	if err != nil {
		return Status{}, fmt.Errorf("sync: %w", err)
	}
	return r.Status, nil
}
