package graph

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/m365link/m365link"
)

// The retry tests run inside synctest bubbles: time is fake, waits cost
// nothing, and elapsed time is exact. The transport is in memory.

type step struct {
	status int
	hdr    map[string]string
	body   string
	err    error // transport error instead of a response
	cut    bool  // body ends with io.ErrUnexpectedEOF after body
}

type script struct {
	mu    gosync.Mutex
	steps []step
	reqs  []*http.Request
	times []time.Time
}

func (s *script) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, r)
	s.times = append(s.times, time.Now())
	if len(s.steps) == 0 {
		return nil, errors.New("script: no more steps")
	}
	st := s.steps[0]
	if len(s.steps) > 1 {
		s.steps = s.steps[1:]
	}
	if st.err != nil {
		return nil, st.err
	}
	h := http.Header{}
	for k, v := range st.hdr {
		h.Set(k, v)
	}
	var body io.Reader = strings.NewReader(st.body)
	if st.cut {
		body = io.MultiReader(body, errReader{io.ErrUnexpectedEOF})
	}
	return &http.Response{StatusCode: st.status, Header: h, Body: io.NopCloser(body), Request: r}, nil
}

func (s *script) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func newScripted(t *testing.T, p RetryPolicy, steps ...step) (*Client, *script) {
	t.Helper()
	s := &script{steps: steps}
	c, err := New(Config{BaseURL: "https://graph.example/v1.0", HTTPClient: &http.Client{Transport: s}, Retry: p})
	require.NoError(t, err)
	return c, s
}

var tok = TokenSourceFunc(func(context.Context) (*oauth2.Token, error) {
	return &oauth2.Token{AccessToken: "at-secret"}, nil
})

const okBody = `{"value":[{"id":"m1"}]}`

// doubling is a deterministic backoff for exact assertions: FullJitter's ceiling.
func doubling(base, ceil time.Duration, n int) time.Duration { return min(ceil, base<<(n-1)) }

func TestRetryHonoursRetryAfterAndKeepsRequestID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := newScripted(t, RetryPolicy{},
			step{status: 429, hdr: map[string]string{"Retry-After": "2"}, body: `{"error":{"code":"TooManyRequests","message":"x"}}`},
			step{status: 200, body: okBody})
		start := time.Now()
		var out struct{ Value []struct{ ID string } }
		err := c.JSON(t.Context(), &Request{Path: Path("users", "u1", "messages"), Mailbox: "u1", Token: tok,
			Header: http.Header{"Prefer": {"odata.maxpagesize=1000"}}}, &out)
		require.NoError(t, err)
		assert.Equal(t, 2*time.Second, time.Since(start))
		require.Equal(t, 2, s.count())
		assert.Equal(t, "m1", out.Value[0].ID)
		for _, r := range s.reqs {
			assert.Equal(t, []string{`IdType="ImmutableId"`, "odata.maxpagesize=1000"}, r.Header.Values("Prefer"))
			assert.Equal(t, "Bearer at-secret", r.Header.Get("Authorization"))
			assert.Len(t, r.Header.Get("client-request-id"), 36)
			assert.Equal(t, "https://graph.example/v1.0/users/u1/messages", r.URL.String())
		}
		assert.Equal(t, s.reqs[0].Header.Get("client-request-id"), s.reqs[1].Header.Get("client-request-id"))
	})
}

