package fakegraph_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link/internal/fakegraph"
)

func TestFaultResponses(t *testing.T) {
	tests := []struct {
		kind        fakegraph.FaultKind
		retryAfter  string
		status      int
		code        string
		wantRetry   string
		hasLocation bool
	}{
		{fakegraph.Throttle429, "2", 429, "ApplicationThrottled", "2", false},
		{fakegraph.Throttle429, "0.5", 429, "ApplicationThrottled", "0.5", false},
		{fakegraph.Throttle429, "Wed, 21 Oct 2026 07:28:00 GMT", 429, "ApplicationThrottled", "Wed, 21 Oct 2026 07:28:00 GMT", false},
		{fakegraph.Throttle429, "garbage", 429, "ApplicationThrottled", "garbage", false},
		{fakegraph.Throttle429, "", 429, "ApplicationThrottled", "", false},
		{fakegraph.Unavailable503, "3", 503, "ServiceNotAvailable", "3", false},
		{fakegraph.GatewayTimeout504, "", 504, "UnknownError", "", false},
		{fakegraph.SyncReset410, "", 410, "syncStateNotFound", "", true},
		{fakegraph.SyncStateNotFound, "", 400, "syncStateNotFound", "", false},
		{fakegraph.SyncStateInvalid, "", 400, "syncStateInvalid", "", false},
		{fakegraph.ResyncRequired, "", 410, "resyncRequired", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.kind.String()+"/"+tc.retryAfter, func(t *testing.T) {
			s, alice := setup(t)
			inbox := folderID(t, s, alice, "inbox")
			s.Inject(fakegraph.Fault{Route: "messages/delta", Mailbox: "ALICE@contoso.com", Kind: tc.kind, RetryAfter: tc.retryAfter, Times: 1})
			delta := userURL(s, alice, "/mailFolders/inbox/messages/delta?$select=subject")

			// Other routes pass.
			assert.Equal(t, http.StatusOK, get(t, s, userURL(s, alice, "/mailFolders")).Status)

			r := get(t, s, delta, "client-request-id", "crid-1")
			assert.Equal(t, tc.status, r.Status)
			var e graphError
			require.NoError(t, json.Unmarshal(r.Body, &e))
			assert.Equal(t, tc.code, e.Error.Code)
			assert.Equal(t, "crid-1", e.Error.InnerError.ClientRequestID)
			assert.Equal(t, r.Header.Get("request-id"), e.Error.InnerError.RequestID)
			assert.Equal(t, "2026-11-20T10:00:00", e.Error.InnerError.Date)
			assert.Equal(t, tc.wantRetry, r.Header.Get("Retry-After"))
			if tc.hasLocation {
				assert.Equal(t, s.Origin()+"/v1.0/users('"+alice.ID+"')/mailFolders('"+inbox+"')/messages/delta()?$select=subject&$deltatoken=", r.Header.Get("Location"))
			} else {
				assert.Empty(t, r.Header.Get("Location"))
			}

			// Times: 1, so the retry succeeds.
			assert.Equal(t, http.StatusOK, get(t, s, delta).Status)
			st := s.Stats(alice.ID)
			assert.Equal(t, 1, st.Faults)
			assert.Equal(t, 4, st.Requests)
			if tc.status == 429 {
				assert.Equal(t, 1, st.Throttled)
			}
		})
	}
}

func TestFaultSkipTimesAndRemove(t *testing.T) {
	s, alice := setup(t)
	bob := s.AddUser("", fakegraph.User{UPN: "bob@contoso.com", MailEnabled: true})
	remove := s.Inject(fakegraph.Fault{Mailbox: alice.ID, Kind: fakegraph.Throttle429, Skip: 1, Times: 2})
	var got []int
	for range 4 {
		got = append(got, get(t, s, userURL(s, alice, "/mailFolders")).Status)
	}
	assert.Equal(t, []int{200, 429, 429, 200}, got)
	assert.Equal(t, http.StatusOK, get(t, s, userURL(s, bob, "/mailFolders")).Status, "other mailboxes pass")

	remove()
	s.Inject(fakegraph.Fault{Route: "/MAILFOLDERS", Kind: fakegraph.Unavailable503})
	assert.Equal(t, http.StatusOK, get(t, s, s.URL()+"/users").Status)
	assert.Equal(t, http.StatusServiceUnavailable, get(t, s, userURL(s, bob, "/mailFolders")).Status)
	assert.Equal(t, 2, s.Stats(alice.UPN).Throttled)
	assert.Equal(t, 2, s.Stats(alice.UPN).Faults)
}

