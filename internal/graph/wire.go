package graph

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/tz"
)

// The wire structs below are deliberately lean: only what the library hands
// to hosts, decoded with encoding/json (an order of magnitude cheaper than a
// generic model; see PERFORMANCE.md). Leaf types are tolerant of the drift
// Graph's payloads show (booleans as strings, dates with seven fractional
// digits and no offset, null in place of objects).

// Time is a tolerant Graph timestamp: RFC 3339 with or without fractional
// seconds and offset (no offset means UTC), a bare date, or null/"" (zero).
type Time struct{ time.Time }

// UnmarshalJSON accepts a JSON string in any format Graph uses, or null.
func (t *Time) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || b[0] == 'n' {
		t.Time = time.Time{}
		return nil
	}
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return errors.New("graph: timestamp is not a string")
	}
	tt, ok := parseTimeBytes(b[1 : len(b)-1])
	if !ok {
		return errors.New("graph: unreadable timestamp")
	}
	t.Time = tt
	return nil
}

// parseGraphTime is parseTime without the verdict, for informational fields.
func parseGraphTime(s string) time.Time {
	t, _ := parseTime(s)
	return t
}

func parseTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, true
	}
	if t, ok := parseFixedTime(s); ok {
		return t, true
	}
	return parseTimeLayouts(s)
}

