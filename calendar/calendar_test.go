package calendar_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/calendar"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/internal/fakegraph"
)

var vendor = m365link.EmailAddress{Name: "Vera Vendor", Address: "vera@acme.example"}

func TestCreateSendsTheMeetingAndReturnsTheEvent(t *testing.T) {
	e := newEnv(t, graphclient.Retry{})
	start := time.Date(2026, 11, 24, 9, 30, 0, 0, berlin(t))
	ev, err := e.cal.Create(t.Context(), e.tok, e.alice.ID, &calendar.Meeting{
		Subject: "Supply contract", Body: "<p>Terms</p>", BodyHTML: true, Location: "Fjord",
		Start: start, End: start.Add(45 * time.Minute),
		Attendees: []m365link.Attendee{{EmailAddress: vendor}, {EmailAddress: m365link.EmailAddress{Address: "bob@contoso.com"}, Type: m365link.AttendeeOptional},
			{EmailAddress: m365link.EmailAddress{Name: "Fjord", Address: "fjord@contoso.com"}, Type: m365link.AttendeeResource}},
		Reminder: 30 * time.Minute, Categories: []string{"Vendors"}, Sensitivity: calendar.Private, ShowAs: calendar.Tentative,
	}, nil)
	require.NoError(t, err)
	stored, ok := e.fake.Event(e.alice.ID, ev.ID)
	require.True(t, ok)
	want := &calendar.Event{Event: m365link.Event{
		ID: ev.ID, ChangeKey: stored.ChangeKey, ICalUID: stored.ICalUID, Type: m365link.EventSingleInstance,
		Subject: "Supply contract", BodyPreview: "Terms", Organizer: aliceAddr,
		Attendees: []m365link.Attendee{
			{EmailAddress: vendor, Type: m365link.AttendeeRequired, Response: "none"},
			{EmailAddress: m365link.EmailAddress{Address: "bob@contoso.com"}, Type: m365link.AttendeeOptional, Response: "none"},
			{EmailAddress: m365link.EmailAddress{Name: "Fjord", Address: "fjord@contoso.com"}, Type: m365link.AttendeeResource, Response: "none"}},
		Start: time.Date(2026, 11, 24, 8, 30, 0, 0, time.UTC), End: time.Date(2026, 11, 24, 9, 15, 0, 0, time.UTC),
		TimeZone: "W. Europe Standard Time", IANAZone: "Europe/Berlin", OnlineMeetingProvider: "unknown", Location: "Fjord",
		Categories: []string{"Vendors"}, Sensitivity: "private", ShowAs: "tentative", LastModified: stored.LastModifiedDateTime,
		WebLink: "https://outlook.office365.com/owa/?ItemID=" + strings.ReplaceAll(strings.ReplaceAll(ev.ID, "=", "%3D"), "+", "%2B") + "&exvsurl=1&viewmodel=CalendarItem",
	}, Body: "<p>Terms</p>", BodyHTML: true, IsOrganizer: true, Reminder: 30 * time.Minute, ReminderOn: true,
		TransactionID: stored.TransactionID}
	assert.Equal(t, want, ev)

	reqs := e.rec.take()
	require.Equal(t, []string{"POST /users/" + e.alice.ID + "/calendar/events"}, methods(reqs))
	assert.Equal(t, `IdType="ImmutableId", outlook.timezone="W. Europe Standard Time"`, reqs[0].Prefer)
	body, tx := withoutCallKey(t, reqs[0].Body)
	assert.Equal(t, stored.TransactionID, tx)
	assert.JSONEq(t, `{"subject":"Supply contract","body":{"contentType":"html","content":"<p>Terms</p>"},
		"location":{"displayName":"Fjord"},
		"attendees":[{"type":"required","emailAddress":{"name":"Vera Vendor","address":"vera@acme.example"}},
		  {"type":"optional","emailAddress":{"name":"","address":"bob@contoso.com"}},
		  {"type":"resource","emailAddress":{"name":"Fjord","address":"fjord@contoso.com"}}],
		"categories":["Vendors"],"sensitivity":"private","showAs":"tentative","isReminderOn":true,"reminderMinutesBeforeStart":30,
		"start":{"dateTime":"2026-11-24T09:30:00.0000000","timeZone":"W. Europe Standard Time"},
		"end":{"dateTime":"2026-11-24T10:15:00.0000000","timeZone":"W. Europe Standard Time"},"isAllDay":false}`, body)
	assert.Equal(t, []fakegraph.MeetingMessage{{Kind: "request", EventID: ev.ID, Subject: "Supply contract",
		To: []fakegraph.Address{{Name: "Vera Vendor", Address: "vera@acme.example"}, {Address: "bob@contoso.com"}, {Name: "Fjord", Address: "fjord@contoso.com"}}}},
		e.fake.MeetingMessages(e.alice.ID))
}

