package graph

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/m365link/m365link"
)

func response(status int, hdr map[string]string, body string) *http.Response {
	h := http.Header{}
	for k, v := range hdr {
		h.Set(k, v)
	}
	req, _ := http.NewRequest(http.MethodGet, "https://graph.microsoft.com/v1.0/users/u1/messages?$skiptoken=SECRETCURSOR", nil)
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body)), Request: req}
}

// Bodies are real Graph answers (from the Graph docs and captured traffic),
// with IDs shortened.
func TestCheckResponseClassifiesRealGraphErrors(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		status     int
		hdr        map[string]string
		body       string
		want       m365link.GraphError
		is         []error
		isNot      []error
		retryAfter time.Duration
	}{
		{
			name:   "429 mailbox concurrency with Retry-After seconds",
			status: 429,
			hdr:    map[string]string{"Retry-After": "2", "request-id": "rid-1", "client-request-id": "crid-1"},
			body:   `{"error":{"code":"ApplicationThrottled","message":"Application is over its MailboxConcurrency limit.","innerError":{"code":"MailboxConcurrency","date":"2026-11-24T12:00:00","request-id":"rid-inner","client-request-id":"crid-inner"}}}`,
			want: m365link.GraphError{StatusCode: 429, Code: "ApplicationThrottled", InnerCode: "MailboxConcurrency",
				Message: "Application is over its MailboxConcurrency limit.", Method: "GET", Path: "/v1.0/users/u1/messages",
				RequestID: "rid-1", ClientRequestID: "crid-1", Date: now, RetryAfter: 2 * time.Second},
			is:    []error{m365link.ErrThrottled},
			isNot: []error{m365link.ErrUnavailable, m365link.ErrNotFound},
		},
		{
			name:   "503 with fractional Retry-After rounds up",
			status: 503,
			hdr:    map[string]string{"Retry-After": "2.128"},
			body:   `{"error":{"code":"serviceNotAvailable","message":"The service is temporarily unavailable."}}`,
			want: m365link.GraphError{StatusCode: 503, Code: "serviceNotAvailable",
				Message: "The service is temporarily unavailable.", Method: "GET", Path: "/v1.0/users/u1/messages", RetryAfter: 3 * time.Second},
			is: []error{m365link.ErrUnavailable},
		},
		{
			name:   "404 item not found",
			status: 404,
			body:   `{"error":{"code":"ErrorItemNotFound","message":"The specified object was not found in the store.","innerError":{"date":"2026-11-24T12:00:00","request-id":"rid-2","client-request-id":"crid-2"}}}`,
			want: m365link.GraphError{StatusCode: 404, Code: "ErrorItemNotFound",
				Message: "The specified object was not found in the store.", Method: "GET", Path: "/v1.0/users/u1/messages",
				RequestID: "rid-2", ClientRequestID: "crid-2", Date: now},
			is:    []error{m365link.ErrNotFound},
			isNot: []error{m365link.ErrMailboxNotEnabled},
		},
		{
			name:   "mailbox not enabled for REST",
			status: 404,
			body:   `{"error":{"code":"MailboxNotEnabledForRESTAPI","message":"The mailbox is either inactive, soft-deleted, or is hosted on-premise."}}`,
			want: m365link.GraphError{StatusCode: 404, Code: "MailboxNotEnabledForRESTAPI",
				Message: "The mailbox is either inactive, soft-deleted, or is hosted on-premise.", Method: "GET", Path: "/v1.0/users/u1/messages"},
			is: []error{m365link.ErrMailboxNotEnabled, m365link.ErrNotFound},
		},
		{
			name:   "inactive mailbox recognised by message under another code",
			status: 404,
			body:   `{"error":{"code":"ResourceNotFound","message":"The mailbox is either inactive, soft-deleted, or is hosted on-premise."}}`,
			want: m365link.GraphError{StatusCode: 404, Code: "ResourceNotFound",
				Message: "The mailbox is either inactive, soft-deleted, or is hosted on-premise.", Method: "GET", Path: "/v1.0/users/u1/messages"},
			is: []error{m365link.ErrMailboxNotEnabled},
		},
		{
			name:   "403 access denied is forbidden, not consent",
			status: 403,
			body:   `{"error":{"code":"ErrorAccessDenied","message":"Access is denied. Check credentials and try again."}}`,
			want: m365link.GraphError{StatusCode: 403, Code: "ErrorAccessDenied",
				Message: "Access is denied. Check credentials and try again.", Method: "GET", Path: "/v1.0/users/u1/messages"},
			is:    []error{m365link.ErrForbidden},
			isNot: []error{m365link.ErrConsentRequired},
		},
		{
			name:   "403 insufficient privileges is consent required",
			status: 403,
			body:   `{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}`,
			want: m365link.GraphError{StatusCode: 403, Code: "Authorization_RequestDenied",
				Message: "Insufficient privileges to complete the operation.", Method: "GET", Path: "/v1.0/users/u1/messages"},
			is: []error{m365link.ErrConsentRequired, m365link.ErrForbidden},
		},
		{
			name:   "401 invalid token",
			status: 401,
			body:   `{"error":{"code":"InvalidAuthenticationToken","message":"Lifetime validation failed, the token is expired."}}`,
			want: m365link.GraphError{StatusCode: 401, Code: "InvalidAuthenticationToken",
				Message: "Lifetime validation failed, the token is expired.", Method: "GET", Path: "/v1.0/users/u1/messages"},
			is: []error{m365link.ErrUnauthorized},
		},
		{
			name:   "410 gone without body",
			status: 410,
			hdr:    map[string]string{"Location": "https://graph.microsoft.com/v1.0/users/u1/mailFolders/inbox/messages/delta?$deltatoken="},
			want:   m365link.GraphError{StatusCode: 410, Message: "Gone", Method: "GET", Path: "/v1.0/users/u1/messages"},
			is:     []error{m365link.ErrSyncReset},
		},
		{
			name:   "400 syncStateNotFound",
			status: 400,
			body:   `{"error":{"code":"syncStateNotFound","message":"The sync state generation is not found."}}`,
			want: m365link.GraphError{StatusCode: 400, Code: "syncStateNotFound",
				Message: "The sync state generation is not found.", Method: "GET", Path: "/v1.0/users/u1/messages"},
			is: []error{m365link.ErrSyncReset},
		},
		{
			name:   "syncStateInvalid in inner code, any casing",
			status: 400,
			body:   `{"error":{"code":"BadRequest","message":"Invalid sync state.","innerError":{"code":"SyncStateInvalid"}}}`,
			want: m365link.GraphError{StatusCode: 400, Code: "BadRequest", InnerCode: "SyncStateInvalid",
				Message: "Invalid sync state.", Method: "GET", Path: "/v1.0/users/u1/messages"},
			is: []error{m365link.ErrSyncReset},
		},
		{
			name:   "resyncRequired",
			status: 400,
			body:   `{"error":{"code":"resyncRequired","message":"Resync required. Replace any local data with data from the full sync."}}`,
			want: m365link.GraphError{StatusCode: 400, Code: "resyncRequired",
				Message: "Resync required. Replace any local data with data from the full sync.", Method: "GET", Path: "/v1.0/users/u1/messages"},
			is: []error{m365link.ErrSyncReset},
		},
		{
			name:   "418 unknown status is other",
			status: 418,
			body:   `{"error":{"code":"Teapot","message":"I'm a teapot"}}`,
			want: m365link.GraphError{StatusCode: 418, Code: "Teapot",
				Message: "I'm a teapot", Method: "GET", Path: "/v1.0/users/u1/messages"},
			isNot: []error{m365link.ErrThrottled, m365link.ErrUnavailable, m365link.ErrNotFound},
		},
		{
			name:   "400 bad request",
			status: 400,
			body:   `{"error":{"code":"ErrorInvalidProperty","message":"The property 'foo' does not exist."}}`,
			want: m365link.GraphError{StatusCode: 400, Code: "ErrorInvalidProperty",
				Message: "The property 'foo' does not exist.", Method: "GET", Path: "/v1.0/users/u1/messages"},
			isNot: []error{m365link.ErrSyncReset, m365link.ErrThrottled},
		},
		{
			name:   "502 from a proxy with an HTML body",
			status: 502,
			body:   `<html><body>Bad Gateway</body></html>`,
			want:   m365link.GraphError{StatusCode: 502, Message: "Bad Gateway", Method: "GET", Path: "/v1.0/users/u1/messages"},
			is:     []error{m365link.ErrUnavailable},
			isNot:  []error{m365link.ErrThrottled},
		},
		{
			name:   "504 gateway timeout",
			status: 504,
			body:   `{"error":{"code":"UnknownError","message":""}}`,
			want:   m365link.GraphError{StatusCode: 504, Code: "UnknownError", Method: "GET", Path: "/v1.0/users/u1/messages"},
			is:     []error{m365link.ErrUnavailable},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckResponse(response(tt.status, tt.hdr, tt.body), now)
			var ge *m365link.GraphError
			require.ErrorAs(t, err, &ge)
			assert.Equal(t, tt.want, *ge)
			for _, s := range tt.is {
				assert.ErrorIs(t, err, s)
			}
			for _, s := range tt.isNot {
				assert.NotErrorIs(t, err, s)
			}
			assert.NotContains(t, err.Error(), "SECRETCURSOR", "error text must not carry the query")
		})
	}
}

