package calendar

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/internal/graph"
)

// MaxAttendees is the most attendees Exchange Online takes on one event
// (GRAPH.md, Limits).
const MaxAttendees = 500

// FreeBusy is how a time shows in a calendar: an event's show-as, a
// schedule item's status, an attendee's availability.
type FreeBusy string

// FreeBusy values as Graph names them.
const (
	Free             FreeBusy = "free"
	Tentative        FreeBusy = "tentative"
	Busy             FreeBusy = "busy"
	OutOfOffice      FreeBusy = "oof"
	WorkingElsewhere FreeBusy = "workingElsewhere"
	Unknown          FreeBusy = "unknown"
)

// Sensitivity is an event's sensitivity.
type Sensitivity string

// Sensitivities as Graph names them.
const (
	Normal       Sensitivity = "normal"
	Personal     Sensitivity = "personal"
	Private      Sensitivity = "private"
	Confidential Sensitivity = "confidential"
)

// Pattern is how a series repeats.
type Pattern string

// Patterns as Graph names them.
const (
	// Daily repeats every Interval days.
	Daily Pattern = "daily"
	// Weekly repeats on Days every Interval weeks.
	Weekly Pattern = "weekly"
	// AbsoluteMonthly repeats on DayOfMonth every Interval months.
	AbsoluteMonthly Pattern = "absoluteMonthly"
	// RelativeMonthly repeats on the Index-th of Days (the first Monday)
	// every Interval months.
	RelativeMonthly Pattern = "relativeMonthly"
	// AbsoluteYearly repeats on DayOfMonth of Month every Interval years.
	AbsoluteYearly Pattern = "absoluteYearly"
	// RelativeYearly repeats on the Index-th of Days of Month every
	// Interval years.
	RelativeYearly Pattern = "relativeYearly"
)

// WeekIndex says which of a month's weekdays a relative pattern means.
type WeekIndex string

// Week indexes as Graph names them.
const (
	First  WeekIndex = "first"
	Second WeekIndex = "second"
	Third  WeekIndex = "third"
	Fourth WeekIndex = "fourth"
	Last   WeekIndex = "last"
)

// Recurrence makes a meeting a series. Zero fields take defaults from the
// meeting's first start: Interval 1; a weekly series its weekday; a
// monthly or yearly one its day (and month); a relative one its weekday
// and the week it falls in. The series ends on Until (inclusive) or after
// Count meetings; with neither it has no end.
type Recurrence struct {
	Pattern        Pattern
	Interval       int
	Days           []time.Weekday
	DayOfMonth     int
	Month          time.Month
	Index          WeekIndex
	FirstDayOfWeek time.Weekday
	Until          m365link.Date
	Count          int
}

// Meeting is what [Client.Create] books and [Client.Update] edits.
type Meeting struct {
	Subject string
	// Body is the invitation's text, HTML when BodyHTML is set.
	Body     string
	BodyHTML bool
	// Location is where the meeting is, as shown; invite a room as an
	// attendee of type resource (see [Room.Attendee]) to book it.
	Location string
	// Start and End bound a timed meeting. It is planned in TimeZone (a
	// Windows or IANA name, such as the user's [MailboxSettings].TimeZone),
	// else in Start's location; a location with no Windows zone (time.Local,
	// a fixed offset) is sent as UTC, which a series refuses.
	Start, End time.Time
	TimeZone   string
	// AllDay books the days StartDate to EndDate (exclusive; zero is the
	// day after StartDate) in TimeZone, UTC when empty.
	AllDay             bool
	StartDate, EndDate m365link.Date
	// Attendees are invited by the mailbox; an empty Type is required.
	// Invitations go out when the meeting is created.
	Attendees []m365link.Attendee
	// Reminder is how long before the start Outlook reminds; zero keeps
	// the mailbox's default (15 minutes). NoReminder turns it off.
	Reminder   time.Duration
	NoReminder bool
	Categories []string
	// Sensitivity is "" (normal) or a [Sensitivity]; ShowAs is "" (busy)
	// or a [FreeBusy].
	Sensitivity Sensitivity
	ShowAs      FreeBusy
	Recurrence  *Recurrence
	// Teams makes it a Teams meeting; [Client.Create] confirms that the
	// join link exists. It cannot be turned off once on.
	Teams bool
}