func TestCreateAllDay(t *testing.T) {
	e := newEnv(t, graphclient.Retry{})
	ev, err := e.cal.Create(t.Context(), e.tok, e.alice.ID, &calendar.Meeting{Subject: "Trade fair", AllDay: true, TimeZone: "Europe/Berlin",
		StartDate: m365link.Date{Year: 2027, Month: 3, Day: 27}, EndDate: m365link.Date{Year: 2027, Month: 3, Day: 29}, NoReminder: true}, nil)
	require.NoError(t, err)
	assert.Equal(t, m365link.Date{Year: 2027, Month: 3, Day: 27}, ev.StartDate)
	assert.Equal(t, m365link.Date{Year: 2027, Month: 3, Day: 29}, ev.EndDate)
	assert.Equal(t, time.Date(2027, 3, 26, 23, 0, 0, 0, time.UTC), ev.Start)
	assert.Equal(t, time.Date(2027, 3, 28, 22, 0, 0, 0, time.UTC), ev.End, "the end is midnight of summer time")
	assert.False(t, ev.ReminderOn)
}

func create(t *testing.T, e *env, key string) (*calendar.Event, error) {
	t.Helper()
	return createCtx(t.Context(), e, key)
}

func createCtx(ctx context.Context, e *env, key string) (*calendar.Event, error) {
	start := time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)
	return e.cal.Create(ctx, e.tok, e.alice.ID, &calendar.Meeting{Subject: "Price review", Start: start, End: start.Add(time.Hour),
		Attendees: []m365link.Attendee{{EmailAddress: vendor}}}, &calendar.CreateOptions{Key: key})
}

// A create whose answer is lost after Graph made the event (a 503 on the
// way back) is not sent again: the key finds the event.
func TestRetriedCreateAfter503MakesOneEvent(t *testing.T) {
	e := newEnv(t, graphclient.Retry{})
	e.fake.Inject(fakegraph.Fault{Route: "/calendar/events", Kind: fakegraph.AppliedThen503, RetryAfter: "1", Times: 1, Skip: 1})
	ev, err := create(t, e, "booking-17")
	require.NoError(t, err)
	evs := e.events(t, e.alice.ID)
	require.Len(t, evs, 1)
	assert.Equal(t, evs[0].ID, ev.ID)
	assert.Equal(t, "booking-17", ev.Key)
	assert.Equal(t, map[string]string{"String {3f6c2a9e-8d41-4b7a-9e05-6a1d2c7b4e93} Name m365link.calendar.key": "booking-17",
		"String {3f6c2a9e-8d41-4b7a-9e05-6a1d2c7b4e93} Name m365link.calendar.keyhash": "7bc1eb008d8592a43555277fe69537fb06f4a6a88f96e5bdaa57729649aa1fcd"},
		evs[0].ExtendedProperties, "the key as given, and its digest that lookups filter on")
	assert.Equal(t, "m365link-", evs[0].TransactionID[:9])
	assert.Equal(t, []string{"GET /users/" + e.alice.ID + "/calendar/events", "POST /users/" + e.alice.ID + "/calendar/events",
		"GET /users/" + e.alice.ID + "/calendar/events"}, methods(e.rec.take()))
	assert.Len(t, e.fake.MeetingMessages(e.alice.ID), 1, "one invitation")
}

// A create that timed out on the caller's side, and one retried after a
// crash, find the first one by key.
func TestRetriedCreateAfterTimeoutOrCrashMakesOneEvent(t *testing.T) {
	e := newEnv(t, graphclient.Retry{MaxAttempts: 1})
	// The POST is held 2 s and the caller gives up after 1 s: room for the
	// lookup before it even on a loaded machine.
	e.fake.Inject(fakegraph.Fault{Route: "/calendar/events", Kind: fakegraph.Latency, Delay: 2 * time.Second, Times: 1, Skip: 1})
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	_, err := createCtx(ctx, e, "booking-18")
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Eventually(t, func() bool { return len(e.events(t, e.alice.ID)) == 1 }, 5*time.Second, 10*time.Millisecond, "the fake finishes the create")
	first := e.events(t, e.alice.ID)[0]
	again, err := create(t, e, "booking-18")
	require.NoError(t, err)
	assert.Equal(t, first.ID, again.ID)
	third, err := create(t, e, "booking-18") // after a crash and restart: the same call again
	require.NoError(t, err)
	assert.Equal(t, first.ID, third.ID)
	assert.Len(t, e.events(t, e.alice.ID), 1)
	assert.Len(t, e.fake.MeetingMessages(e.alice.ID), 1)
	other, err := create(t, e, "booking-19")
	require.NoError(t, err)
	assert.NotEqual(t, first.ID, other.ID)
	found, err := e.cal.FindByKey(t.Context(), e.tok, e.alice.ID, "", "booking-19")
	require.NoError(t, err)
	assert.Equal(t, other.ID, found.ID)
	none, err := e.cal.FindByKey(t.Context(), e.tok, e.alice.ID, "", "booking-20")
	require.NoError(t, err)
	assert.Nil(t, none)
}