// freshClient does not reuse connections, so the transport cannot retry a
// reset request on its own.
func freshClient(s *fakegraph.Server) *http.Client {
	tr := s.Client().Transport.(*http.Transport).Clone()
	tr.DisableKeepAlives = true
	return &http.Client{Transport: tr}
}

func rawGet(t *testing.T, c *http.Client, u string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer x")
	return c.Do(req)
}

func TestFaultConnectionFaults(t *testing.T) {
	for _, tls := range []bool{false, true} {
		name := "http"
		if tls {
			name = "https"
		}
		t.Run(name, func(t *testing.T) {
			s := fakegraph.New()
			if tls {
				s.Close()
				s = fakegraph.NewTLS()
			}
			t.Cleanup(s.Close)
			alice := s.AddUser("", fakegraph.User{UPN: "alice@contoso.com", MailEnabled: true})
			for i := range 30 {
				s.AddMessage(alice.ID, "inbox", fakegraph.Message{Subject: strings.Repeat("long subject ", 20), ReceivedDateTime: t0.Add(time.Duration(i) * time.Minute)})
			}
			c := freshClient(s)
			u := userURL(s, alice, "/mailFolders/inbox/messages")

			s.Inject(fakegraph.Fault{Kind: fakegraph.ConnReset, Times: 1})
			_, err := rawGet(t, c, u)
			require.Error(t, err, "reset before any response")

			s.Inject(fakegraph.Fault{Kind: fakegraph.TruncatedBody, Times: 1})
			resp, err := rawGet(t, c, u)
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.True(t, errors.Is(err, io.ErrUnexpectedEOF), "got %v", err)
			assert.Equal(t, int(resp.ContentLength)/2, len(body))

			s.Inject(fakegraph.Fault{Kind: fakegraph.MalformedJSON, Times: 1})
			r := get(t, s, u)
			assert.Equal(t, http.StatusOK, r.Status)
			assert.False(t, json.Valid(r.Body))

			assert.Equal(t, http.StatusOK, get(t, s, u).Status, "all faults spent")
			recs := s.Requests()
			require.Len(t, recs, 4)
			assert.Equal(t, []int{0, 200, 200, 200}, []int{recs[0].Status, recs[1].Status, recs[2].Status, recs[3].Status})
			assert.Equal(t, 0, s.Stats(alice.ID).InFlight)
		})
	}
}

func TestFaultLatencyAndForeignLink(t *testing.T) {
	s, alice := setup(t)
	for i := range 3 {
		msg(s, alice.ID, "inbox", "m", i)
	}
	s.Inject(fakegraph.Fault{Kind: fakegraph.Latency, Delay: 80 * time.Millisecond, Times: 1})
	start := time.Now()
	assert.Equal(t, http.StatusOK, get(t, s, userURL(s, alice, "/mailFolders")).Status)
	assert.GreaterOrEqual(t, time.Since(start), 80*time.Millisecond)

	s.Inject(fakegraph.Fault{Route: "delta", Kind: fakegraph.ForeignNextLink, Times: 1})
	p := get(t, s, userURL(s, alice, "/mailFolders/inbox/messages/delta"), "Prefer", pagesOf2).page(t)
	assert.True(t, hasPrefix(p.NextLink, "https://evil.example/v1.0/users('"+alice.ID+"')/"), p.NextLink)
	// The token itself is good: the same path on the real origin works.
	real := s.Origin() + strings.TrimPrefix(p.NextLink, "https://evil.example")
	p = get(t, s, real, "Prefer", pagesOf2).page(t)
	assert.True(t, hasPrefix(p.DeltaLink, s.Origin()+"/"), p.DeltaLink)
}

func TestFaultLatencyHonoursCancel(t *testing.T) {
	s, alice := setup(t)
	s.Inject(fakegraph.Fault{Kind: fakegraph.Latency, Delay: time.Hour})
	c := s.Client()
	c.Timeout = 50 * time.Millisecond
	_, err := rawGet(t, c, userURL(s, alice, "/mailFolders"))
	require.Error(t, err)
	require.Eventually(t, func() bool { return s.Stats(alice.ID).InFlight == 0 }, 2*time.Second, 5*time.Millisecond)
}