// Event is an event as Graph returns it: the summary the sync engine uses,
// and what a writer needs besides. Start and End are UTC instants.
type Event struct {
	m365link.Event
	// Body is the event's body as Graph stores it, HTML when BodyHTML.
	Body     string
	BodyHTML bool
	// IsOrganizer says the mailbox organises the meeting.
	IsOrganizer bool
	// Reminder is the reminder before the start; ReminderOn says it is set.
	Reminder   time.Duration
	ReminderOn bool
	// Recurrence is a series master's pattern, nil otherwise.
	Recurrence *Recurrence
	// TransactionID is the transactionId the creator set, if any.
	TransactionID string
	// Key is the idempotency key [Client.Create] stored, when it was read
	// ([Client.Get] and [Client.FindByKey] read it).
	Key string
}

// Meeting returns e as a Meeting to edit, in the event's own zone.
func (e *Event) Meeting() *Meeting {
	m := &Meeting{Subject: e.Subject, Body: e.Body, BodyHTML: e.BodyHTML, Location: e.Location,
		Start: e.Start, End: e.End, AllDay: e.IsAllDay, StartDate: e.StartDate, EndDate: e.EndDate,
		Attendees: slices.Clone(e.Attendees), Categories: slices.Clone(e.Categories),
		Sensitivity: Sensitivity(e.Sensitivity), ShowAs: FreeBusy(e.ShowAs), Teams: e.IsOnlineMeeting,
		NoReminder: !e.ReminderOn}
	if e.ReminderOn {
		m.Reminder = e.Reminder
	}
	if loc, ok := LoadZone(e.TimeZone); ok {
		m.TimeZone = e.TimeZone
		m.Start, m.End = e.Start.In(loc), e.End.In(loc)
	}
	if e.Recurrence != nil {
		r := *e.Recurrence
		r.Days = slices.Clone(r.Days)
		m.Recurrence = &r
	}
	for i := range m.Attendees {
		m.Attendees[i].Response = ""
	}
	return m
}

// eventSelect is what this package reads of an event.
const eventSelect = "id,changeKey,iCalUId,seriesMasterId,type,subject,bodyPreview,body,organizer,attendees,start,end," +
	"originalStart,originalStartTimeZone,isAllDay,isCancelled,isOnlineMeeting,isOrganizer,isReminderOn," +
	"reminderMinutesBeforeStart,onlineMeetingProvider,onlineMeeting,location,categories,sensitivity,showAs," +
	"recurrence,transactionId,lastModifiedDateTime,webLink"

// keyPropertyID is the single-value extended property that holds a
// create's idempotency key as the host gave it, for [Event].Key: a GUID of
// this package's own and a name, the form Graph prefers for custom
// properties.
const keyPropertyID = "String {3f6c2a9e-8d41-4b7a-9e05-6a1d2c7b4e93} Name m365link.calendar.key"

// keyHashPropertyID holds what a create is found by: the key's digest
// (keyHash), lower-case hex. Graph compares property values without regard
// to case, so keys that differ only in case ("a0Bx", "A0bx": Salesforce's
// 15-character IDs do) would all match a filter on the key itself; their
// digests differ in more than case, so the filter on the digest is exact.
const keyHashPropertyID = "String {3f6c2a9e-8d41-4b7a-9e05-6a1d2c7b4e93} Name m365link.calendar.keyhash"

// keyHash is the value of keyHashPropertyID for a host's key.
func keyHash(key string) string {
	sum := sha256.Sum256([]byte("m365link.calendar.keyhash\x00" + key))
	return hex.EncodeToString(sum[:])
}