// parseTimeLayouts is parseTime by time.Parse alone.
func parseTimeLayouts(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true
	}
	// Events: "2026-11-20T10:00:00.0000000" without offset; the zone is a
	// separate field, and absent that Graph means UTC.
	if t, err := time.Parse("2006-01-02T15:04:05", s); err == nil {
		return t, true
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// parseTimeBytes is parseTime for bytes that are not retained.
func parseTimeBytes(b []byte) (time.Time, bool) {
	if len(b) == 0 {
		return time.Time{}, true
	}
	if t, ok := parseFixedTime(b); ok {
		return t, true
	}
	return parseTime(string(b))
}

// parseFixedTime reads the shapes Graph sends, 2024-05-01T10:22:33 with
// 1 to 9 fractional digits or none, then "Z" or nothing (UTC either way),
// without time.Parse. For those it gives exactly what parseTime's layouts
// give; anything else, out-of-range fields included, it leaves to them
// (ok == false).
func parseFixedTime[S string | []byte](s S) (time.Time, bool) {
	const n = len("2006-01-02T15:04:05")
	if len(s) < n || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	year, ok1 := digits(s, 0, 4)
	month, ok2 := digits(s, 5, 2)
	day, ok3 := digits(s, 8, 2)
	hour, ok4 := digits(s, 11, 2)
	minute, ok5 := digits(s, 14, 2)
	sec, ok6 := digits(s, 17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 ||
		day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	i, nsec := n, 0
	if i < len(s) && s[i] == '.' {
		d := 0
		for i++; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			if d++; d > 9 {
				return time.Time{}, false
			}
			nsec = nsec*10 + int(s[i]-'0')
		}
		if d == 0 {
			return time.Time{}, false
		}
		for ; d < 9; d++ {
			nsec *= 10
		}
	}
	if i < len(s) && s[i] == 'Z' {
		i++
	}
	if i != len(s) {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
}

func digits[S string | []byte](s S, at, n int) (int, bool) {
	v := 0
	for _, c := range []byte(s[at : at+n]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// Bool is a tolerant boolean: true/false, "true"/"False", 1/0, or null (false).
type Bool bool

// UnmarshalJSON accepts a JSON boolean, a string or number spelling one, or null.
func (v *Bool) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "true":
		*v = true
		return nil
	case "false", "null":
		*v = false
		return nil
	}
	b = bytes.Trim(b, `"`)
	switch strings.ToLower(string(b)) {
	case "true", "1", "yes":
		*v = true
	case "false", "0", "no", "":
		*v = false
	default:
		return errors.New("graph: unreadable boolean")
	}
	return nil
}

// Message is one entry of a messages delta page or list: the summary a
// sink receives, or, when Removed is set, only the ID of a message gone
// from the folder.
type Message struct {
	m365link.Message
	Removed *Removed
}

// Event is one entry of a calendarView delta page or event list; when
// Removed is set only ID is meaningful.
type Event struct {
	m365link.Event
	Removed *Removed
}

// Contact is one entry of a contacts delta page or list; when Removed is
// set only ID is meaningful.
type Contact struct {
	m365link.Contact
	Removed *Removed
}

func (m *Message) itemID() string { return m.ID }
func (e *Event) itemID() string   { return e.ID }
func (c *Contact) itemID() string { return c.ID }

func (m *Message) decodeStrict(b []byte) error { return strict[messageJSON](b, m) }
func (e *Event) decodeStrict(b []byte) error   { return strict[eventJSON](b, e) }
func (c *Contact) decodeStrict(b []byte) error { return strict[contactJSON](b, c) }

// strict decodes one item with encoding/json into its wire struct W and
// converts it.
func strict[W any, T any, PW interface {
	*W
	vocab() T
}](b []byte, out *T) error {
	var w W
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*out = PW(&w).vocab()
	return nil
}

func nonEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// Removed marks a delta entry for an item gone from the collection: deleted,
// moved out of the folder, or out of the calendar window.
type Removed struct {
	// Reason is "deleted" or "changed"; both mean gone from this collection.
	Reason string `json:"reason"`
}

// Address is Graph's emailAddress resource.
type Address struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

func (a Address) vocab() m365link.EmailAddress {
	return m365link.EmailAddress{Name: a.Name, Address: a.Address}
}

// Recipient is Graph's recipient resource.
type Recipient struct {
	EmailAddress Address `json:"emailAddress"`
}

func recipients(rs []Recipient) []m365link.EmailAddress {
	if len(rs) == 0 {
		return nil
	}
	out := make([]m365link.EmailAddress, len(rs))
	for i, r := range rs {
		out[i] = r.EmailAddress.vocab()
	}
	return out
}

// ItemBody is Graph's itemBody.
type ItemBody struct {
	ContentType string `json:"contentType"`
	Content     string `json:"content"`
}

// messageJSON is Graph's message as encoding/json reads it: the slow path,
// used when the fast decoder meets something it does not expect.
type messageJSON struct {
	ID                   string      `json:"id"`
	Removed              *Removed    `json:"@removed"`
	ChangeKey            string      `json:"changeKey"`
	ParentFolderID       string      `json:"parentFolderId"`
	InternetMessageID    string      `json:"internetMessageId"`
	ConversationID       string      `json:"conversationId"`
	Subject              string      `json:"subject"`
	BodyPreview          string      `json:"bodyPreview"`
	Body                 *ItemBody   `json:"body"`
	From                 Recipient   `json:"from"`
	Sender               Recipient   `json:"sender"`
	ToRecipients         []Recipient `json:"toRecipients"`
	CcRecipients         []Recipient `json:"ccRecipients"`
	BccRecipients        []Recipient `json:"bccRecipients"`
	ReplyTo              []Recipient `json:"replyTo"`
	ReceivedDateTime     Time        `json:"receivedDateTime"`
	SentDateTime         Time        `json:"sentDateTime"`
	LastModifiedDateTime Time        `json:"lastModifiedDateTime"`
	IsRead               Bool        `json:"isRead"`
	IsDraft              Bool        `json:"isDraft"`
	HasAttachments       Bool        `json:"hasAttachments"`
	Importance           string      `json:"importance"`
	Categories           []string    `json:"categories"`
	WebLink              string      `json:"webLink"`
}

// MessageSelect is the lean default $select for message delta: everything
// [Message.Summary] fills except the body.
const MessageSelect = "id,changeKey,parentFolderId,internetMessageId,conversationId,subject,bodyPreview," +
	"from,sender,toRecipients,ccRecipients,bccRecipients,replyTo,receivedDateTime,sentDateTime," +
	"lastModifiedDateTime,isRead,isDraft,hasAttachments,importance,categories,webLink"

func (m *messageJSON) vocab() Message {
	out := Message{Removed: m.Removed, Message: m365link.Message{
		ID:                m.ID,
		ChangeKey:         m.ChangeKey,
		FolderID:          m.ParentFolderID,
		InternetMessageID: m.InternetMessageID,
		ConversationID:    m.ConversationID,
		Subject:           m.Subject,
		BodyPreview:       m.BodyPreview,
		From:              m.From.EmailAddress.vocab(),
		Sender:            m.Sender.EmailAddress.vocab(),
		To:                recipients(m.ToRecipients),
		Cc:                recipients(m.CcRecipients),
		Bcc:               recipients(m.BccRecipients),
		ReplyTo:           recipients(m.ReplyTo),
		ReceivedAt:        m.ReceivedDateTime.Time,
		SentAt:            m.SentDateTime.Time,
		LastModified:      m.LastModifiedDateTime.Time,
		IsRead:            bool(m.IsRead),
		IsDraft:           bool(m.IsDraft),
		HasAttachments:    bool(m.HasAttachments),
		Importance:        m.Importance,
		Categories:        nonEmpty(m.Categories),
		WebLink:           m.WebLink,
	}}
	if m.Body != nil {
		out.Body, out.BodyContentType = m.Body.Content, strings.ToLower(m.Body.ContentType)
	}
	return out
}

// DateTimeTimeZone is Graph's dateTimeTimeZone: a local date-time without
// offset and the (Windows or IANA) zone it is in.
type DateTimeTimeZone struct {
	DateTime string `json:"dateTime"`
	TimeZone string `json:"timeZone"`
}

// Instant resolves d to an absolute time. UTC, IANA and Windows zone names
// (through CLDR's table, internal/tz) resolve exactly; an unknown zone
// (e.g. "tzone://Microsoft/Custom") reads the local time as UTC, which is
// why the sync engine asks Graph for UTC (Prefer: outlook.timezone).
func (d DateTimeTimeZone) Instant() (time.Time, bool) {
	t, ok := parseTime(d.DateTime)
	if !ok || t.IsZero() {
		return t, ok
	}
	name := d.TimeZone
	if name == "" || strings.EqualFold(name, "UTC") || strings.EqualFold(name, "tzone://Microsoft/Utc") {
		return t.UTC(), true
	}
	loc, ok := tz.Location(name)
	if !ok {
		return t.UTC(), true
	}
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc).UTC(), true
}

// Attendee is Graph's attendee resource.
type Attendee struct {
	Type         string  `json:"type"`
	EmailAddress Address `json:"emailAddress"`
	Status       struct {
		Response string `json:"response"`
	} `json:"status"`
}

// eventJSON is Graph's event as encoding/json reads it.
type eventJSON struct {
	ID              string           `json:"id"`
	Removed         *Removed         `json:"@removed"`
	ChangeKey       string           `json:"changeKey"`
	ICalUID         string           `json:"iCalUId"`
	SeriesMasterID  string           `json:"seriesMasterId"`
	Type            string           `json:"type"`
	Subject         string           `json:"subject"`
	BodyPreview     string           `json:"bodyPreview"`
	Organizer       Recipient        `json:"organizer"`
	Attendees       []Attendee       `json:"attendees"`
	Start           DateTimeTimeZone `json:"start"`
	End             DateTimeTimeZone `json:"end"`
	IsAllDay        Bool             `json:"isAllDay"`
	IsCancelled     Bool             `json:"isCancelled"`
	IsOnlineMeeting Bool             `json:"isOnlineMeeting"`
	OnlineMeeting   *struct {
		JoinURL string `json:"joinUrl"`
	} `json:"onlineMeeting"`
	OnlineMeetingURL string `json:"onlineMeetingUrl"`
	Location         struct {
		DisplayName string `json:"displayName"`
	} `json:"location"`
	ShowAs                string   `json:"showAs"`
	LastModifiedDateTime  Time     `json:"lastModifiedDateTime"`
	WebLink               string   `json:"webLink"`
	OriginalStart         Time     `json:"originalStart"`
	OriginalStartTimeZone string   `json:"originalStartTimeZone"`
	OnlineMeetingProvider string   `json:"onlineMeetingProvider"`
	Categories            []string `json:"categories"`
	Sensitivity           string   `json:"sensitivity"`
}

func (e *eventJSON) vocab() Event {
	start, _ := e.Start.Instant()
	end, _ := e.End.Instant()
	zone := e.OriginalStartTimeZone
	if zone == "" {
		zone = e.Start.TimeZone
	}
	out := Event{Removed: e.Removed, Event: m365link.Event{
		ID:              e.ID,
		ChangeKey:       e.ChangeKey,
		ICalUID:         e.ICalUID,
		SeriesMasterID:  e.SeriesMasterID,
		Type:            m365link.EventType(e.Type),
		Subject:         e.Subject,
		BodyPreview:     e.BodyPreview,
		Organizer:       e.Organizer.EmailAddress.vocab(),
		Start:           start,
		End:             end,
		TimeZone:        zone,
		IsAllDay:        bool(e.IsAllDay),
		IsCancelled:     bool(e.IsCancelled),
		IsOnlineMeeting: bool(e.IsOnlineMeeting),
		JoinURL:         e.OnlineMeetingURL,
		Location:        e.Location.DisplayName,
		ShowAs:          e.ShowAs,
		LastModified:    e.LastModifiedDateTime.Time,
		WebLink:         e.WebLink,
		OriginalStart:   e.OriginalStart.Time,
		Categories:      nonEmpty(e.Categories),
		Sensitivity:     e.Sensitivity,

		OnlineMeetingProvider: e.OnlineMeetingProvider,
	}}
	if name, ok := tz.IANA(zone); ok {
		out.IANAZone = name
	}
	if out.IsAllDay {
		out.StartDate, out.EndDate = allDayDates(e.Start, e.End, zone)
	}
	if e.OnlineMeeting != nil && e.OnlineMeeting.JoinURL != "" {
		out.JoinURL = e.OnlineMeeting.JoinURL
	}
	if len(e.Attendees) > 0 {
		out.Attendees = make([]m365link.Attendee, len(e.Attendees))
		for i, a := range e.Attendees {
			out.Attendees[i] = m365link.Attendee{
				EmailAddress: a.EmailAddress.vocab(),
				Type:         m365link.AttendeeType(a.Type),
				Response:     a.Status.Response,
			}
		}
	}
	return out
}

// allDayDates returns the days an all-day event covers. Graph gives its
// start and end as midnights in the event's own zone, in whatever zone the
// request asked for. Read in the event's zone, each is the nearest local
// midnight (on a day whose midnight a DST change skips, the day's first
// instant may read as 23:00 the day before or 01:00). When that zone is
// unknown (a custom zone, or no zone database on the host) the days are
// those of the dateTimes as given when they are midnights; otherwise the
// UTC time of day h says the offset: -h, or 24h-h, whichever lies within
// Earth's offsets (-12 to +14 hours). Between 10:00 and 12:00 UTC both do
// (Honolulu at -10 and Kiritimati at +14 share 10:00Z): the western one is
// taken unless the minutes are :15 or :45, which only eastern offsets
// (Chatham +12:45, +13:45) have.
func allDayDates(start, end DateTimeTimeZone, zone string) (from, until m365link.Date) {
	day := func(d DateTimeTimeZone) m365link.Date {
		t, ok := parseTime(d.DateTime)
		if !ok || t.IsZero() {
			return m365link.Date{}
		}
		at, _ := d.Instant()
		if loc, ok := tz.Location(zone); ok && zoneKnown(d.TimeZone) {
			return m365link.DateOf(at.In(loc).Add(12 * time.Hour))
		}
		if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
			return m365link.DateOf(t)
		}
		at = at.UTC()
		h := at.Sub(at.Truncate(24 * time.Hour))
		east := h > 12*time.Hour || h >= 10*time.Hour && (at.Minute() == 15 || at.Minute() == 45)
		if east {
			return m365link.DateOf(at.Add(24*time.Hour - h)) // offset 24h-h: the next UTC day
		}
		return m365link.DateOf(at) // offset -h: this UTC day
	}
	return day(start), day(end)
}

