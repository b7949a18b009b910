package m365linktest

import (
	"fmt"
	"slices"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/fakegraph"
)

// Mailboxes are named by their user's ID or UPN, folders by a well-known
// name ("inbox", "sentitems", "archive", "deleteditems", "junkemail",
// "drafts", "msgfolderroot") or an ID. The Update methods call f with the
// tenant locked: f must not call the Tenant.

// FolderID returns the ID of a mail folder named by a well-known name (or
// an ID), or "" when the mailbox has no such folder.
func (t *Tenant) FolderID(mailbox, folder string) string {
	id, _ := t.graph.FolderID(mailbox, folder)
	return id
}

// AddFolder adds a mail folder called name under parent (a well-known name
// or ID; "" is the top of the mailbox, next to Inbox) and returns its ID.
func (t *Tenant) AddFolder(mailbox, parent, name string) string {
	return t.graph.AddFolder(mailbox, fakegraph.Folder{DisplayName: name, ParentID: parent}).ID
}

// DeleteFolder deletes a folder that is not a well-known one, with its
// child folders and their messages: Graph then answers 404 for it.
func (t *Tenant) DeleteFolder(mailbox, folderID string) { t.graph.DeleteFolder(mailbox, folderID) }

// AddMessage puts a message in a folder of a mailbox and returns it as
// stored. Empty ID, ChangeKey, InternetMessageID and ConversationID are
// generated; an empty Sender is From; a zero ReceivedAt is now, zero
// SentAt and LastModified follow ReceivedAt; empty Importance is "normal"
// and BodyContentType "html".
// FolderID is ignored: folder says where the message goes.
func (t *Tenant) AddMessage(mailbox, folder string, m m365link.Message) m365link.Message {
	var fm fakegraph.Message
	setMessage(&fm, &m)
	fm.ID, fm.ChangeKey = m.ID, m.ChangeKey
	return message(t.graph.AddMessage(mailbox, folder, fm))
}

// Message returns a message as the fake holds it, and whether it exists.
func (t *Tenant) Message(mailbox, id string) (m365link.Message, bool) {
	fm, ok := t.graph.Message(mailbox, id)
	if !ok {
		return m365link.Message{}, false
	}
	return message(&fm), true
}

// UpdateMessage changes a message: f edits a copy. ID and FolderID do not
// change this way (see [Tenant.MoveMessage]); the change key is renewed,
// and LastModified set to now unless f changed it. The message shows up in
// its folder's next delta round.
func (t *Tenant) UpdateMessage(mailbox, id string, f func(*m365link.Message)) {
	t.graph.UpdateMessage(mailbox, id, func(fm *fakegraph.Message) {
		m := message(fm)
		f(&m)
		setMessage(fm, &m)
	})
}

// MoveMessage moves a message to another folder, keeping its immutable ID,
// as Outlook does: the old folder's next delta round reports it removed,
// the new one's reports it.
func (t *Tenant) MoveMessage(mailbox, id, folder string) { t.graph.MoveMessage(mailbox, id, folder) }

// DeleteMessage deletes a message for good (move it to "deleteditems" for
// a soft delete).
func (t *Tenant) DeleteMessage(mailbox, id string) { t.graph.DeleteMessage(mailbox, id) }

// setMessage copies what a host may set of m onto fm, all but the ID,
// folder and change key.
func setMessage(fm *fakegraph.Message, m *m365link.Message) {
	fm.InternetMessageID, fm.ConversationID = m.InternetMessageID, m.ConversationID
	fm.Subject, fm.BodyPreview, fm.Body, fm.BodyContentType = m.Subject, m.BodyPreview, m.Body, m.BodyContentType
	fm.From, fm.Sender = address(m.From), address(m.Sender)
	fm.To, fm.Cc, fm.Bcc, fm.ReplyTo = addresses(m.To), addresses(m.Cc), addresses(m.Bcc), addresses(m.ReplyTo)
	fm.ReceivedDateTime, fm.SentDateTime, fm.LastModifiedDateTime = m.ReceivedAt, m.SentAt, m.LastModified
	fm.IsRead, fm.IsDraft, fm.HasAttachments = m.IsRead, m.IsDraft, m.HasAttachments
	fm.Importance, fm.Categories, fm.WebLink = m.Importance, slices.Clone(m.Categories), m.WebLink
}

