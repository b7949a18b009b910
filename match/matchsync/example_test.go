package matchsync_test

import (
	"context"
	"fmt"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/match"
	"github.com/m365link/m365link/match/matchsync"
	m365sync "github.com/m365link/m365link/sync"
	"github.com/m365link/m365link/vendors"
)

// printingStore is a host's store: here it prints what it would save.
type printingStore struct{}

func (printingStore) ApplyMatched(_ context.Context, p *m365sync.Page, results []match.Result) error {
	for i, m := range p.Upserts {
		fmt.Printf("%s %q: %v\n", m.ID, m.Subject, results[i].Vendors())
	}
	return nil
}

func (printingStore) Reset(context.Context, m365sync.Reset) error            { return nil }
func (printingStore) MailboxRemoved(context.Context, m365link.Mailbox) error { return nil }

func ExampleSink() {
	dir, _ := vendors.NewIndex([]vendors.Vendor{{ID: "acme", Name: "Acme", Tracked: true, Domains: []string{"acme.com"}}})
	m, _ := match.New(match.Config{Directory: dir, InternalDomains: []string{"contoso.com"}})
	// The sink goes into m365sync.Config.Sink; the engine calls Apply with
	// every page it syncs.
	sink := matchsync.Sink(m, printingStore{})
	_ = sink.Apply(context.Background(), &m365sync.Page{Upserts: []m365link.Message{
		{ID: "m1", Subject: "Quotation", From: m365link.EmailAddress{Address: "ann@acme.com"}},
		{ID: "m2", Subject: "Lunch?", From: m365link.EmailAddress{Address: "bob@contoso.com"}},
	}})
	// Output:
	// m1 "Quotation": [acme]
	// m2 "Lunch?": []
}

type printingEvents struct{}

func (printingEvents) ApplyMatchedEvents(_ context.Context, p *m365sync.EventPage, results []match.Result) error {
	for i, e := range p.Upserts {
		fmt.Printf("%s %q: %v\n", e.ID, e.Subject, results[i].Vendors())
	}
	return nil
}

func (printingEvents) ResetEvents(context.Context, m365sync.Reset) error      { return nil }
func (printingEvents) MailboxRemoved(context.Context, m365link.Mailbox) error { return nil }

// Meetings are matched on their organizer and attendees: give the engine
// the decorated sink as Config.Calendar.Sink.
func ExampleEventSink() {
	dir, _ := vendors.NewIndex([]vendors.Vendor{{ID: "acme", Name: "Acme", Tracked: true, Domains: []string{"acme.com"}}})
	m, _ := match.New(match.Config{Directory: dir, InternalDomains: []string{"contoso.com"}})
	sink := matchsync.EventSink(m, printingEvents{})
	_ = sink.ApplyEvents(context.Background(), &m365sync.EventPage{Upserts: []m365link.Event{
		{ID: "e1", Subject: "QBR", Organizer: m365link.EmailAddress{Address: "bob@contoso.com"},
			Attendees: []m365link.Attendee{{EmailAddress: m365link.EmailAddress{Address: "ann@acme.com"}}}},
	}})
	// Output:
	// e1 "QBR": [acme]
}
