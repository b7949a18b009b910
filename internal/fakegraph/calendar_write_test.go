package fakegraph_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link/internal/fakegraph"
)

const keyProp = "String {6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d} Name Key"

func post(t *testing.T, s *fakegraph.Server, u, body string, hdr ...string) *response {
	t.Helper()
	return do(t, s, http.MethodPost, u, strings.NewReader(body), append([]string{"Content-Type", "application/json"}, hdr...)...)
}

func TestCreateEventStoresAndRendersWhatWasSent(t *testing.T) {
	s, alice := setup(t)
	r := post(t, s, s.URL()+"/users/"+alice.ID+"/calendar/events", `{
		"subject":"Quarterly review","body":{"contentType":"text","content":"Agenda"},
		"start":{"dateTime":"2026-11-24T09:00:00.0000000","timeZone":"W. Europe Standard Time"},
		"end":{"dateTime":"2026-11-24T10:00:00","timeZone":"W. Europe Standard Time"},
		"location":{"displayName":"Room 1"},
		"attendees":[{"type":"required","emailAddress":{"name":"Bob Vendor","address":"bob@acme.com"}}],
		"categories":["Vendors"],"sensitivity":"private","showAs":"tentative",
		"reminderMinutesBeforeStart":30,"isReminderOn":true,"transactionId":"tx-1",
		"singleValueExtendedProperties":[{"id":"`+keyProp+`","value":"k-1"}]}`,
		"Prefer", `outlook.timezone="W. Europe Standard Time"`)
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	obj := r.object(t)
	assert.Equal(t, map[string]any{"dateTime": "2026-11-24T09:00:00.0000000", "timeZone": "W. Europe Standard Time"}, obj["start"])
	assert.Equal(t, "tx-1", obj["transactionId"])
	assert.Equal(t, 30.0, obj["reminderMinutesBeforeStart"])
	assert.Equal(t, map[string]any{"contentType": "text", "content": "Agenda"}, obj["body"])
	assert.Equal(t, true, obj["isOrganizer"])
	assert.Nil(t, obj["singleValueExtendedProperties"], "a create response does not carry extended properties")

	ev, ok := s.Event(alice.ID, obj["id"].(string))
	require.True(t, ok)
	assert.Equal(t, time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC), ev.Start)
	assert.Equal(t, time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC), ev.End)
	assert.Equal(t, "W. Europe Standard Time", ev.TimeZone)
	assert.Equal(t, map[string]string{keyProp: "k-1"}, ev.ExtendedProperties)
	assert.Equal(t, []fakegraph.MeetingMessage{{Kind: "request", EventID: ev.ID, Subject: "Quarterly review",
		To: []fakegraph.Address{{Name: "Bob Vendor", Address: "bob@acme.com"}}}}, s.MeetingMessages(alice.ID))

	// find by key: the filter finds it (value case-insensitively), $expand reads the property back
	f := get(t, s, s.URL()+"/users/"+alice.ID+"/calendar/events?$filter="+
		escape("singleValueExtendedProperties/Any(ep: ep/id eq '"+keyProp+"' and ep/value eq 'K-1')"))
	p := f.page(t)
	require.Len(t, p.Value, 1)
	assert.Contains(t, string(p.Value[0]), `"id":"`+ev.ID+`"`)
	none := get(t, s, s.URL()+"/users/"+alice.ID+"/events?$filter="+
		escape("singleValueExtendedProperties/Any(ep: ep/id eq '"+keyProp+"' and ep/value eq 'k-2')")).page(t)
	assert.Empty(t, none.Value)
	x := get(t, s, s.URL()+"/users/"+alice.ID+"/events/"+ev.ID+"?$expand="+escape("singleValueExtendedProperties($filter=id eq '"+keyProp+"')")).object(t)
	assert.Equal(t, []any{map[string]any{"id": keyProp, "value": "k-1"}}, x["singleValueExtendedProperties"])
}

func escape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(s, " ", "%20"), "{", "%7B"), "}", "%7D")
}

func TestCreateRefusesUnknownPropertiesAndZones(t *testing.T) {
	s, alice := setup(t)
	u := s.URL() + "/users/" + alice.ID + "/events"
	r := post(t, s, u, `{"subjet":"x"}`)
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.Equal(t, "RequestBodyRead", r.errorCode(t))
	r = post(t, s, u, `{"start":{"dateTime":"2026-11-24T09:00:00","timeZone":"Mars Standard Time"},"end":{"dateTime":"2026-11-24T10:00:00","timeZone":"UTC"}}`)
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.Equal(t, "TimeZoneNotSupportedException", r.errorCode(t))
}

