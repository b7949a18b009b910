package m365link

import (
	"strings"
	"time"
)

// EmailAddress is a participant of a message or event: a display name and an
// SMTP address, as Graph's emailAddress resource carries them.
type EmailAddress struct {
	Name    string
	Address string
}

// String formats e as `Name <address>`, or the bare address without a name.
func (e EmailAddress) String() string {
	if e.Name == "" || e.Name == e.Address {
		return e.Address
	}
	return e.Name + " <" + e.Address + ">"
}

// Domain returns the part of the address after the last "@", lower-cased,
// or "" when there is none.
func (e EmailAddress) Domain() string {
	i := strings.LastIndexByte(e.Address, '@')
	if i < 0 || i == len(e.Address)-1 {
		return ""
	}
	return strings.ToLower(e.Address[i+1:])
}

// Message is the summary of one mail message as the sync engine hands it to
// sinks. ID is Graph's immutable ID: it survives moves between folders, so a
// sink keys by it.
type Message struct {
	// ID is the Graph immutable ID of the message.
	ID string
	// ChangeKey changes with every modification of the item.
	ChangeKey string
	// FolderID is the immutable ID of the folder that holds the message.
	FolderID string
	// InternetMessageID is the RFC 5322 Message-ID header, e.g. "<abc@example.com>";
	// it is what other mail systems use to thread replies.
	InternetMessageID string
	// ConversationID groups the messages of one Outlook conversation.
	ConversationID string
	Subject        string
	BodyPreview    string
	// Body is empty unless the sync asked for bodies.
	Body            string
	BodyContentType string // "text" or "html"

	From    EmailAddress
	Sender  EmailAddress
	To      []EmailAddress
	Cc      []EmailAddress
	Bcc     []EmailAddress
	ReplyTo []EmailAddress

	ReceivedAt   time.Time
	SentAt       time.Time
	LastModified time.Time

	IsRead         bool
	IsDraft        bool
	HasAttachments bool
	Importance     string // "low", "normal" or "high"
	Categories     []string
	WebLink        string
}

// Participants returns every address on m in a fixed order: from, sender
// (when it differs from from), to, cc, bcc, reply-to. Duplicates are kept;
// callers that need a set dedupe.
func (m *Message) Participants() []EmailAddress {
	out := make([]EmailAddress, 0, 2+len(m.To)+len(m.Cc)+len(m.Bcc)+len(m.ReplyTo))
	if m.From.Address != "" {
		out = append(out, m.From)
	}
	if m.Sender.Address != "" && !strings.EqualFold(m.Sender.Address, m.From.Address) {
		out = append(out, m.Sender)
	}
	out = append(out, m.To...)
	out = append(out, m.Cc...)
	out = append(out, m.Bcc...)
	return append(out, m.ReplyTo...)
}

// AttendeeType says how an attendee was invited.
type AttendeeType string

// Attendee types as Graph names them.
const (
	AttendeeRequired AttendeeType = "required"
	AttendeeOptional AttendeeType = "optional"
	AttendeeResource AttendeeType = "resource"
)

// Attendee is one invitee of an event with their response.
type Attendee struct {
	EmailAddress
	Type AttendeeType
	// Response is Graph's responseStatus.response: "none", "organizer",
	// "tentativelyAccepted", "accepted", "declined" or "notResponded".
	Response string
}

// EventType is Graph's event type.
type EventType string

// Event types as Graph names them. Calendar delta never returns series masters.
const (
	EventSingleInstance EventType = "singleInstance"
	EventOccurrence     EventType = "occurrence"
	EventException      EventType = "exception"
	EventSeriesMaster   EventType = "seriesMaster"
)

// Event is the summary of one calendar event (a single instance, an
// occurrence or an exception of a series) as the sync engine hands it to sinks.
type Event struct {
	// ID is the Graph immutable ID of the event (instance).
	ID        string
	ChangeKey string
	// ICalUID is the iCalendar UID shared by every copy of the meeting across
	// calendars (organizer and attendees): a host that syncs several
	// internal mailboxes shows a meeting once by it. (Occurrences of a
	// series share the series' iCalUID in some tenants: key occurrences by
	// ICalUID and OriginalStart.)
	ICalUID string
	// SeriesMasterID is set for occurrences and exceptions.
	SeriesMasterID string
	// OriginalStart is, for an occurrence or exception, the start the
	// series' pattern gave it (an exception moved elsewhere keeps it).
	OriginalStart time.Time
	Type          EventType
	Subject       string
	BodyPreview   string
	Organizer     EmailAddress
	Attendees     []Attendee
	// Start and End are absolute instants (UTC). For all-day events they
	// are midnight in the event's own zone; use StartDate and EndDate.
	Start time.Time
	End   time.Time
	// StartDate and EndDate are set for all-day events only: the days the
	// event covers, EndDate exclusive (a one-day event on 8 March has
	// StartDate 8 March and EndDate 9 March), whatever zone reads them.
	StartDate, EndDate Date
	// TimeZone is the zone the event was created in, as Graph names it
	// (originalStartTimeZone: a Windows name such as "Pacific Standard
	// Time", or an IANA name); IANAZone is the same zone as an IANA name,
	// empty when it is not known (e.g. a custom zone).
	TimeZone string
	IANAZone string
	IsAllDay bool
	// IsCancelled is true for a cancelled meeting; the sync engine hands
	// cancelled events to sinks as removals.
	IsCancelled     bool
	IsOnlineMeeting bool
	// JoinURL is the online meeting's join link; OnlineMeetingProvider is
	// Graph's onlineMeetingProvider ("teamsForBusiness", "skypeForBusiness",
	// "skypeForConsumer" or "unknown").
	JoinURL               string
	OnlineMeetingProvider string
	Location              string
	Categories            []string
	// Sensitivity is "normal", "personal", "private" or "confidential".
	Sensitivity string
	// ShowAs is "free", "tentative", "busy", "oof", "workingElsewhere" or "unknown".
	ShowAs       string
	LastModified time.Time
	WebLink      string
}

// Date is a day of the calendar without a time or a zone: the days an
// all-day event covers.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the day t falls on in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// IsZero reports whether d is the zero Date (no day).
func (d Date) IsZero() bool { return d == Date{} }

// String formats d as "2006-01-02", or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
}

// In returns midnight at the start of d in loc.
func (d Date) In(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// Participants returns the organizer followed by every attendee's address.
func (e *Event) Participants() []EmailAddress {
	out := make([]EmailAddress, 0, 1+len(e.Attendees))
	if e.Organizer.Address != "" {
		out = append(out, e.Organizer)
	}
	for _, a := range e.Attendees {
		out = append(out, a.EmailAddress)
	}
	return out
}

// Contact is the summary of one Outlook contact.
type Contact struct {
	// ID is the contact's immutable ID.
	ID        string
	ChangeKey string
	// FolderID is the contact folder that holds it.
	FolderID       string
	DisplayName    string
	GivenName      string
	Surname        string
	CompanyName    string
	JobTitle       string
	Department     string
	EmailAddresses []EmailAddress
	BusinessPhones []string
	HomePhones     []string
	MobilePhone    string
	LastModified   time.Time
}
