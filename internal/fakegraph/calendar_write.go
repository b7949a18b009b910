package fakegraph

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Event writes, as Graph serves them (GRAPH.md, Writes):
//
//   - POST /users/{id}/events, /users/{id}/calendar/events and
//     /users/{id}/calendars/{id}/events create an event (201); a
//     recurrence makes a series master and its occurrences;
//   - PATCH /users/{id}/events/{id} updates the properties the body names
//     (200; attendees are replaced whole);
//   - DELETE /users/{id}/events/{id} deletes (204);
//   - POST /users/{id}/events/{id}/cancel {"comment"} cancels (202,
//     organizer only);
//   - GET /users/{id}/calendar, and the event lists /users/{id}/events,
//     /users/{id}/calendar/events and /users/{id}/calendars/{id}/events
//     with $filter=singleValueExtendedProperties/Any(ep: ep/id eq '…' and
//     ep/value eq '…'), the one filter the fake knows; these lists and
//     GET of one event take $expand=singleValueExtendedProperties($filter=id
//     eq '…');
//   - GET /users/{id}/events/{id}/instances?startDateTime&endDateTime.
//
// The organizer sends meeting messages (invitations, updates,
// cancellations) the fake records instead of delivering: see
// [Server.MeetingMessages]. A transactionId is stored and rendered, but a
// second POST with the same one makes a second event: what Graph does then
// is not documented, so clients must not lean on it.

// calendarRoutes are served before the GET-only table of route.go, keyed
// by method and signature.
var calendarRoutes map[string]handlerFunc

func init() {
	calendarRoutes = map[string]handlerFunc{
		"POST users/{}/events":                         (*Server).createEvent,
		"POST users/{}/calendar/events":                (*Server).createEvent,
		"POST users/{}/calendars/{}/events":            (*Server).createEvent,
		"GET users/{}/events":                          (*Server).listEvents,
		"GET users/{}/calendar/events":                 (*Server).listEvents,
		"GET users/{}/calendars/{}/events":             (*Server).listEvents,
		"GET users/{}/events/{}":                       (*Server).getEventExpanded,
		"GET users/{}/events/{}/instances":             (*Server).listInstances,
		"PATCH users/{}/events/{}":                     (*Server).updateEvent,
		"DELETE users/{}/events/{}":                    (*Server).deleteEvent,
		"POST users/{}/events/{}/cancel":               (*Server).cancelEvent,
		"GET users/{}/calendar":                        (*Server).getDefaultCalendar,
		"POST users/{}/calendar/getschedule":           (*Server).getSchedule,
		"POST users/{}/findmeetingtimes":               (*Server).findMeetingTimes,
		"GET users/{}/mailboxsettings":                 (*Server).getMailboxSettings,
		"GET places/{}":                                (*Server).listPlaces,
		"GET places/{}/microsoft.graph.roomlist/rooms": (*Server).listRoomsOf,
	}
}

// calendarState is what the calendar endpoints keep besides events.
type calendarState struct {
	settings map[string]*MailboxSettings     // by user ID
	online   map[string]OnlineMeetingMode    // by user ID
	shares   map[string]map[string]ShareRole // owner ID → grantee ID → role
	messages map[string][]MeetingMessage     // by organizer's user ID
	rooms    []*Room
	lists    []*RoomList
}

func (cs *calendarState) init() {
	if cs.settings == nil {
		cs.settings = map[string]*MailboxSettings{}
		cs.online = map[string]OnlineMeetingMode{}
		cs.shares = map[string]map[string]ShareRole{}
		cs.messages = map[string][]MeetingMessage{}
	}
}

// Recurrence is Graph's patternedRecurrence, flattened: the pattern
// (Type daily, weekly, absoluteMonthly, relativeMonthly, absoluteYearly or
// relativeYearly) and the range (RangeType endDate, noEnd or numbered;
// dates as "2006-01-02").
type Recurrence struct {
	Type                string
	Interval            int
	DaysOfWeek          []string // "monday", …
	DayOfMonth          int
	Month               int
	Index               string // first, second, third, fourth, last
	FirstDayOfWeek      string
	RangeType           string
	StartDate, EndDate  string
	NumberOfOccurrences int
	RecurrenceTimeZone  string
}

func (r *Recurrence) clone() *Recurrence {
	if r == nil {
		return nil
	}
	c := *r
	c.DaysOfWeek = cloneSlice(r.DaysOfWeek)
	return &c
}

// OnlineMeetingMode is how a mailbox's online meeting requests turn out.
type OnlineMeetingMode int

const (
	// OnlineMeetingsTeams creates Teams meetings with a join URL (the default).
	OnlineMeetingsTeams OnlineMeetingMode = iota
	// OnlineMeetingsUnavailable is an account or tenant without Teams:
	// creates answer 201 with isOnlineMeeting false and provider unknown,
	// and the calendar allows no online meeting provider.
	OnlineMeetingsUnavailable
	// OnlineMeetingsNoJoinURL accepts the request (isOnlineMeeting true,
	// provider teamsForBusiness) but no join URL ever appears.
	OnlineMeetingsNoJoinURL
	// OnlineMeetingsLateJoinURL leaves the join URL out of the create
	// response only; the next read has it.
	OnlineMeetingsLateJoinURL
)

// SetOnlineMeetings sets how a mailbox's online meeting requests turn out.
func (s *Server) SetOnlineMeetings(userID string, m OnlineMeetingMode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cal.init()
	s.cal.online[s.mailboxLocked(userID).userID] = m
}

// ShareRole is what a calendar's owner lets another user do with it.
type ShareRole int

const (
	// ShareNone: the calendar is not shared (404 for the other user).
	ShareNone ShareRole = iota
	// ShareRead: the other user reads it; writes answer 403.
	ShareRead
	// ShareWrite: the other user reads and writes it.
	ShareWrite
)

