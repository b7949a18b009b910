package fakegraph

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // Prefer: outlook.timezone must not depend on the host's zoneinfo
	"unicode/utf8"
)

// JSON is written by hand, in Graph's property order, from the fake's own
// model: the fake must not share wire structs with the client it tests.

const hexDigits = "0123456789abcdef"

func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendStringOrNull(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendString(b, s)
}

// appendArray renders xs as a JSON array, each element by elem.
func appendArray[E any](b []byte, xs []E, elem func([]byte, E) []byte) []byte {
	b = append(b, '[')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = elem(b, x)
	}
	return append(b, ']')
}

func appendStrings(b []byte, ss []string) []byte { return appendArray(b, ss, appendString) }

// appendTimeZ renders an instant as Graph renders message times:
// "2026-11-20T10:00:00Z"; the zero time is null.
func appendTimeZ(b []byte, t time.Time) []byte { return appendUTC(b, t, "2006-01-02T15:04:05Z") }

// appendTime7Z renders an instant with seven fractional digits, as Graph
// renders event and contact timestamps.
func appendTime7Z(b []byte, t time.Time) []byte {
	return appendUTC(b, t, "2006-01-02T15:04:05.0000000Z")
}

func appendUTC(b []byte, t time.Time, layout string) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, layout)
	return append(b, '"')
}

func appendBool(b []byte, v bool) []byte { return strconv.AppendBool(b, v) }

// appendPair renders an object of two string properties.
func appendPair(b []byte, name1, value1, name2, value2 string) []byte {
	b = append(b, `{"`...)
	b = append(b, name1...)
	b = append(b, `":`...)
	b = appendString(b, value1)
	b = append(b, `,"`...)
	b = append(b, name2...)
	b = append(b, `":`...)
	b = appendString(b, value2)
	return append(b, '}')
}

func appendEmail(b []byte, a Address) []byte {
	return appendPair(b, "name", a.Name, "address", a.Address)
}

// appendRecipient renders {"emailAddress":{...}}, or null for an empty
// address (a draft has no sender yet).
func appendRecipient(b []byte, a Address) []byte {
	if a == (Address{}) {
		return append(b, "null"...)
	}
	b = append(b, `{"emailAddress":`...)
	b = appendEmail(b, a)
	return append(b, '}')
}

func appendRecipients(b []byte, as []Address) []byte { return appendArray(b, as, appendRecipient) }

// preview is Graph's bodyPreview: the body as text, whitespace collapsed,
// at most 255 characters.
func preview(body string) string {
	text := strings.Join(strings.Fields(stripTags(body)), " ")
	if utf8.RuneCountInString(text) <= 255 {
		return text
	}
	r := []rune(text)
	return string(r[:255])
}

// orPreview is an item's bodyPreview: its own, else one made from body.
func orPreview(own, body string) string {
	if own != "" {
		return own
	}
	return preview(body)
}

// orOWALink is an item's webLink: its own, else Outlook on the web's link
// to the item in view.
func orOWALink(own, id, view string) string {
	if own != "" {
		return own
	}
	return owaLink(id, view)
}