func teams(t *testing.T, e *env) (*calendar.Event, error) {
	start := time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)
	return e.cal.Create(t.Context(), e.tok, e.alice.ID, &calendar.Meeting{Subject: "Kick-off", Start: start, End: start.Add(time.Hour),
		Attendees: []m365link.Attendee{{EmailAddress: vendor}}, Teams: true}, nil)
}

func TestTeamsMeetingHasItsJoinLink(t *testing.T) {
	e := newEnv(t, graphclient.Retry{})
	ev, err := teams(t, e)
	require.NoError(t, err)
	stored, _ := e.fake.Event(e.alice.ID, ev.ID)
	assert.Equal(t, stored.JoinURL, ev.JoinURL)
	assert.True(t, strings.HasPrefix(ev.JoinURL, "https://teams.microsoft.com/l/meetup-join/"), ev.JoinURL)
	assert.Equal(t, "teamsForBusiness", ev.OnlineMeetingProvider)
	reqs := e.rec.take()
	assert.Equal(t, []string{"GET /users/" + e.alice.ID + "/calendar", "POST /users/" + e.alice.ID + "/calendar/events"}, methods(reqs))
	body, _ := withoutCallKey(t, reqs[1].Body)
	assert.JSONEq(t, `{"subject":"Kick-off","attendees":[{"type":"required","emailAddress":{"name":"Vera Vendor","address":"vera@acme.example"}}],
		"sensitivity":"normal","showAs":"busy","isOnlineMeeting":true,"onlineMeetingProvider":"teamsForBusiness",
		"start":{"dateTime":"2026-11-26T15:00:00.0000000","timeZone":"UTC"},"end":{"dateTime":"2026-11-26T16:00:00.0000000","timeZone":"UTC"},"isAllDay":false}`, body)
}

func TestTeamsLinkArrivingLateIsReadAgain(t *testing.T) {
	e := newEnv(t, graphclient.Retry{})
	e.fake.SetOnlineMeetings(e.alice.ID, fakegraph.OnlineMeetingsLateJoinURL)
	ev, err := teams(t, e)
	require.NoError(t, err)
	stored, _ := e.fake.Event(e.alice.ID, ev.ID)
	assert.Equal(t, stored.JoinURL, ev.JoinURL)
	assert.NotEmpty(t, ev.JoinURL)
	assert.Equal(t, []string{"GET /users/" + e.alice.ID + "/calendar", "POST /users/" + e.alice.ID + "/calendar/events",
		"GET /users/" + e.alice.ID + "/events/" + ev.ID}, methods(e.rec.take()))
}

func TestTeamsRequestWithoutALinkIsReported(t *testing.T) {
	e := newEnv(t, graphclient.Retry{})
	e.fake.SetOnlineMeetings(e.alice.ID, fakegraph.OnlineMeetingsNoJoinURL)
	ev, err := teams(t, e)
	require.ErrorIs(t, err, calendar.ErrJoinURLMissing)
	var ce *calendar.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, &calendar.Error{Op: "create", Mailbox: e.alice.ID, EventID: ev.ID, Kind: calendar.ErrJoinURLMissing, Detail: "read 4 times"}, ce)
	assert.Equal(t, "calendar: create in "+e.alice.ID+" (event "+ev.ID+"): Teams meeting has no join link: read 4 times", err.Error())
	assert.Len(t, methods(e.rec.take()), 5, "calendar check, create, three reads")
	assert.Len(t, e.events(t, e.alice.ID), 1, "the event exists")
}

func TestTeamsUnavailableIsRefusedBeforeInviting(t *testing.T) {
	e := newEnv(t, graphclient.Retry{})
	e.fake.SetOnlineMeetings(e.alice.ID, fakegraph.OnlineMeetingsUnavailable)
	ev, err := teams(t, e)
	require.ErrorIs(t, err, calendar.ErrTeamsUnavailable)
	assert.Nil(t, ev)
	assert.Equal(t, []string{"GET /users/" + e.alice.ID + "/calendar"}, methods(e.rec.take()))
	assert.Empty(t, e.events(t, e.alice.ID))
	assert.Empty(t, e.fake.MeetingMessages(e.alice.ID))
}