// callHash is the value of keyHashPropertyID for a create without a key: a
// random one per call, so that the call itself can look for its event when
// an answer is lost.
func callHash() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// expandKey reads the key property back with an event.
var expandKey = "singleValueExtendedProperties($filter=id eq '" + keyPropertyID + "')"

// expandKeyHash reads the digest back with the events a lookup finds.
var expandKeyHash = "singleValueExtendedProperties($filter=id eq '" + keyHashPropertyID + "')"

// CreateOptions adjust [Client.Create].
type CreateOptions struct {
	// CalendarID is the calendar to create in; "" is the mailbox's
	// default calendar. A calendar of another user is reached by naming
	// that user as the mailbox (their calendar must be shared with the
	// token's user for editing).
	CalendarID string
	// Key makes the create idempotent: the key is stored with the event
	// (in single-value extended properties: the key, and its digest that
	// lookups filter on, exact even where keys differ only in case; and a
	// transactionId derived from it), and a create with a key the calendar
	// already holds returns that event instead of making another, whether
	// the first create's answer was lost to a timeout, a 503 or a crash.
	// Use one key per meeting the host means to book, such as its own
	// record's ID.
	//
	// Creates with one key are serialised within the [Client]: a second
	// one waits for the first and then finds its event. Across processes
	// nothing can serialise them (Graph has no conditional create), so the
	// host must not run two creates of one key at the same moment from
	// two processes; one after the other is safe.
	//
	// Without a Key, a create is still never sent twice by one call: it
	// carries a digest of its own, and an attempt whose answer was lost
	// is looked up by it before anything is sent again. Only a retry by
	// the host, in a new call, needs the Key.
	Key string
}

// WriteOptions adjust [Client.Update] and [Client.Cancel].
type WriteOptions struct {
	// AllowNonOrganizer lets Update change a meeting the mailbox does not
	// organise (only its own copy changes, and the organizer's next update
	// overwrites it). Without it such a change is refused with
	// [ErrNotOrganizer] before anything is sent.
	AllowNonOrganizer bool
}

func eventsPath(mailbox, calendarID string) string {
	if calendarID == "" {
		return graph.Path("users", mailbox, "calendar", "events")
	}
	return graph.Path("users", mailbox, "calendars", calendarID, "events")
}

func calendarPath(mailbox, calendarID string) string {
	if calendarID == "" {
		return graph.Path("users", mailbox, "calendar")
	}
	return graph.Path("users", mailbox, "calendars", calendarID)
}

// transactionID derives Graph's transactionId from a key: bounded, opaque.
func transactionID(key string) string {
	sum := sha256.Sum256([]byte("m365link.calendar\x00" + key))
	return "m365link-" + hex.EncodeToString(sum[:16])
}

