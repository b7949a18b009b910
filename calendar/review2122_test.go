package calendar_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/calendar"
	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/internal/fakegraph"
)

// review2122: a create without a Key is retried by internal/graph after a
// 503 (it counts 503 as "the server did not act"), so a 503 that a gateway
// sends after Graph made the event books the meeting twice and sends two
// invitations, from one call of Create.
func TestReview2122CreateWithoutKeyAfterAppliedThen503MakesOneEvent(t *testing.T) {
	e := newEnv(t, graphclient.Retry{})
	e.fake.Inject(fakegraph.Fault{Route: "/calendar/events", Method: http.MethodPost, Kind: fakegraph.AppliedThen503, RetryAfter: "1", Times: 1})
	_, err := create(t, e, "")
	require.NoError(t, err)
	assert.Len(t, e.events(t, e.alice.ID), 1, "one Create call must book one meeting")
	assert.Len(t, e.fake.MeetingMessages(e.alice.ID), 1, "one invitation")
}

// review2122: two creates with the same key running at once (a host job
// retried while the first run is still in flight, a double click) both
// look the key up, find nothing, and both create: two meetings for one key.
func TestReview2122ConcurrentCreatesWithOneKeyMakeOneEvent(t *testing.T) {
	e := newEnv(t, graphclient.Retry{})
	e.fake.Inject(fakegraph.Fault{Route: "/calendar/events", Method: http.MethodPost, Kind: fakegraph.Latency, Delay: 300 * time.Millisecond})
	var wg sync.WaitGroup
	ids := make([]string, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ev, err := createCtx(context.Background(), e, "booking-42")
			if assert.NoError(t, err) {
				ids[i] = ev.ID
			}
		}()
	}
	wg.Wait()
	assert.Len(t, e.events(t, e.alice.ID), 1, "one key, one meeting")
	assert.Equal(t, ids[0], ids[1])
}

// review2122: keys are compared exactly by the package, but Graph's filter
// matches values case-insensitively and findByKey reads only $top=2 of the
// matches. With three or more keys that differ only in case (Salesforce's
// 15-character record IDs do), the exact match can be past the second
// result: a retried create of an existing key is not found and books the
// meeting again.
func TestReview2122KeysDifferingOnlyInCaseAreFoundOnRetry(t *testing.T) {
	e := newEnv(t, graphclient.Retry{})
	keys := []string{"a0Bx", "A0bx", "a0bX", "A0BX", "a0bx"}
	first := map[string]string{}
	for _, k := range keys {
		ev, err := create(t, e, k)
		require.NoError(t, err)
		first[k] = ev.ID
	}
	require.Len(t, e.events(t, e.alice.ID), len(keys))
	for _, k := range keys {
		found, err := e.cal.FindByKey(t.Context(), e.tok, e.alice.ID, "", k)
		require.NoError(t, err)
		if assert.NotNil(t, found, "FindByKey(%q)", k) {
			assert.Equal(t, first[k], found.ID, "FindByKey(%q)", k)
		}
		again, err := create(t, e, k) // the host retries the booking
		require.NoError(t, err)
		assert.Equal(t, first[k], again.ID, "retried create of %q", k)
	}
	assert.Len(t, e.events(t, e.alice.ID), len(keys), "no meeting booked twice")
}

// review2122: a cancel whose 202 is lost to a 503 after Graph cancelled the
// meeting is sent again; the second POST finds no event (404) and Cancel
// reports a failure for a meeting that was cancelled (the host may then
// show an error or keep the meeting in its records).
func TestReview2122CancelAfterAppliedThen503ReportsSuccess(t *testing.T) {
	e := newEnv(t, graphclient.Retry{})
	ev, err := create(t, e, "")
	require.NoError(t, err)
	e.fake.Inject(fakegraph.Fault{Route: "/cancel", Kind: fakegraph.AppliedThen503, RetryAfter: "1", Times: 1})
	err = e.cal.Cancel(t.Context(), e.tok, e.alice.ID, ev.ID, "closed")
	_, still := e.fake.Event(e.alice.ID, ev.ID)
	require.False(t, still, "the meeting was cancelled")
	assert.NoError(t, err, "Cancel must not report a failure for a meeting it cancelled")
	assert.NotErrorIs(t, err, m365link.ErrNotFound)
	_ = calendar.ErrNotOrganizer
}

// review2122: an all-day meeting is sent as its days' midnights read
// through time.Date in the zone; on a day whose midnight falls in a
// daylight-saving gap (Chile moves 00:00 to 01:00 on 2026-09-06; Beirut,
// Cairo, Havana likewise) Go normalises midnight to another wall time
// (23:00 the day before, or 01:00), and the event is sent with a start
// that is not midnight: Graph requires midnight for all-day events.
func TestReview2122AllDayOnADSTGapDayIsSentAsMidnight(t *testing.T) {
	for _, c := range []struct {
		zone string
		day  m365link.Date
	}{
		{"America/Santiago", m365link.Date{Year: 2026, Month: 9, Day: 6}},
		{"Asia/Beirut", m365link.Date{Year: 2026, Month: 3, Day: 29}},
	} {
		t.Run(c.zone, func(t *testing.T) {
			e := newEnv(t, graphclient.Retry{})
			ev, err := e.cal.Create(t.Context(), e.tok, e.alice.ID, &calendar.Meeting{Subject: "Plant visit", AllDay: true,
				TimeZone: c.zone, StartDate: c.day, NoReminder: true}, nil)
			reqs := e.rec.take()
			require.NotEmpty(t, reqs)
			var body struct {
				Start, End struct{ DateTime string }
			}
			require.NoError(t, json.Unmarshal([]byte(reqs[len(reqs)-1].Body), &body))
			assert.Equal(t, c.day.String()+"T00:00:00.0000000", body.Start.DateTime, "all-day start must be midnight of the day")
			if assert.NoError(t, err) {
				assert.Equal(t, c.day, ev.StartDate)
			}
		})
	}
}

// review2122 (fake fidelity): Graph takes every Windows time-zone ID, and
// the package always sends one, but the fake knows 15 (render.go
// windowsZones) and answers 400 TimeZoneNotSupportedException for the
// rest: a host testing on m365linktest cannot book a meeting for a user
// in São Paulo, Mexico City, Johannesburg, Dubai...
func TestReview2122FakeTakesEveryWindowsZone(t *testing.T) {
	e := newEnv(t, graphclient.Retry{})
	for _, zone := range []string{"America/Sao_Paulo", "Africa/Johannesburg", "Asia/Dubai", "America/Mexico_City"} {
		start := time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)
		_, err := e.cal.Create(t.Context(), e.tok, e.alice.ID, &calendar.Meeting{Subject: "Call", TimeZone: zone,
			Start: start, End: start.Add(time.Hour)}, nil)
		assert.NoError(t, err, zone)
	}
}