// Europe/Berlin starts summer time on 28 March 2027: a weekly meeting at
// 09:00 stays at 09:00, an hour earlier in UTC.
func TestWeeklySeriesAcrossDaylightSavingKeepsItsHour(t *testing.T) {
	e := newEnv(t, graphclient.Retry{})
	start := time.Date(2027, 3, 22, 9, 0, 0, 0, berlin(t))
	ev, err := e.cal.Create(t.Context(), e.tok, e.alice.ID, &calendar.Meeting{Subject: "Supplier stand-up", Start: start, End: start.Add(15 * time.Minute),
		Recurrence: &calendar.Recurrence{Pattern: calendar.Weekly, FirstDayOfWeek: time.Monday, Count: 3}}, nil)
	require.NoError(t, err)
	assert.Equal(t, m365link.EventSeriesMaster, ev.Type)
	assert.Equal(t, &calendar.Recurrence{Pattern: calendar.Weekly, Interval: 1, Days: []time.Weekday{time.Monday}, FirstDayOfWeek: time.Monday, Count: 3}, ev.Recurrence)
	occ, err := e.cal.Instances(t.Context(), e.tok, e.alice.ID, ev.ID, calendar.TimeRange{Start: start.AddDate(0, 0, -1), End: start.AddDate(0, 1, 0)})
	require.NoError(t, err)
	var starts []time.Time
	for _, o := range occ {
		starts = append(starts, o.Start)
		assert.Equal(t, 9, o.Start.In(berlin(t)).Hour())
	}
	assert.Equal(t, []time.Time{time.Date(2027, 3, 22, 8, 0, 0, 0, time.UTC), time.Date(2027, 3, 29, 7, 0, 0, 0, time.UTC),
		time.Date(2027, 4, 5, 7, 0, 0, 0, time.UTC)}, starts)

	monthly, err := e.cal.Create(t.Context(), e.tok, e.alice.ID, &calendar.Meeting{Subject: "Invoice run", Start: start, End: start.Add(time.Hour),
		Recurrence: &calendar.Recurrence{Pattern: calendar.RelativeMonthly, Until: m365link.Date{Year: 2027, Month: 6, Day: 30}}}, nil)
	require.NoError(t, err)
	assert.Equal(t, &calendar.Recurrence{Pattern: calendar.RelativeMonthly, Interval: 1, Days: []time.Weekday{time.Monday}, Index: calendar.Fourth,
		Until: m365link.Date{Year: 2027, Month: 6, Day: 30}}, monthly.Recurrence)
	occ, err = e.cal.Instances(t.Context(), e.tok, e.alice.ID, monthly.ID, calendar.TimeRange{Start: start.AddDate(0, 0, -1), End: start.AddDate(1, 0, 0)})
	require.NoError(t, err)
	var days []string
	for _, o := range occ {
		days = append(days, o.Start.In(berlin(t)).Format("2006-01-02 15:04"))
	}
	assert.Equal(t, []string{"2027-03-22 09:00", "2027-04-26 09:00", "2027-05-24 09:00", "2027-06-28 09:00"}, days)

	_, err = e.cal.Create(t.Context(), e.tok, e.alice.ID, &calendar.Meeting{Subject: "x", Start: time.Date(2027, 3, 22, 9, 0, 0, 0, time.FixedZone("", 3600)),
		End: time.Date(2027, 3, 22, 10, 0, 0, 0, time.FixedZone("", 3600)), Recurrence: &calendar.Recurrence{Pattern: calendar.Daily, Count: 2}}, nil)
	assert.ErrorIs(t, err, calendar.ErrInvalid, "a series in a fixed offset would drift at DST")
}

func TestUpdateSendsOnlyWhatChanged(t *testing.T) {
	e := newEnv(t, graphclient.Retry{})
	ev, err := create(t, e, "")
	require.NoError(t, err)
	e.rec.take()

	same, err := e.cal.Update(t.Context(), e.tok, e.alice.ID, ev.ID, func(*calendar.Meeting) {}, nil)
	require.NoError(t, err)
	assert.Equal(t, ev.ID, same.ID)
	assert.Equal(t, []string{"GET /users/" + e.alice.ID + "/events/" + ev.ID}, methods(e.rec.take()), "nothing changed, nothing sent")

	moved, err := e.cal.Update(t.Context(), e.tok, e.alice.ID, ev.ID, func(m *calendar.Meeting) {
		m.Subject = "Price review (moved)"
		m.Start, m.End = m.Start.Add(time.Hour), m.End.Add(time.Hour)
	}, nil)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC), moved.Start)
	reqs := e.rec.take()
	require.Len(t, reqs, 2)
	assert.JSONEq(t, `{"subject":"Price review (moved)","start":{"dateTime":"2026-11-25T15:00:00.0000000","timeZone":"UTC"},
		"end":{"dateTime":"2026-11-25T16:00:00.0000000","timeZone":"UTC"},"isAllDay":false}`, reqs[1].Body)

	_, err = e.cal.Update(t.Context(), e.tok, e.alice.ID, ev.ID, func(m *calendar.Meeting) {
		m.Attendees = append(m.Attendees, m365link.Attendee{EmailAddress: m365link.EmailAddress{Name: "Otto", Address: "otto@acme.example"}})
	}, nil)
	require.NoError(t, err)
	reqs = e.rec.take()
	assert.JSONEq(t, `{"attendees":[{"type":"required","emailAddress":{"name":"Vera Vendor","address":"vera@acme.example"}},
		{"type":"required","emailAddress":{"name":"Otto","address":"otto@acme.example"}}]}`, reqs[1].Body)
	assert.Equal(t, []fakegraph.MeetingMessage{
		{Kind: "request", EventID: ev.ID, Subject: "Price review", To: []fakegraph.Address{{Name: "Vera Vendor", Address: "vera@acme.example"}}},
		{Kind: "update", EventID: ev.ID, Subject: "Price review (moved)", To: []fakegraph.Address{{Name: "Vera Vendor", Address: "vera@acme.example"}}},
		{Kind: "request", EventID: ev.ID, Subject: "Price review (moved)", To: []fakegraph.Address{{Name: "Otto", Address: "otto@acme.example"}}},
	}, e.fake.MeetingMessages(e.alice.ID), "adding an attendee invites only them")

	_, err = e.cal.Update(t.Context(), e.tok, e.alice.ID, ev.ID, func(m *calendar.Meeting) { m.Teams = true }, nil)
	require.NoError(t, err)
	_, err = e.cal.Update(t.Context(), e.tok, e.alice.ID, ev.ID, func(m *calendar.Meeting) { m.Teams = false }, nil)
	assert.ErrorIs(t, err, calendar.ErrInvalid)
}