// Create books m in a mailbox's calendar, sends its invitations and
// returns the event as Graph stored it.
//
// With [CreateOptions].Key the create is idempotent (see there): it looks
// the key up first, and when an attempt's answer is lost it looks again
// before sending another; without one it does the latter by a digest of
// the call's own. A Teams meeting is checked before anything is
// sent (the calendar must allow Teams, else [ErrTeamsUnavailable]) and
// after (the join link must exist: Graph may accept the request and return
// none; the event is read again [Config].JoinURLChecks times before
// [ErrJoinURLMissing]). Refusals before sending: [ErrAttendeeLimit],
// [ErrInvalid]; from Graph: [ErrCalendarNotFound], [ErrCalendarReadOnly],
// and the root sentinels (see the package doc).
//
// Graph: POST /users/{id}/calendar/events (or calendars/{id}/events).
func (c *Client) Create(ctx context.Context, tok TokenSource, mailbox string, m *Meeting, opts *CreateOptions) (*Event, error) {
	const op = "create"
	if opts == nil {
		opts = &CreateOptions{}
	}
	body, zone, err := m.wire(op, mailbox)
	if err != nil {
		return nil, err
	}
	// Every create carries a digest to find it by: the key's, or one of
	// this call's own. internal/graph resends a create after a 429 or 503,
	// which a gateway can answer after Graph made the event; the Recheck
	// below looks for it first.
	hash := callHash()
	if opts.Key != "" {
		hash = keyHash(opts.Key)
		body["transactionId"] = transactionID(opts.Key)
		body["singleValueExtendedProperties"] = []wireExtProp{{ID: keyPropertyID, Value: opts.Key}, {ID: keyHashPropertyID, Value: hash}}
	} else {
		body["transactionId"] = transactionID("\x00call:" + hash)
		body["singleValueExtendedProperties"] = []wireExtProp{{ID: keyHashPropertyID, Value: hash}}
	}
	if m.Teams {
		if err := c.teamsAllowed(ctx, tok, mailbox, opts.CalendarID); err != nil {
			return nil, err
		}
	}
	var found *Event
	if opts.Key != "" {
		unlock, err := c.keys.Lock(ctx, strings.ToLower(mailbox)+"\x00"+opts.CalendarID+"\x00"+hash)
		if err != nil {
			return nil, &Error{Op: op, Mailbox: mailbox, Err: err}
		}
		defer unlock()
		if found, err = c.findByHash(ctx, tok, mailbox, opts.CalendarID, hash); err != nil {
			return nil, err
		}
		if found != nil {
			found.Key = opts.Key
			c.log.LogAttrs(ctx, slog.LevelInfo, "calendar: create found by its key", slog.String("mailbox", mailbox), slog.String("event", found.ID))
		}
	}
	if found == nil {
		req := &graph.Request{Method: http.MethodPost, Path: eventsPath(mailbox, opts.CalendarID), Body: body, Header: preferZone(zone)}
		req.Recheck = func(ctx context.Context) (bool, error) {
			var err error
			found, err = c.findByHash(ctx, tok, mailbox, opts.CalendarID, hash)
			if found != nil {
				found.Key = opts.Key
			}
			return found != nil, err
		}
		var w wireEvent
		if err := c.call(ctx, tok, mailbox, req, &w); err != nil {
			return nil, classify(op, mailbox, "", onCalendar, err)
		}
		if found == nil {
			found = w.vocab()
			found.Key = opts.Key
		} else {
			c.log.LogAttrs(ctx, slog.LevelInfo, "calendar: lost create answer; found the event by its key", slog.String("mailbox", mailbox), slog.String("event", found.ID))
		}
	}
	if m.Teams {
		if err := c.confirmJoinURL(ctx, tok, mailbox, found); err != nil {
			return found, err
		}
	}
	return found, nil
}

// teamsAllowed checks the calendar allows Teams meetings, before any
// invitation goes out (GRAPH.md: check allowedOnlineMeetingProviders).
func (c *Client) teamsAllowed(ctx context.Context, tok TokenSource, mailbox, calendarID string) error {
	var cal struct {
		CanEdit   *graph.Bool `json:"canEdit"`
		Providers []string    `json:"allowedOnlineMeetingProviders"`
	}
	req := &graph.Request{Path: calendarPath(mailbox, calendarID), Query: url.Values{"$select": {"canEdit,allowedOnlineMeetingProviders"}}}
	if err := c.call(ctx, tok, mailbox, req, &cal); err != nil {
		return classify("create", mailbox, "", onCalendar, err)
	}
	if cal.CanEdit != nil && !bool(*cal.CanEdit) {
		return &Error{Op: "create", Mailbox: mailbox, Kind: ErrCalendarReadOnly}
	}
	if !slices.ContainsFunc(cal.Providers, func(p string) bool { return strings.EqualFold(p, "teamsForBusiness") }) {
		return &Error{Op: "create", Mailbox: mailbox, Kind: ErrTeamsUnavailable,
			Detail: "the calendar allows online meeting providers " + fmt.Sprint(cal.Providers)}
	}
	return nil
}