// ShareCalendar shares owner's calendar with grantee (user IDs or UPNs).
// Sharing matters for delegated tokens ([Server.SetTokenUser]) naming
// another user than the calendar's owner: they need ShareRead to read and
// ShareWrite to write its events. App-only tokens reach every calendar.
func (s *Server) ShareCalendar(owner, grantee string, role ShareRole) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cal.init()
	o := s.mailboxLocked(owner).userID
	g := s.userByKey[strings.ToLower(grantee)]
	if g == nil {
		panic(unknown("user", grantee))
	}
	if s.cal.shares[o] == nil {
		s.cal.shares[o] = map[string]ShareRole{}
	}
	s.cal.shares[o][g.u.ID] = role
}

// MeetingMessage is a meeting request, update or cancellation an
// organizer's mailbox sent.
type MeetingMessage struct {
	// Kind is "request", "update" or "cancel".
	Kind    string
	EventID string
	Subject string
	To      []Address
	// Comment is a cancellation's message to attendees.
	Comment string
}

// MeetingMessages returns the meeting messages a mailbox sent, oldest first.
func (s *Server) MeetingMessages(userID string) []MeetingMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cal.init()
	out := slices.Clone(s.cal.messages[s.mailboxLocked(userID).userID])
	for i := range out {
		out[i].To = cloneSlice(out[i].To)
	}
	return out
}

func (s *Server) sendMeetingMessage(mb *mailbox, m MeetingMessage) {
	if len(m.To) == 0 {
		return
	}
	s.cal.init()
	s.cal.messages[mb.userID] = append(s.cal.messages[mb.userID], m)
}

// access is what the request's caller may do with the route's calendar.
func (s *Server) access(rc *reqCtx, mb *mailbox) ShareRole {
	if rc.me == "" {
		return ShareWrite
	}
	me := s.userByKey[strings.ToLower(rc.me)]
	if me != nil && me.u.ID == mb.userID {
		return ShareWrite
	}
	if me == nil {
		return ShareNone
	}
	s.cal.init()
	return s.cal.shares[mb.userID][me.u.ID]
}

// calendarFor resolves the calendar of a write or list route, checking the
// caller's access: none answers 404, read-only 403 for writes.
func (s *Server) calendarFor(rc *reqCtx, mb *mailbox, write bool) (*container, *result) {
	switch s.access(rc, mb) {
	case ShareNone:
		return nil, s.notFound(rc)
	case ShareRead:
		if write {
			return nil, s.accessDenied(rc)
		}
	}
	if len(rc.route.segs) > 1 && rc.route.segs[1].name == "calendars" {
		return containerOf(s, rc, mb.events)
	}
	return mb.events.primary, nil
}