func message(fm *fakegraph.Message) m365link.Message {
	return m365link.Message{
		ID: fm.ID, ChangeKey: fm.ChangeKey, FolderID: fm.ParentFolderID,
		InternetMessageID: fm.InternetMessageID, ConversationID: fm.ConversationID,
		Subject: fm.Subject, BodyPreview: fm.BodyPreview, Body: fm.Body, BodyContentType: fm.BodyContentType,
		From: emailAddress(fm.From), Sender: emailAddress(fm.Sender),
		To: emailAddresses(fm.To), Cc: emailAddresses(fm.Cc), Bcc: emailAddresses(fm.Bcc), ReplyTo: emailAddresses(fm.ReplyTo),
		ReceivedAt: fm.ReceivedDateTime, SentAt: fm.SentDateTime, LastModified: fm.LastModifiedDateTime,
		IsRead: fm.IsRead, IsDraft: fm.IsDraft, HasAttachments: fm.HasAttachments,
		Importance: fm.Importance, Categories: slices.Clone(fm.Categories), WebLink: fm.WebLink,
	}
}

// AddEvent adds an event to a mailbox's calendar and returns it as stored.
// Empty ID, ICalUID and ChangeKey are generated, and a JoinURL for an
// online meeting. An all-day event runs from midnight to midnight in its
// TimeZone (a Windows zone name, default "UTC"). For a recurring meeting
// see [Tenant.AddSeries].
func (t *Tenant) AddEvent(mailbox string, e m365link.Event) m365link.Event {
	var fe fakegraph.Event
	setEvent(&fe, &e)
	fe.ID, fe.ChangeKey = e.ID, e.ChangeKey
	return event(t.graph.AddEvent(mailbox, fe))
}

// AddSeries adds a recurring meeting: its series master, from first, and n
// occurrences every interval from first's start (Graph's calendar views
// list the occurrences, never the master). It returns the master followed
// by the occurrences.
func (t *Tenant) AddSeries(mailbox string, first m365link.Event, every time.Duration, n int) []m365link.Event {
	if n < 1 || every <= 0 {
		panic(fmt.Sprintf("m365linktest: AddSeries needs occurrences (%d) and an interval (%v)", n, every))
	}
	master := first
	master.Type, master.SeriesMasterID = m365link.EventSeriesMaster, ""
	out := []m365link.Event{t.AddEvent(mailbox, master)}
	for i := range n {
		occ := first
		occ.ID, occ.ChangeKey = "", ""
		occ.Type, occ.SeriesMasterID, occ.ICalUID = m365link.EventOccurrence, out[0].ID, out[0].ICalUID
		shift := time.Duration(i) * every
		occ.Start, occ.End = first.Start.Add(shift), first.End.Add(shift)
		occ.OriginalStart = occ.Start
		out = append(out, t.AddEvent(mailbox, occ))
	}
	return out
}

// Event returns an event as the fake holds it, and whether it exists.
func (t *Tenant) Event(mailbox, id string) (m365link.Event, bool) {
	fe, ok := t.graph.Event(mailbox, id)
	if !ok {
		return m365link.Event{}, false
	}
	return event(&fe), true
}

// UpdateEvent changes an event as [Tenant.UpdateMessage] does a message.
// Moving it out of a calendar view's window makes that view's next delta
// round report it removed.
func (t *Tenant) UpdateEvent(mailbox, id string, f func(*m365link.Event)) {
	t.graph.UpdateEvent(mailbox, id, func(fe *fakegraph.Event) {
		e := event(fe)
		f(&e)
		setEvent(fe, &e)
	})
}

// DeleteEvent deletes an event.
func (t *Tenant) DeleteEvent(mailbox, id string) { t.graph.DeleteEvent(mailbox, id) }

func setEvent(fe *fakegraph.Event, e *m365link.Event) {
	fe.ICalUID, fe.SeriesMasterID, fe.Type = e.ICalUID, e.SeriesMasterID, string(e.Type)
	fe.Subject, fe.BodyPreview, fe.Organizer = e.Subject, e.BodyPreview, address(e.Organizer)
	fe.Attendees = nil
	for _, a := range e.Attendees {
		fe.Attendees = append(fe.Attendees, fakegraph.Attendee{Address: address(a.EmailAddress), Type: string(a.Type), Response: a.Response})
	}
	fe.Start, fe.End, fe.TimeZone = e.Start, e.End, e.TimeZone
	fe.IsAllDay, fe.IsCancelled, fe.IsOnlineMeeting, fe.JoinURL = e.IsAllDay, e.IsCancelled, e.IsOnlineMeeting, e.JoinURL
	fe.Location, fe.ShowAs, fe.LastModifiedDateTime, fe.WebLink = e.Location, e.ShowAs, e.LastModified, e.WebLink
	fe.OriginalStart, fe.Categories, fe.Sensitivity = e.OriginalStart, slices.Clone(e.Categories), e.Sensitivity
}