// confirmJoinURL makes sure a Teams meeting has its join link, reading the
// event again when the answer lacked it. ev is updated in place.
func (c *Client) confirmJoinURL(ctx context.Context, tok TokenSource, mailbox string, ev *Event) error {
	for i := 0; ; i++ {
		if !ev.IsOnlineMeeting || !strings.EqualFold(ev.OnlineMeetingProvider, "teamsForBusiness") {
			return &Error{Op: "create", Mailbox: mailbox, EventID: ev.ID, Kind: ErrTeamsUnavailable,
				Detail: fmt.Sprintf("Graph made the event with isOnlineMeeting %t and provider %q", ev.IsOnlineMeeting, ev.OnlineMeetingProvider)}
		}
		if ev.JoinURL != "" {
			return nil
		}
		if i >= c.cfg.JoinURLChecks {
			return &Error{Op: "create", Mailbox: mailbox, EventID: ev.ID, Kind: ErrJoinURLMissing,
				Detail: fmt.Sprintf("read %d times", i+1)}
		}
		if err := c.wait(ctx, c.cfg.JoinURLWait); err != nil {
			return &Error{Op: "create", Mailbox: mailbox, EventID: ev.ID, Kind: ErrJoinURLMissing, Err: err}
		}
		var w struct {
			IsOnlineMeeting       graph.Bool `json:"isOnlineMeeting"`
			OnlineMeetingProvider string     `json:"onlineMeetingProvider"`
			OnlineMeeting         *struct {
				JoinURL string `json:"joinUrl"`
			} `json:"onlineMeeting"`
		}
		req := &graph.Request{Path: graph.Path("users", mailbox, "events", ev.ID),
			Query: url.Values{"$select": {"isOnlineMeeting,onlineMeetingProvider,onlineMeeting"}}}
		if err := c.call(ctx, tok, mailbox, req, &w); err != nil {
			return classify("create", mailbox, ev.ID, onEvent, err)
		}
		ev.IsOnlineMeeting, ev.OnlineMeetingProvider = bool(w.IsOnlineMeeting), w.OnlineMeetingProvider
		if w.OnlineMeeting != nil {
			ev.JoinURL = w.OnlineMeeting.JoinURL
		}
		c.log.LogAttrs(ctx, slog.LevelDebug, "calendar: read a Teams meeting again for its join link",
			slog.String("mailbox", mailbox), slog.String("event", ev.ID), slog.Bool("found", ev.JoinURL != ""))
	}
}

// FindByKey returns the event a create with key made in a calendar ("" is
// the default one), or nil and no error when there is none.
//
// Graph: GET …/events?$filter=singleValueExtendedProperties/Any(…).
func (c *Client) FindByKey(ctx context.Context, tok TokenSource, mailbox, calendarID, key string) (*Event, error) {
	if key == "" {
		return nil, invalid("find by key", mailbox, "empty key")
	}
	return c.findByKey(ctx, tok, mailbox, calendarID, key)
}

func (c *Client) findByKey(ctx context.Context, tok TokenSource, mailbox, calendarID, key string) (*Event, error) {
	ev, err := c.findByHash(ctx, tok, mailbox, calendarID, keyHash(key))
	if ev != nil {
		ev.Key = key
	}
	return ev, err
}

// findByHash finds the event whose keyHashPropertyID is hash. The digest
// is lower-case hex, so Graph's case-insensitive comparison is exact; the
// value read back is compared too, when Graph returns it, and every page
// is read, so no match can hide behind another.
func (c *Client) findByHash(ctx context.Context, tok TokenSource, mailbox, calendarID, hash string) (*Event, error) {
	filter := "singleValueExtendedProperties/Any(ep: ep/id eq '" + keyHashPropertyID + "' and ep/value eq '" + hash + "')"
	req := &graph.Request{Path: eventsPath(mailbox, calendarID), Query: url.Values{
		"$filter": {filter}, "$select": {eventSelect}, "$expand": {expandKeyHash}}}
	ws, err := getAll[wireEvent](ctx, c, tok, mailbox, req)
	if err != nil {
		return nil, classify("find by key", mailbox, "", onCalendar, err)
	}
	for i := range ws {
		if got, ok := ws[i].property(keyHashPropertyID); ok && got != hash {
			continue
		}
		return ws[i].vocab(), nil
	}
	return nil, nil
}

