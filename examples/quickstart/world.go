package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/calendar"
	"github.com/m365link/m365link/consent"
	"github.com/m365link/m365link/m365linktest"
	"github.com/m365link/m365link/mailsend"
	"github.com/m365link/m365link/vendors"
)

// The fake tenant is made again on every run, from the same Spec and the
// same fixture calls in the same order, on the same address: the same
// tenant, down to its IDs and delta tokens. So the sync state a run leaves
// in SQLite is valid in the next, whose sync is incremental. The changes
// of earlier runs (the mail that arrived, the reply, the meeting booked)
// are made again, silently, before the new run starts.

// admin is the tenant's Global Administrator, who consents for the app.
const admin = "it-admin@contoso.com"

// world is the fake tenant and what was generated in it.
type world struct {
	tenant  *m365linktest.Tenant
	gen     *m365linktest.Generated
	vendors []vendors.Vendor // the host's vendor records
	sender  *mailsend.Sender
	cal     *calendar.Client
}

func specOf(o options) m365linktest.Spec {
	return m365linktest.Spec{Mailboxes: o.mailboxes, WithoutMailbox: 1, MessagesPerMailbox: o.messages, EventsPerMailbox: o.messages / 12,
		NewslettersPerMailbox: o.messages / 30, Vendors: 32, Seed: 2026}
}

func specString(s m365linktest.Spec) string {
	return fmt.Sprintf("mailboxes=%d messages=%d events=%d newsletters=%d vendors=%d seed=%d",
		s.Mailboxes, s.MessagesPerMailbox, s.EventsPerMailbox, s.NewslettersPerMailbox, s.Vendors, s.Seed)
}

func newWorld(tenant *m365linktest.Tenant, spec m365linktest.Spec) (*world, error) {
	w := &world{tenant: tenant, gen: tenant.Generate(spec)}
	tenant.AddUser(m365linktest.User{UPN: admin, DisplayName: "IT Admin", Roles: []string{consent.RoleGlobalAdministrator}})
	for _, v := range w.gen.Vendors {
		rec := vendors.Vendor{ID: slug(v.Name), Name: v.Name, Domains: v.Domains, Tracked: true}
		for _, c := range v.Contacts {
			rec.Contacts = append(rec.Contacts, c.Address)
		}
		w.vendors = append(w.vendors, rec)
	}
	var err error
	if w.sender, err = mailsend.New(mailsend.Config{Client: tenant.Graph()}); err != nil {
		return nil, err
	}
	if w.cal, err = calendar.New(calendar.Config{Client: tenant.Graph()}); err != nil {
		return nil, err
	}
	return w, nil
}

func slug(name string) string {
	return strings.ToLower(strings.ReplaceAll(name, " ", "-"))
}

// buyer is the mailbox the story happens in: the first one.
func (w *world) buyer() m365linktest.User { return w.gen.Users[0] }

// colleague joins the meeting: the second mailbox.
func (w *world) colleague() m365linktest.User { return w.gen.Users[1] }

// storyVendor is the vendor whose mail arrives in run n, and who writes.
func (w *world) storyVendor(n int) (m365linktest.Vendor, m365link.EmailAddress) {
	v := w.gen.Vendors[(n-1)*5%len(w.gen.Vendors)]
	return v, v.Contacts[0]
}

// awayChanges is what happened in the tenant between run n-1 and run n:
// mail from two vendors and a newsletter.
func (w *world) awayChanges(n int, day time.Time) {
	if n < 2 {
		return
	}
	for i := range 2 {
		v := w.gen.Vendors[(n*7+i*3)%len(w.gen.Vendors)]
		to := w.gen.Mailboxes[0].User // in the synced group, as is the last mailbox
		if i == 1 {
			to = w.gen.Mailboxes[len(w.gen.Mailboxes)-1].User
		}
		w.tenant.AddMessage(to.UPN, "inbox", m365link.Message{Subject: fmt.Sprintf("Order confirmation %d-%d", n, i+1),
			ReceivedAt: day.Add(time.Duration(8+i) * time.Hour), From: v.Contacts[len(v.Contacts)-1], To: []m365link.EmailAddress{{Address: to.UPN}}})
	}
	w.tenant.AddMessage(w.buyer().UPN, "inbox", m365link.Message{Subject: "Procurement Today: weekly digest",
		ReceivedAt: day.Add(7 * time.Hour), From: m365link.EmailAddress{Name: "Procurement Today", Address: "digest@procurementtoday.example"},
		To: []m365link.EmailAddress{{Address: w.buyer().UPN}}})
}

