package sync

import (
	"context"
	"reflect"
	"strings"

	"github.com/m365link/m365link"
)

// Kind is what a synced folder holds: mail, calendar events or contacts.
// One engine syncs every kind through the same passes, limiter, leases,
// state store, generations, sweeps and failure rules; a host opts into
// kinds by giving their sinks (and, per mailbox, with Config.Kinds).
type Kind string

// Kinds.
const (
	// KindMail: mail folders, into Config.Sink.
	KindMail Kind = "mail"
	// KindCalendar: calendars, over a window of days, into
	// Config.Calendar.Sink.
	KindCalendar Kind = "calendar"
	// KindContacts: contact folders, into Config.Contacts.Sink.
	KindContacts Kind = "contacts"
)

// ref names folder f among every kind's folders: a mail folder by its ID
// (as earlier versions did), the others by kind and ID ("calendar:" + ID).
// Graph's IDs hold no colon, so the two never meet.
func (f Folder) ref() string {
	if f.Kind == "" || f.Kind == KindMail {
		return f.ID
	}
	return string(f.Kind) + ":" + f.ID
}

// folderOfRef is the inverse of ref, for folders known only by it.
func folderOfRef(ref string) Folder {
	for _, k := range []Kind{KindCalendar, KindContacts} {
		if id, ok := strings.CutPrefix(ref, string(k)+":"); ok {
			return Folder{ID: id, Kind: k}
		}
	}
	return Folder{ID: ref}
}

// kindOf returns f's kind, mail when unset.
func kindOf(f Folder) Kind {
	if f.Kind == "" {
		return KindMail
	}
	return f.Kind
}

// EventPage is one committed unit of work for an [EventSink], as [Page] is
// for mail: what one calendarView delta page changed in one calendar of
// one mailbox, or the removals of a calendar gathered over a pass.
// Cancelled events, deleted ones, and events that left the window all
// arrive as removals.
type EventPage struct {
	// Mailbox is whose calendar this is.
	Mailbox m365link.Mailbox
	// Calendar is the calendar the page comes from (Kind is KindCalendar).
	Calendar Folder
	// Generation numbers the calendar's full rounds (see [Page.Generation]).
	Generation int64
	// Upserts are new or changed events (single instances, occurrences
	// and exceptions; never series masters), to insert or replace by ID.
	Upserts []m365link.Event
	// Removals are events gone from the calendar or its window.
	Removals []Removal
}

// EventSink receives a mailbox's calendar events, under the same contract
// as [Sink]: at-least-once, idempotent by ID, one call at a time per
// mailbox, a cursor saved only after it returned nil. The method names
// differ from Sink's so that one type can implement every kind.
type EventSink interface {
	// ApplyEvents commits a page atomically: upsert every event by ID,
	// recording its calendar and the generation, then delete every
	// removal's ID unless the sink holds it in another calendar.
	ApplyEvents(ctx context.Context, p *EventPage) error
	// ResetEvents marks the start and end of a calendar's full round; at
	// ResetEnd the sink deletes the calendar's events whose generation is
	// older than r.Generation. Every window roll-forward is such a round.
	ResetEvents(ctx context.Context, r Reset) error
	// MailboxRemoved says the mailbox left the sync policy: the sink drops
	// what it holds of it. It may come more than once.
	MailboxRemoved(ctx context.Context, mb m365link.Mailbox) error
}

// ContactPage is one committed unit of work for a [ContactSink]: what one
// contacts delta page changed in one contact folder, or the removals of a
// folder gathered over a pass.
type ContactPage struct {
	// Mailbox is whose address book this is.
	Mailbox m365link.Mailbox
	// Folder is the contact folder the page comes from (Kind is KindContacts).
	Folder Folder
	// Generation numbers the folder's full rounds (see [Page.Generation]).
	Generation int64
	// Upserts are new or changed contacts, to insert or replace by ID.
	Upserts []m365link.Contact
	// Removals are contacts gone from the folder.
	Removals []Removal
}