func TestRetryWaits(t *testing.T) {
	throttled := func(ra string) step {
		return step{status: 429, hdr: map[string]string{"Retry-After": ra}, body: `{"error":{"code":"TooManyRequests"}}`}
	}
	tests := []struct {
		name  string
		first step
		want  time.Duration
	}{
		{"fraction rounds up", throttled("0.5"), time.Second},
		{"zero gets the floor", throttled("0"), time.Second},
		{"garbage falls back to backoff, floored", throttled("soon"), time.Second},
		{"negative falls back to backoff, floored", throttled("-5"), time.Second},
		{"past date gets the floor", throttled("Mon, 01 Jan 1990 00:00:00 GMT"), time.Second},
		{"missing header on 429 gets the floor", step{status: 429}, time.Second},
		{"503 with Retry-After", step{status: 503, hdr: map[string]string{"Retry-After": "4"}}, 4 * time.Second},
		{"503 without Retry-After backs off", step{status: 503}, 250 * time.Millisecond},
		{"504 backs off", step{status: 504}, 250 * time.Millisecond},
		{"500 backs off", step{status: 500}, 250 * time.Millisecond},
		{"502 backs off", step{status: 502}, 250 * time.Millisecond},
		{"transport error backs off", step{err: errors.New("connection reset by peer")}, 250 * time.Millisecond},
		{"truncated body backs off", step{status: 200, body: `{"value":[{"id":`, cut: true}, 250 * time.Millisecond},
		{"malformed JSON backs off", step{status: 200, body: `{"value":[{"id":"m1"}`}, 250 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, s := newScripted(t, RetryPolicy{Backoff: doubling}, tt.first, step{status: 200, body: okBody})
				start := time.Now()
				page, err := GetPage[Message](t.Context(), c, &Request{Path: "/users/u1/messages", Mailbox: "u1"})
				require.NoError(t, err)
				assert.Equal(t, tt.want, time.Since(start))
				assert.Equal(t, 2, s.count())
				assert.Equal(t, "m1", page.Value[0].ID)
			})
		})
	}
}

// allBackoff is the nine default backoff steps at their ceilings.
const allBackoff = (250 + 500 + 1000 + 2000 + 4000 + 8000 + 8000 + 8000 + 8000) * time.Millisecond

func TestRetryGivesUp(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		steps    []step
		requests int
		elapsed  time.Duration
		is       error
	}{
		{"503 until attempts run out", "GET", []step{{status: 503}}, 10, allBackoff, m365link.ErrUnavailable},
		{"404 is not retried", "GET", []step{{status: 404, body: `{"error":{"code":"ErrorItemNotFound"}}`}}, 1, 0, m365link.ErrNotFound},
		{"401 is not retried", "GET", []step{{status: 401}}, 1, 0, m365link.ErrUnauthorized},
		{"Retry-After beyond the time cap returns at once", "GET",
			[]step{{status: 429, hdr: map[string]string{"Retry-After": "300"}}}, 1, 0, m365link.ErrThrottled},
		{"POST is not resent after a dropped connection", "POST", []step{{err: errors.New("connection reset by peer")}}, 1, 0, m365link.ErrUnavailable},
		{"POST is not resent after 504", "POST", []step{{status: 504}}, 1, 0, m365link.ErrUnavailable},
		{"POST is not resent after 500", "POST", []step{{status: 500}}, 1, 0, m365link.ErrUnavailable},
		{"malformed JSON until attempts run out", "GET", []step{{status: 200, body: `{"value":[`}}, 10, allBackoff, m365link.ErrMalformedResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, s := newScripted(t, RetryPolicy{Backoff: doubling}, tt.steps...)
				start := time.Now()
				_, err := GetPage[Message](t.Context(), c, &Request{Method: tt.method, Path: "/users/u1/messages", Mailbox: "u1"})
				require.ErrorIs(t, err, tt.is)
				assert.Equal(t, tt.requests, s.count())
				assert.Equal(t, tt.elapsed, time.Since(start))
			})
		})
	}
}

func TestRetryAfterBeyondCapIsReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, _ := newScripted(t, RetryPolicy{}, step{status: 429, hdr: map[string]string{"Retry-After": "300"}})
		err := c.JSON(t.Context(), &Request{Path: "/users/u1/messages"}, nil)
		d, ok := m365link.RetryAfter(err)
		require.True(t, ok)
		assert.Equal(t, 300*time.Second, d)
	})
}

func TestPOSTRetriedOn429(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := newScripted(t, RetryPolicy{},
			step{status: 429, hdr: map[string]string{"Retry-After": "1"}},
			step{status: 202})
		require.NoError(t, c.JSON(t.Context(), &Request{Method: "POST", Path: "/users/u1/sendMail", Body: map[string]string{"a": "b"}}, nil))
		require.Equal(t, 2, s.count())
		for _, r := range s.reqs {
			b, _ := io.ReadAll(r.Body)
			assert.Equal(t, `{"a":"b"}`, string(b))
			assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
		}
	})
}

