package mailsend

import (
	"errors"
	"net/http"
	"strings"

	"github.com/m365link/m365link"
)

// Sentinels for errors.Is. Every *[Error] matches one of them; one that
// Graph answered also matches the m365link sentinel of its answer
// (m365link.ErrForbidden for a 403, say), and errors.As reaches the
// *m365link.GraphError with its request IDs.
var (
	// ErrSendAsDenied: the mailbox's user may not send as or on behalf of
	// the From address, or as the shared mailbox (Graph's 403
	// ErrorSendAsDenied). An Exchange admin grants Send As or Send on
	// Behalf; nothing was sent.
	ErrSendAsDenied = errors.New("mailsend: not allowed to send as or on behalf of that address")
	// ErrAccessDenied: the token may not send from this mailbox (403
	// ErrorAccessDenied): Mail.Send (or Mail.Send.Shared, Mail.ReadWrite)
	// not granted, or no access to the shared mailbox. An admin grants the
	// permission or the mailbox access; nothing was sent.
	ErrAccessDenied = errors.New("mailsend: access denied: Mail.Send or mailbox access missing")
	// ErrRecipientsRejected: Exchange refused a recipient (an address it
	// cannot resolve, or too many); nothing was sent. Fix the addresses.
	ErrRecipientsRejected = errors.New("mailsend: recipients rejected")
	// ErrMessageTooLarge: the message or an attachment is over Graph's or
	// the tenant's size limit; nothing was sent.
	ErrMessageTooLarge = errors.New("mailsend: message too large")
	// ErrInvalidMessage: the call was refused before reaching Graph (no
	// recipients, an attachment without a name, a bad body type).
	ErrInvalidMessage = errors.New("mailsend: invalid message")
	// ErrOutcomeUnknown: Graph may have sent the message, but it did not
	// show up in Sent Items within Config.Settle, or failures outlasted
	// Config.MaxAttempts. Retry with the same IdempotencyKey later: the
	// retry finds the message if it went out. Also matches
	// m365link.ErrUnavailable.
	ErrOutcomeUnknown = errors.New("mailsend: outcome of the send unknown")
)

// Error is a failed send, reply or forward.
type Error struct {
	// Kind is the sentinel it matches.
	Kind error
	// Op is the step that failed: "send", "createReply", "upload", ….
	Op string
	// Mailbox is the sending mailbox as the call named it.
	Mailbox string
	// Detail says what was wrong, for the cases Graph did not answer.
	Detail string
	// Err is Graph's answer (a *m365link.GraphError) or the last failure.
	Err error
}

// Error names the kind, the step, the mailbox and the cause.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.Error())
	if e.Op != "" {
		b.WriteString(" (" + e.Op)
		if e.Mailbox != "" {
			b.WriteString(" from " + e.Mailbox)
		}
		b.WriteByte(')')
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Is matches Kind, and m365link.ErrUnavailable for ErrOutcomeUnknown.
func (e *Error) Is(target error) bool {
	return target == e.Kind || e.Kind == ErrOutcomeUnknown && target == m365link.ErrUnavailable
}

// Unwrap returns Graph's answer or the last failure.
func (e *Error) Unwrap() error { return e.Err }

// classify turns a Graph refusal into an *Error of its kind, or returns it
// wrapped with the step.
func classify(op, mailbox string, err error) error {
	var ge *m365link.GraphError
	if !errors.As(err, &ge) {
		return wrap(op, err)
	}
	code := strings.ToLower(ge.Code)
	kind := error(nil)
	switch {
	case code == "errorsendasdenied":
		kind = ErrSendAsDenied
	case ge.StatusCode == http.StatusRequestEntityTooLarge || strings.Contains(code, "sizeexceeded") ||
		strings.Contains(code, "toolarge") || strings.Contains(code, "shouldnotbegreater"):
		kind = ErrMessageTooLarge
	case strings.Contains(code, "recipient"):
		kind = ErrRecipientsRejected
	case ge.StatusCode == http.StatusForbidden:
		kind = ErrAccessDenied
	}
	if kind == nil {
		return wrap(op, err)
	}
	return &Error{Kind: kind, Op: op, Mailbox: mailbox, Err: err}
}

func wrap(op string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &wrapped{op: op, err: err}
}

// wrapped names the step of an error that has no kind of its own here.
type wrapped struct {
	op  string
	err error
}

func (w *wrapped) Error() string { return "mailsend: " + w.op + ": " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }

// uncertain reports whether err leaves open what Graph did: a throttling
// or server answer, a dropped or stalled connection, a garbled body. Such
// a step is settled by looking, not by resending.
func uncertain(err error) bool {
	var ge *m365link.GraphError
	if errors.As(err, &ge) {
		return ge.StatusCode == http.StatusTooManyRequests || ge.StatusCode == http.StatusRequestTimeout || ge.StatusCode >= 500
	}
	return errors.Is(err, m365link.ErrUnavailable) || errors.Is(err, m365link.ErrMalformedResponse)
}

// gone reports a 404: the draft or upload session is not there (any more).
func gone(err error) bool {
	var ge *m365link.GraphError
	return errors.As(err, &ge) && ge.StatusCode == http.StatusNotFound
}