func event(fe *fakegraph.Event) m365link.Event {
	e := m365link.Event{
		ID: fe.ID, ChangeKey: fe.ChangeKey, ICalUID: fe.ICalUID, SeriesMasterID: fe.SeriesMasterID,
		Type: m365link.EventType(fe.Type), Subject: fe.Subject, BodyPreview: fe.BodyPreview, Organizer: emailAddress(fe.Organizer),
		Start: fe.Start, End: fe.End, TimeZone: fe.TimeZone,
		IsAllDay: fe.IsAllDay, IsCancelled: fe.IsCancelled, IsOnlineMeeting: fe.IsOnlineMeeting, JoinURL: fe.JoinURL,
		Location: fe.Location, ShowAs: fe.ShowAs, LastModified: fe.LastModifiedDateTime, WebLink: fe.WebLink,
		OriginalStart: fe.OriginalStart, Categories: slices.Clone(fe.Categories), Sensitivity: fe.Sensitivity,
	}
	for _, a := range fe.Attendees {
		e.Attendees = append(e.Attendees, m365link.Attendee{EmailAddress: emailAddress(a.Address), Type: m365link.AttendeeType(a.Type), Response: a.Response})
	}
	return e
}

// AddContact adds a contact to a mailbox's default contact folder and
// returns it as stored (ID and ChangeKey generated when empty).
func (t *Tenant) AddContact(mailbox string, c m365link.Contact) m365link.Contact {
	var fc fakegraph.Contact
	setContact(&fc, &c)
	fc.ID, fc.ChangeKey = c.ID, c.ChangeKey
	return contact(t.graph.AddContact(mailbox, fc))
}

// Contact returns a contact as the fake holds it, and whether it exists.
func (t *Tenant) Contact(mailbox, id string) (m365link.Contact, bool) {
	fc, ok := t.graph.Contact(mailbox, id)
	if !ok {
		return m365link.Contact{}, false
	}
	return contact(&fc), true
}

// UpdateContact changes a contact as [Tenant.UpdateMessage] does a message.
func (t *Tenant) UpdateContact(mailbox, id string, f func(*m365link.Contact)) {
	t.graph.UpdateContact(mailbox, id, func(fc *fakegraph.Contact) {
		c := contact(fc)
		f(&c)
		setContact(fc, &c)
	})
}

// DeleteContact deletes a contact.
func (t *Tenant) DeleteContact(mailbox, id string) { t.graph.DeleteContact(mailbox, id) }

func setContact(fc *fakegraph.Contact, c *m365link.Contact) {
	fc.DisplayName, fc.GivenName, fc.Surname, fc.CompanyName = c.DisplayName, c.GivenName, c.Surname, c.CompanyName
	fc.EmailAddresses, fc.BusinessPhones, fc.LastModifiedDateTime = addresses(c.EmailAddresses), slices.Clone(c.BusinessPhones), c.LastModified
	fc.JobTitle, fc.Department, fc.MobilePhone, fc.HomePhones = c.JobTitle, c.Department, c.MobilePhone, slices.Clone(c.HomePhones)
}

func contact(fc *fakegraph.Contact) m365link.Contact {
	return m365link.Contact{ID: fc.ID, ChangeKey: fc.ChangeKey, DisplayName: fc.DisplayName, GivenName: fc.GivenName,
		Surname: fc.Surname, CompanyName: fc.CompanyName, EmailAddresses: emailAddresses(fc.EmailAddresses),
		BusinessPhones: slices.Clone(fc.BusinessPhones), LastModified: fc.LastModifiedDateTime,
		JobTitle: fc.JobTitle, Department: fc.Department, MobilePhone: fc.MobilePhone, HomePhones: slices.Clone(fc.HomePhones)}
}

func address(e m365link.EmailAddress) fakegraph.Address {
	return fakegraph.Address{Name: e.Name, Address: e.Address}
}

func addresses(es []m365link.EmailAddress) []fakegraph.Address {
	if es == nil {
		return nil
	}
	out := make([]fakegraph.Address, len(es))
	for i, e := range es {
		out[i] = address(e)
	}
	return out
}

func emailAddress(a fakegraph.Address) m365link.EmailAddress {
	return m365link.EmailAddress{Name: a.Name, Address: a.Address}
}

func emailAddresses(as []fakegraph.Address) []m365link.EmailAddress {
	if as == nil {
		return nil
	}
	out := make([]m365link.EmailAddress, len(as))
	for i, a := range as {
		out[i] = emailAddress(a)
	}
	return out
}
