package fakegraph

import (
	"maps"
	"time"
)

// Tenant is a directory (an Entra ID tenant). ID is generated (a GUID) when
// empty.
type Tenant struct {
	ID          string
	DisplayName string
	Domains     []string
}

// User is a directory user. ID is generated (a GUID) when empty; UPN
// defaults to Mail. A user whose MailEnabled is false has no mailbox: the
// mail, calendar and contact routes answer 404 MailboxNotEnabledForRESTAPI.
type User struct {
	ID             string
	TenantID       string // set by [Server.AddUser]
	UPN            string
	DisplayName    string
	Mail           string
	MailEnabled    bool
	AccountEnabled bool
	// DirectoryRoles are the template IDs of the directory roles the user
	// holds (active assignments), e.g. Global Administrator's
	// 62e90394-69f5-4237-9190-012177145e10. memberOf lists each as a
	// directoryRole of the user's tenant.
	DirectoryRoles []string
}

// Group is a directory group. Its members (users or groups) are given to
// [Server.AddGroup].
type Group struct {
	ID          string
	TenantID    string // set by [Server.AddGroup]
	DisplayName string
	Mail        string
	Description string
}

// Folder is a mail or contact folder. ParentID is a folder ID or a
// well-known name; empty means the mailbox root (msgfolderroot).
type Folder struct {
	ID            string
	DisplayName   string
	ParentID      string
	WellKnownName string // inbox, sentitems, ...; empty for user folders
}

// Address is a name and an e-mail address, Graph's emailAddress.
type Address struct {
	Name    string
	Address string
}

// Message is a mail item. Empty ID, InternetMessageID, ConversationID,
// ConversationIndex and ChangeKey are generated; empty Importance is
// "normal", empty BodyContentType "html"; an empty BodyPreview is derived
// from Body and an empty WebLink from ID when rendered.
type Message struct {
	ID                   string
	ParentFolderID       string
	Subject              string
	BodyPreview          string
	Body                 string
	BodyContentType      string // text or html
	From                 Address
	Sender               Address
	ReplyTo              []Address
	To                   []Address
	Cc                   []Address
	Bcc                  []Address
	ReceivedDateTime     time.Time
	SentDateTime         time.Time
	CreatedDateTime      time.Time
	LastModifiedDateTime time.Time
	InternetMessageID    string
	ConversationID       string
	ConversationIndex    string
	ChangeKey            string
	IsRead               bool
	IsDraft              bool
	HasAttachments       bool
	Importance           string // low, normal, high
	Categories           []string
	WebLink              string
}

// Attendee is an event attendee.
type Attendee struct {
	Address
	Type     string // required (default), optional, resource
	Response string // none (default), accepted, declined, tentativelyAccepted, organizer
}

// Event is a calendar item. The fake does not expand recurrences: add the
// occurrences (Type "occurrence" or "exception", SeriesMasterID set) next to
// their "seriesMaster" yourself. Start and End are instants; TimeZone is the
// Windows name of the zone the event was created in. An empty WebLink is
// derived from ID when rendered.
type Event struct {
	ID                   string
	CalendarID           string // empty = the default calendar
	ICalUID              string
	SeriesMasterID       string
	Type                 string // singleInstance (default), occurrence, exception, seriesMaster
	Subject              string
	BodyPreview          string
	Body                 string
	Organizer            Address
	Attendees            []Attendee
	Start, End           time.Time
	TimeZone             string // Windows zone name; default "UTC"
	IsAllDay             bool
	IsCancelled          bool
	IsOnlineMeeting      bool
	JoinURL              string
	Location             string
	ShowAs               string    // busy (default), free, tentative, oof, workingElsewhere
	OriginalStart        time.Time // occurrences and exceptions: the start the pattern gave
	Categories           []string
	Sensitivity          string // normal (default), personal, private, confidential
	CreatedDateTime      time.Time
	LastModifiedDateTime time.Time
	ChangeKey            string
	WebLink              string

	// What the event write endpoints set (calendar_write.go).
	BodyContentType       string      // html (default) or text
	ReminderMinutes       *int        // nil = 15
	ReminderOff           bool        // isReminderOn false
	Recurrence            *Recurrence // series masters
	TransactionID         string
	OnlineMeetingProvider string            // "" = teamsForBusiness for online meetings, else unknown
	ExtendedProperties    map[string]string // single-value extended properties by ID
}

// Contact is a personal contact. Empty ParentFolderID is the default
// contact folder ("contacts").
type Contact struct {
	ID                   string
	ParentFolderID       string
	DisplayName          string
	GivenName            string
	Surname              string
	CompanyName          string
	JobTitle             string
	Department           string
	MobilePhone          string
	EmailAddresses       []Address
	BusinessPhones       []string
	HomePhones           []string
	CreatedDateTime      time.Time
	LastModifiedDateTime time.Time
	ChangeKey            string
}

// well-known mail folders, in the order Graph lists them.
var wellKnownFolders = []struct{ name, display string }{
	{"inbox", "Inbox"},
	{"sentitems", "Sent Items"},
	{"drafts", "Drafts"},
	{"deleteditems", "Deleted Items"},
	{"archive", "Archive"},
	{"junkemail", "Junk Email"},
}

func (m *Message) clone() Message {
	c := *m
	c.ReplyTo = cloneSlice(m.ReplyTo)
	c.To = cloneSlice(m.To)
	c.Cc = cloneSlice(m.Cc)
	c.Bcc = cloneSlice(m.Bcc)
	c.Categories = cloneSlice(m.Categories)
	return c
}

func (e *Event) clone() Event {
	c := *e
	c.Attendees = cloneSlice(e.Attendees)
	c.Categories = cloneSlice(e.Categories)
	if e.ReminderMinutes != nil {
		m := *e.ReminderMinutes
		c.ReminderMinutes = &m
	}
	c.Recurrence = e.Recurrence.clone()
	if e.ExtendedProperties != nil {
		c.ExtendedProperties = maps.Clone(e.ExtendedProperties)
	}
	return c
}

func (c *Contact) clone() Contact {
	x := *c
	x.EmailAddresses = cloneSlice(c.EmailAddresses)
	x.BusinessPhones = cloneSlice(c.BusinessPhones)
	x.HomePhones = cloneSlice(c.HomePhones)
	return x
}

func cloneSlice[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append([]T(nil), s...)
}