// A weekly series across the start of summer time keeps 09:00 in Berlin:
// the UTC instant moves an hour.
func TestRecurrenceExpandsInTheEventsZone(t *testing.T) {
	s, alice := setup(t)
	r := post(t, s, s.URL()+"/users/"+alice.ID+"/events", `{"subject":"Standup",
		"start":{"dateTime":"2027-03-22T09:00:00","timeZone":"W. Europe Standard Time"},
		"end":{"dateTime":"2027-03-22T09:15:00","timeZone":"W. Europe Standard Time"},
		"recurrence":{"pattern":{"type":"weekly","interval":1,"daysOfWeek":["monday"],"firstDayOfWeek":"monday"},
		"range":{"type":"numbered","startDate":"2027-03-22","numberOfOccurrences":3}}}`)
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	master := r.object(t)
	assert.Equal(t, "seriesMaster", master["type"])
	p := get(t, s, s.URL()+"/users/"+alice.ID+"/events/"+master["id"].(string)+"/instances?startDateTime=2027-03-01T00:00:00Z&endDateTime=2027-05-01T00:00:00Z").page(t)
	var starts []string
	for _, raw := range p.Value {
		var e struct{ Start struct{ DateTime string } }
		require.NoError(t, jsonUnmarshal(raw, &e))
		starts = append(starts, e.Start.DateTime)
	}
	assert.Equal(t, []string{"2027-03-22T08:00:00.0000000", "2027-03-29T07:00:00.0000000", "2027-04-05T07:00:00.0000000"}, starts)
}

func TestCancelIsForOrganizersAndSendsTheComment(t *testing.T) {
	s, alice := setup(t)
	mine := s.AddEvent(alice.ID, fakegraph.Event{Subject: "Mine", Organizer: fakegraph.Address{Name: "Alice Smith", Address: "alice@contoso.com"},
		Attendees: []fakegraph.Attendee{{Address: fakegraph.Address{Address: "bob@acme.com"}}}, Start: t0, End: t0.Add(time.Hour)})
	theirs := s.AddEvent(alice.ID, fakegraph.Event{Subject: "Theirs", Organizer: fakegraph.Address{Address: "bob@acme.com"}, Start: t0, End: t0.Add(time.Hour)})
	r := post(t, s, s.URL()+"/users/"+alice.ID+"/events/"+theirs.ID+"/cancel", `{"comment":"no"}`)
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.Contains(t, string(r.Body), "You need to be an organizer to cancel a meeting.")
	r = post(t, s, s.URL()+"/users/"+alice.ID+"/events/"+mine.ID+"/cancel", `{"comment":"Sorry, moved"}`)
	assert.Equal(t, http.StatusAccepted, r.Status)
	_, ok := s.Event(alice.ID, mine.ID)
	assert.False(t, ok)
	assert.Equal(t, []fakegraph.MeetingMessage{{Kind: "cancel", EventID: mine.ID, Subject: "Mine", To: []fakegraph.Address{{Address: "bob@acme.com"}}, Comment: "Sorry, moved"}},
		s.MeetingMessages(alice.ID))
}

func TestSharingDecidesWhoWrites(t *testing.T) {
	s, alice := setup(t)
	bob := s.AddUser("", fakegraph.User{UPN: "bob@contoso.com", DisplayName: "Bob Jones", MailEnabled: true})
	s.SetTokenUser(func(token string, _ *http.Request) string { return strings.TrimPrefix(token, "user-") })
	body := `{"start":{"dateTime":"2026-11-24T09:00:00","timeZone":"UTC"},"end":{"dateTime":"2026-11-24T10:00:00","timeZone":"UTC"}}`
	u := s.URL() + "/users/" + alice.ID + "/calendar/events"
	r := post(t, s, u, body, "Authorization", "Bearer user-"+bob.ID)
	assert.Equal(t, http.StatusNotFound, r.Status)
	s.ShareCalendar(alice.ID, bob.ID, fakegraph.ShareRead)
	r = post(t, s, u, body, "Authorization", "Bearer user-"+bob.ID)
	assert.Equal(t, http.StatusForbidden, r.Status)
	assert.Equal(t, "ErrorAccessDenied", r.errorCode(t))
	cal := get(t, s, s.URL()+"/users/"+alice.ID+"/calendar", "Authorization", "Bearer user-"+bob.ID).object(t)
	assert.Equal(t, false, cal["canEdit"])
	s.ShareCalendar(alice.ID, bob.ID, fakegraph.ShareWrite)
	r = post(t, s, u, body, "Authorization", "Bearer user-"+bob.ID)
	assert.Equal(t, http.StatusCreated, r.Status)
	assert.Equal(t, map[string]any{"emailAddress": map[string]any{"name": "Alice Smith", "address": "alice@contoso.com"}}, r.object(t)["organizer"])
}

