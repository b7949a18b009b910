package calendar

import (
	"errors"
	"net/http"
	"strings"

	"github.com/m365link/m365link"
)

// Sentinel errors, matched with [errors.Is]. The errors this package
// returns are *[Error] values whose Kind is one of these; the Graph answer
// behind one, when there is one, is its cause, so errors.Is with the root
// package's sentinels works too: [m365link.ErrMailboxNotEnabled] for a
// user without a usable mailbox, [m365link.ErrThrottled] (with
// [m365link.RetryAfter]) when Graph kept throttling past the retries,
// [m365link.ErrNotFound] for a missing event, and errors.As gives the
// *[m365link.GraphError] with the request IDs support asks for.
var (
	// ErrCalendarNotFound: the mailbox has no such calendar, or its
	// owner does not share it with the caller at all.
	ErrCalendarNotFound = errors.New("calendar: calendar not found or not shared")
	// ErrCalendarReadOnly: a write to a calendar (create, update, cancel,
	// delete) was denied: the calendar is shared with the caller for
	// reading only; the owner must share it for editing (or delegate). A
	// denied read is not this: it matches [m365link.ErrForbidden] alone
	// (a missing permission such as MailboxSettings.Read, or a policy).
	ErrCalendarReadOnly = errors.New("calendar: calendar not shared for writing")
	// ErrAttendeeLimit: more attendees than Exchange Online allows on one
	// event ([MaxAttendees]). Nothing was sent.
	ErrAttendeeLimit = errors.New("calendar: too many attendees")
	// ErrNotOrganizer: the operation is the organizer's (cancelling), or
	// would change a meeting the mailbox does not organise, which only
	// edits its own copy and confuses everyone else; see
	// [WriteOptions].AllowNonOrganizer.
	ErrNotOrganizer = errors.New("calendar: only the meeting's organizer can do this")
	// ErrTeamsUnavailable: the account or tenant cannot create Teams
	// meetings (no Teams licence, online meetings turned off, or a
	// personal account). When [Error].EventID is set the event exists
	// without a link and its invitations went out; otherwise nothing was
	// created.
	ErrTeamsUnavailable = errors.New("calendar: Teams meetings are not available to this account")
	// ErrJoinURLMissing: Graph accepted a Teams meeting but no join link
	// appeared, even on reading it again. The event ([Error].EventID)
	// exists and its invitations went out.
	ErrJoinURLMissing = errors.New("calendar: Teams meeting has no join link")
	// ErrInvalid: the request was refused before anything was sent (an
	// end before the start, a recurrence without a pattern, a window too
	// long). The error says what.
	ErrInvalid = errors.New("calendar: invalid request")
)

// Error is what this package returns for a failed operation: what was
// attempted, on which mailbox and event, the kind of failure (one of the
// sentinels, or nil when only the cause classifies it) and the cause.
type Error struct {
	// Op names the operation: "create", "update", "cancel", "delete",
	// "get", "find by key", "schedule", "find meeting times", "mailbox
	// settings", "rooms".
	Op string
	// Mailbox is the mailbox the request named, "" for tenant-wide ones.
	Mailbox string
	// EventID is the event concerned, "" when there is none (yet).
	EventID string
	// Kind is the package sentinel the failure matches, or nil.
	Kind error
	// Detail says more in plain words, "" when Kind and the cause say it all.
	Detail string
	// Err is the cause: a *[m365link.GraphError], a token error, a
	// context error; nil when the package itself refused.
	Err error
}

// Error formats the operation, the mailbox, the event, the kind and the cause.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("calendar: ")
	b.WriteString(e.Op)
	if e.Mailbox != "" {
		b.WriteString(" in ")
		b.WriteString(e.Mailbox)
	}
	if e.EventID != "" {
		b.WriteString(" (event ")
		b.WriteString(e.EventID)
		b.WriteByte(')')
	}
	if e.Kind != nil {
		b.WriteString(": ")
		b.WriteString(strings.TrimPrefix(e.Kind.Error(), "calendar: "))
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Is matches the Kind.
func (e *Error) Is(target error) bool { return e.Kind != nil && target == e.Kind }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// scope says what a request addressed, for classifying its errors.
type scope int

const (
	onEvent    scope = iota // an event (404 is the event's)
	onCalendar              // a calendar or its events collection (404 is the calendar's)
	onMailbox               // the mailbox (settings, schedule)
	onTenant                // places
)

// classify wraps err from an operation into an *Error, naming the sentinel
// Graph's answer means for this package.
func classify(op, mailbox, eventID string, sc scope, err error) error {
	if err == nil {
		return nil
	}
	var ce *Error
	if errors.As(err, &ce) {
		return err
	}
	out := &Error{Op: op, Mailbox: mailbox, EventID: eventID, Err: err}
	var ge *m365link.GraphError
	if !errors.As(err, &ge) {
		return out
	}
	lm := strings.ToLower(ge.Message)
	switch {
	case errors.Is(ge, m365link.ErrMailboxNotEnabled), errors.Is(ge, m365link.ErrConsentRequired):
	case ge.StatusCode == http.StatusBadRequest && strings.Contains(lm, "need to be an organizer"):
		out.Kind = ErrNotOrganizer
	case ge.StatusCode == http.StatusForbidden && strings.EqualFold(ge.Code, "ErrorAccessDenied") &&
		(sc == onCalendar || sc == onEvent) && writes(ge.Method):
		// Only a write to a calendar the caller can read means "shared
		// for reading". A denied read (settings without
		// MailboxSettings.Read, a schedule, an event) is a permission the
		// token or the mailbox lacks: the cause's m365link.ErrForbidden.
		out.Kind = ErrCalendarReadOnly
	case ge.StatusCode == http.StatusNotFound && sc == onCalendar && !strings.EqualFold(ge.Code, "ErrorInvalidUser"):
		out.Kind = ErrCalendarNotFound
	}
	return out
}

// writes reports whether an HTTP method changes what it addresses.
func writes(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// invalid is a request refused before sending.
func invalid(op, mailbox, detail string) error {
	return &Error{Op: op, Mailbox: mailbox, Kind: ErrInvalid, Detail: detail}
}