func TestWritesToSomeoneElsesMeetingAreRefused(t *testing.T) {
	e := newEnv(t, graphclient.Retry{})
	theirs := e.fake.AddEvent(e.alice.ID, fakegraph.Event{Subject: "Their meeting", Organizer: fakegraph.Address{Name: "Vera Vendor", Address: "vera@acme.example"},
		Attendees: []fakegraph.Attendee{{Address: fakegraph.Address{Name: "Alice Smith", Address: "alice@contoso.com"}}},
		Start:     time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 27, 11, 0, 0, 0, time.UTC)})
	_, err := e.cal.Update(t.Context(), e.tok, e.alice.ID, theirs.ID, func(m *calendar.Meeting) { m.Subject = "Mine now" }, nil)
	require.ErrorIs(t, err, calendar.ErrNotOrganizer)
	assert.Equal(t, "calendar: update in "+e.alice.ID+" (event "+theirs.ID+"): only the meeting's organizer can do this: the meeting is organised by vera@acme.example; only its copy in "+e.alice.ID+" would change", err.Error())
	err = e.cal.Cancel(t.Context(), e.tok, e.alice.ID, theirs.ID, "no")
	require.ErrorIs(t, err, calendar.ErrNotOrganizer)
	assert.Equal(t, []string{"GET /users/" + e.alice.ID + "/events/" + theirs.ID, "GET /users/" + e.alice.ID + "/events/" + theirs.ID}, methods(e.rec.take()))

	up, err := e.cal.Update(t.Context(), e.tok, e.alice.ID, theirs.ID, func(m *calendar.Meeting) { m.Categories = []string{"Vendors"} },
		&calendar.WriteOptions{AllowNonOrganizer: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"Vendors"}, up.Categories)
	assert.Empty(t, e.fake.MeetingMessages(e.alice.ID), "nobody was told anything")
}

func TestCancelAndDelete(t *testing.T) {
	e := newEnv(t, graphclient.Retry{})
	ev, err := create(t, e, "")
	require.NoError(t, err)
	require.NoError(t, e.cal.Cancel(t.Context(), e.tok, e.alice.ID, ev.ID, "Sorry, the plant is closed that day"))
	_, ok := e.fake.Event(e.alice.ID, ev.ID)
	assert.False(t, ok)
	msgs := e.fake.MeetingMessages(e.alice.ID)
	assert.Equal(t, fakegraph.MeetingMessage{Kind: "cancel", EventID: ev.ID, Subject: "Price review",
		To: []fakegraph.Address{{Name: "Vera Vendor", Address: "vera@acme.example"}}, Comment: "Sorry, the plant is closed that day"}, msgs[len(msgs)-1])

	other, err := create(t, e, "")
	require.NoError(t, err)
	require.NoError(t, e.cal.Delete(t.Context(), e.tok, e.alice.ID, other.ID))
	assert.Empty(t, e.events(t, e.alice.ID))
	err = e.cal.Delete(t.Context(), e.tok, e.alice.ID, other.ID)
	assert.ErrorIs(t, err, m365link.ErrNotFound)
	var ge *m365link.GraphError
	require.ErrorAs(t, err, &ge)
	assert.Equal(t, "ErrorItemNotFound", ge.Code)
}

