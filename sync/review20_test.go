package sync_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/m365link/m365link"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link/graphclient"
	"github.com/m365link/m365link/internal/fakegraph"
	m365sync "github.com/m365link/m365link/sync"
)

// forbidTransport answers 403 ErrorAccessDenied to every request whose
// path contains one of the routes, as Graph does when the app (or the
// delegated token) lacks Calendars.Read / Contacts.Read, or when RBAC for
// Applications scopes the app to mail only.
type forbidTransport struct {
	next   http.RoundTripper
	routes []string
}

func (t forbidTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	for _, rt := range t.routes {
		if strings.Contains(strings.ToLower(r.URL.Path), strings.ToLower(rt)) {
			body := `{"error":{"code":"ErrorAccessDenied","message":"Access is denied. Check credentials and try again."}}`
			return &http.Response{StatusCode: http.StatusForbidden, Status: "403 Forbidden", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body)),
				ContentLength: int64(len(body)), Request: r}, nil
		}
	}
	return t.next.RoundTrip(r)
}

// Review 20, finding 1: the folder (or calendar, or contact folder) is
// the unit of failure. A mailbox whose calendar Graph refuses (403: the
// tenant consented Mail.Read but not Calendars.Read, the user's
// delegated token lacks the optional calendar scope, or RBAC for
// Applications grants mail only) must keep syncing its mail. Today a 403
// on the calendar is "mailbox-wide": it cancels the mail folders' rounds,
// skips conclude (so mail removals are never applied: ghosts), and the
// whole mailbox shows StateError "forbidden" with no LastSync.
func TestReview20ForbiddenCalendarStopsMail(t *testing.T) {
	h := newHarness(t, fakegraph.SeedSpec{Mailboxes: 1, MessagesPerMailbox: 4, Vendors: 1, Seed: 7})
	hc := h.fg.Client()
	hc2 := *hc
	hc2.Transport = forbidTransport{next: hc.Transport, routes: []string{"/calendarView/delta"}}
	gc, err := graphclient.New(graphclient.Config{Cloud: fakeCloud(h.fg), HTTPClient: &hc2, Retry: retryAttempts(2)})
	require.NoError(t, err)
	cfg := h.config(nil, nil)
	cfg.Client = gc
	cfg.Schedule.FolderConcurrency = 1 // deterministic: mail folders first, then the calendar
	cfg.Calendar.Sink = &m365sync.MemorySink{}
	mb := h.mailbox(0)
	e := h.engine(t, cfg)
	err = e.SyncOnce(context.Background(), mb)
	t.Logf("SyncOnce: %v", err)
	require.Equal(t, h.live(t, 0), h.sink.IDs(mb))

	// A message is deleted at Graph; the calendar is still forbidden.
	gone := h.live(t, 0)[0]
	h.fg.DeleteMessage(mb.UserID, gone)
	err = e.SyncOnce(context.Background(), mb)
	t.Logf("SyncOnce: %v", err)
	assert.NotContains(t, h.sink.IDs(mb), gone, "a deleted message stays in the mail sink while the calendar is forbidden")
	st, _ := e.Status(mb.Key())
	assert.False(t, st.LastSync.IsZero(), "mail synced, yet the mailbox never records a finished pass (state %s: %s)", st.State, st.Reason)
}

// Review 20, finding 4: an all-day event on a day whose midnight does not
// exist (clocks jump 00:00 -> 01:00: America/Santiago on 5 September
// 2027, Havana, Asunción). Built the way the fake (and
// m365link.Date.In, i.e. time.Date) makes "midnight" on that day — 23:00
// of the day before, as Go resolves a time in a gap — the engine reads
// the instant back in the event's zone and names the day before:
// StartDate 4 September for an event on 5 September. Reading an all-day
// boundary as "the nearest local midnight" would not depend on which side
// of the gap the producer put it.
func TestReview20AllDayOnAMidnightDSTGap(t *testing.T) {
	h := newCalHarness(t)
	scl, err := time.LoadLocation("America/Santiago")
	require.NoError(t, err)
	id := h.addEvent(0, fakegraph.Event{Subject: "Feria de proveedores", IsAllDay: true, TimeZone: "Pacific SA Standard Time",
		Start: m365link.Date{Year: 2027, Month: time.September, Day: 5}.In(scl), End: m365link.Date{Year: 2027, Month: time.September, Day: 6}.In(scl)})
	mb := h.mailbox(0)
	require.NoError(t, h.engine(t, h.cfg).SyncOnce(context.Background(), mb))
	ev, _, ok := h.sink.Event(mb, id)
	require.True(t, ok)
	t.Logf("start %s end %s", ev.Start, ev.End)
	assert.Equal(t, m365link.Date{Year: 2027, Month: time.September, Day: 5}, ev.StartDate)
	assert.Equal(t, m365link.Date{Year: 2027, Month: time.September, Day: 6}, ev.EndDate)
}