func TestThrottleHoldsEveryCallerOfThatMailbox(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu gosync.Mutex
		hits := map[string][]time.Duration{}
		start := time.Now()
		var first atomic.Bool
		rt := rtFunc(func(r *http.Request) (*http.Response, error) {
			mb := MailboxFromPath(r.URL.Path)
			mu.Lock()
			hits[mb] = append(hits[mb], time.Since(start))
			mu.Unlock()
			if mb == "a" && first.CompareAndSwap(false, true) {
				return &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"10"}}, Body: http.NoBody, Request: r}, nil
			}
			return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(okBody)), Request: r}, nil
		})
		c, err := New(Config{BaseURL: "https://graph.example/v1.0", HTTPClient: &http.Client{Transport: rt}})
		require.NoError(t, err)
		get := func(mb string) {
			_, err := GetPage[Message](t.Context(), c, &Request{Path: Path("users", mb, "messages"), Mailbox: mb})
			assert.NoError(t, err)
		}
		var wg gosync.WaitGroup
		wg.Go(func() { get("a") })
		time.Sleep(time.Second)
		wg.Go(func() { get("a") })
		wg.Go(func() { get("b") })
		wg.Wait()
		assert.Equal(t, []time.Duration{time.Second}, hits["b"], "another mailbox is not held")
		assert.Equal(t, []time.Duration{0, 10 * time.Second, 10 * time.Second}, hits["a"], "every caller of the throttled mailbox waits")
		assert.Equal(t, time.Time{}, c.Limiter().ThrottledUntil("a"))
	})
}

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestCancelDuringWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := newScripted(t, RetryPolicy{}, step{status: 429, hdr: map[string]string{"Retry-After": "60"}})
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		start := time.Now()
		err := c.JSON(ctx, &Request{Path: "/users/u1/messages", Mailbox: "u1"}, nil)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 5*time.Second, time.Since(start))
		assert.Equal(t, 1, s.count())
	})
}

func TestTokenErrorIsNotRetriedAndPassesThrough(t *testing.T) {
	c, s := newScripted(t, RetryPolicy{}, step{status: 200, body: okBody})
	reconnect := &m365link.ReconnectError{Reason: m365link.ReasonRevoked}
	err := c.JSON(t.Context(), &Request{Path: "/users/u1/messages", Token: TokenSourceFunc(func(context.Context) (*oauth2.Token, error) {
		return nil, reconnect
	})}, nil)
	require.ErrorIs(t, err, m365link.ErrReconnectRequired)
	assert.Equal(t, 0, s.count())
}

func TestFullJitterBounds(t *testing.T) {
	for n := 1; n <= 70; n++ {
		ceil := min(30*time.Second, (500*time.Millisecond)<<min(n-1, 20))
		for range 200 {
			d := FullJitter(500*time.Millisecond, 30*time.Second, n)
			require.True(t, d >= 0 && d <= ceil, "n=%d d=%v ceil=%v", n, d, ceil)
		}
	}
}

func TestOriginCheckRefusesForeignLinks(t *testing.T) {
	tests := []struct {
		link string
		ok   bool
	}{
		{"https://graph.example/v1.0/users('u1')/messages/delta()?$skiptoken=abc", true},
		{"https://GRAPH.example:443/v1.0/users/u1/messages?$skiptoken=abc", true},
		{"https://evil.example/v1.0/users/u1/messages?$skiptoken=abc", false},
		{"http://graph.example/v1.0/users/u1/messages", false},
		{"https://graph.example:8443/v1.0/users/u1/messages", false},
		{"https://graph.example.evil.example/v1.0/", false},
		{"https://user:pw@graph.example/v1.0/users/u1/messages", false},
		{"//graph.example/v1.0/users/u1/messages", false},
		{"/v1.0/users/u1/messages", false},
		{"https://graph.example\x00/v1.0", false},
	}
	for _, tt := range tests {
		c, s := newScripted(t, RetryPolicy{}, step{status: 200, body: okBody})
		_, err := GetPage[Message](t.Context(), c, &Request{URL: tt.link, Token: tok})
		if tt.ok {
			assert.NoError(t, err, tt.link)
			assert.Equal(t, 1, s.count(), tt.link)
			continue
		}
		assert.ErrorIs(t, err, m365link.ErrUntrustedLink, tt.link)
		assert.Equal(t, 0, s.count(), "no request may go to %q", tt.link)
	}
}