func TestTypedErrors(t *testing.T) {
	e := newEnv(t, graphclient.Retry{})
	start := time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)
	m := &calendar.Meeting{Subject: "x", Start: start, End: start.Add(time.Hour)}

	_, err := e.cal.Create(t.Context(), e.tok, e.alice.ID, m, &calendar.CreateOptions{CalendarID: "no-such-calendar"})
	assert.ErrorIs(t, err, calendar.ErrCalendarNotFound)
	assert.ErrorIs(t, err, m365link.ErrNotFound)

	e.fake.SetTokenUser(func(token string, _ *http.Request) string { return strings.TrimPrefix(token, "user:") })
	bobTok := graphclient.StaticToken("user:" + e.bob.ID)
	e.fake.ShareCalendar(e.alice.ID, e.bob.ID, fakegraph.ShareRead)
	_, err = e.cal.Create(t.Context(), bobTok, e.alice.ID, m, nil)
	assert.ErrorIs(t, err, calendar.ErrCalendarReadOnly)
	assert.ErrorIs(t, err, m365link.ErrForbidden)
	e.fake.ShareCalendar(e.alice.ID, e.bob.ID, fakegraph.ShareWrite)
	ev, err := e.cal.Create(t.Context(), bobTok, e.alice.ID, m, nil)
	require.NoError(t, err, "Bob books in Alice's calendar as her delegate")
	assert.Equal(t, aliceAddr, ev.Organizer)

	many := make([]m365link.Attendee, calendar.MaxAttendees+1)
	for i := range many {
		many[i] = m365link.Attendee{EmailAddress: m365link.EmailAddress{Address: "a" + strconv.Itoa(i) + "@acme.example"}}
	}
	e.rec.take()
	_, err = e.cal.Create(t.Context(), e.tok, e.alice.ID, &calendar.Meeting{Subject: "x", Start: start, End: start.Add(time.Hour), Attendees: many}, nil)
	assert.ErrorIs(t, err, calendar.ErrAttendeeLimit)
	assert.Empty(t, e.rec.take(), "refused before sending")

	e.fake.AddUser("", fakegraph.User{UPN: "gone@contoso.com", DisplayName: "Gone", MailEnabled: false})
	_, err = e.cal.Create(t.Context(), e.tok, "gone@contoso.com", m, nil)
	assert.ErrorIs(t, err, m365link.ErrMailboxNotEnabled)
	assert.NotErrorIs(t, err, calendar.ErrCalendarNotFound)

	once := newEnv(t, graphclient.Retry{MaxAttempts: 1})
	once.fake.Inject(fakegraph.Fault{Route: "getSchedule", Kind: fakegraph.Throttle429, RetryAfter: "7"})
	_, err = once.cal.Schedules(t.Context(), once.tok, once.alice.ID, []string{"bob@contoso.com"}, calendar.TimeRange{Start: start, End: start.Add(time.Hour)}, nil)
	assert.ErrorIs(t, err, m365link.ErrThrottled)
	wait, ok := m365link.RetryAfter(err)
	assert.True(t, ok)
	assert.Equal(t, 7*time.Second, wait)
	var ce *calendar.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "schedule", ce.Op)
}

func TestSchedulesOfUsersAndRooms(t *testing.T) {
	e := newEnv(t, graphclient.Retry{})
	e.fake.AddRoom("", fakegraph.Room{DisplayName: "Fjord", EmailAddress: "fjord@contoso.com", Capacity: 8})
	e.fake.SetMailboxSettings(e.bob.ID, fakegraph.MailboxSettings{TimeZone: "W. Europe Standard Time"})
	day := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	e.fake.AddEvent(e.bob.ID, fakegraph.Event{Subject: "1:1", Start: day.Add(9 * time.Hour), End: day.Add(10 * time.Hour), Location: "Desk"})
	e.fake.AddEvent("fjord@contoso.com", fakegraph.Event{Subject: "Booked", Start: day.Add(9*time.Hour + 30*time.Minute), End: day.Add(11 * time.Hour), ShowAs: "tentative"})
	window := calendar.TimeRange{Start: day.Add(8 * time.Hour), End: day.Add(12 * time.Hour)}
	scheds, err := e.cal.Schedules(t.Context(), e.tok, e.alice.ID, []string{"bob@contoso.com", "fjord@contoso.com", "nobody@contoso.com"}, window,
		&calendar.ScheduleOptions{Interval: time.Hour, TimeZone: "Europe/Berlin"})
	require.NoError(t, err)
	loc := berlin(t)
	assert.Equal(t, []calendar.Schedule{
		{Address: "bob@contoso.com", View: "0200", Busy: []calendar.BusyBlock{{TimeRange: calendar.TimeRange{Start: day.Add(9 * time.Hour).In(loc), End: day.Add(10 * time.Hour).In(loc)},
			Status: calendar.Busy, Subject: "1:1", Location: "Desk"}},
			WorkingHours: &calendar.WorkingHours{Days: []time.Weekday{1, 2, 3, 4, 5}, Start: 8 * time.Hour, End: 17 * time.Hour, TimeZone: "W. Europe Standard Time", Location: loc}},
		{Address: "fjord@contoso.com", View: "0110", Busy: []calendar.BusyBlock{{TimeRange: calendar.TimeRange{Start: day.Add(9*time.Hour + 30*time.Minute).In(loc), End: day.Add(11 * time.Hour).In(loc)},
			Status: calendar.Tentative, Subject: "Booked"}},
			WorkingHours: &calendar.WorkingHours{Days: []time.Weekday{1, 2, 3, 4, 5}, Start: 8 * time.Hour, End: 17 * time.Hour, TimeZone: "UTC", Location: time.UTC}},
		{Address: "nobody@contoso.com", Err: &calendar.ScheduleError{Address: "nobody@contoso.com", ResponseCode: "5009", Message: "The requested user 'nobody@contoso.com' is invalid."}},
	}, scheds)
	assert.Equal(t, `IdType="ImmutableId", outlook.timezone="Europe/Berlin"`, e.rec.take()[0].Prefer)

	// 45 addresses go in requests of 20, 20 and 5.
	addrs := make([]string, 45)
	for i := range addrs {
		addrs[i] = "bob@contoso.com"
	}
	scheds, err = e.cal.Schedules(t.Context(), e.tok, e.alice.ID, addrs, window, nil)
	require.NoError(t, err)
	assert.Len(t, scheds, 45)
	reqs := e.rec.take()
	assert.Equal(t, []string{"POST /users/" + e.alice.ID + "/calendar/getSchedule", "POST /users/" + e.alice.ID + "/calendar/getSchedule",
		"POST /users/" + e.alice.ID + "/calendar/getSchedule"}, methods(reqs))
	assert.Equal(t, 5, strings.Count(reqs[2].Body, "bob@contoso.com"))

	_, err = e.cal.Schedules(t.Context(), e.tok, e.alice.ID, addrs, calendar.TimeRange{Start: day, End: day.AddDate(0, 0, 62)}, nil)
	assert.ErrorIs(t, err, calendar.ErrInvalid)
}

