package calendar_test

import (
	"context"
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