func TestLinkIsFollowedVerbatim(t *testing.T) {
	c, s := newScripted(t, RetryPolicy{}, step{status: 200, body: okBody})
	link := "https://graph.example/v1.0/Users('AAk%2Fx%3D%3D')/MailFolders('inbox')/Messages/delta()?$skiptoken=a%2Bb%3D&$select=id"
	_, err := GetPage[Message](t.Context(), c, &Request{URL: link})
	require.NoError(t, err)
	assert.Equal(t, link, s.reqs[0].URL.String())
	assert.Equal(t, "/v1.0/Users('AAk%2Fx%3D%3D')/MailFolders('inbox')/Messages/delta()?$skiptoken=a%2Bb%3D&$select=id", s.reqs[0].URL.RequestURI())
}

func TestPathEscapesIDs(t *testing.T) {
	c, s := newScripted(t, RetryPolicy{}, step{status: 200, body: okBody})
	_, err := GetPage[Message](t.Context(), c, &Request{Path: Path("users", "u1", "messages", "AAk/x+y=="),
		Query: map[string][]string{"$select": {"id,subject"}}})
	require.NoError(t, err)
	assert.Equal(t, "/v1.0/users/u1/messages/AAk%2Fx+y==?$select=id,subject", s.reqs[0].URL.RequestURI())
}

func TestMailboxFromPath(t *testing.T) {
	for in, want := range map[string]string{
		"/v1.0/users/U1/messages":                          "u1",
		"/v1.0/users('AbC')/mailFolders('inbox')/messages": "abc",
		"/v1.0/Users/alice%40contoso.com/messages":         "alice@contoso.com",
		"/v1.0/users('alice%40contoso.com')/messages":      "alice@contoso.com",
		"/v1.0/me/messages":                                "",
		"/v1.0/groups/g1":                                  "",
	} {
		assert.Equal(t, want, MailboxFromPath(in), in)
	}
}

func TestSecretsStayOutOfErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, _ := newScripted(t, RetryPolicy{MaxAttempts: 1}, step{err: errors.New("connection reset by peer")})
		_, err := GetPage[Message](t.Context(), c, &Request{URL: "https://graph.example/v1.0/users/u1/messages/delta?$deltatoken=CURSOR", Token: tok})
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "CURSOR")
		assert.NotContains(t, err.Error(), "at-secret")
		assert.Equal(t, "m365link: graph GET /v1.0/users/u1/messages/delta: connection reset by peer", err.Error())
	})
}

func TestNewRejectsBadBaseURL(t *testing.T) {
	for _, u := range []string{"graph.microsoft.com", "ftp://graph.microsoft.com/v1.0", "https://u:p@graph.microsoft.com/v1.0", "https://graph.microsoft.com/v1.0?x=1"} {
		_, err := New(Config{BaseURL: u})
		assert.Error(t, err, u)
	}
	c, err := New(Config{})
	require.NoError(t, err)
	assert.Equal(t, DefaultBaseURL, c.BaseURL())
}

