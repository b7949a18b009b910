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
	// calendars (organizer and attendees), and by every occurrence of a series.
	ICalUID string
	// SeriesMasterID is set for occurrences and exceptions.
	SeriesMasterID string
	Type           EventType
	Subject        string
	BodyPreview    string
	Organizer      EmailAddress
	Attendees      []Attendee
	// Start and End are absolute instants. For all-day events they are
	// midnight in the event's time zone.
	Start time.Time
	End   time.Time
	// TimeZone is the zone Graph reported start and end in (a Windows or
	// IANA name), kept so the host can show local times as the organizer did.
	TimeZone        string
	IsAllDay        bool
	IsCancelled     bool
	IsOnlineMeeting bool
	JoinURL         string
	Location        string
	ShowAs          string
	LastModified    time.Time
	WebLink         string
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
	ID             string
	ChangeKey      string
	DisplayName    string
	GivenName      string
	Surname        string
	CompanyName    string
	EmailAddresses []EmailAddress
	BusinessPhones []string
	LastModified   time.Time
}
