package m365link

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors. Every package returns errors that match one of these with
// [errors.Is] where the condition applies, so a host decides what to do
// without parsing strings. The comment on each says what the host should do.
var (
	// ErrThrottled: Graph answered 429 (or 503 with a Retry-After). Wait
	// [RetryAfter] and try again; the library already retried a bounded number
	// of times before returning it.
	ErrThrottled = errors.New("m365link: throttled by Microsoft Graph")
	// ErrUnavailable: a transient failure of Microsoft Graph (500, 502,
	// 503, 504) or of the identity platform (5xx, 429, temporarily
	// unavailable), or a dropped connection, that outlived the retries.
	// Try again later.
	ErrUnavailable = errors.New("m365link: Microsoft service unavailable")
	// ErrUnauthorized: Graph rejected the access token (401). The token
	// source should refresh; if refreshing fails too the account needs
	// reconnecting ([ErrReconnectRequired]).
	ErrUnauthorized = errors.New("m365link: access token rejected")
	// ErrForbidden: the caller is authenticated but not allowed (403): a
	// missing permission, an Exchange RBAC scope or a policy; in consent,
	// an account that is no administrator or not assigned to the app. Not
	// retried.
	ErrForbidden = errors.New("m365link: forbidden")
	// ErrConsentRequired: the permission the call needs has not been granted
	// (or was withdrawn, or was declined when asked). An admin must
	// (re)consent, or the user accept when connecting. Matches
	// [ErrForbidden] too.
	ErrConsentRequired = errors.New("m365link: consent required")
	// ErrNotFound: the user, folder or item does not exist (404).
	ErrNotFound = errors.New("m365link: not found")
	// ErrMailboxNotEnabled: the user exists but has no usable Exchange Online
	// mailbox: unlicensed, inactive, soft-deleted or hosted on-premises.
	// Report it to the admin; retrying will not help until that changes.
	// Matches [ErrNotFound] too.
	ErrMailboxNotEnabled = errors.New("m365link: mailbox not enabled for REST (unlicensed, inactive, soft-deleted or on-premises)")
	// ErrSyncReset: Graph discarded a delta cursor (410 Gone, syncStateNotFound,
	// syncStateInvalid, resyncRequired). The sync must restart from the base
	// query; the engine tells the sink with a reset event.
	ErrSyncReset = errors.New("m365link: sync state reset by Microsoft Graph")
	// ErrReconnectRequired: the account's grant is gone (revoked, expired after
	// inactivity, password changed, MFA or Conditional Access needs the user).
	// The user (or admin, for app-only) must connect again. See
	// [ReconnectError]; consent's Conditional Access refusals match it too.
	ErrReconnectRequired = errors.New("m365link: reconnect required")
	// ErrMalformedResponse: Graph's answer could not be read: a truncated
	// body or JSON that does not parse (transient in practice; retried), or
	// a body over the client's size cap (not retried).
	ErrMalformedResponse = errors.New("m365link: malformed response from Microsoft Graph")
	// ErrUntrustedLink: a nextLink or deltaLink pointed outside the configured
	// Graph origin and was not followed (the page carrying it is refused), or
	// Graph answered with a redirect, which is never followed with credentials.
	ErrUntrustedLink = errors.New("m365link: link outside the Graph origin refused")
)

// GraphError is an error answer from Microsoft Graph, with what support needs
// to trace it (request-id, client-request-id, date). Use [errors.As] to get it
// and [errors.Is] with the sentinels to classify it: the classification is
// derived from what Graph said (status, code, inner code, message), so a
// GraphError built by hand, in a host's own tests, classifies as Graph's
// answer would.
type GraphError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is Graph's error.code, e.g. "ErrorItemNotFound".
	Code string
	// InnerCode is error.innerError.code when Graph sent one.
	InnerCode string
	// Message is Graph's error.message.
	Message string
	// Method and Path say which request failed. Path has no query string:
	// skip and delta tokens are not logged.
	Method string
	Path   string
	// RequestID and ClientRequestID identify the request to Microsoft support.
	RequestID       string
	ClientRequestID string
	// Date is when Graph answered (innerError.date or the Date header).
	Date time.Time
	// RetryAfter is the parsed Retry-After header, 0 when absent or unusable.
	RetryAfter time.Duration
}