func TestCheckResponseSuccessIsNil(t *testing.T) {
	require.NoError(t, CheckResponse(response(200, nil, `{}`), time.Now()))
	require.NoError(t, CheckResponse(response(204, nil, ``), time.Now()))
}

func TestCheckResponseUsesDateHeaderForHTTPDateRetryAfter(t *testing.T) {
	// The server's clock says 12:00:00, ours is 5 minutes late: the wait must
	// be the 30 s the server meant, not 5½ minutes.
	local := time.Date(2026, 11, 24, 11, 55, 0, 0, time.UTC)
	resp := response(429, map[string]string{
		"Date":        "Tue, 24 Nov 2026 12:00:00 GMT",
		"Retry-After": "Tue, 24 Nov 2026 12:00:30 GMT",
	}, `{"error":{"code":"TooManyRequests","message":"Too many requests"}}`)
	err := CheckResponse(resp, local)
	d, ok := m365link.RetryAfter(err)
	require.True(t, ok)
	assert.Equal(t, 30*time.Second, d)
}

func TestGraphErrorMessage(t *testing.T) {
	err := CheckResponse(response(429, map[string]string{"Retry-After": "7", "request-id": "rid", "client-request-id": "crid"},
		`{"error":{"code":"TooManyRequests","message":"Please retry again later."}}`), time.Now())
	assert.Equal(t, "m365link: graph GET /v1.0/users/u1/messages: 429 TooManyRequests: Please retry again later. (retry after 7s) [request-id rid, client-request-id crid]", err.Error())
	assert.True(t, errors.Is(err, m365link.ErrThrottled))
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"5", 5 * time.Second, true},
		{" 5 ", 5 * time.Second, true},
		{"0", 0, true},
		{"0.5", time.Second, true},
		{"2.128", 3 * time.Second, true},
		{"2.0", 2 * time.Second, true},
		{"-1", 0, false},
		{"-0.5", 0, false},
		{"garbage", 0, false},
		{"5s", 0, false},
		{"NaN", 0, false},
		{"Inf", 0, false},
		{"1e3", 1000 * time.Second, true},
		{"99999999999999999999", 24 * time.Hour, true},
		{"Tue, 24 Nov 2026 12:00:10 GMT", 10 * time.Second, true},
		{"Tuesday, 24-Nov-26 12:01:00 GMT", time.Minute, true},
		{"Tue Nov 24 12:00:03 2026", 3 * time.Second, true},
		{"Tue, 24 Nov 2026 11:00:00 GMT", 0, true},
		{"Fri, 24 Nov 2028 12:00:00 GMT", 24 * time.Hour, true},
		{"Tue, 24 Nov 2026 25:00:00 GMT", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseRetryAfter(tt.in, now)
		assert.Equal(t, tt.ok, ok, "%q", tt.in)
		assert.Equal(t, tt.want, got, "%q", tt.in)
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "1", "2.128", "-3", "Tue, 24 Nov 2026 12:00:10 GMT", "1e308", "0x10", "+5", ".5"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := ParseRetryAfter(s, now)
		if d < 0 || d > maxRetryAfter {
			t.Fatalf("ParseRetryAfter(%q) = %v outside [0, %v]", s, d, maxRetryAfter)
		}
		if !ok && d != 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v, false: a refused value must give 0", s, d)
		}
		if ok && d%time.Second != 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v, not whole seconds", s, d)
		}
	})
}