func stripTags(s string) string {
	if !strings.Contains(s, "<") {
		return s
	}
	var sb strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
			sb.WriteByte(' ')
		case r == '>':
			in = false
		case !in:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

// renderCtx carries what a rendering depends on besides the item.
type renderCtx struct {
	loc      *time.Location // events' dateTime zone (Prefer: outlook.timezone)
	zoneName string         // the name to render with it
	textBody bool           // Prefer: outlook.body-content-type="text"
	owner    string         // the mailbox's address, for isOrganizer
}

type prop[T any] struct {
	name  string
	dflt  bool // rendered without $select
	write func(b []byte, x *T, rc *renderCtx) []byte
}

// schema is the property list of one Graph entity type.
type schema[T any] struct {
	typeName string // "message"
	// key gives an entity's id and the change key its @odata.etag carries
	// ("" for the types Graph renders without one).
	key   func(x *T) (id, etag string)
	props []prop[T]
	index map[string]int // lower-cased name -> props index
	dflt  []int
}

func newSchema[T any](typeName string, key func(*T) (id, etag string), props []prop[T]) *schema[T] {
	sc := &schema[T]{typeName: typeName, key: key, props: props, index: map[string]int{}}
	for i, p := range props {
		sc.index[strings.ToLower(p.name)] = i
		if p.dflt {
			sc.dflt = append(sc.dflt, i)
		}
	}
	return sc
}

func (sc *schema[T]) prop(name string) (int, bool) {
	i, ok := sc.index[strings.ToLower(name)]
	return i, ok
}

func (sc *schema[T]) defaults() []int { return sc.dflt }

// selectErr is Graph's answer to $select naming a property the type lacks.
type selectErr struct{ typeName, prop string }

func (e *selectErr) Error() string {
	return fmt.Sprintf("Could not find a property named '%s' on type 'microsoft.graph.%s'.", e.prop, e.typeName)
}

// parseSelect turns a $select value into property indexes; empty means the
// default set. "id" is always rendered and may be named.
func (sc *schema[T]) parseSelect(v string) ([]int, error) {
	if strings.TrimSpace(v) == "" {
		return sc.dflt, nil
	}
	var sel []int
	seen := map[int]bool{}
	for _, name := range strings.Split(v, ",") {
		name = strings.TrimSpace(name)
		if strings.EqualFold(name, "id") {
			continue
		}
		i, ok := sc.index[strings.ToLower(name)]
		if !ok {
			return nil, &selectErr{sc.typeName, name}
		}
		if !seen[i] {
			seen[i] = true
			sel = append(sel, i)
		}
	}
	// Graph renders selected properties in schema order, not request order.
	slices.Sort(sel)
	return sel, nil
}

// object renders one entity: annotations first, then id, then the selected
// properties.
func (sc *schema[T]) object(b []byte, withType bool, x *T, sel []int, rc *renderCtx) []byte {
	id, etag := sc.key(x)
	b = append(b, '{')
	if withType {
		b = append(b, `"@odata.type":"#microsoft.graph.`...)
		b = append(b, sc.typeName...)
		b = append(b, `",`...)
	}
	if etag != "" {
		b = append(b, `"@odata.etag":`...)
		b = appendString(b, `W/"`+etag+`"`)
		b = append(b, ',')
	}
	b = append(b, `"id":`...)
	b = appendString(b, id)
	for _, i := range sel {
		p := &sc.props[i]
		b = append(b, ',', '"')
		b = append(b, p.name...)
		b = append(b, '"', ':')
		b = p.write(b, x, rc)
	}
	return append(b, '}')
}

// removed renders a delta tombstone.
func removed(b []byte, typeName, id string) []byte {
	b = append(b, `{"@odata.type":"#microsoft.graph.`...)
	b = append(b, typeName...)
	b = append(b, `","id":`...)
	b = appendString(b, id)
	return append(b, `,"@removed":{"reason":"deleted"}}`...)
}

func str[T any](name string, get func(*T) string) prop[T] {
	return prop[T]{name: name, dflt: true, write: func(b []byte, x *T, _ *renderCtx) []byte { return appendString(b, get(x)) }}
}

func strOrNull[T any](name string, get func(*T) string) prop[T] {
	return prop[T]{name: name, dflt: true, write: func(b []byte, x *T, _ *renderCtx) []byte { return appendStringOrNull(b, get(x)) }}
}

func boolean[T any](name string, get func(*T) bool) prop[T] {
	return prop[T]{name: name, dflt: true, write: func(b []byte, x *T, _ *renderCtx) []byte { return appendBool(b, get(x)) }}
}

func raw[T any](name, json string) prop[T] {
	return prop[T]{name: name, dflt: true, write: func(b []byte, _ *T, _ *renderCtx) []byte { return append(b, json...) }}
}

func body(b []byte, content, contentType string, rc *renderCtx) []byte {
	if rc.textBody && contentType == "html" {
		content, contentType = strings.TrimSpace(stripTags(content)), "text"
	}
	return appendPair(b, "contentType", contentType, "content", content)
}

var messageSchema = newSchema("message", func(m *Message) (string, string) { return m.ID, m.ChangeKey }, []prop[Message]{
	{name: "createdDateTime", dflt: true, write: func(b []byte, m *Message, _ *renderCtx) []byte { return appendTimeZ(b, m.CreatedDateTime) }},
	{name: "lastModifiedDateTime", dflt: true, write: func(b []byte, m *Message, _ *renderCtx) []byte { return appendTimeZ(b, m.LastModifiedDateTime) }},
	str("changeKey", func(m *Message) string { return m.ChangeKey }),
	{name: "categories", dflt: true, write: func(b []byte, m *Message, _ *renderCtx) []byte { return appendStrings(b, m.Categories) }},
	{name: "receivedDateTime", dflt: true, write: func(b []byte, m *Message, _ *renderCtx) []byte { return appendTimeZ(b, m.ReceivedDateTime) }},
	{name: "sentDateTime", dflt: true, write: func(b []byte, m *Message, _ *renderCtx) []byte { return appendTimeZ(b, m.SentDateTime) }},
	boolean("hasAttachments", func(m *Message) bool { return m.HasAttachments }),
	str("internetMessageId", func(m *Message) string { return m.InternetMessageID }),
	str("subject", func(m *Message) string { return m.Subject }),
	str("bodyPreview", func(m *Message) string { return orPreview(m.BodyPreview, m.Body) }),
	str("importance", func(m *Message) string { return m.Importance }),
	str("parentFolderId", func(m *Message) string { return m.ParentFolderID }),
	str("conversationId", func(m *Message) string { return m.ConversationID }),
	str("conversationIndex", func(m *Message) string { return m.ConversationIndex }),
	raw[Message]("isDeliveryReceiptRequested", "false"),
	raw[Message]("isReadReceiptRequested", "false"),
	boolean("isRead", func(m *Message) bool { return m.IsRead }),
	boolean("isDraft", func(m *Message) bool { return m.IsDraft }),
	str("webLink", func(m *Message) string { return orOWALink(m.WebLink, m.ID, "ReadMessageItem") }),
	raw[Message]("inferenceClassification", `"focused"`),
	{name: "body", dflt: true, write: func(b []byte, m *Message, rc *renderCtx) []byte { return body(b, m.Body, m.BodyContentType, rc) }},
	{name: "sender", dflt: true, write: func(b []byte, m *Message, _ *renderCtx) []byte { return appendRecipient(b, m.Sender) }},
	{name: "from", dflt: true, write: func(b []byte, m *Message, _ *renderCtx) []byte { return appendRecipient(b, m.From) }},
	{name: "toRecipients", dflt: true, write: func(b []byte, m *Message, _ *renderCtx) []byte { return appendRecipients(b, m.To) }},
	{name: "ccRecipients", dflt: true, write: func(b []byte, m *Message, _ *renderCtx) []byte { return appendRecipients(b, m.Cc) }},
	{name: "bccRecipients", dflt: true, write: func(b []byte, m *Message, _ *renderCtx) []byte { return appendRecipients(b, m.Bcc) }},
	{name: "replyTo", dflt: true, write: func(b []byte, m *Message, _ *renderCtx) []byte { return appendRecipients(b, m.ReplyTo) }},
	raw[Message]("flag", `{"flagStatus":"notFlagged"}`),
	{name: "uniqueBody", write: func(b []byte, m *Message, rc *renderCtx) []byte { return body(b, m.Body, m.BodyContentType, rc) }},
})

// eventDateTime renders Graph's dateTimeTimeZone: seven fractional digits,
// no offset, the zone named beside it.
func eventDateTime(b []byte, t time.Time, rc *renderCtx) []byte {
	loc, name := time.UTC, "UTC"
	if rc.loc != nil {
		loc, name = rc.loc, rc.zoneName
	}
	return appendPair(b, "dateTime", t.In(loc).Format("2006-01-02T15:04:05.0000000"), "timeZone", name)
}

var eventSchema = newSchema("event", func(e *Event) (string, string) { return e.ID, e.ChangeKey }, []prop[Event]{
	{name: "createdDateTime", dflt: true, write: func(b []byte, e *Event, _ *renderCtx) []byte { return appendTime7Z(b, e.CreatedDateTime) }},
	{name: "lastModifiedDateTime", dflt: true, write: func(b []byte, e *Event, _ *renderCtx) []byte { return appendTime7Z(b, e.LastModifiedDateTime) }},
	str("changeKey", func(e *Event) string { return e.ChangeKey }),
	{name: "categories", dflt: true, write: func(b []byte, e *Event, _ *renderCtx) []byte { return appendStrings(b, e.Categories) }},
	strOrNull("transactionId", func(e *Event) string { return e.TransactionID }),
	str("originalStartTimeZone", func(e *Event) string { return e.TimeZone }),
	str("originalEndTimeZone", func(e *Event) string { return e.TimeZone }),
	str("iCalUId", func(e *Event) string { return e.ICalUID }),
	{name: "reminderMinutesBeforeStart", dflt: true, write: func(b []byte, e *Event, _ *renderCtx) []byte {
		if e.ReminderMinutes == nil {
			return append(b, "15"...)
		}
		return strconv.AppendInt(b, int64(*e.ReminderMinutes), 10)
	}},
	boolean("isReminderOn", func(e *Event) bool { return !e.ReminderOff }),
	raw[Event]("hasAttachments", "false"),
	str("subject", func(e *Event) string { return e.Subject }),
	str("bodyPreview", func(e *Event) string { return orPreview(e.BodyPreview, e.Body) }),
	raw[Event]("importance", `"normal"`),
	str("sensitivity", func(e *Event) string { return cmp.Or(e.Sensitivity, "normal") }),
	boolean("isAllDay", func(e *Event) bool { return e.IsAllDay }),
	boolean("isCancelled", func(e *Event) bool { return e.IsCancelled }),
	{name: "isOrganizer", dflt: true, write: func(b []byte, e *Event, rc *renderCtx) []byte {
		return appendBool(b, strings.EqualFold(e.Organizer.Address, rc.owner))
	}},
	raw[Event]("responseRequested", "true"),
	strOrNull("seriesMasterId", func(e *Event) string { return e.SeriesMasterID }),
	{name: "originalStart", dflt: true, write: func(b []byte, e *Event, _ *renderCtx) []byte {
		if e.OriginalStart.IsZero() {
			return append(b, "null"...)
		}
		return appendTimeZ(b, e.OriginalStart)
	}},
	str("showAs", func(e *Event) string { return e.ShowAs }),
	str("type", func(e *Event) string { return e.Type }),
	str("webLink", func(e *Event) string { return orOWALink(e.WebLink, e.ID, "CalendarItem") }),
	raw[Event]("onlineMeetingUrl", "null"),
	boolean("isOnlineMeeting", func(e *Event) bool { return e.IsOnlineMeeting }),
	str("onlineMeetingProvider", func(e *Event) string {
		switch {
		case e.OnlineMeetingProvider != "":
			return e.OnlineMeetingProvider
		case e.IsOnlineMeeting:
			return "teamsForBusiness"
		}
		return "unknown"
	}),
	raw[Event]("allowNewTimeProposals", "true"),
	raw[Event]("isDraft", "false"),
	raw[Event]("hideAttendees", "false"),
	{name: "responseStatus", dflt: true, write: func(b []byte, e *Event, rc *renderCtx) []byte {
		resp := "none"
		if strings.EqualFold(e.Organizer.Address, rc.owner) {
			resp = "organizer"
		}
		for _, a := range e.Attendees {
			if rc.owner != "" && strings.EqualFold(a.Address.Address, rc.owner) && a.Response != "" {
				resp = a.Response
			}
		}
		return append(b, `{"response":"`+resp+`","time":"0001-01-01T00:00:00Z"}`...)
	}},
	{name: "body", dflt: true, write: func(b []byte, e *Event, rc *renderCtx) []byte {
		return body(b, e.Body, cmp.Or(e.BodyContentType, "html"), rc)
	}},
	{name: "start", dflt: true, write: func(b []byte, e *Event, rc *renderCtx) []byte { return eventDateTime(b, e.Start, rc) }},
	{name: "end", dflt: true, write: func(b []byte, e *Event, rc *renderCtx) []byte { return eventDateTime(b, e.End, rc) }},
	{name: "location", dflt: true, write: func(b []byte, e *Event, _ *renderCtx) []byte {
		b = append(b, `{"displayName":`...)
		b = appendString(b, e.Location)
		return append(b, `,"locationType":"default","uniqueIdType":"unknown","address":{},"coordinates":{}}`...)
	}},
	{name: "locations", dflt: true, write: func(b []byte, e *Event, _ *renderCtx) []byte {
		if e.Location == "" {
			return append(b, "[]"...)
		}
		b = append(b, `[{"displayName":`...)
		b = appendString(b, e.Location)
		return append(b, `,"locationType":"default","uniqueIdType":"unknown"}]`...)
	}},
	{name: "recurrence", dflt: true, write: func(b []byte, e *Event, _ *renderCtx) []byte { return appendRecurrence(b, e.Recurrence) }},
	{name: "attendees", dflt: true, write: func(b []byte, e *Event, _ *renderCtx) []byte { return appendArray(b, e.Attendees, appendAttendee) }},
	{name: "organizer", dflt: true, write: func(b []byte, e *Event, _ *renderCtx) []byte { return appendRecipient(b, e.Organizer) }},
	{name: "onlineMeeting", dflt: true, write: func(b []byte, e *Event, _ *renderCtx) []byte {
		if !e.IsOnlineMeeting || e.JoinURL == "" {
			return append(b, "null"...)
		}
		b = append(b, `{"joinUrl":`...)
		b = appendString(b, e.JoinURL)
		return append(b, '}')
	}},
})

func appendAttendee(b []byte, a Attendee) []byte {
	typ, resp := a.Type, a.Response
	if typ == "" {
		typ = "required"
	}
	if resp == "" {
		resp = "none"
	}
	b = append(b, `{"type":`...)
	b = appendString(b, typ)
	b = append(b, `,"status":{"response":`...)
	b = appendString(b, resp)
	b = append(b, `,"time":"0001-01-01T00:00:00Z"},"emailAddress":`...)
	b = appendEmail(b, a.Address)
	return append(b, '}')
}

var contactSchema = newSchema("contact", func(c *Contact) (string, string) { return c.ID, c.ChangeKey }, []prop[Contact]{
	{name: "createdDateTime", dflt: true, write: func(b []byte, c *Contact, _ *renderCtx) []byte { return appendTimeZ(b, c.CreatedDateTime) }},
	{name: "lastModifiedDateTime", dflt: true, write: func(b []byte, c *Contact, _ *renderCtx) []byte { return appendTimeZ(b, c.LastModifiedDateTime) }},
	str("changeKey", func(c *Contact) string { return c.ChangeKey }),
	raw[Contact]("categories", "[]"),
	str("parentFolderId", func(c *Contact) string { return c.ParentFolderID }),
	raw[Contact]("birthday", "null"),
	str("fileAs", func(c *Contact) string { return "" }),
	str("displayName", func(c *Contact) string { return c.DisplayName }),
	strOrNull("givenName", func(c *Contact) string { return c.GivenName }),
	raw[Contact]("initials", "null"),
	raw[Contact]("middleName", "null"),
	raw[Contact]("nickName", "null"),
	strOrNull("surname", func(c *Contact) string { return c.Surname }),
	raw[Contact]("title", "null"),
	strOrNull("jobTitle", func(c *Contact) string { return c.JobTitle }),
	strOrNull("companyName", func(c *Contact) string { return c.CompanyName }),
	strOrNull("department", func(c *Contact) string { return c.Department }),
	strOrNull("mobilePhone", func(c *Contact) string { return c.MobilePhone }),
	{name: "businessPhones", dflt: true, write: func(b []byte, c *Contact, _ *renderCtx) []byte { return appendStrings(b, c.BusinessPhones) }},
	{name: "homePhones", dflt: true, write: func(b []byte, c *Contact, _ *renderCtx) []byte { return appendStrings(b, c.HomePhones) }},
	{name: "emailAddresses", dflt: true, write: func(b []byte, c *Contact, _ *renderCtx) []byte { return appendArray(b, c.EmailAddresses, appendEmail) }},
	raw[Contact]("businessAddress", "{}"),
})

type folderView struct {
	c *container
}

var folderSchema = newSchema("mailFolder", func(f *folderView) (string, string) { return f.c.id, "" }, []prop[folderView]{
	str("displayName", func(f *folderView) string { return f.c.name }),
	strOrNull("parentFolderId", func(f *folderView) string { return f.c.parentID }),
	{name: "childFolderCount", dflt: true, write: func(b []byte, f *folderView, _ *renderCtx) []byte {
		return strconv.AppendInt(b, int64(len(f.c.children)), 10)
	}},
	{name: "unreadItemCount", dflt: true, write: func(b []byte, f *folderView, _ *renderCtx) []byte { return strconv.AppendInt(b, int64(f.c.unread), 10) }},
	{name: "totalItemCount", dflt: true, write: func(b []byte, f *folderView, _ *renderCtx) []byte { return strconv.AppendInt(b, int64(f.c.total), 10) }},
	raw[folderView]("isHidden", "false"),
	{name: "wellKnownName", write: func(b []byte, f *folderView, _ *renderCtx) []byte { return appendStringOrNull(b, f.c.wellKnown) }},
})

type calendarView struct {
	c     *container
	owner Address
}

var calendarSchema = newSchema("calendar", func(c *calendarView) (string, string) { return c.c.id, "" }, []prop[calendarView]{
	str("name", func(c *calendarView) string { return c.c.name }),
	raw[calendarView]("color", `"auto"`),
	raw[calendarView]("hexColor", `""`),
	boolean("isDefaultCalendar", func(c *calendarView) bool { return c.c.wellKnown == "calendar" }),
	str("changeKey", func(c *calendarView) string { return changeKey(hashKey(c.c.id), 1) }),
	raw[calendarView]("canShare", "true"),
	raw[calendarView]("canViewPrivateItems", "true"),
	raw[calendarView]("canEdit", "true"),
	raw[calendarView]("allowedOnlineMeetingProviders", `["teamsForBusiness"]`),
	raw[calendarView]("defaultOnlineMeetingProvider", `"teamsForBusiness"`),
	raw[calendarView]("isTallyingResponses", "true"),
	raw[calendarView]("isRemovable", "false"),
	{name: "owner", dflt: true, write: func(b []byte, c *calendarView, _ *renderCtx) []byte { return appendEmail(b, c.owner) }},
})

type contactFolderView struct{ c *container }

var contactFolderSchema = newSchema("contactFolder", func(f *contactFolderView) (string, string) { return f.c.id, "" }, []prop[contactFolderView]{
	strOrNull("parentFolderId", func(f *contactFolderView) string { return f.c.parentID }),
	str("displayName", func(f *contactFolderView) string { return f.c.name }),
})

var userSchema = newSchema("user", func(u *User) (string, string) { return u.ID, "" }, []prop[User]{
	raw[User]("businessPhones", "[]"),
	str("displayName", func(u *User) string { return u.DisplayName }),
	strOrNull("givenName", func(u *User) string { return firstWord(u.DisplayName) }),
	raw[User]("jobTitle", "null"),
	strOrNull("mail", func(u *User) string { return u.Mail }),
	raw[User]("mobilePhone", "null"),
	raw[User]("officeLocation", "null"),
	raw[User]("preferredLanguage", "null"),
	strOrNull("surname", func(u *User) string { return lastWords(u.DisplayName) }),
	str("userPrincipalName", func(u *User) string { return u.UPN }),
	{name: "accountEnabled", write: func(b []byte, u *User, _ *renderCtx) []byte { return appendBool(b, u.AccountEnabled) }},
	{name: "userType", write: func(b []byte, _ *User, _ *renderCtx) []byte { return append(b, `"Member"`...) }},
	{name: "proxyAddresses", write: func(b []byte, u *User, _ *renderCtx) []byte {
		if u.Mail == "" {
			return append(b, "[]"...)
		}
		return appendStrings(b, []string{"SMTP:" + u.Mail})
	}},
})

var groupSchema = newSchema("group", func(g *Group) (string, string) { return g.ID, "" }, []prop[Group]{
	strOrNull("description", func(g *Group) string { return g.Description }),
	str("displayName", func(g *Group) string { return g.DisplayName }),
	raw[Group]("groupTypes", "[]"),
	strOrNull("mail", func(g *Group) string { return g.Mail }),
	boolean("mailEnabled", func(g *Group) bool { return g.Mail != "" }),
	strOrNull("mailNickname", func(g *Group) string {
		if i := strings.IndexByte(g.Mail, '@'); i > 0 {
			return g.Mail[:i]
		}
		return ""
	}),
	boolean("securityEnabled", func(g *Group) bool { return g.Mail == "" }),
})

// directoryRole is a role activated in a tenant, as memberOf renders it.
type directoryRole struct{ tenantID, templateID string }

// id is the role's object ID in its tenant: stable, and not its template ID.
func (r *directoryRole) id() string {
	return guid(hashKey("directoryRole/"+strings.ToLower(r.tenantID)), hashKey(strings.ToLower(r.templateID)))
}

// roleNames are the built-in roles tests use; any other template renders
// with a made-up name.
var roleNames = map[string][2]string{
	"62e90394-69f5-4237-9190-012177145e10": {"Global Administrator", "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities."},
	"e8611ab8-c189-46e8-94e1-60213ab1f814": {"Privileged Role Administrator", "Can manage role assignments in Microsoft Entra ID, and all aspects of Privileged Identity Management."},
	"158c047a-c907-4556-b7ef-446551a6b5f7": {"Cloud Application Administrator", "Can create and manage all aspects of app registrations and enterprise apps except App Proxy."},
	"9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": {"Application Administrator", "Can create and manage all aspects of app registrations and enterprise apps."},
}

var roleSchema = newSchema("directoryRole", func(r *directoryRole) (string, string) { return r.id(), "" }, []prop[directoryRole]{
	str("description", func(r *directoryRole) string {
		if n, ok := roleNames[strings.ToLower(r.templateID)]; ok {
			return n[1]
		}
		return "A directory role."
	}),
	str("displayName", func(r *directoryRole) string {
		if n, ok := roleNames[strings.ToLower(r.templateID)]; ok {
			return n[0]
		}
		return "Role " + r.templateID
	}),
	str("roleTemplateId", func(r *directoryRole) string { return r.templateID }),
})

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 1 {
		return f[0]
	}
	return ""
}

func lastWords(s string) string {
	if f := strings.Fields(s); len(f) > 1 {
		return strings.Join(f[1:], " ")
	}
	return ""
}

// zoneFor resolves a Prefer: outlook.timezone value; unknown names fall
// back to UTC.
func zoneFor(name string) (*time.Location, string) {
	if name == "" {
		return nil, ""
	}
	iana, ok := windowsZones[strings.ToLower(name)]
	switch {
	case strings.EqualFold(name, "UTC"):
		iana = "UTC"
	case !ok:
		iana = name
	}
	loc, err := time.LoadLocation(iana)
	if err != nil {
		return nil, ""
	}
	return loc, name
}