func (s *Server) accessDenied(rc *reqCtx) *result {
	return s.fail(rc, http.StatusForbidden, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
}

func (s *Server) invalid(rc *reqCtx, msg string) *result {
	return s.fail(rc, http.StatusBadRequest, "ErrorInvalidRequest", msg)
}

// wire shapes of what clients send

type dateTimeTZIn struct {
	DateTime string `json:"dateTime"`
	TimeZone string `json:"timeZone"`
}

type emailIn struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

type attendeeIn struct {
	Type         string  `json:"type"`
	EmailAddress emailIn `json:"emailAddress"`
}

type recurrenceIn struct {
	Pattern struct {
		Type           string   `json:"type"`
		Interval       int      `json:"interval"`
		DaysOfWeek     []string `json:"daysOfWeek"`
		DayOfMonth     int      `json:"dayOfMonth"`
		Month          int      `json:"month"`
		Index          string   `json:"index"`
		FirstDayOfWeek string   `json:"firstDayOfWeek"`
	} `json:"pattern"`
	Range struct {
		Type                string `json:"type"`
		StartDate           string `json:"startDate"`
		EndDate             string `json:"endDate"`
		NumberOfOccurrences int    `json:"numberOfOccurrences"`
		RecurrenceTimeZone  string `json:"recurrenceTimeZone"`
	} `json:"range"`
}

type extPropIn struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

// eventProps are the event properties a create or update may carry; any
// other answers 400, so a client's typo does not pass unnoticed.
var eventProps = map[string]bool{
	"subject": true, "body": true, "start": true, "end": true, "isAllDay": true, "location": true,
	"attendees": true, "categories": true, "sensitivity": true, "showAs": true,
	"reminderMinutesBeforeStart": true, "isReminderOn": true, "recurrence": true,
	"isOnlineMeeting": true, "onlineMeetingProvider": true, "transactionId": true,
	"singleValueExtendedProperties": true, "allowNewTimeProposals": true, "importance": true,
}

var (
	sensitivities = []string{"normal", "personal", "private", "confidential"}
	showAses      = []string{"free", "tentative", "busy", "oof", "workingElsewhere", "unknown"}
)

// applyEventJSON sets on e what body names. create says whether this is a
// POST (transactionId may be set, start and end are required).
func (s *Server) applyEventJSON(rc *reqCtx, e *Event, body map[string]json.RawMessage, create bool) *result {
	for k := range body {
		if !eventProps[k] {
			return s.fail(rc, http.StatusBadRequest, "RequestBodyRead", "The property '"+k+"' does not exist on type 'microsoft.graph.event'.")
		}
	}
	bad := func(k string) *result {
		return s.fail(rc, http.StatusBadRequest, "RequestBodyRead", "Cannot read the value of property '"+k+"'.")
	}
	str := func(k string, dst *string) *result {
		if v, ok := body[k]; ok && json.Unmarshal(v, dst) != nil {
			return bad(k)
		}
		return nil
	}
	for _, f := range []struct {
		k   string
		dst *string
	}{{"subject", &e.Subject}, {"sensitivity", &e.Sensitivity}, {"showAs", &e.ShowAs}} {
		if res := str(f.k, f.dst); res != nil {
			return res
		}
	}
	if e.Sensitivity != "" && !slices.Contains(sensitivities, e.Sensitivity) {
		return bad("sensitivity")
	}
	if e.ShowAs != "" && !slices.Contains(showAses, e.ShowAs) {
		return bad("showAs")
	}
	if v, ok := body["body"]; ok {
		var b struct{ ContentType, Content string }
		if json.Unmarshal(v, &b) != nil {
			return bad("body")
		}
		e.Body, e.BodyContentType = b.Content, strings.ToLower(cmpOr(b.ContentType, "text"))
		e.BodyPreview = ""
	}
	if v, ok := body["location"]; ok {
		var l struct{ DisplayName string }
		if json.Unmarshal(v, &l) != nil {
			return bad("location")
		}
		e.Location = l.DisplayName
	}
	if v, ok := body["categories"]; ok {
		if json.Unmarshal(v, &e.Categories) != nil {
			return bad("categories")
		}
	}
	if v, ok := body["attendees"]; ok {
		var as []attendeeIn
		if json.Unmarshal(v, &as) != nil {
			return bad("attendees")
		}
		e.Attendees = e.Attendees[:0:0]
		for _, a := range as {
			typ := strings.ToLower(cmpOr(a.Type, "required"))
			if typ != "required" && typ != "optional" && typ != "resource" || !strings.Contains(a.EmailAddress.Address, "@") {
				return s.fail(rc, http.StatusBadRequest, "ErrorInvalidRecipients", "At least one recipient isn't valid.")
			}
			e.Attendees = append(e.Attendees, Attendee{Address: Address(a.EmailAddress), Type: typ})
		}
	}
	if v, ok := body["reminderMinutesBeforeStart"]; ok {
		var m int
		if json.Unmarshal(v, &m) != nil || m < 0 {
			return bad("reminderMinutesBeforeStart")
		}
		e.ReminderMinutes = &m
	}
	if v, ok := body["isReminderOn"]; ok {
		var on bool
		if json.Unmarshal(v, &on) != nil {
			return bad("isReminderOn")
		}
		e.ReminderOff = !on
	}
	if v, ok := body["isAllDay"]; ok && json.Unmarshal(v, &e.IsAllDay) != nil {
		return bad("isAllDay")
	}
	if v, ok := body["transactionId"]; ok {
		var id string
		if json.Unmarshal(v, &id) != nil {
			return bad("transactionId")
		}
		if !create && id != e.TransactionID {
			return s.invalid(rc, "The transactionId of an event cannot be changed.")
		}
		e.TransactionID = id
	}
	if v, ok := body["singleValueExtendedProperties"]; ok {
		var ps []extPropIn
		if json.Unmarshal(v, &ps) != nil {
			return bad("singleValueExtendedProperties")
		}
		for _, p := range ps {
			if !extPropID.MatchString(p.ID) {
				return s.invalid(rc, "The extended property ID '"+p.ID+"' is not valid.")
			}
			if e.ExtendedProperties == nil {
				e.ExtendedProperties = map[string]string{}
			}
			e.ExtendedProperties[p.ID] = p.Value
		}
	}
	if v, ok := body["isOnlineMeeting"]; ok {
		var on bool
		if json.Unmarshal(v, &on) != nil {
			return bad("isOnlineMeeting")
		}
		if !on && e.IsOnlineMeeting {
			return s.invalid(rc, "An online meeting cannot be turned off.")
		}
		e.IsOnlineMeeting = e.IsOnlineMeeting || on
	}
	if v, ok := body["onlineMeetingProvider"]; ok {
		var p string
		if json.Unmarshal(v, &p) != nil || !slices.Contains([]string{"unknown", "teamsForBusiness", "skypeForBusiness", "skypeForConsumer"}, p) {
			return bad("onlineMeetingProvider")
		}
		e.OnlineMeetingProvider = p
	}
	// start and end: both or none on update, both on create.
	vs, hasStart := body["start"]
	ve, hasEnd := body["end"]
	if create && (!hasStart || !hasEnd) {
		return s.invalid(rc, "Your request can't be completed. The start and end of an event are required.")
	}
	if hasStart != hasEnd {
		return s.invalid(rc, "The start and end of an event must be changed together in this fake.")
	}
	if hasStart {
		var st, en dateTimeTZIn
		if json.Unmarshal(vs, &st) != nil {
			return bad("start")
		}
		if json.Unmarshal(ve, &en) != nil {
			return bad("end")
		}
		start, sloc, ok1 := parseDateTimeTZ(st)
		end, _, ok2 := parseDateTimeTZ(en)
		if !ok1 || !ok2 {
			return s.fail(rc, http.StatusBadRequest, "TimeZoneNotSupportedException", "A valid TimeZone value must be specified. The following TimeZone value is not supported: '"+st.TimeZone+"'.")
		}
		if end.Before(start) {
			return s.invalid(rc, "The end of an event can't be earlier than its start.")
		}
		if e.IsAllDay {
			// Midnight as written: on a day whose midnight falls in a
			// daylight-saving gap (Santiago, Beirut) no instant has that
			// wall time, and the day starts when the gap ends.
			if !wallMidnight(st.DateTime) || !wallMidnight(en.DateTime) || !start.Before(end) {
				return s.invalid(rc, "Your request can't be completed. If the event is an all-day event, its start and end must be at midnight.")
			}
			start, end = dayStart(start, st.DateTime, sloc), dayStart(end, en.DateTime, sloc)
		}
		e.Start, e.End, e.TimeZone = start.UTC(), end.UTC(), st.TimeZone
	}
	if v, ok := body["recurrence"]; ok {
		if string(v) == "null" {
			e.Recurrence = nil
		} else {
			var r recurrenceIn
			if json.Unmarshal(v, &r) != nil {
				return bad("recurrence")
			}
			rec := &Recurrence{
				Type: r.Pattern.Type, Interval: r.Pattern.Interval, DaysOfWeek: r.Pattern.DaysOfWeek,
				DayOfMonth: r.Pattern.DayOfMonth, Month: r.Pattern.Month, Index: r.Pattern.Index,
				FirstDayOfWeek: r.Pattern.FirstDayOfWeek, RangeType: r.Range.Type, StartDate: r.Range.StartDate,
				EndDate: r.Range.EndDate, NumberOfOccurrences: r.Range.NumberOfOccurrences,
				RecurrenceTimeZone: r.Range.RecurrenceTimeZone,
			}
			if msg := rec.validate(); msg != "" {
				return s.invalid(rc, msg)
			}
			e.Recurrence = rec
		}
	}
	return nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// wallMidnight reports whether a dateTime as sent ("2026-09-06T00:00:00.0000000")
// says midnight.
func wallMidnight(dt string) bool {
	_, clock, ok := strings.Cut(dt, "T")
	if !ok || !strings.HasPrefix(clock, "00:00:00") {
		return false
	}
	frac := clock[len("00:00:00"):]
	return frac == "" || frac[0] == '.' && strings.Trim(frac[1:], "0") == ""
}

// dayStart is the first instant of the day dt names in loc: t (its
// midnight as time.ParseInLocation read it) unless that midnight falls in a
// daylight-saving gap, which Go moves to a wall time of the day before or
// after; then the instant the gap ends.
func dayStart(t time.Time, dt string, loc *time.Location) time.Time {
	day := dt[:min(len(dt), len(time.DateOnly))]
	if lt := t.In(loc); lt.Format(time.DateOnly) != day {
		if _, end := t.ZoneBounds(); !end.IsZero() {
			return end
		}
	}
	if lt := t.In(loc); lt.Hour() != 0 || lt.Minute() != 0 {
		if start, _ := t.ZoneBounds(); !start.IsZero() && start.In(loc).Format(time.DateOnly) == day {
			return start
		}
	}
	return t
}

// parseDateTimeTZ reads a dateTimeTimeZone a client sent: a local time
// with up to seven fractional digits (an offset is refused, as Graph
// refuses it) in a Windows or IANA zone the fake knows.
func parseDateTimeTZ(d dateTimeTZIn) (time.Time, *time.Location, bool) {
	loc, _ := zoneFor(d.TimeZone)
	if loc == nil {
		return time.Time{}, nil, false
	}
	t, err := time.ParseInLocation("2006-01-02T15:04:05.9999999", d.DateTime, loc)
	if err != nil {
		return time.Time{}, nil, false
	}
	return t, loc, true
}

// extPropID is the "{type} {guid} Name {name}" form of a custom
// single-value extended property ID (the preferred one; the fake knows no
// other).
var extPropID = regexp.MustCompile(`^(String|Integer|Boolean|SystemTime) \{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\} Name \S.*$`)

// createEvent serves POST …/events.
func (s *Server) createEvent(rc *reqCtx) *result {
	var body map[string]json.RawMessage
	if err := json.NewDecoder(rc.r.Body).Decode(&body); err != nil || body == nil {
		return s.fail(rc, http.StatusBadRequest, "RequestBodyRead", "The request body is not a JSON object.")
	}
	return s.inMailbox(rc, func(mb *mailbox) *result {
		cal, res := s.calendarFor(rc, mb, true)
		if res != nil {
			return res
		}
		var e Event
		if res := s.applyEventJSON(rc, &e, body, true); res != nil {
			return res
		}
		owner := s.ownerAddress(mb)
		e.CalendarID, e.Organizer = cal.id, owner
		s.cal.init()
		mode := s.cal.online[mb.userID]
		hideJoinURL := false
		if e.IsOnlineMeeting {
			switch mode {
			case OnlineMeetingsUnavailable:
				e.IsOnlineMeeting, e.OnlineMeetingProvider = false, "unknown"
			case OnlineMeetingsNoJoinURL:
				e.OnlineMeetingProvider, e.JoinURL = "teamsForBusiness", ""
			case OnlineMeetingsLateJoinURL:
				hideJoinURL = true
			}
		}
		if e.Recurrence != nil {
			e.Type = "seriesMaster"
		}
		stored := s.addEventLocked(mb, e)
		if mode == OnlineMeetingsNoJoinURL && stored.IsOnlineMeeting {
			mb.events.items[stored.ID].item.JoinURL = ""
			stored.JoinURL = ""
		}
		if stored.Recurrence != nil {
			s.expandSeries(mb, &stored)
		}
		s.sendMeetingMessage(mb, MeetingMessage{Kind: "request", EventID: stored.ID, Subject: stored.Subject, To: addressesOf(stored.Attendees)})
		out := stored
		if hideJoinURL {
			out.JoinURL = ""
		}
		res = s.renderEvent(rc, mb, &out, "")
		res.status = http.StatusCreated
		return res
	})
}

func addressesOf(as []Attendee) []Address {
	out := make([]Address, len(as))
	for i, a := range as {
		out[i] = a.Address
	}
	return out
}

// renderEvent renders one event as its entity, with the extended property
// expand asked for ("" for none).
func (s *Server) renderEvent(rc *reqCtx, mb *mailbox, e *Event, expand string) *result {
	b := []byte(`{"@odata.context":`)
	b = appendString(b, s.metadata(rc, keyed("users", mb.userID)+"/events/$entity"))
	b = append(b, ',')
	obj := eventSchema.object(nil, false, e, eventSchema.dflt, s.renderCtx(rc))
	b = append(b, obj[1:]...)
	if expand != "" {
		b = appendExpanded(b, e, expand)
	}
	return jsonResult(b)
}

// appendExpanded adds singleValueExtendedProperties (the one property
// expand names, when the event has it) before the object's closing brace.
func appendExpanded(b []byte, e *Event, id string) []byte {
	b = append(b[:len(b)-1], `,"singleValueExtendedProperties":[`...)
	if v, ok := e.ExtendedProperties[id]; ok {
		b = appendPair(b, "id", id, "value", v)
	}
	return append(b, "]}"...)
}

var expandExtProp = regexp.MustCompile(`(?i)^singleValueExtendedProperties\(\$filter=id eq '((?:[^']|'')*)'\)$`)

// parseExpand reads $expand; only the extended property form is known.
func (s *Server) parseExpand(rc *reqCtx) (string, *result) {
	v := rc.opt("expand")
	if v == "" {
		return "", nil
	}
	m := expandExtProp.FindStringSubmatch(strings.TrimSpace(v))
	if m == nil {
		return "", s.fail(rc, http.StatusBadRequest, "BadRequest", "The fake does not support $expand="+v+".")
	}
	return strings.ReplaceAll(m[1], "''", "'"), nil
}

// getEventExpanded serves GET …/events/{id}, with $expand when asked.
func (s *Server) getEventExpanded(rc *reqCtx) *result {
	id, res := s.parseExpand(rc)
	if res != nil {
		return res
	}
	res = s.getEvent(rc)
	if id == "" || res.status != http.StatusOK {
		return res
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mb, r := s.mailboxOf(rc)
	if r != nil {
		return r
	}
	e, r := itemOf(s, rc, mb.events)
	if r != nil {
		return r
	}
	res.body = appendExpanded(res.body, e, id)
	return res
}

// extFilter is the $filter of find-by-key.
type extFilter struct{ id, value string }

var anyExtProp = regexp.MustCompile(`(?i)^singleValueExtendedProperties/any\((\w+):\s*(\w+)/id eq '((?:[^']|'')*)' and (\w+)/value eq '((?:[^']|'')*)'\)$`)

func (s *Server) parseExtFilter(rc *reqCtx) (*extFilter, *result) {
	v := strings.TrimSpace(rc.opt("filter"))
	if v == "" {
		return nil, nil
	}
	m := anyExtProp.FindStringSubmatch(v)
	if m == nil || m[1] != m[2] || m[1] != m[4] {
		return nil, s.fail(rc, http.StatusBadRequest, "ErrorInvalidUrlQueryFilter", "The query filter '"+v+"' is not supported.")
	}
	return &extFilter{strings.ReplaceAll(m[3], "''", "'"), strings.ReplaceAll(m[5], "''", "'")}, nil
}

// match: the ID's name part is case-sensitive, the value is not (GRAPH.md).
func (f *extFilter) match(e *Event) bool {
	if f == nil {
		return true
	}
	v, ok := e.ExtendedProperties[f.id]
	return ok && strings.EqualFold(v, f.value)
}

// listEvents serves the event lists: single instances and series masters
// (not occurrences), oldest start first.
func (s *Server) listEvents(rc *reqCtx) *result {
	var filter *extFilter
	var expand string
	check := func() (res *result) {
		if expand, res = s.parseExpand(rc); res != nil {
			return res
		}
		filter, res = s.parseExtFilter(rc)
		return res
	}
	return listItems(s, rc, eventSchema, check, func(mb *mailbox) (itemPage[Event], *result) {
		var cal *container
		if len(rc.route.segs) > 1 && rc.route.segs[1].name != "events" {
			var res *result
			if cal, res = s.calendarFor(rc, mb, false); res != nil {
				return itemPage[Event]{}, res
			}
		} else if s.access(rc, mb) == ShareNone {
			return itemPage[Event]{}, s.notFound(rc)
		}
		var evs []*Event
		for _, r := range mb.events.items {
			e := &r.item
			if (cal == nil || e.CalendarID == cal.id) && e.Type != "occurrence" && e.Type != "exception" && filter.match(e) {
				evs = append(evs, e)
			}
		}
		slices.SortFunc(evs, func(a, b *Event) int {
			if c := a.Start.Compare(b.Start); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
		path := keyed("users", mb.userID) + "/events"
		p := itemPage[Event]{items: evs, context: path, path: path,
			opts: []string{"$select", rc.opt("select"), "$filter", rc.opt("filter"), "$expand", rc.opt("expand")}}
		if expand != "" {
			p.extra = func(b []byte, e *Event) []byte { return appendExpanded(b, e, expand) }
		}
		return p, nil
	})
}

// listInstances serves …/events/{id}/instances: a series' occurrences (or
// a single event itself) in the window.
func (s *Server) listInstances(rc *reqCtx) *result {
	start, end, ok := parseWindow(rc)
	if !ok {
		return s.windowMissing(rc)
	}
	return listItems(s, rc, eventSchema, nil, func(mb *mailbox) (itemPage[Event], *result) {
		master, res := itemOf(s, rc, mb.events)
		if res != nil {
			return itemPage[Event]{}, res
		}
		var evs []*Event
		if master.Type != "seriesMaster" {
			evs = append(evs, master)
		}
		for _, r := range mb.events.items {
			if r.item.SeriesMasterID == master.ID {
				evs = append(evs, &r.item)
			}
		}
		evs = slices.DeleteFunc(evs, func(e *Event) bool { return !inView(e, start, end) })
		slices.SortFunc(evs, func(a, b *Event) int { return a.Start.Compare(b.Start) })
		path := keyed("users", mb.userID) + "/" + keyed("events", master.ID) + "/instances"
		return itemPage[Event]{items: evs, context: keyed("users", mb.userID) + "/events", path: path,
			opts: []string{"startDateTime", rc.opt("startdatetime"), "endDateTime", rc.opt("enddatetime"), "$select", rc.opt("select")}}, nil
	})
}

// writableEvent resolves the event a PATCH, DELETE or cancel names.
func (s *Server) writableEvent(rc *reqCtx, mb *mailbox) (*record[Event], *result) {
	switch s.access(rc, mb) {
	case ShareNone:
		return nil, s.notFound(rc)
	case ShareRead:
		return nil, s.accessDenied(rc)
	}
	r := mb.events.items[rc.route.key(1)]
	if r == nil {
		return nil, s.notFound(rc)
	}
	return r, nil
}

func (s *Server) isOrganizer(mb *mailbox, e *Event) bool {
	return strings.EqualFold(e.Organizer.Address, s.ownerAddress(mb).Address)
}

// updateEvent serves PATCH …/events/{id}. An organizer's change sends
// meeting messages: to the attendees added and removed when only the
// attendees change, else an update to every attendee. An attendee's change
// stays in their own copy.
func (s *Server) updateEvent(rc *reqCtx) *result {
	var body map[string]json.RawMessage
	if err := json.NewDecoder(rc.r.Body).Decode(&body); err != nil || body == nil {
		return s.fail(rc, http.StatusBadRequest, "RequestBodyRead", "The request body is not a JSON object.")
	}
	return s.inMailbox(rc, func(mb *mailbox) *result {
		r, res := s.writableEvent(rc, mb)
		if res != nil {
			return res
		}
		before := r.item.clone()
		e := r.item.clone()
		if res := s.applyEventJSON(rc, &e, body, false); res != nil {
			return res
		}
		if e.Recurrence != nil && e.Type == "singleInstance" {
			e.Type = "seriesMaster"
		}
		if e.IsOnlineMeeting && !before.IsOnlineMeeting && e.JoinURL == "" {
			s.cal.init()
			switch s.cal.online[mb.userID] {
			case OnlineMeetingsUnavailable:
				e.IsOnlineMeeting, e.OnlineMeetingProvider = false, "unknown"
			case OnlineMeetingsNoJoinURL:
				e.OnlineMeetingProvider = "teamsForBusiness"
			default:
				e.JoinURL = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_" + hashHex(e.ID) + "%40thread.v2/0"
			}
		}
		mb.events.update(s.now, e.ID, func(x *Event) { *x = e })
		stored := mb.events.items[e.ID].item.clone()
		if stored.Type == "seriesMaster" {
			s.dropOccurrences(mb, stored.ID)
			if stored.Recurrence != nil {
				s.expandSeries(mb, &stored)
			}
		}
		if s.isOrganizer(mb, &before) {
			if _, only := body["attendees"]; only && len(body) == 1 {
				added, removed := attendeeDiff(before.Attendees, stored.Attendees)
				s.sendMeetingMessage(mb, MeetingMessage{Kind: "request", EventID: stored.ID, Subject: stored.Subject, To: added})
				s.sendMeetingMessage(mb, MeetingMessage{Kind: "cancel", EventID: stored.ID, Subject: stored.Subject, To: removed})
			} else {
				s.sendMeetingMessage(mb, MeetingMessage{Kind: "update", EventID: stored.ID, Subject: stored.Subject, To: addressesOf(stored.Attendees)})
			}
		}
		return s.renderEvent(rc, mb, &stored, "")
	})
}

func hashHex(s string) string { return strconv.FormatUint(splitmix64(hashKey(s)), 16) }

// attendeeDiff returns the addresses in after but not before, and the
// other way round, compared case-insensitively.
func attendeeDiff(before, after []Attendee) (added, removed []Address) {
	has := func(as []Attendee, a Address) bool {
		return slices.ContainsFunc(as, func(x Attendee) bool { return strings.EqualFold(x.Address.Address, a.Address) })
	}
	for _, a := range after {
		if !has(before, a.Address) {
			added = append(added, a.Address)
		}
	}
	for _, a := range before {
		if !has(after, a.Address) {
			removed = append(removed, a.Address)
		}
	}
	return added, removed
}

// deleteEvent serves DELETE …/events/{id}. On the organizer's calendar a
// meeting's attendees get a cancellation without a comment.
func (s *Server) deleteEvent(rc *reqCtx) *result {
	return s.inMailbox(rc, func(mb *mailbox) *result {
		r, res := s.writableEvent(rc, mb)
		if res != nil {
			return res
		}
		e := r.item.clone()
		if s.isOrganizer(mb, &e) && !e.IsCancelled {
			s.sendMeetingMessage(mb, MeetingMessage{Kind: "cancel", EventID: e.ID, Subject: e.Subject, To: addressesOf(e.Attendees)})
		}
		s.removeEvent(mb, e.ID)
		return &result{status: http.StatusNoContent, header: http.Header{}}
	})
}

// cancelEvent serves POST …/events/{id}/cancel: organizer only; the
// attendees get the comment and the event leaves the calendar (Graph moves
// it to Deleted Items).
func (s *Server) cancelEvent(rc *reqCtx) *result {
	var body struct {
		Comment string `json:"comment"`
	}
	if rc.r.ContentLength != 0 {
		if err := json.NewDecoder(rc.r.Body).Decode(&body); err != nil {
			return s.fail(rc, http.StatusBadRequest, "RequestBodyRead", "The request body is not valid JSON.")
		}
	}
	return s.inMailbox(rc, func(mb *mailbox) *result {
		r, res := s.writableEvent(rc, mb)
		if res != nil {
			return res
		}
		e := r.item.clone()
		if !s.isOrganizer(mb, &e) {
			return s.fail(rc, http.StatusBadRequest, "ErrorInvalidRequest", "Your request can't be completed. You need to be an organizer to cancel a meeting.")
		}
		s.sendMeetingMessage(mb, MeetingMessage{Kind: "cancel", EventID: e.ID, Subject: e.Subject, To: addressesOf(e.Attendees), Comment: body.Comment})
		s.removeEvent(mb, e.ID)
		return &result{status: http.StatusAccepted, header: http.Header{}}
	})
}

// removeEvent deletes an event, and a series master's occurrences.
func (s *Server) removeEvent(mb *mailbox, id string) {
	s.dropOccurrences(mb, id)
	mb.events.delete(id)
}

func (s *Server) dropOccurrences(mb *mailbox, masterID string) {
	var ids []string
	for id, r := range mb.events.items {
		if r.item.SeriesMasterID == masterID {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		mb.events.delete(id)
	}
}

// getDefaultCalendar serves GET /users/{id}/calendar with what a writer
// checks first: canEdit for the caller and the online meeting providers the
// mailbox allows.
func (s *Server) getDefaultCalendar(rc *reqCtx) *result {
	return s.inMailbox(rc, func(mb *mailbox) *result {
		role := s.access(rc, mb)
		if role == ShareNone {
			return s.notFound(rc)
		}
		c := mb.events.primary
		providers, dflt := `["teamsForBusiness"]`, `"teamsForBusiness"`
		if s.cal.online[mb.userID] == OnlineMeetingsUnavailable {
			providers, dflt = `[]`, `"unknown"`
		}
		b := []byte(`{"@odata.context":`)
		b = appendString(b, s.metadata(rc, keyed("users", mb.userID)+"/calendar/$entity"))
		b = append(b, `,"id":`...)
		b = appendString(b, c.id)
		b = append(b, `,"name":`...)
		b = appendString(b, c.name)
		b = append(b, `,"color":"auto","hexColor":"","isDefaultCalendar":true,"changeKey":`...)
		b = appendString(b, changeKey(hashKey(c.id), 1))
		b = append(b, `,"canShare":`...)
		b = appendBool(b, role == ShareWrite && rc.me != "")
		b = append(b, `,"canViewPrivateItems":true,"canEdit":`...)
		b = appendBool(b, role == ShareWrite)
		b = append(b, `,"allowedOnlineMeetingProviders":`+providers+`,"defaultOnlineMeetingProvider":`+dflt+`,"isTallyingResponses":true,"isRemovable":false,"owner":`...)
		b = appendEmail(b, s.ownerAddress(mb))
		return jsonResult(append(b, '}'))
	})
}

// Recurrences

var weekdays = []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}

var indexes = []string{"first", "second", "third", "fourth", "last"}

// validate checks a recurrence as Graph documents it (GRAPH.md,
// Recurrence) and returns what is wrong, or "".
func (r *Recurrence) validate() string {
	if r.Interval < 1 {
		return "The recurrence interval must be at least 1."
	}
	days := func() string {
		if len(r.DaysOfWeek) == 0 {
			return "The recurrence pattern needs daysOfWeek."
		}
		for _, d := range r.DaysOfWeek {
			if !slices.Contains(weekdays, strings.ToLower(d)) {
				return "The day of week '" + d + "' is not valid."
			}
		}
		return ""
	}
	switch r.Type {
	case "daily":
	case "weekly":
		if msg := days(); msg != "" {
			return msg
		}
	case "absoluteMonthly":
		if r.DayOfMonth < 1 || r.DayOfMonth > 31 {
			return "The recurrence pattern needs a dayOfMonth."
		}
	case "relativeMonthly":
		if msg := days(); msg != "" {
			return msg
		}
	case "absoluteYearly":
		if r.DayOfMonth < 1 || r.DayOfMonth > 31 || r.Month < 1 || r.Month > 12 {
			return "The recurrence pattern needs a dayOfMonth and a month."
		}
	case "relativeYearly":
		if msg := days(); msg != "" {
			return msg
		}
		if r.Month < 1 || r.Month > 12 {
			return "The recurrence pattern needs a month."
		}
	default:
		return "The recurrence pattern type '" + r.Type + "' is not valid."
	}
	if r.Index != "" && !slices.Contains(indexes, r.Index) {
		return "The recurrence index '" + r.Index + "' is not valid."
	}
	if _, err := time.Parse(time.DateOnly, r.StartDate); err != nil {
		return "The recurrence range needs a startDate."
	}
	switch r.RangeType {
	case "endDate":
		end, err := time.Parse(time.DateOnly, r.EndDate)
		start, _ := time.Parse(time.DateOnly, r.StartDate)
		if err != nil || end.Before(start) {
			return "The recurrence range needs an endDate on or after its startDate."
		}
	case "numbered":
		if r.NumberOfOccurrences < 1 {
			return "The recurrence range needs numberOfOccurrences greater than 0."
		}
	case "noEnd":
	default:
		return "The recurrence range type '" + r.RangeType + "' is not valid."
	}
	return ""
}

// maxExpanded bounds a series without end: the fake materialises a year.
const maxExpandedDays = 366

// expandSeries adds a series master's occurrences, in the master's own
// zone: each keeps the master's wall-clock start and length, so the UTC
// instant moves when daylight saving time begins or ends, as in Outlook.
// Call with s.mu held.
func (s *Server) expandSeries(mb *mailbox, master *Event) {
	loc, _ := zoneFor(cmpOr(master.Recurrence.RecurrenceTimeZone, master.TimeZone))
	if loc == nil {
		loc = time.UTC
	}
	first := master.Start.In(loc)
	length := master.End.Sub(master.Start)
	r := master.Recurrence
	start, _ := time.Parse(time.DateOnly, r.StartDate)
	last := start.AddDate(0, 0, maxExpandedDays)
	if r.RangeType == "endDate" {
		last, _ = time.Parse(time.DateOnly, r.EndDate)
	}
	n := 0
	for _, day := range r.days(start, last) {
		if r.RangeType == "numbered" && n >= r.NumberOfOccurrences {
			break
		}
		n++
		at := time.Date(day.Year(), day.Month(), day.Day(), first.Hour(), first.Minute(), first.Second(), 0, loc)
		if master.IsAllDay {
			at = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc)
		}
		occ := master.clone()
		occ.ID, occ.ChangeKey, occ.Recurrence, occ.ExtendedProperties = "", "", nil, nil
		occ.CreatedDateTime, occ.LastModifiedDateTime = time.Time{}, time.Time{}
		occ.Type, occ.SeriesMasterID = "occurrence", master.ID
		occ.Start, occ.OriginalStart = at.UTC(), at.UTC()
		occ.End = at.Add(length).UTC()
		if master.IsAllDay {
			end := day.AddDate(0, 0, int(length.Hours()/24+0.5))
			occ.End = time.Date(end.Year(), end.Month(), end.Day(), 0, 0, 0, 0, loc).UTC()
		}
		mb.events.add(s.now, occ, func(e *Event) {
			mb.n++
			e.ID = itemID(mb.key, kindEvent, mb.n)
		})
	}
}

// days lists the dates (as UTC midnights) the pattern gives from start to
// last, both included.
func (r *Recurrence) days(start, last time.Time) []time.Time {
	var out []time.Time
	in := func(d time.Time) bool { return !d.Before(start) && !d.After(last) }
	switch r.Type {
	case "daily":
		for d := start; !d.After(last); d = d.AddDate(0, 0, r.Interval) {
			out = append(out, d)
		}
	case "weekly":
		fdw := max(slices.Index(weekdays, strings.ToLower(cmpOr(r.FirstDayOfWeek, "sunday"))), 0)
		weekStart := start.AddDate(0, 0, -((int(start.Weekday()) - fdw + 7) % 7))
		for w := weekStart; !w.After(last); w = w.AddDate(0, 0, 7*r.Interval) {
			for i := range 7 {
				d := w.AddDate(0, 0, i)
				if in(d) && slices.ContainsFunc(r.DaysOfWeek, func(x string) bool { return strings.EqualFold(x, weekdays[d.Weekday()]) }) {
					out = append(out, d)
				}
			}
		}
	case "absoluteMonthly", "relativeMonthly", "absoluteYearly", "relativeYearly":
		step, month := r.Interval, 0
		if strings.HasSuffix(r.Type, "Yearly") {
			step, month = 12*r.Interval, r.Month
		}
		m := time.Date(start.Year(), start.Month(), 1, 0, 0, 0, 0, time.UTC)
		if month != 0 {
			m = time.Date(start.Year(), time.Month(month), 1, 0, 0, 0, 0, time.UTC)
			if m.AddDate(0, 1, -1).Before(start) {
				m = m.AddDate(1, 0, 0)
			}
		}
		for ; !m.After(last); m = m.AddDate(0, step, 0) {
			var d time.Time
			if strings.HasPrefix(r.Type, "absolute") {
				if r.DayOfMonth > daysInMonth(m) {
					continue // Outlook skips months without the day
				}
				d = m.AddDate(0, 0, r.DayOfMonth-1)
			} else {
				d = r.relativeDay(m)
			}
			if in(d) {
				out = append(out, d)
			}
		}
	}
	return out
}

func daysInMonth(m time.Time) int { return m.AddDate(0, 1, -1).Day() }

// relativeDay is the index-th (first…last) of the pattern's weekdays in
// the month starting at m.
func (r *Recurrence) relativeDay(m time.Time) time.Time {
	var hits []time.Time
	for d := m; d.Month() == m.Month(); d = d.AddDate(0, 0, 1) {
		if slices.ContainsFunc(r.DaysOfWeek, func(x string) bool { return strings.EqualFold(x, weekdays[d.Weekday()]) }) {
			hits = append(hits, d)
		}
	}
	i := slices.Index(indexes, cmpOr(r.Index, "first"))
	if i == len(indexes)-1 || i >= len(hits) {
		return hits[len(hits)-1]
	}
	return hits[i]
}

// appendRecurrence renders Graph's patternedRecurrence, or null.
func appendRecurrence(b []byte, r *Recurrence) []byte {
	if r == nil {
		return append(b, "null"...)
	}
	b = append(b, `{"pattern":{"type":`...)
	b = appendString(b, r.Type)
	b = append(b, `,"interval":`...)
	b = strconv.AppendInt(b, int64(r.Interval), 10)
	b = append(b, `,"month":`...)
	b = strconv.AppendInt(b, int64(r.Month), 10)
	b = append(b, `,"dayOfMonth":`...)
	b = strconv.AppendInt(b, int64(r.DayOfMonth), 10)
	b = append(b, `,"daysOfWeek":`...)
	days := make([]string, len(r.DaysOfWeek))
	for i, d := range r.DaysOfWeek {
		days[i] = strings.ToLower(d)
	}
	b = appendStrings(b, days)
	b = append(b, `,"firstDayOfWeek":`...)
	b = appendString(b, cmpOr(r.FirstDayOfWeek, "sunday"))
	b = append(b, `,"index":`...)
	b = appendString(b, cmpOr(r.Index, "first"))
	b = append(b, `},"range":{"type":`...)
	b = appendString(b, r.RangeType)
	b = append(b, `,"startDate":`...)
	b = appendString(b, r.StartDate)
	b = append(b, `,"endDate":`...)
	b = appendString(b, cmpOr(r.EndDate, "0001-01-01"))
	b = append(b, `,"recurrenceTimeZone":`...)
	b = appendString(b, r.RecurrenceTimeZone)
	b = append(b, `,"numberOfOccurrences":`...)
	b = strconv.AppendInt(b, int64(r.NumberOfOccurrences), 10)
	return append(b, "}}"...)
}

// readJSONBody decodes a POST body into v, or answers 400.
func (s *Server) readJSONBody(rc *reqCtx, v any) *result {
	dec := json.NewDecoder(rc.r.Body)
	if err := dec.Decode(v); err != nil {
		return s.fail(rc, http.StatusBadRequest, "RequestBodyRead", "The request body is not valid JSON: "+err.Error())
	}
	var rest bytes.Buffer
	if _, err := rest.ReadFrom(dec.Buffered()); err == nil && len(bytes.TrimSpace(rest.Bytes())) > 0 {
		return s.fail(rc, http.StatusBadRequest, "RequestBodyRead", "The request body has data after the JSON value.")
	}
	return nil
}