func TestHTTPClientSharesLimiterAndThrottle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var inFlight, maxInFlight atomic.Int32
		var calls atomic.Int32
		var got []*http.Request
		var mu gosync.Mutex
		rt := rtFunc(func(r *http.Request) (*http.Response, error) {
			mu.Lock()
			got = append(got, r)
			mu.Unlock()
			n := inFlight.Add(1)
			for m := maxInFlight.Load(); n > m && !maxInFlight.CompareAndSwap(m, n); m = maxInFlight.Load() {
			}
			time.Sleep(50 * time.Millisecond)
			inFlight.Add(-1)
			if calls.Add(1) == 1 {
				return &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"5"}}, Body: http.NoBody, Request: r}, nil
			}
			return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(okBody)), Request: r}, nil
		})
		c, err := New(Config{BaseURL: "https://graph.example/v1.0", HTTPClient: &http.Client{Transport: rt}})
		require.NoError(t, err)
		hc := c.HTTPClient()

		resp, err := hc.Get("https://graph.example/v1.0/users/U1/events")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, 429, resp.StatusCode, "the plain client does not retry; the SDK's handler does")
		assert.Equal(t, time.Now().Add(5*time.Second), c.Limiter().ThrottledUntil("u1"))

		// The library's own calls for that mailbox now wait for the throttle.
		start := time.Now()
		_, err = GetPage[Message](t.Context(), c, &Request{Path: "/users/u1/messages", Mailbox: "u1"})
		require.NoError(t, err)
		assert.Equal(t, 5*time.Second+50*time.Millisecond, time.Since(start), "5 s held, then the 50 ms round trip")

		var wg gosync.WaitGroup
		for range 12 {
			wg.Go(func() {
				resp, err := hc.Get("https://graph.example/v1.0/users('u1')/calendarView/delta")
				if assert.NoError(t, err) {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(4), maxInFlight.Load())
		for _, r := range got {
			assert.Equal(t, `IdType="ImmutableId"`, r.Header.Get("Prefer"))
			assert.Len(t, r.Header.Get("client-request-id"), 36)
		}
	})
}

func TestDefaultRetryPolicy(t *testing.T) {
	p := RetryPolicy{}.withDefaults()
	require.NotNil(t, p.Backoff)
	p.Backoff = nil
	assert.Equal(t, RetryPolicy{MaxAttempts: 10, BaseDelay: 250 * time.Millisecond, MaxDelay: 8 * time.Second,
		MaxElapsed: 2 * time.Minute, MinRetryAfter: time.Second, MaxRetryAfter: 10 * time.Minute}, p)
	assert.Less(t, allBackoff, p.MaxElapsed/3, "nine backoff steps at their ceilings stay well inside the time cap")
}

func TestNineTransientFaultsInARowAreOutlasted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := newScripted(t, RetryPolicy{}, // the defaults, FullJitter included
			step{status: 503},
			step{err: errors.New("connection reset by peer")},
			step{status: 200, body: `{"value":[{"id":`, cut: true},
			step{status: 200, body: `{"value":[{"id":"m1"}`},
			step{status: 504},
			step{status: 500},
			step{status: 502},
			step{status: 503},
			step{err: errors.New("unexpected EOF")},
			step{status: 200, body: okBody})
		start := time.Now()
		page, err := GetPage[Message](t.Context(), c, &Request{Path: "/users/u1/messages", Mailbox: "u1"})
		require.NoError(t, err)
		assert.Equal(t, "m1", page.Value[0].ID)
		assert.Equal(t, 10, s.count())
		assert.LessOrEqual(t, time.Since(start), allBackoff)
	})
}

// logTo returns a logger writing text lines without times into b.
func logTo(b *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
}