func TestAppliedThen503(t *testing.T) {
	s, alice := setup(t)
	s.Inject(fakegraph.Fault{Route: "/events", Kind: fakegraph.AppliedThen503, RetryAfter: "1", Times: 1})
	r := post(t, s, s.URL()+"/users/"+alice.ID+"/events", `{"subject":"x","start":{"dateTime":"2026-11-24T09:00:00","timeZone":"UTC"},"end":{"dateTime":"2026-11-24T10:00:00","timeZone":"UTC"}}`)
	assert.Equal(t, http.StatusServiceUnavailable, r.Status)
	assert.Equal(t, "1", r.Header.Get("Retry-After"))
	p := get(t, s, s.URL()+"/users/"+alice.ID+"/events").page(t)
	assert.Len(t, p.Value, 1, "the create took effect")
}

func TestOnlineMeetingModes(t *testing.T) {
	body := `{"subject":"x","isOnlineMeeting":true,"onlineMeetingProvider":"teamsForBusiness","start":{"dateTime":"2026-11-24T09:00:00","timeZone":"UTC"},"end":{"dateTime":"2026-11-24T10:00:00","timeZone":"UTC"}}`
	for _, tc := range []struct {
		mode            fakegraph.OnlineMeetingMode
		online          bool
		provider        string
		created, reread bool // join URL present
	}{
		{fakegraph.OnlineMeetingsTeams, true, "teamsForBusiness", true, true},
		{fakegraph.OnlineMeetingsUnavailable, false, "unknown", false, false},
		{fakegraph.OnlineMeetingsNoJoinURL, true, "teamsForBusiness", false, false},
		{fakegraph.OnlineMeetingsLateJoinURL, true, "teamsForBusiness", false, true},
	} {
		s, alice := setup(t)
		s.SetOnlineMeetings(alice.ID, tc.mode)
		r := post(t, s, s.URL()+"/users/"+alice.ID+"/events", body)
		require.Equal(t, http.StatusCreated, r.Status)
		obj := r.object(t)
		assert.Equal(t, tc.online, obj["isOnlineMeeting"], tc.mode)
		assert.Equal(t, tc.provider, obj["onlineMeetingProvider"], tc.mode)
		assert.Equal(t, tc.created, obj["onlineMeeting"] != nil, tc.mode)
		again := get(t, s, s.URL()+"/users/"+alice.ID+"/events/"+obj["id"].(string)).object(t)
		assert.Equal(t, tc.reread, again["onlineMeeting"] != nil, tc.mode)
	}
}

