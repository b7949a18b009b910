package sync_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

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
