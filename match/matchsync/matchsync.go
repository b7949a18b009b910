package matchsync

import (
	"context"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/match"
	m365sync "github.com/m365link/m365link/sync"
)

// MatchedSink is what a host implements to receive synced mail with its
// vendors: the page as the sync engine delivers it, and one Result per
// upserted message (results[i] is for p.Upserts[i]).
type MatchedSink interface {
	// ApplyMatched commits a page as [m365sync.Sink.Apply] does, storing
	// each upserted message's vendors with it.
	ApplyMatched(ctx context.Context, p *m365sync.Page, results []match.Result) error
	// Reset is [m365sync.Sink.Reset].
	Reset(ctx context.Context, r m365sync.Reset) error
	// MailboxRemoved is [m365sync.Sink.MailboxRemoved].
	MailboxRemoved(ctx context.Context, mb m365link.Mailbox) error
}

// Sink decorates a host's sink: engine → matcher → host. It matches every
// upserted message of a page at once ([match.Matcher.MatchMessages]: one
// directory lookup a page) and hands page and results on together, so the
// host stores both in one transaction. A lookup error fails the page, and
// the engine retries it: no message is stored without its vendors.
func Sink(m *match.Matcher, next MatchedSink) m365sync.Sink { return &sink{m: m, next: next} }

type sink struct {
	m    *match.Matcher
	next MatchedSink
}

// Apply matches the page's upserted messages and hands page and results on.
func (s *sink) Apply(ctx context.Context, p *m365sync.Page) error {
	results, err := s.m.MatchMessages(ctx, p.Upserts)
	if err != nil {
		return err
	}
	return s.next.ApplyMatched(ctx, p, results)
}

// Reset hands the reset on.
func (s *sink) Reset(ctx context.Context, r m365sync.Reset) error { return s.next.Reset(ctx, r) }

// MailboxRemoved hands the removal on.
func (s *sink) MailboxRemoved(ctx context.Context, mb m365link.Mailbox) error {
	return s.next.MailboxRemoved(ctx, mb)
}

// MatchedEventSink is what a host implements to receive synced calendar
// events with their vendors: the page as the engine delivers it, and one
// Result per upserted event (results[i] is for p.Upserts[i]), matched on
// its organizer and attendees exactly as mail is on its participants.
type MatchedEventSink interface {
	// ApplyMatchedEvents commits a page as [m365sync.EventSink.ApplyEvents]
	// does, storing each upserted event's vendors with it.
	ApplyMatchedEvents(ctx context.Context, p *m365sync.EventPage, results []match.Result) error
	// ResetEvents is [m365sync.EventSink.ResetEvents].
	ResetEvents(ctx context.Context, r m365sync.Reset) error
	// MailboxRemoved is [m365sync.EventSink.MailboxRemoved].
	MailboxRemoved(ctx context.Context, mb m365link.Mailbox) error
}

// EventSink decorates a host's event sink as [Sink] does its mail sink:
// one directory lookup a page, and no event stored without its vendors.
func EventSink(m *match.Matcher, next MatchedEventSink) m365sync.EventSink {
	return &eventSink{m: m, next: next}
}

type eventSink struct {
	m    *match.Matcher
	next MatchedEventSink
}

// ApplyEvents matches the page's upserted events and hands page and results on.
func (s *eventSink) ApplyEvents(ctx context.Context, p *m365sync.EventPage) error {
	results, err := s.m.MatchEvents(ctx, p.Upserts)
	if err != nil {
		return err
	}
	return s.next.ApplyMatchedEvents(ctx, p, results)
}

// ResetEvents passes r on.
func (s *eventSink) ResetEvents(ctx context.Context, r m365sync.Reset) error {
	return s.next.ResetEvents(ctx, r)
}

// MailboxRemoved passes mb on.
func (s *eventSink) MailboxRemoved(ctx context.Context, mb m365link.Mailbox) error {
	return s.next.MailboxRemoved(ctx, mb)
}

// MatchedContactSink is what a host implements to receive synced Outlook
// contacts with what the matcher says of each of their addresses:
// results[i][j] is for p.Upserts[i].EmailAddresses[j].
//
// A contact is evidence a host may learn from (e.g. offer "add
// ann@acme.co.uk to Acme's contacts" when Ann's address matched Acme by
// domain, or when it matched nothing and her CompanyName reads "Acme
// Ltd"); the library never turns a contact's company into a match rule by
// itself: that is the host's decision, through vendors' contact addresses
// or match's pins.
type MatchedContactSink interface {
	// ApplyMatchedContacts commits a page as
	// [m365sync.ContactSink.ApplyContacts] does, with the results.
	ApplyMatchedContacts(ctx context.Context, p *m365sync.ContactPage, results [][]match.Result) error
	// ResetContacts is [m365sync.ContactSink.ResetContacts].
	ResetContacts(ctx context.Context, r m365sync.Reset) error
	// MailboxRemoved is [m365sync.ContactSink.MailboxRemoved].
	MailboxRemoved(ctx context.Context, mb m365link.Mailbox) error
}

// ContactSink decorates a host's contact sink: every address of every
// upserted contact is matched alone, in one directory lookup a page.
func ContactSink(m *match.Matcher, next MatchedContactSink) m365sync.ContactSink {
	return &contactSink{m: m, next: next}
}

type contactSink struct {
	m    *match.Matcher
	next MatchedContactSink
}

// ApplyContacts matches the page's contacts' addresses and hands page and
// results on.
func (s *contactSink) ApplyContacts(ctx context.Context, p *m365sync.ContactPage) error {
	var addrs []string
	for i := range p.Upserts {
		for _, a := range p.Upserts[i].EmailAddresses {
			addrs = append(addrs, a.Address)
		}
	}
	flat, err := s.m.MatchAddresses(ctx, addrs)
	if err != nil {
		return err
	}
	results := make([][]match.Result, len(p.Upserts))
	for i := range p.Upserts {
		n := len(p.Upserts[i].EmailAddresses)
		results[i], flat = flat[:n:n], flat[n:]
	}
	return s.next.ApplyMatchedContacts(ctx, p, results)
}

// ResetContacts passes r on.
func (s *contactSink) ResetContacts(ctx context.Context, r m365sync.Reset) error {
	return s.next.ResetContacts(ctx, r)
}

// MailboxRemoved passes mb on.
func (s *contactSink) MailboxRemoved(ctx context.Context, mb m365link.Mailbox) error {
	return s.next.MailboxRemoved(ctx, mb)
}