// Error formats the status, code, message and request IDs.
func (e *GraphError) Error() string {
	var b strings.Builder
	b.WriteString("m365link: graph ")
	if e.Method != "" {
		b.WriteString(e.Method)
		b.WriteByte(' ')
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(strconv.Itoa(e.StatusCode))
	if e.Code != "" {
		b.WriteByte(' ')
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.RetryAfter > 0 {
		b.WriteString(" (retry after ")
		b.WriteString(e.RetryAfter.String())
		b.WriteByte(')')
	}
	if e.RequestID != "" {
		b.WriteString(" [request-id ")
		b.WriteString(e.RequestID)
		if e.ClientRequestID != "" {
			b.WriteString(", client-request-id ")
			b.WriteString(e.ClientRequestID)
		}
		b.WriteByte(']')
	}
	return b.String()
}

// Is reports whether e matches a sentinel: the one its status and codes
// say, and the wider sentinel a specific one belongs to (consent required
// is forbidden; mailbox not enabled is not found).
func (e *GraphError) Is(target error) bool {
	got := e.sentinel()
	switch {
	case got == nil:
		return false
	case target == got:
		return true
	case target == ErrForbidden:
		return got == ErrConsentRequired
	case target == ErrNotFound:
		return got == ErrMailboxNotEnabled
	}
	return false
}

// Graph error codes that mean "this delta cursor is no longer valid". Graph
// documents 410 and syncStateNotFound; the rest are seen in the field, so the
// net is cast wide (GRAPH.md, Delta queries).
var syncResetCodes = []string{"syncstatenotfound", "syncstateinvalid", "resyncrequired", "errorsyncfoldernotfound", "syncstatemismatch"}

// Codes that mean the user has no usable Exchange Online mailbox.
var mailboxNotEnabledCodes = []string{"mailboxnotenabledforrestapi", "mailboxnotsupportedforrestapi", "errornonexistentmailbox", "errormailboxnotenabled"}

// sentinel is the most specific sentinel e's answer matches, nil for none
// (a 400 that is not a sync reset, say). Codes win over statuses: Graph
// reports some conditions under more than one status.
func (e *GraphError) sentinel() error {
	lc, li := strings.ToLower(e.Code), strings.ToLower(e.InnerCode)
	for _, c := range syncResetCodes {
		if lc == c || li == c {
			return ErrSyncReset
		}
	}
	for _, c := range mailboxNotEnabledCodes {
		if lc == c || li == c {
			return ErrMailboxNotEnabled
		}
	}
	lm := strings.ToLower(e.Message)
	switch e.StatusCode {
	case http.StatusGone:
		return ErrSyncReset
	case http.StatusTooManyRequests:
		return ErrThrottled
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return ErrUnavailable
	case http.StatusUnauthorized:
		return ErrUnauthorized
	case http.StatusForbidden:
		if lc == "authorization_requestdenied" || strings.Contains(lm, "consent") ||
			strings.Contains(lm, "insufficient privileges") || strings.Contains(lm, "missing scope") {
			return ErrConsentRequired
		}
		return ErrForbidden
	case http.StatusNotFound:
		if strings.Contains(lm, "inactive, soft-deleted, or is hosted on-premise") {
			return ErrMailboxNotEnabled
		}
		return ErrNotFound
	}
	return nil
}

// RetryAfter returns how long Graph asked the caller to wait before retrying,
// when err is (or wraps) a [GraphError] carrying a Retry-After.
func RetryAfter(err error) (time.Duration, bool) {
	var ge *GraphError
	if errors.As(err, &ge) && ge.RetryAfter > 0 {
		return ge.RetryAfter, true
	}
	return 0, false
}

// ReconnectReason says why an account must connect again.
type ReconnectReason string

// Reasons an account needs reconnecting.
const (
	// ReasonRevoked: the refresh token or grant was revoked (AADSTS50173, sign-out everywhere).
	ReasonRevoked ReconnectReason = "revoked"
	// ReasonExpired: the refresh token expired, usually after 90 days of
	// inactivity (AADSTS70008, AADSTS700082, AADSTS700084).
	ReasonExpired ReconnectReason = "expired"
	// ReasonPasswordChanged: the user's password changed or was reset (AADSTS50133).
	ReasonPasswordChanged ReconnectReason = "password_changed"
	// ReasonUserDisabled: the account is disabled or deleted (AADSTS50057, AADSTS50034).
	ReasonUserDisabled ReconnectReason = "user_disabled"
	// ReasonConsentWithdrawn: the grant or admin consent was removed (AADSTS65001).
	ReasonConsentWithdrawn ReconnectReason = "consent_withdrawn"
	// ReasonInteractionRequired: MFA, Conditional Access or sign-in frequency
	// needs the user at a browser (AADSTS50076, 50079, 53003, 70043).
	ReasonInteractionRequired ReconnectReason = "interaction_required"
	// ReasonNotConnected: the account has no stored grant: it never connected,
	// or it was disconnected.
	ReasonNotConnected ReconnectReason = "not_connected"
	// ReasonStoredGrantUnreadable: the account's stored grant cannot be
	// decrypted: sealed under a key the key ring no longer holds, tampered
	// with, or an older copy written back over the current one. When many
	// accounts report it at once, check the host's key ring before asking
	// users to connect again.
	ReasonStoredGrantUnreadable ReconnectReason = "stored_grant_unreadable"
	// ReasonUnknown: an invalid_grant without a recognised cause.
	ReasonUnknown ReconnectReason = "unknown"
)

// ReconnectError says an account's tokens can no longer be refreshed and why.
// It matches [ErrReconnectRequired]. It never carries token material.
type ReconnectError struct {
	Account Account
	Reason  ReconnectReason
	// Code is the AADSTS code when the identity platform gave one, e.g. "AADSTS700082".
	Code string
	// Description is a short human explanation fit for an admin page.
	Description string
}

// Error names the account, the reason and the AADSTS code.
func (e *ReconnectError) Error() string {
	s := "m365link: reconnect required for " + e.Account.Key() + ": " + string(e.Reason)
	if e.Code != "" {
		s += " (" + e.Code + ")"
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// Is matches [ErrReconnectRequired].
func (e *ReconnectError) Is(target error) bool { return target == ErrReconnectRequired }

// ItemError reports one item of a page that could not be understood. The
// rest of the page is still delivered: one odd item never stalls a mailbox.
type ItemError struct {
	// ID is the item's ID when it could be read, else "".
	ID string
	// Index is the item's position in its page.
	Index int
	Err   error
}

// Error names the item and the cause.
func (e *ItemError) Error() string {
	id := e.ID
	if id == "" {
		id = "#" + strconv.Itoa(e.Index)
	}
	return "m365link: item " + id + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *ItemError) Unwrap() error { return e.Err }