// Get reads an event, with the key it was created with, if any.
//
// Graph: GET /users/{id}/events/{id}.
func (c *Client) Get(ctx context.Context, tok TokenSource, mailbox, eventID string) (*Event, error) {
	var w wireEvent
	req := &graph.Request{Path: graph.Path("users", mailbox, "events", eventID),
		Query: url.Values{"$select": {eventSelect}, "$expand": {expandKey}}}
	if err := c.call(ctx, tok, mailbox, req, &w); err != nil {
		return nil, classify("get", mailbox, eventID, onEvent, err)
	}
	return w.vocab(), nil
}

// Instances lists the meetings of a series (or the event itself, for a
// single one) that overlap window, in order.
//
// Graph: GET /users/{id}/events/{id}/instances.
func (c *Client) Instances(ctx context.Context, tok TokenSource, mailbox, eventID string, window TimeRange) ([]*Event, error) {
	if !window.Start.Before(window.End) {
		return nil, invalid("instances", mailbox, "empty window")
	}
	req := &graph.Request{Path: graph.Path("users", mailbox, "events", eventID, "instances"), Query: url.Values{
		"startDateTime": {window.Start.UTC().Format(time.RFC3339)}, "endDateTime": {window.End.UTC().Format(time.RFC3339)},
		"$select": {eventSelect}}}
	ws, err := getAll[wireEvent](ctx, c, tok, mailbox, req)
	if err != nil {
		return nil, classify("instances", mailbox, eventID, onEvent, err)
	}
	out := make([]*Event, len(ws))
	for i := range ws {
		out[i] = ws[i].vocab()
	}
	return out, nil
}

// Update reads an event, lets edit change it as a Meeting, and sends only
// what changed: attendees alone when only they changed (Graph then
// notifies only the attendees added or removed), nothing at all when
// nothing did. A meeting the mailbox does not organise is refused with
// [ErrNotOrganizer] unless opts allow it. Turning Teams on is confirmed as
// [Client.Create] does; turning it off is refused ([ErrInvalid]).
//
// Graph: PATCH /users/{id}/events/{id}.
func (c *Client) Update(ctx context.Context, tok TokenSource, mailbox, eventID string, edit func(*Meeting), opts *WriteOptions) (*Event, error) {
	const op = "update"
	if opts == nil {
		opts = &WriteOptions{}
	}
	cur, err := c.Get(ctx, tok, mailbox, eventID)
	if err != nil {
		return nil, classify(op, mailbox, eventID, onEvent, err)
	}
	if !cur.IsOrganizer && !opts.AllowNonOrganizer {
		return nil, &Error{Op: op, Mailbox: mailbox, EventID: eventID, Kind: ErrNotOrganizer,
			Detail: "the meeting is organised by " + cur.Organizer.Address + "; only its copy in " + mailbox + " would change"}
	}
	before := cur.Meeting()
	after := cur.Meeting()
	edit(after)
	if before.Teams && !after.Teams {
		return nil, &Error{Op: op, Mailbox: mailbox, EventID: eventID, Kind: ErrInvalid, Detail: "an online meeting cannot be turned off"}
	}
	was, _, err := before.wire(op, mailbox)
	if err != nil {
		was = map[string]any{}
	}
	now, zone, err := after.wire(op, mailbox)
	if err != nil {
		return nil, err
	}
	patch := diff(was, now)
	if len(patch) == 0 {
		return cur, nil
	}
	if after.Teams && !before.Teams {
		if err := c.teamsAllowed(ctx, tok, mailbox, ""); err != nil {
			return nil, err
		}
	}
	var w wireEvent
	req := &graph.Request{Method: http.MethodPatch, Path: graph.Path("users", mailbox, "events", eventID), Body: patch,
		Header: preferZone(zone), Idempotent: true}
	if err := c.call(ctx, tok, mailbox, req, &w); err != nil {
		return nil, classify(op, mailbox, eventID, onEvent, err)
	}
	ev := w.vocab()
	ev.Key = cur.Key
	if after.Teams && !before.Teams {
		if err := c.confirmJoinURL(ctx, tok, mailbox, ev); err != nil {
			return ev, err
		}
	}
	return ev, nil
}