func TestFreeSlots(t *testing.T) {
	day := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	at := func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	block := func(h1, m1, h2, m2 int, st calendar.FreeBusy) calendar.BusyBlock {
		return calendar.BusyBlock{TimeRange: calendar.TimeRange{Start: at(h1, m1), End: at(h2, m2)}, Status: st}
	}
	wh := &calendar.WorkingHours{Days: []time.Weekday{time.Monday}, Start: 9 * time.Hour, End: 17 * time.Hour, Location: time.UTC}
	scheds := []calendar.Schedule{
		{Address: "a", Busy: []calendar.BusyBlock{block(9, 0, 10, 15, calendar.Busy), block(12, 0, 13, 0, calendar.Tentative)}, WorkingHours: wh},
		{Address: "b", Busy: []calendar.BusyBlock{block(10, 0, 11, 0, calendar.OutOfOffice), block(14, 0, 15, 0, calendar.WorkingElsewhere),
			block(15, 0, 15, 20, calendar.Free)}},
	}
	window := calendar.TimeRange{Start: at(8, 0), End: at(18, 0)}
	slots, err := calendar.FreeSlots(window, scheds, calendar.SlotOptions{Length: time.Hour, Step: 30 * time.Minute, WorkingHoursOnly: true})
	require.NoError(t, err)
	assert.Equal(t, []calendar.TimeRange{{Start: at(11, 0), End: at(12, 0)}, {Start: at(13, 0), End: at(17, 0)}}, slots)
	slots, err = calendar.FreeSlots(window, scheds, calendar.SlotOptions{Length: 45 * time.Minute, TentativeIsFree: true})
	require.NoError(t, err)
	assert.Equal(t, []calendar.TimeRange{{Start: at(8, 0), End: at(9, 0)}, {Start: at(11, 0), End: at(18, 0)}}, slots)
	_, err = calendar.FreeSlots(window, append(scheds, calendar.Schedule{Address: "x", Err: &calendar.ScheduleError{Address: "x", ResponseCode: "5009"}}), calendar.SlotOptions{})
	assert.Equal(t, &calendar.ScheduleError{Address: "x", ResponseCode: "5009"}, err)
}

func TestFindMeetingTimes(t *testing.T) {
	e := newEnv(t, graphclient.Retry{})
	day := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	e.fake.AddEvent(e.bob.ID, fakegraph.Event{Subject: "Busy", Start: day.Add(9 * time.Hour), End: day.Add(10 * time.Hour)})
	got, err := e.cal.FindMeetingTimes(t.Context(), e.tok, e.alice.ID, &calendar.MeetingTimeRequest{
		Attendees: []m365link.Attendee{{EmailAddress: m365link.EmailAddress{Name: "Bob Jones", Address: "bob@contoso.com"}}},
		Windows:   []calendar.TimeRange{{Start: day.Add(9 * time.Hour), End: day.Add(11 * time.Hour)}}, Length: time.Hour, MaxCandidates: 2})
	require.NoError(t, err)
	bob := func(av calendar.FreeBusy) []calendar.AttendeeAvailability {
		return []calendar.AttendeeAvailability{{EmailAddress: m365link.EmailAddress{Name: "Bob Jones", Address: "bob@contoso.com"}, Type: m365link.AttendeeRequired, Availability: av}}
	}
	reason := "Suggested because it is one of the nearest times when all attendees are available."
	assert.Equal(t, &calendar.MeetingTimes{Suggestions: []calendar.Suggestion{
		{TimeRange: calendar.TimeRange{Start: day.Add(10 * time.Hour), End: day.Add(11 * time.Hour)}, Confidence: 100, OrganizerAvailability: calendar.Free, Attendees: bob(calendar.Free), Reason: reason},
	}}, got)
	none, err := e.cal.FindMeetingTimes(t.Context(), e.tok, e.alice.ID, &calendar.MeetingTimeRequest{
		Attendees: []m365link.Attendee{{EmailAddress: m365link.EmailAddress{Address: "bob@contoso.com"}}},
		Windows:   []calendar.TimeRange{{Start: day.Add(9 * time.Hour), End: day.Add(10 * time.Hour)}}, Length: time.Hour})
	require.NoError(t, err)
	assert.Equal(t, &calendar.MeetingTimes{EmptyReason: "attendeesUnavailable"}, none)
	assert.JSONEq(t, `{"attendees":[{"type":"required","emailAddress":{"name":"","address":"bob@contoso.com"}}],"meetingDuration":"PT1H",
		"isOrganizerOptional":false,"returnSuggestionReasons":true,
		"timeConstraint":{"activityDomain":"work","timeSlots":[{"start":{"dateTime":"2026-11-23T09:00:00","timeZone":"UTC"},"end":{"dateTime":"2026-11-23T10:00:00","timeZone":"UTC"}}]}}`,
		e.rec.take()[1].Body)
}