func TestRetryAfterIsCapped(t *testing.T) {
	const warn = `level=WARN msg="graph: Retry-After capped" mailbox=u1 method=GET path=/v1.0/users/u1/messages/delta retryAfter=24h0m0s cap=10m0s` + "\n"
	delta := &Request{Path: "/users/u1/messages/delta", Query: url.Values{"$deltatoken": {"CURSOR"}}, Mailbox: "u1", Token: tok}
	t.Run("in the error returned", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var logs bytes.Buffer
			s := &script{steps: []step{{status: 429, hdr: map[string]string{"Retry-After": "86400"}}}}
			c, err := New(Config{BaseURL: "https://graph.example/v1.0", HTTPClient: &http.Client{Transport: s}, Logger: logTo(&logs)})
			require.NoError(t, err)
			_, err = GetPage[Message](t.Context(), c, delta)
			require.ErrorIs(t, err, m365link.ErrThrottled)
			d, ok := m365link.RetryAfter(err)
			require.True(t, ok)
			assert.Equal(t, 10*time.Minute, d)
			assert.Equal(t, 1, s.count(), "10 minutes is beyond the 2-minute time cap: the caller reschedules")
			assert.Equal(t, warn, logs.String())
		})
	})
	t.Run("in the wait and the mailbox throttle", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var logs bytes.Buffer
			s := &script{steps: []step{{status: 429, hdr: map[string]string{"Retry-After": "86400"}}, {status: 200, body: okBody}}}
			c, err := New(Config{BaseURL: "https://graph.example/v1.0", HTTPClient: &http.Client{Transport: s}, Logger: logTo(&logs),
				Retry: RetryPolicy{MaxElapsed: time.Hour}})
			require.NoError(t, err)
			start := time.Now()
			held := make(chan time.Time, 1)
			go func() {
				time.Sleep(time.Minute)
				held <- c.Limiter().ThrottledUntil("u1")
			}()
			_, err = GetPage[Message](t.Context(), c, delta)
			require.NoError(t, err)
			assert.Equal(t, 10*time.Minute, time.Since(start))
			assert.Equal(t, start.Add(10*time.Minute), <-held, "every caller of the mailbox is held")
			assert.Equal(t, 2, s.count())
			assert.Equal(t, warn, logs.String())
		})
	})
	t.Run("in HTTPClient's throttle", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var logs bytes.Buffer
			rt := rtFunc(func(r *http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"86400"}}, Body: http.NoBody, Request: r}, nil
			})
			c, err := New(Config{BaseURL: "https://graph.example/v1.0", HTTPClient: &http.Client{Transport: rt}, Logger: logTo(&logs)})
			require.NoError(t, err)
			resp, err := c.HTTPClient().Get("https://graph.example/v1.0/users/u1/messages/delta?$deltatoken=CURSOR")
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, time.Now().Add(10*time.Minute), c.Limiter().ThrottledUntil("u1"))
			assert.Equal(t, warn, logs.String())
		})
	})
}

func TestPageWithForeignLinkIsRefused(t *testing.T) {
	tests := []struct {
		name, link string
		err        string
	}{
		{"nextLink to another host", `"@odata.nextLink":"https://evil.example/v1.0/users/u1/messages/delta?$skiptoken=SECRET"`,
			"https://evil.example is not https://graph.example (a page's nextLink)"},
		{"deltaLink to another host", `"@odata.deltaLink":"https://evil.example:8443/v1.0/users/u1/messages/delta?$deltatoken=SECRET"`,
			"https://evil.example:8443 is not https://graph.example (a page's deltaLink)"},
		{"deltaLink over http", `"@odata.deltaLink":"http://graph.example/v1.0/users/u1/messages/delta?$deltatoken=SECRET"`,
			"http://graph.example is not https://graph.example (a page's deltaLink)"},
		{"nextLink on another port", `"@odata.nextLink":"https://graph.example:444/v1.0/users/u1/messages/delta?$skiptoken=SECRET"`,
			"https://graph.example:444 is not https://graph.example (a page's nextLink)"},
		{"relative nextLink", `"@odata.nextLink":"/v1.0/users/u1/messages/delta?$skiptoken=SECRET"`,
			"relative link (a page's nextLink)"},
		{"nextLink with credentials", `"@odata.nextLink":"https://u:SECRET@graph.example/v1.0/users/u1/messages/delta"`,
			"link with credentials (a page's nextLink)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, s := newScripted(t, RetryPolicy{}, step{status: 200, body: `{"value":[{"id":"m1"}],` + tt.link + `}`})
				page, err := GetPage[Message](t.Context(), c, &Request{Path: "/users/u1/messages/delta", Mailbox: "u1", Token: tok})
				assert.Nil(t, page)
				require.ErrorIs(t, err, m365link.ErrUntrustedLink)
				assert.Equal(t, "m365link: link outside the Graph origin refused: "+tt.err, err.Error())
				assert.Equal(t, 1, s.count(), "not retried")
			})
		})
	}
	c, _ := newScripted(t, RetryPolicy{}, step{status: 200,
		body: `{"value":[{"id":"m1"}],"@odata.deltaLink":"https://GRAPH.example:443/v1.0/users/u1/messages/delta?$deltatoken=abc"}`})
	page, err := GetPage[Message](t.Context(), c, &Request{Path: "/users/u1/messages/delta"})
	require.NoError(t, err)
	assert.Equal(t, "https://GRAPH.example:443/v1.0/users/u1/messages/delta?$deltatoken=abc", page.DeltaLink, "the same origin, spelled otherwise")
}