func TestGetScheduleRendersGraphsShape(t *testing.T) {
	s, alice := setup(t)
	s.AddUser("", fakegraph.User{UPN: "carol@contoso.com", DisplayName: "Carol White", MailEnabled: true})
	s.SetMailboxSettings("carol@contoso.com", fakegraph.MailboxSettings{TimeZone: "Pacific Standard Time"})
	s.AddEvent("carol@contoso.com", fakegraph.Event{Subject: "Busy", Start: t0, End: t0.Add(time.Hour), Location: "Here"})
	s.AddEvent("carol@contoso.com", fakegraph.Event{Subject: "Secret", Start: t0.Add(time.Hour), End: t0.Add(90 * time.Minute), ShowAs: "oof", Sensitivity: "private"})
	r := post(t, s, s.URL()+"/users/"+alice.ID+"/calendar/getSchedule", `{"schedules":["carol@contoso.com","ghost@contoso.com"],
		"startTime":{"dateTime":"2026-11-20T09:00:00","timeZone":"UTC"},"endTime":{"dateTime":"2026-11-20T12:00:00","timeZone":"UTC"},"availabilityViewInterval":60}`)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.JSONEq(t, `{"@odata.context":"`+s.URL()+`/$metadata#Collection(microsoft.graph.scheduleInformation)","value":[
		{"scheduleId":"carol@contoso.com","availabilityView":"023",
		 "scheduleItems":[
		  {"isPrivate":false,"status":"busy","subject":"Busy","location":"Here","start":{"dateTime":"2026-11-20T10:00:00.0000000","timeZone":"UTC"},"end":{"dateTime":"2026-11-20T11:00:00.0000000","timeZone":"UTC"}},
		  {"isPrivate":true,"status":"oof","start":{"dateTime":"2026-11-20T11:00:00.0000000","timeZone":"UTC"},"end":{"dateTime":"2026-11-20T11:30:00.0000000","timeZone":"UTC"}}],
		 "workingHours":{"daysOfWeek":["monday","tuesday","wednesday","thursday","friday"],"startTime":"08:00:00.0000000","endTime":"17:00:00.0000000","timeZone":{"name":"Pacific Standard Time"}}},
		{"scheduleId":"ghost@contoso.com","availabilityView":"","scheduleItems":[],"workingHours":null,
		 "error":{"message":"The requested user 'ghost@contoso.com' is invalid.","responseCode":"5009"}}]}`, string(r.Body))

	many := make([]string, 101)
	for i := range many {
		many[i] = `"u@contoso.com"`
	}
	r = post(t, s, s.URL()+"/users/"+alice.ID+"/calendar/getSchedule", `{"schedules":[`+strings.Join(many, ",")+`],
		"startTime":{"dateTime":"2026-11-20T09:00:00","timeZone":"UTC"},"endTime":{"dateTime":"2026-11-20T12:00:00","timeZone":"UTC"}}`)
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.Equal(t, "ErrorMailboxDataArrayTooBig", r.errorCode(t))
}

func TestMailboxSettingsAndPlaces(t *testing.T) {
	s, alice := setup(t)
	s.SetMailboxSettings(alice.ID, fakegraph.MailboxSettings{TimeZone: "Europe/Berlin", WorkingDays: []time.Weekday{time.Monday}, WorkStart: 9 * time.Hour, WorkEnd: 13*time.Hour + 30*time.Minute})
	m := get(t, s, s.URL()+"/users/"+alice.ID+"/mailboxSettings").object(t)
	assert.Equal(t, "Europe/Berlin", m["timeZone"])
	assert.Equal(t, map[string]any{"daysOfWeek": []any{"monday"}, "startTime": "09:00:00.0000000", "endTime": "13:30:00.0000000",
		"timeZone": map[string]any{"name": "Europe/Berlin"}}, m["workingHours"])

	s.AddRoomList("", fakegraph.RoomList{ID: "rl1", DisplayName: "HQ", EmailAddress: "hq-rooms@contoso.com"})
	s.AddRoom("", fakegraph.Room{ID: "r1", DisplayName: "Fjord", EmailAddress: "fjord@contoso.com", Capacity: 8, Building: "HQ", RoomList: "hq-rooms@contoso.com"})
	s.AddRoom("", fakegraph.Room{ID: "r2", DisplayName: "Attic", EmailAddress: "attic@contoso.com", Hidden: true})
	lists := get(t, s, s.URL()+"/places/microsoft.graph.roomlist").page(t)
	require.Len(t, lists.Value, 1)
	assert.JSONEq(t, `{"id":"rl1","displayName":"HQ","address":null,"geoCoordinates":null,"phone":"","emailAddress":"hq-rooms@contoso.com"}`, string(lists.Value[0]))
	rooms := get(t, s, s.URL()+"/places/hq-rooms@contoso.com/microsoft.graph.roomlist/rooms").page(t)
	require.Len(t, rooms.Value, 1)
	assert.JSONEq(t, `{"id":"r1","emailAddress":"fjord@contoso.com","displayName":"Fjord","address":null,"geoCoordinates":null,"phone":null,
		"nickname":"Fjord","label":null,"capacity":8,"building":"HQ","floorLabel":null,"floorNumber":0,"isWheelChairAccessible":false,
		"bookingType":"standard","tags":[],"audioDeviceName":null,"videoDeviceName":null,"displayDeviceName":null}`, string(rooms.Value[0]))
	all := get(t, s, s.URL()+"/places/microsoft.graph.room").page(t)
	assert.Len(t, all.Value, 1, "a hidden room is not listed")
	assert.Equal(t, http.StatusNotFound, get(t, s, s.URL()+"/places/nope@contoso.com/microsoft.graph.roomlist/rooms").Status)
}
