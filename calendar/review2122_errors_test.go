package calendar_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
	"github.com/m365link/m365link/calendar"
	"github.com/m365link/m365link/graphclient"
)

type deny403 struct{}

func (deny403) RoundTrip(r *http.Request) (*http.Response, error) {
	body := `{"error":{"code":"ErrorAccessDenied","message":"Access is denied. Check credentials and try again."}}`
	return &http.Response{StatusCode: 403, Status: "403 Forbidden", Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: r}, nil
}

// review2122: classify maps every 403 ErrorAccessDenied outside places to
// ErrCalendarReadOnly ("shared for reading only; the owner must share it
// for editing"), also for reads that write nothing: mailbox settings (a
// missing MailboxSettings.Read), getSchedule, findMeetingTimes, get. A
// host following the advice asks the wrong person for the wrong fix.
func TestReview2122AccessDeniedOnAReadIsNotCalendarReadOnly(t *testing.T) {
	gc, err := graphclient.New(graphclient.Config{Cloud: m365link.Cloud{Name: "stub", GraphBase: "https://graph.example/v1.0", GraphResource: "https://graph.example"},
		HTTPClient: &http.Client{Transport: deny403{}}})
	require.NoError(t, err)
	cal, err := calendar.New(calendar.Config{Client: gc})
	require.NoError(t, err)
	_, err = cal.MailboxSettings(t.Context(), graphclient.StaticToken("t"), "alice@contoso.com")
	require.ErrorIs(t, err, m365link.ErrForbidden)
	assert.NotErrorIs(t, err, calendar.ErrCalendarReadOnly, "reading settings denied is not a read-only calendar: %v", err)
}