// timing are the properties that move together: a changed start, end or
// all-day flag sends all three.
var timing = []string{"start", "end", "isAllDay"}

// diff returns the properties of now that differ from was.
func diff(was, now map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range now {
		a, _ := json.Marshal(was[k])
		b, _ := json.Marshal(v)
		if _, had := was[k]; !had || !bytes.Equal(a, b) {
			out[k] = v
		}
	}
	for _, k := range timing {
		if _, changed := out[k]; changed {
			for _, t := range timing {
				out[t] = now[t]
			}
			break
		}
	}
	return out
}

// Cancel cancels a meeting the mailbox organises, sending comment to the
// attendees, and removes it from the calendar. When the answer to the
// cancel is lost (a 503, a dropped connection), the event is read before
// anything is sent again: gone or cancelled is success. For a meeting someone else
// organises it returns [ErrNotOrganizer] without sending anything: only
// the organizer can cancel (decline it instead, in Outlook).
//
// Graph: POST /users/{id}/events/{id}/cancel.
func (c *Client) Cancel(ctx context.Context, tok TokenSource, mailbox, eventID, comment string) error {
	const op = "cancel"
	cur, err := c.Get(ctx, tok, mailbox, eventID)
	if err != nil {
		return classify(op, mailbox, eventID, onEvent, err)
	}
	if !cur.IsOrganizer {
		return &Error{Op: op, Mailbox: mailbox, EventID: eventID, Kind: ErrNotOrganizer,
			Detail: "the meeting is organised by " + cur.Organizer.Address}
	}
	req := &graph.Request{Method: http.MethodPost, Path: graph.Path("users", mailbox, "events", eventID, "cancel"),
		Body: map[string]string{"comment": comment}}
	// A cancel whose 202 was lost (a 503 a gateway sends after Graph
	// cancelled) is not sent again blindly: the second one would find no
	// event and report a failure, or send the attendees a second
	// cancellation. Before a resend, the event is read: gone or cancelled
	// means done.
	req.Recheck = func(ctx context.Context) (bool, error) {
		ev, err := c.Get(ctx, tok, mailbox, eventID)
		switch {
		case errors.Is(err, m365link.ErrNotFound):
			c.log.LogAttrs(ctx, slog.LevelInfo, "calendar: lost cancel answer; the event is gone", slog.String("mailbox", mailbox), slog.String("event", eventID))
			return true, nil
		case err != nil:
			return false, err
		}
		return ev.IsCancelled, nil
	}
	if err := c.call(ctx, tok, mailbox, req, nil); err != nil {
		return classify(op, mailbox, eventID, onEvent, err)
	}
	return nil
}

// Delete removes an event from the mailbox's calendar. For a meeting the
// mailbox organises Graph still sends the attendees a cancellation, without
// a message (use [Client.Cancel] to say why); for one it attends only its
// own copy goes.
//
// Graph: DELETE /users/{id}/events/{id}.
func (c *Client) Delete(ctx context.Context, tok TokenSource, mailbox, eventID string) error {
	req := &graph.Request{Method: http.MethodDelete, Path: graph.Path("users", mailbox, "events", eventID), Idempotent: true}
	if err := c.call(ctx, tok, mailbox, req, nil); err != nil {
		return classify("delete", mailbox, eventID, onEvent, err)
	}
	return nil
}