// zoneKnown reports whether a dateTimeTimeZone's zone resolves, so that
// its instant is exact.
func zoneKnown(name string) bool {
	if name == "" || strings.EqualFold(name, "UTC") {
		return true
	}
	_, ok := tz.Location(name)
	return ok
}

// ContactSelect is the $select for contacts delta: what [m365link.Contact] holds.
const ContactSelect = "id,changeKey,parentFolderId,displayName,givenName,surname,companyName,jobTitle,department," +
	"emailAddresses,businessPhones,homePhones,mobilePhone,lastModifiedDateTime"

// contactJSON is Graph's contact as encoding/json reads it.
type contactJSON struct {
	ID                   string    `json:"id"`
	Removed              *Removed  `json:"@removed"`
	ChangeKey            string    `json:"changeKey"`
	DisplayName          string    `json:"displayName"`
	GivenName            string    `json:"givenName"`
	Surname              string    `json:"surname"`
	CompanyName          string    `json:"companyName"`
	EmailAddresses       []Address `json:"emailAddresses"`
	BusinessPhones       []string  `json:"businessPhones"`
	HomePhones           []string  `json:"homePhones"`
	MobilePhone          string    `json:"mobilePhone"`
	JobTitle             string    `json:"jobTitle"`
	Department           string    `json:"department"`
	ParentFolderID       string    `json:"parentFolderId"`
	LastModifiedDateTime Time      `json:"lastModifiedDateTime"`
}

func (c *contactJSON) vocab() Contact {
	out := Contact{Removed: c.Removed, Contact: m365link.Contact{
		ID:             c.ID,
		ChangeKey:      c.ChangeKey,
		DisplayName:    c.DisplayName,
		GivenName:      c.GivenName,
		Surname:        c.Surname,
		CompanyName:    c.CompanyName,
		BusinessPhones: nonEmpty(c.BusinessPhones),
		HomePhones:     nonEmpty(c.HomePhones),
		MobilePhone:    c.MobilePhone,
		JobTitle:       c.JobTitle,
		Department:     c.Department,
		FolderID:       c.ParentFolderID,
		LastModified:   c.LastModifiedDateTime.Time,
	}}
	if len(c.EmailAddresses) > 0 {
		out.EmailAddresses = make([]m365link.EmailAddress, len(c.EmailAddresses))
		for i, a := range c.EmailAddresses {
			out.EmailAddresses[i] = a.vocab()
		}
	}
	return out
}
