package m365linktest

import (
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/fakegraph"
)

// Spec sizes the realistic data [Tenant.Generate] creates. Zero values are
// small but useful: no users.
type Spec struct {
	// Mailboxes is the number of users with a mailbox: alice@contoso.com,
	// bob@…, carol@…, and so on.
	Mailboxes int
	// WithoutMailbox adds that many users without one (unlicensed).
	WithoutMailbox int
	// MessagesPerMailbox are threads of mail, split between Inbox and Sent
	// Items, with vendors (most), colleagues and no-reply senders.
	MessagesPerMailbox int
	// EventsPerMailbox are meetings with vendor attendees, a few of them
	// weekly series (the master and its occurrences count).
	EventsPerMailbox int
	// ContactsPerMailbox are vendor contacts in each mailbox's contacts.
	ContactsPerMailbox int
	// NewslettersPerMailbox are newsletters in each inbox, from vendors'
	// marketing addresses (news@, newsletter@, marketing@ on the vendor's
	// domain) and trade publications. They are made after everything
	// else, so the rest of the data is the same with or without them.
	NewslettersPerMailbox int
	// Vendors are the companies the users trade with: 32 by name
	// (Acme Corporation, Globex, …), then the same names numbered.
	Vendors int
	// Seed varies the data; the same Spec always makes the same data.
	Seed uint64
	// Start and End bound the messages' received times (and, two weeks
	// longer, the meetings'); default the 90 days before
	// 2026-11-20T00:00:00Z.
	Start, End time.Time
}

// Generated is what [Tenant.Generate] made, for a test to assert against.
type Generated struct {
	// Users are the users made, those with a mailbox first.
	Users []User
	// Groups are "Procurement" (the first half of the users with a
	// mailbox), "Sales" (the rest) and "M365Link Sync Allowed" (the
	// Procurement group nested, and the last user with a mailbox).
	Groups []Group
	// Vendors are the companies in the mail, for the host's vendor list.
	Vendors []Vendor
	// Mailboxes list each mailbox's items, in the order of Users.
	Mailboxes []GeneratedMailbox
}

// Vendor is a company of the generated mail: several domains (the first
// is its main one) and contacts, people and role addresses on its
// domains and now and then one on a free-mail domain.
type Vendor struct {
	Name     string
	Domains  []string
	Contacts []m365link.EmailAddress
}

// GeneratedMailbox lists the items made in one mailbox, by ID, in the
// order they were made.
type GeneratedMailbox struct {
	User      User
	Inbox     []string
	SentItems []string
	Events    []string
	Contacts  []string
}

// Generate fills the tenant with deterministic, realistic data of any
// size: users with mailboxes (and some without), groups, vendors, and in
// every mailbox threads of mail, meetings and contacts. Call it once, on a
// fresh tenant: its users are alice@contoso.com, bob@contoso.com, …,
// which users added by hand must not be.
func (t *Tenant) Generate(spec Spec) *Generated {
	r := fakegraph.Seed(t.graph, fakegraph.SeedSpec{TenantID: t.id, Mailboxes: spec.Mailboxes, NotMailEnabled: spec.WithoutMailbox,
		MessagesPerMailbox: spec.MessagesPerMailbox, EventsPerMailbox: spec.EventsPerMailbox, ContactsPerMailbox: spec.ContactsPerMailbox,
		NewslettersPerMailbox: spec.NewslettersPerMailbox, Vendors: spec.Vendors, Seed: spec.Seed, Start: spec.Start, End: spec.End})
	out := &Generated{}
	byID := map[string]User{}
	for _, fu := range r.Tenants[0].Users {
		u := User{ID: fu.ID, TenantID: fu.TenantID, UPN: fu.UPN, DisplayName: fu.DisplayName, NoMailbox: !fu.MailEnabled}
		t.register(u)
		byID[u.ID] = u
		out.Users = append(out.Users, u)
	}
	for _, g := range r.Tenants[0].Groups {
		out.Groups = append(out.Groups, Group{ID: g.ID, DisplayName: g.DisplayName, Mail: g.Mail, Description: g.Description})
	}
	for _, v := range r.Vendors {
		out.Vendors = append(out.Vendors, Vendor{Name: v.Name, Domains: v.Domains, Contacts: emailAddresses(v.Contacts)})
	}
	for _, mb := range r.Mailboxes {
		out.Mailboxes = append(out.Mailboxes, GeneratedMailbox{User: byID[mb.User.ID],
			Inbox: mb.Inbox, SentItems: mb.SentItems, Events: mb.Events, Contacts: mb.Contacts})
	}
	return out
}