func TestMailboxSettings(t *testing.T) {
	e := newEnv(t, graphclient.Retry{})
	e.fake.SetMailboxSettings(e.alice.ID, fakegraph.MailboxSettings{TimeZone: "Pacific Standard Time", WorkStart: 7*time.Hour + 30*time.Minute, WorkEnd: 16 * time.Hour})
	got, err := e.cal.MailboxSettings(t.Context(), e.tok, e.alice.ID)
	require.NoError(t, err)
	la, err := time.LoadLocation("America/Los_Angeles")
	require.NoError(t, err)
	assert.Equal(t, &calendar.MailboxSettings{TimeZone: "Pacific Standard Time", IANAZone: "America/Los_Angeles", Location: la,
		WorkingHours: &calendar.WorkingHours{Days: []time.Weekday{1, 2, 3, 4, 5}, Start: 7*time.Hour + 30*time.Minute, End: 16 * time.Hour,
			TimeZone: "Pacific Standard Time", Location: la},
		DateFormat: "M/d/yyyy", TimeFormat: "h:mm tt", Locale: "en-US"}, got)
	_, err = e.cal.MailboxSettings(t.Context(), e.tok, "nobody@contoso.com")
	assert.ErrorIs(t, err, m365link.ErrNotFound)
}

func TestRooms(t *testing.T) {
	e := newEnv(t, graphclient.Retry{})
	e.fake.AddRoomList("", fakegraph.RoomList{ID: "rl-hq", DisplayName: "HQ", EmailAddress: "hq@contoso.com"})
	e.fake.AddRoomList("", fakegraph.RoomList{ID: "rl-lab", DisplayName: "Lab", EmailAddress: "lab@contoso.com"})
	e.fake.AddRoom("", fakegraph.Room{ID: "r1", DisplayName: "Fjord", EmailAddress: "fjord@contoso.com", Capacity: 8, Building: "HQ", FloorNumber: 2, RoomList: "hq@contoso.com", IsWheelChairAccessible: true})
	e.fake.AddRoom("", fakegraph.Room{ID: "r2", DisplayName: "Delta", EmailAddress: "delta@contoso.com", Capacity: 4, RoomList: "lab@contoso.com"})
	lists, err := e.cal.RoomLists(t.Context(), e.tok)
	require.NoError(t, err)
	assert.Equal(t, []calendar.RoomList{{ID: "rl-hq", Name: "HQ", Address: "hq@contoso.com"}, {ID: "rl-lab", Name: "Lab", Address: "lab@contoso.com"}}, lists)
	rooms, err := e.cal.Rooms(t.Context(), e.tok, "hq@contoso.com")
	require.NoError(t, err)
	fjord := calendar.Room{ID: "r1", Name: "Fjord", Address: "fjord@contoso.com", Capacity: 8, Building: "HQ", FloorNumber: 2, WheelchairAccessible: true}
	assert.Equal(t, []calendar.Room{fjord}, rooms)
	all, err := e.cal.Rooms(t.Context(), e.tok, "")
	require.NoError(t, err)
	assert.Equal(t, []calendar.Room{fjord, {ID: "r2", Name: "Delta", Address: "delta@contoso.com", Capacity: 4}}, all)
	assert.Equal(t, m365link.Attendee{EmailAddress: m365link.EmailAddress{Name: "Fjord", Address: "fjord@contoso.com"}, Type: m365link.AttendeeResource}, fjord.Attendee())
	_, err = e.cal.Rooms(t.Context(), e.tok, "nope@contoso.com")
	assert.ErrorIs(t, err, m365link.ErrNotFound)
}

func TestNewRefusesAForeignClient(t *testing.T) {
	_, err := calendar.New(calendar.Config{Client: &graphclient.Client{}, JoinURLChecks: -1})
	assert.EqualError(t, err, "calendar: invalid Config: Client was not made by graphclient.New; JoinURLChecks is negative; 0 takes the default")
	assert.False(t, errors.Is(err, calendar.ErrInvalid))
}