// ContactSink receives a mailbox's Outlook contacts, under the same
// contract as [Sink].
type ContactSink interface {
	// ApplyContacts commits a page atomically: upsert every contact by ID,
	// recording its folder and the generation, then delete every
	// removal's ID unless the sink holds it in another folder.
	ApplyContacts(ctx context.Context, p *ContactPage) error
	// ResetContacts marks the start and end of a folder's full round; at
	// ResetEnd the sink deletes the folder's contacts whose generation is
	// older than r.Generation.
	ResetContacts(ctx context.Context, r Reset) error
	// MailboxRemoved says the mailbox left the sync policy: the sink drops
	// what it holds of it. It may come more than once.
	MailboxRemoved(ctx context.Context, mb m365link.Mailbox) error
}

// kinds returns the kinds the engine syncs for mb: Config.Kinds' answer,
// or every kind with a sink; a kind without a sink never syncs.
func (e *Engine) kinds(mb m365link.Mailbox) []Kind {
	var want []Kind
	if e.cfg.Kinds != nil {
		want = e.cfg.Kinds(mb)
	} else {
		want = []Kind{KindMail, KindCalendar, KindContacts}
	}
	out := make([]Kind, 0, len(want))
	for _, k := range []Kind{KindMail, KindCalendar, KindContacts} {
		has := false
		for _, w := range want {
			has = has || w == k
		}
		if has && e.hasSink(k) {
			out = append(out, k)
		}
	}
	return out
}

func (e *Engine) hasSink(k Kind) bool {
	switch k {
	case KindMail:
		return e.cfg.Sink != nil
	case KindCalendar:
		return e.cfg.Calendar.Sink != nil
	case KindContacts:
		return e.cfg.Contacts.Sink != nil
	}
	return false
}

// toSink makes one call to a sink: under the pass's sink lock (a sink
// never sees two calls for one mailbox at once), its error marked as the
// host's.
func (p *pass) toSink(call func() error) error {
	p.sinkMu.Lock()
	defer p.sinkMu.Unlock()
	if err := call(); err != nil {
		return hostErr("sink", err)
	}
	return nil
}

// sinkRemovals hands a folder's removals to its kind's sink.
func (p *pass) sinkRemovals(ctx context.Context, f Folder, gen int64, rs []Removal) error {
	return p.toSink(func() error {
		switch kindOf(f) {
		case KindCalendar:
			return p.e.cfg.Calendar.Sink.ApplyEvents(ctx, &EventPage{Mailbox: p.mb, Calendar: f, Generation: gen, Removals: rs})
		case KindContacts:
			return p.e.cfg.Contacts.Sink.ApplyContacts(ctx, &ContactPage{Mailbox: p.mb, Folder: f, Generation: gen, Removals: rs})
		}
		return p.e.cfg.Sink.Apply(ctx, &Page{Mailbox: p.mb, Folder: f, Generation: gen, Removals: rs})
	})
}

// reset hands a Reset of folder f to its kind's sink. A kind whose sink
// the configuration no longer has cannot be told: nil.
func (p *pass) reset(ctx context.Context, f Folder, r Reset) error {
	r.FolderID = f.ID
	k := kindOf(f)
	if !p.e.hasSink(k) {
		return nil
	}
	return p.toSink(func() error {
		switch k {
		case KindCalendar:
			return p.e.cfg.Calendar.Sink.ResetEvents(ctx, r)
		case KindContacts:
			return p.e.cfg.Contacts.Sink.ResetContacts(ctx, r)
		}
		return p.e.cfg.Sink.Reset(ctx, r)
	})
}

// mailboxRemoved tells every sink, once each, that mb left the policy.
func (e *Engine) mailboxRemoved(ctx context.Context, mb m365link.Mailbox) error {
	var told []any
	for _, s := range []interface {
		MailboxRemoved(context.Context, m365link.Mailbox) error
	}{e.cfg.Sink, e.cfg.Calendar.Sink, e.cfg.Contacts.Sink} {
		if s == nil {
			continue
		}
		dup := false
		for _, t := range told {
			dup = dup || sameValue(t, s)
		}
		if dup {
			continue
		}
		told = append(told, s)
		if err := s.MailboxRemoved(ctx, mb); err != nil {
			return err
		}
	}
	return nil
}

// sameValue reports whether a and b are one value (the same sink given
// for several kinds); values of types that cannot be compared never are.
func sameValue(a, b any) bool {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	return va.Type() == vb.Type() && va.Comparable() && va.Equal(vb)
}