func TestLimitsConcurrency(t *testing.T) {
	s, alice := setup(t, fakegraph.WithLimits(fakegraph.Limits{}))
	release := make(chan struct{})
	s.Inject(fakegraph.Fault{Mailbox: alice.ID, Kind: fakegraph.Latency, Delay: time.Minute, Times: 4})
	// A Latency fault ends early when the client gives up: cancel to release.
	var wg sync.WaitGroup
	statuses := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, userURL(s, alice, "/mailFolders"), nil)
			req.Header.Set("Authorization", "Bearer x")
			req = req.WithContext(cancelOn(release))
			_, err := s.Client().Do(req)
			statuses <- err
		}()
	}
	require.Eventually(t, func() bool { return s.Stats(alice.ID).InFlight == 4 }, 5*time.Second, time.Millisecond)

	r := get(t, s, userURL(s, alice, "/mailFolders"))
	assert.Equal(t, http.StatusTooManyRequests, r.Status)
	assert.Equal(t, "MailboxConcurrency", r.errorCode(t))
	assert.Equal(t, "1", r.Header.Get("Retry-After"))
	assert.Equal(t, http.StatusOK, get(t, s, s.URL()+"/users").Status, "no mailbox, no mailbox limit")

	close(release)
	wg.Wait()
	close(statuses)
	for err := range statuses {
		require.Error(t, err)
	}
	require.Eventually(t, func() bool { return s.Stats(alice.ID).InFlight == 0 }, 5*time.Second, time.Millisecond)
	assert.Equal(t, http.StatusOK, get(t, s, userURL(s, alice, "/mailFolders")).Status)
	st := s.Stats(alice.ID)
	assert.Equal(t, 5, st.MaxInFlight)
	assert.Equal(t, 1, st.Throttled)
	assert.Equal(t, 6, st.Requests)
}

func TestLimitsRateWindow(t *testing.T) {
	clk := &clock{now: t0}
	s := fakegraph.New(fakegraph.WithClock(clk.Now), fakegraph.WithLimits(fakegraph.Limits{Requests: 3, Window: time.Minute}))
	t.Cleanup(s.Close)
	alice := s.AddUser("", fakegraph.User{UPN: "alice@contoso.com", MailEnabled: true})
	u := userURL(s, alice, "/mailFolders")
	for range 3 {
		require.Equal(t, http.StatusOK, get(t, s, u).Status)
	}
	r := get(t, s, u)
	assert.Equal(t, http.StatusTooManyRequests, r.Status)
	assert.Equal(t, "ApplicationThrottled", r.errorCode(t))
	assert.Equal(t, "60", r.Header.Get("Retry-After"))

	clk.Advance(45*time.Second + 500*time.Millisecond)
	r = get(t, s, u)
	assert.Equal(t, http.StatusTooManyRequests, r.Status)
	assert.Equal(t, "15", r.Header.Get("Retry-After"), "rounded up")

	clk.Advance(15 * time.Second)
	assert.Equal(t, http.StatusOK, get(t, s, u).Status, "a new window")
	assert.Equal(t, 2, s.Stats(alice.ID).Throttled)

	s2 := fakegraph.New(fakegraph.WithClock(clk.Now), fakegraph.WithLimits(fakegraph.Limits{Requests: 1, RetryAfter: 2500 * time.Millisecond}))
	t.Cleanup(s2.Close)
	bob := s2.AddUser("", fakegraph.User{UPN: "bob@contoso.com", MailEnabled: true})
	get(t, s2, userURL(s2, bob, "/mailFolders"))
	assert.Equal(t, "3", get(t, s2, userURL(s2, bob, "/mailFolders")).Header.Get("Retry-After"))
}

func TestMaxInFlightIsExact(t *testing.T) {
	s, alice := setup(t)
	for i := range 10 {
		msg(s, alice.ID, "inbox", "m", i) // a page of 10 is bigger than one write buffer
	}
	const workers, each = 3, 30
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				get(t, s, userURL(s, alice, "/mailFolders/inbox/messages"))
			}
		}()
	}
	wg.Wait()
	st := s.Stats(alice.ID)
	assert.Equal(t, workers*each, st.Requests)
	assert.Equal(t, 0, st.InFlight, "a request stops counting before the client can finish reading it")
	assert.LessOrEqual(t, st.MaxInFlight, workers)
	assert.Equal(t, map[string]int{"GET /users/{id}/mailFolders/{id}/messages": workers * each}, st.Routes)

	// Overlap is seen: slow requests all count at once.
	s.ResetStats()
	s.Inject(fakegraph.Fault{Kind: fakegraph.Latency, Delay: 150 * time.Millisecond})
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			get(t, s, userURL(s, alice, "/mailFolders"))
		}()
	}
	wg.Wait()
	assert.Equal(t, 6, s.Stats(alice.ID).MaxInFlight)
}