// newMail is run n's vendor email arriving in the buyer's inbox.
func (w *world) newMail(n int, day time.Time) m365link.Message {
	v, from := w.storyVendor(n)
	return w.tenant.AddMessage(w.buyer().UPN, "inbox", m365link.Message{
		Subject: fmt.Sprintf("Revised quotation Q-%d from %s", 2026000+n, v.Name), ReceivedAt: day.Add(9 * time.Hour),
		From: from, To: []m365link.EmailAddress{{Name: w.buyer().DisplayName, Address: w.buyer().UPN}},
		Body: "<p>Please find our revised quotation attached. Prices are valid for 30 days.</p>"})
}

// reply answers the vendor's mail from the buyer's mailbox.
func (w *world) reply(ctx context.Context, n int, msg m365link.Message) (*mailsend.Sent, error) {
	return w.sender.Reply(ctx, w.tenant.AppToken(), w.buyer().UPN, msg.ID, &mailsend.Message{
		Body:           "Thank you. Let us go through it together; an invitation follows.",
		IdempotencyKey: fmt.Sprintf("quickstart/run-%d/reply", n), // the host's outbox ID: a retry never sends twice
	})
}

// booking is a meeting booked at the first slot the buyer and a colleague
// are both free, within working hours, in the days after day.
type booking struct {
	Event    *calendar.Event
	TimeZone string
	Location *time.Location
}

func (w *world) book(ctx context.Context, n int, day time.Time) (*booking, error) {
	tok, buyer := w.tenant.AppToken(), w.buyer()
	settings, err := w.cal.MailboxSettings(ctx, tok, buyer.ID)
	if err != nil {
		return nil, err
	}
	loc := settings.Location
	if loc == nil {
		loc = time.UTC
	}
	start := time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, loc)
	window := calendar.TimeRange{Start: start, End: start.AddDate(0, 0, 14)}
	slots, err := w.cal.CommonFreeSlots(ctx, tok, buyer.ID, []string{buyer.UPN, w.colleague().UPN}, window,
		calendar.SlotOptions{Length: 30 * time.Minute, Step: 30 * time.Minute, WorkingHoursOnly: true})
	if err != nil {
		return nil, err
	}
	if len(slots) == 0 {
		return nil, fmt.Errorf("no common free half hour in the two weeks from %s", start.Format(time.DateOnly))
	}
	v, contact := w.storyVendor(n)
	ev, err := w.cal.Create(ctx, tok, buyer.ID, &calendar.Meeting{
		Subject:  "Quotation review with " + v.Name,
		Start:    slots[0].Start,
		End:      slots[0].Start.Add(30 * time.Minute),
		TimeZone: settings.TimeZone,
		Attendees: []m365link.Attendee{
			{EmailAddress: contact},
			{EmailAddress: m365link.EmailAddress{Name: w.colleague().DisplayName, Address: w.colleague().UPN}},
		},
		Teams: true,
	}, &calendar.CreateOptions{Key: fmt.Sprintf("quickstart-run-%d", n)}) // the host's booking ID
	if err != nil {
		return nil, err
	}
	return &booking{Event: ev, TimeZone: settings.TimeZone, Location: loc}, nil
}

// replay makes again, in a fresh tenant, what run n changed in it.
func (w *world) replay(ctx context.Context, n int, day time.Time) error {
	w.awayChanges(n, day)
	msg := w.newMail(n, day)
	if _, err := w.reply(ctx, n, msg); err != nil {
		return fmt.Errorf("replay run %d's reply: %w", n, err)
	}
	if _, err := w.book(ctx, n, day); err != nil {
		return fmt.Errorf("replay run %d's meeting: %w", n, err)
	}
	return nil
}
